"""Serving blocks to peers: stored bytes, off the event loop, within a per-peer budget.

A validator answering ``BLOCK_REQUEST`` (block sync) or ``DecisionRequest`` (consensus
catch-up) must not re-verify its own blocks, must not do the reading on the event loop
that runs consensus, and must not let one peer make it serve without bound.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from bft_rig import Received, Rig, until

from baychain.consensus.messages import Decision, DecisionRequest, decode_message, encode_message
from baychain.ledger.block import decode_header_only
from baychain.ledger.header import header_hash
from baychain.network import MessageKind
from baychain.node.bft.sync import (
    SERVE_REQUEST_BURST,
    SERVE_REQUESTS_PER_SECOND,
    BlockRequest,
    ServeBudget,
    decode_block_response,
    encode_block_request,
)
from baychain.primitives import Height, PeerId
from baychain.state import chain_store
from baychain.state.store import Txn

PRODUCER, ATTACKER = 0, 1


async def _producer_and_attacker(rig: Rig, received: Received, height: int) -> None:
    """Validator 0 (power 10 of 11) commits alone; validator 1 is a scripted transport."""
    rig.start(PRODUCER, dial=[])
    await until(lambda: rig.chains[PRODUCER].height >= height, 30, f"height {height}")

    def record(peer: PeerId, kind: MessageKind, payload: bytes) -> None:
        received.frames.append((peer, kind, payload))

    attacker = await rig.start_attacker(ATTACKER, record, dial=[PRODUCER])
    producer_id = rig.peer_id(PRODUCER)
    await until(lambda: attacker.is_connected(producer_id), 15, "the attacker to connect")


def test_blocks_are_served_from_stored_bytes_off_the_event_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Old code: every requested block was decoded (all signatures checked) on the loop."""
    block_reads: list[int] = []  # thread idents reading the blocks table
    decodes: list[int] = []
    real_get = Txn.get
    real_decode = chain_store.decode_block

    def get(self: Txn, table: bytes, key: bytes) -> bytes | None:
        if table == b"blocks":
            block_reads.append(threading.get_ident())
        return real_get(self, table, key)

    def decode(*args: object, **kwargs: object) -> object:
        decodes.append(1)
        return real_decode(*args, **kwargs)  # type: ignore[arg-type]

    async def scenario() -> None:
        rig = Rig(tmp_path, [10, 1])
        received = Received()
        try:
            await _producer_and_attacker(rig, received, 5)
            attacker = rig.attackers[ATTACKER]
            producer = rig.peer_id(PRODUCER)
            monkeypatch.setattr(Txn, "get", get)
            monkeypatch.setattr(chain_store, "decode_block", decode)
            request = encode_block_request(BlockRequest(1, 64))
            attacker.send(producer, MessageKind.BLOCK_REQUEST, request)
            attacker.send(
                producer, MessageKind.CONSENSUS, encode_message(DecisionRequest(Height(2)))
            )

            def decisions() -> list[Decision]:
                messages = [decode_message(p) for p in received.of(MessageKind.CONSENSUS)]
                return [m for m in messages if isinstance(m, Decision)]

            await until(
                lambda: bool(received.of(MessageKind.BLOCK_RESPONSE)) and bool(decisions()),
                15,
                "a block response and a decision",
            )
            monkeypatch.undo()
            loop_thread = threading.get_ident()
            blocks = decode_block_response(received.of(MessageKind.BLOCK_RESPONSE)[0])
            assert len(blocks) >= 5
            chain = rig.chains[PRODUCER]
            for height, raw in enumerate(blocks, start=1):
                assert header_hash(decode_header_only(raw), rig.suite) == chain.block_hash_at(
                    height
                )
            assert decisions()[0].height == 2
            assert block_reads, "the blocks were read from the store"
            assert loop_thread not in block_reads, "blocks were read on the event loop"
            assert decodes == [], "served blocks were decoded (signatures re-verified)"
        finally:
            monkeypatch.undo()
            await rig.stop_all()

    asyncio.run(scenario())


def test_a_flood_of_block_requests_is_rate_limited_and_the_peer_banned(tmp_path: Path) -> None:
    """Old code: every BLOCK_REQUEST was answered, however many, and cost the peer nothing."""
    requests = 300

    async def scenario() -> None:
        rig = Rig(tmp_path, [10, 1])
        received = Received()
        try:
            await _producer_and_attacker(rig, received, 3)
            producer = rig.drivers[PRODUCER]
            attacker_id = rig.peer_id(ATTACKER)
            flood = encode_block_request(BlockRequest(1, 64))
            target = rig.peer_id(PRODUCER)
            for _ in range(requests):
                rig.attackers[ATTACKER].send(target, MessageKind.BLOCK_REQUEST, flood)
            await until(lambda: producer.peers.is_banned(attacker_id), 20, "the flooder's ban")
            served = len(received.of(MessageKind.BLOCK_RESPONSE))
            assert served <= requests // 4, f"{served} of {requests} requests were served"
            # and the producer goes on committing
            height = rig.chains[PRODUCER].height
            await until(lambda: rig.chains[PRODUCER].height >= height + 2, 20, "more commits")
        finally:
            await rig.stop_all()

    asyncio.run(scenario())


# -- the budget itself (pure) -----------------------------------------------------------

A, B = PeerId("a"), PeerId("b")


def test_serve_budget_allows_a_burst_then_the_refill_rate() -> None:
    budget = ServeBudget()
    request = BlockRequest(1, 64)
    for index in range(SERVE_REQUEST_BURST):
        assert budget.admit(A, BlockRequest(1 + index, 1), 0.0) == "serve"
        budget.done(A, BlockRequest(1 + index, 1))
    assert budget.admit(A, request, 0.0) == "over_budget"
    assert budget.admit(B, request, 0.0) == "serve"  # per peer
    later = 1.0 / SERVE_REQUESTS_PER_SECOND
    assert budget.admit(A, request, later) == "serve"  # one token refilled


def test_serve_budget_drops_a_request_identical_to_one_outstanding() -> None:
    budget = ServeBudget()
    request = BlockRequest(5, 10)
    assert budget.admit(A, request, 0.0) == "serve"
    assert budget.admit(A, request, 0.0) == "duplicate"
    assert budget.admit(A, BlockRequest(6, 10), 0.0) == "busy"
    budget.done(A, request)
    assert budget.admit(A, request, 0.0) == "serve"


def test_serve_budget_keeps_decisions_apart_from_block_requests() -> None:
    budget = ServeBudget()
    assert budget.admit(A, BlockRequest(5, 10), 0.0) == "serve"
    assert budget.admit(A, 7, 0.0, "decision") == "serve"  # consensus catch-up alongside
    assert budget.admit(A, 7, 0.0, "decision") == "duplicate"
    budget.done(A, 7, "decision")
    assert budget.admit(A, 8, 0.0, "decision") == "serve"


def test_serve_budget_forgets_a_disconnected_peer() -> None:
    budget = ServeBudget()
    for index in range(SERVE_REQUEST_BURST):
        budget.admit(A, BlockRequest(1 + index, 1), 0.0)
        budget.done(A, BlockRequest(1 + index, 1))
    budget.forget(A)
    assert budget.admit(A, BlockRequest(1, 1), 0.0) == "serve"
    assert len(budget) == 1

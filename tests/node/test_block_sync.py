"""Block sync against lying peers: unsigned height claims, floods of responses, junk blocks.

A STATUS height is an unsigned claim. One peer's claim must not decide whom a node
asks or for how long; responses nobody asked for, or that do not advance the node,
cost the peer that sent them; a synced block's certificate is checked before any of
its transaction signatures.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from bft_rig import Rig, until

from baychain.codec import rlp
from baychain.ledger.header import header_to_item
from baychain.network import MessageKind, PeerAddress, PeerManager
from baychain.node.bft.sync import (
    CLAIM_COOLDOWN_MS,
    MAX_BLOCKS_PER_RESPONSE,
    REQUEST_TIMEOUT_MS,
    BlockRequest,
    ChainStatus,
    SyncState,
    decode_block_request,
    encode_block_response,
)
from baychain.node.bft.sync import encode_status as encode_chain_status
from baychain.primitives import Hash32, PeerId

HUGE_HEIGHT = 2**63 - 1


def _claim_forever(peers: PeerManager, victim: PeerId, height: int) -> asyncio.Task[None]:
    """Tell ``victim`` every 100 ms that our head is at ``height``."""

    async def loop() -> None:
        status = encode_chain_status(ChainStatus(height, Hash32(b"\xee" * 32)))
        while True:
            peers.send(victim, MessageKind.STATUS, status)
            await asyncio.sleep(0.1)

    return asyncio.create_task(loop())


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


Answer = Callable[[Rig, PeerId, int], None]
"""What the attacker does with a BLOCK_REQUEST: (the rig, the asker, start)."""


async def _attack_a_syncing_node(
    tmp_path: Path, powers: list[int], producers: list[int], answer: Answer, lag: int
) -> tuple[Rig, int, int, asyncio.Task[None], list[int]]:
    """``producers`` commit ``lag`` blocks; the victim (the index before the last) starts
    knowing only the attacker (the last index), which claims a huge height and answers
    requests with ``answer``; once the victim has heard the claim it meets the producers.
    Return (rig, victim, attacker, the attacker's claiming task, the starts it was asked)."""
    victim, attacker = len(powers) - 2, len(powers) - 1
    rig = Rig(tmp_path, powers)
    for index in producers:
        rig.start(index, dial=[p for p in producers if p != index])
    await until(
        lambda: min(rig.chains[p].height for p in producers) >= lag, 30, f"height {lag}"
    )
    victim_id = rig.peer_id(victim)
    asked: list[int] = []

    def handle(peer: PeerId, kind: MessageKind, payload: bytes) -> None:
        if kind is MessageKind.BLOCK_REQUEST:
            asked.append(decode_block_request(payload).start)
            answer(rig, peer, asked[-1])

    peers = await rig.start_attacker(attacker, handle, dial=[])
    claims = _claim_forever(peers, victim_id, HUGE_HEIGHT)
    driver = rig.start(victim, dial=[attacker])
    attacker_id = rig.peer_id(attacker)
    await until(
        lambda: bool(asked) or attacker_id in driver.sync.peer_heights,
        15,
        "the victim to hear the claim",
    )
    for index in producers:
        driver.peers.add_peer(PeerAddress("127.0.0.1", rig.ports[index]))
    return rig, victim, attacker, claims, asked


def test_one_false_height_claim_does_not_steer_sync(tmp_path: Path) -> None:
    """Old code: the tallest claim won every time; its empty answers cost nothing and the
    victim never synced from the honest peers."""

    def answer_empty(rig: Rig, asker: PeerId, start: int) -> None:
        rig.attackers[3].send(asker, MessageKind.BLOCK_RESPONSE, encode_block_response([]))

    async def scenario() -> None:
        rig, victim, _, claims, asked = await _attack_a_syncing_node(
            tmp_path, [10, 10, 1, 1], [0, 1], answer_empty, lag=8
        )
        try:
            driver = rig.drivers[victim]
            await until(lambda: driver.synced_blocks >= 4, 20, "block sync from honest peers")
            assert asked == [], "a claim no other peer backs was followed"
        finally:
            await _stop(claims)
            await rig.stop_all()

    asyncio.run(scenario())


def test_a_flood_of_responses_is_dropped_and_the_peer_banned(tmp_path: Path) -> None:
    """Old code: every response of the awaited peer went into the unbounded job queue."""

    def answer_many(rig: Rig, asker: PeerId, start: int) -> None:
        for _ in range(40):
            rig.attackers[2].send(asker, MessageKind.BLOCK_RESPONSE, encode_block_response([]))

    async def scenario() -> None:
        # three validators: one claim is trusted, so the victim does ask the attacker
        rig, victim, attacker, claims, asked = await _attack_a_syncing_node(
            tmp_path, [10, 1, 1], [0], answer_many, lag=8
        )
        try:
            driver = rig.drivers[victim]
            attacker_id = rig.peer_id(attacker)
            await until(lambda: driver.peers.is_banned(attacker_id), 20, "the flooder's ban")
            await until(lambda: driver.synced_blocks >= 4, 20, "block sync from honest peers")
            assert asked[:1] == [1]
        finally:
            await _stop(claims)
            await rig.stop_all()

    asyncio.run(scenario())


def test_a_synced_block_is_refused_on_its_certificate_before_its_transactions(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Old code: ``decode_block`` (every signature) ran before the certificate was looked at."""

    def answer_junk(rig: Rig, asker: PeerId, start: int) -> None:
        header = header_to_item(rig.chains[0].block_at(start).header)
        block = rlp.encode([header, [b"\x02junk"], b"\x01junk certificate"])
        rig.attackers[2].send(asker, MessageKind.BLOCK_RESPONSE, encode_block_response([block]))

    async def scenario() -> None:
        # three validators: the producer, the victim, the attacker (no claim is outvoted)
        rig, victim, attacker, claims, _ = await _attack_a_syncing_node(
            tmp_path, [10, 1, 1], [0], answer_junk, lag=3
        )
        try:
            driver = rig.drivers[victim]
            attacker_id = rig.peer_id(attacker)
            await until(lambda: driver.peers.score(attacker_id) > 0, 20, "the junk's penalty")
        finally:
            await _stop(claims)
            await rig.stop_all()

    with caplog.at_level(logging.WARNING, logger="baychain.network"):
        asyncio.run(scenario())
    refusals = [r.getMessage() for r in caplog.records if "BLOCK_RESPONSE" in r.getMessage()]
    assert refusals, "the junk block was refused"
    assert "certificate" in refusals[0], refusals[0]
    assert "transaction" not in refusals[0], refusals[0]


# -- the bookkeeping itself (pure) ------------------------------------------------------

A, B, LIAR = PeerId("a"), PeerId("b"), PeerId("z")
HEAD = Hash32(b"\x00" * 32)


def _state(trusted_claims: int, **claims: int) -> SyncState:
    sync = SyncState(trusted_claims)
    for name, height in claims.items():
        sync.note_status(PeerId(name), ChainStatus(height, HEAD), 0)
    return sync


def test_the_target_is_the_height_enough_peers_claim() -> None:
    sync = _state(2, z=HUGE_HEIGHT)
    assert sync.target_height() == 0  # one claim alone is no target
    assert sync.next_request(0, 0) is None
    sync.note_status(A, ChainStatus(100, HEAD), 0)
    sync.note_status(B, ChainStatus(90, HEAD), 0)
    assert sync.target_height() == 100
    # the liar's claim is backed by nobody: it is asked last, and never beyond the target
    assert sync.next_request(0, 0) == (A, BlockRequest(1, MAX_BLOCKS_PER_RESPONSE))


def test_a_request_is_capped_by_the_target_and_the_peer_asked() -> None:
    sync = _state(1, z=HUGE_HEIGHT)
    assert sync.next_request(10, 0) == (LIAR, BlockRequest(11, MAX_BLOCKS_PER_RESPONSE))
    sync = _state(2, a=20, z=HUGE_HEIGHT)
    assert sync.target_height() == 20
    assert sync.next_request(10, 0) == (A, BlockRequest(11, 10))


def test_a_peer_that_does_not_answer_loses_its_claim_for_the_cool_off() -> None:
    sync = _state(1, a=50, z=HUGE_HEIGHT)
    assert sync.next_request(0, 0) == (LIAR, BlockRequest(1, MAX_BLOCKS_PER_RESPONSE))
    assert sync.expire(REQUEST_TIMEOUT_MS - 1) is None
    assert sync.expire(REQUEST_TIMEOUT_MS) == LIAR
    assert sync.failures(LIAR) == 1
    assert LIAR not in sync.peer_heights
    sync.note_status(LIAR, ChainStatus(HUGE_HEIGHT, HEAD), REQUEST_TIMEOUT_MS + 1)
    assert LIAR not in sync.peer_heights  # ignored during the cool-off
    assert sync.next_request(0, REQUEST_TIMEOUT_MS + 1) == (A, BlockRequest(1, 50))
    later = REQUEST_TIMEOUT_MS + CLAIM_COOLDOWN_MS
    sync.note_status(LIAR, ChainStatus(HUGE_HEIGHT, HEAD), later)
    assert sync.peer_heights[LIAR] == HUGE_HEIGHT  # heard again, but it failed before:
    sync.answered(A)
    assert sync.next_request(0, later) == (A, BlockRequest(1, 50))  # fewest failures first


def test_a_response_is_taken_once_and_only_from_the_peer_asked() -> None:
    sync = _state(1, a=50)
    assert sync.take_response(A) is None  # nothing asked yet
    assert sync.next_request(0, 0) == (A, BlockRequest(1, 50))
    assert sync.take_response(B) is None
    assert sync.take_response(A) == BlockRequest(1, 50)
    assert sync.take_response(A) is None  # a second answer is unsolicited
    assert sync.expire(10 * REQUEST_TIMEOUT_MS) is None  # being applied: no timeout
    assert sync.next_request(0, 0) is None  # one at a time
    sync.answered(A)
    assert sync.next_request(0, 0) == (A, BlockRequest(1, 50))


def test_a_failed_response_moves_the_next_request_elsewhere() -> None:
    sync = _state(1, a=50, b=40)
    assert sync.next_request(0, 0) == (A, BlockRequest(1, 50))
    assert sync.take_response(A) is not None
    sync.failed(A, 0)
    sync.answered(A)
    assert sync.next_request(0, 0) == (B, BlockRequest(1, 40))
    sync.delivered(A)
    assert sync.failures(A) == 0

"""Transaction gossip: the batch codec, duplicate suppression, relaying along a line of
three real nodes (a -- b -- c) with the pool's verdicts deciding what spreads, and no
relaying at all in a full mesh (the publisher's coverage names every node)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st
from network_rig import Inbox, KitFactory, address_of, eventually, keys, manager, run

from baychain.codec import rlp
from baychain.crypto import get_suite
from baychain.errors import AlreadyKnown, DecodingError, MalformedTransaction
from baychain.network.frames import MessageKind
from baychain.network.gossip import (
    MAX_COVERED,
    MAX_GOSSIP_BATCH,
    SeenCache,
    TransactionGossip,
    decode_batch,
    decode_transactions,
    encode_transactions,
    split_batches,
)
from baychain.network.transport import MessageHandler
from baychain.primitives import Hash32, PeerId

SUITE = get_suite("ecdsa")


@given(st.lists(st.binary(min_size=1, max_size=200), min_size=1, max_size=MAX_GOSSIP_BATCH))
def test_batches_round_trip(raws: list[bytes]) -> None:
    assert decode_transactions(encode_transactions(raws)) == raws


@given(
    st.lists(st.binary(min_size=1, max_size=50), min_size=1, max_size=20),
    st.frozensets(st.text(min_size=1, max_size=20).map(PeerId), max_size=10),
)
def test_batches_with_coverage_round_trip(raws: list[bytes], covered: frozenset[PeerId]) -> None:
    batch = decode_batch(encode_transactions(raws, covered))
    assert batch.raws == raws and batch.covered == covered


def test_a_coverage_above_the_cap_is_refused_both_ways() -> None:
    too_many = {PeerId(str(i)) for i in range(MAX_COVERED + 1)}
    with pytest.raises(ValueError, match="covers at most"):
        encode_transactions([b"tx"], too_many)
    payload = rlp.encode([[str(i).encode() for i in range(MAX_COVERED + 1)], [b"tx"]])
    with pytest.raises(DecodingError, match="covers at most"):
        decode_batch(payload)


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"\x80",
        b"\xc0",
        b"\xc1\x80",
        b"\xc2\xc1\x01",
        b"\xf9\x01\x01" + b"\x01" * 257,
        rlp.encode([[], [b"tx"], []]),  # a third field
        rlp.encode([[b"\xff"], [b"tx"]]),  # a peer id that is not UTF-8
        rlp.encode([b"a", [b"tx"]]),  # coverage not a list
        rlp.encode([[], []]),  # no transaction
        rlp.encode([[], [b"tx", b""]]),  # an empty transaction
    ],
)
def test_malformed_batches_are_decoding_errors(payload: bytes) -> None:
    with pytest.raises(DecodingError):
        decode_transactions(payload)


def test_the_seen_cache_is_bounded_and_forgets_the_oldest() -> None:
    cache = SeenCache(capacity=3)
    hashes = [Hash32(bytes([i]) * 32) for i in range(4)]
    assert all(cache.add(h) for h in hashes)
    assert not cache.add(hashes[3])
    assert len(cache) == 3 and hashes[0] not in cache and hashes[1] in cache


@given(st.lists(st.binary(min_size=1, max_size=100), max_size=600), st.integers(120, 400))
def test_relay_batches_respect_count_and_size_limits(raws: list[bytes], max_bytes: int) -> None:
    batches = split_batches(raws, max_bytes)
    assert [raw for batch in batches for raw in batch] == raws  # each fits on its own
    for batch in batches:
        assert 1 <= len(batch) <= MAX_GOSSIP_BATCH
        assert sum(len(raw) + 9 for raw in batch) <= max_bytes


def pool(accepted: list[bytes]) -> Callable[[bytes], None]:
    """A stand-in for the node's pool intake: b"tx..." is accepted once."""

    def admit(raw: bytes) -> None:
        if raw.startswith(b"bad"):
            raise MalformedTransaction("not a transaction")
        if raw in accepted:
            raise AlreadyKnown(SUITE.hash(raw))
        accepted.append(raw)

    return admit


def test_transactions_spread_along_a_line_and_invalid_ones_cost_the_sender(
    make_kit: KitFactory,
) -> None:
    kits = [make_kit(name) for name in ("node-a", "node-b", "node-c")]
    allowed = keys(*kits)
    pools: list[list[bytes]] = [[], [], []]
    inboxes = [Inbox(), Inbox(), Inbox()]

    async def scenario() -> None:
        gossips: list[TransactionGossip] = []

        def handler_for(i: int) -> MessageHandler:
            async def handler(peer: PeerId, kind: MessageKind, payload: bytes) -> None:
                await inboxes[i].handler(peer, kind, payload)
                if kind is MessageKind.TRANSACTIONS:
                    gossips[i].handle(peer, payload)

            return handler

        nodes = [
            manager(kit, allowed, seed=i, handler=handler_for(i)) for i, kit in enumerate(kits)
        ]
        gossips.extend(
            TransactionGossip(node, SUITE, pool(accepted))
            for node, accepted in zip(nodes, pools, strict=True)
        )
        async with contextlib.AsyncExitStack() as stack:
            for node in nodes:
                await stack.enter_async_context(node)
            a, b, c = nodes
            a.add_peer(address_of(b))
            c.add_peer(address_of(b))
            await eventually(lambda: len(b.connected_peers()) == 2)
            await eventually(lambda: bool(a.connected_peers() and c.connected_peers()))

            pools[0].append(b"tx-1")  # a's pool took it from a client
            assert gossips[0].publish([b"tx-1"]) == 1
            assert gossips[0].publish([b"tx-1"]) == 0  # already seen: not sent twice
            await eventually(lambda: pools[2] == [b"tx-1"])
            assert pools[1] == [b"tx-1"]
            await eventually(lambda: len(inboxes[2].messages) == 1)
            assert not inboxes[0].messages  # b relays to c only, c to nobody new
            ((sender, _, payload),) = inboxes[2].messages
            assert sender == b.peer_id
            assert decode_batch(payload).covered == {a.peer_id, b.peer_id, c.peer_id}

            # a misbehaving a relays an invalid transaction: b scores a, drops it
            a.broadcast(MessageKind.TRANSACTIONS, encode_transactions([b"bad-1", b"tx-2"]))
            await eventually(lambda: pools[2] == [b"tx-1", b"tx-2"])
            assert b.metrics.get("offence.invalid_message") == 1
            assert b.score(a.peer_id) > 0 and b.score(c.peer_id) == 0
            assert b"bad-1" not in pools[1]

    run(scenario())


def test_a_full_mesh_does_not_relay(make_kit: KitFactory) -> None:
    kits = [make_kit(name) for name in ("node-a", "node-b", "node-c", "node-d")]
    allowed = keys(*kits)
    pools: list[list[bytes]] = [[], [], [], []]
    inboxes = [Inbox(), Inbox(), Inbox(), Inbox()]

    async def scenario() -> None:
        gossips: list[TransactionGossip] = []

        def handler_for(i: int) -> MessageHandler:
            async def handler(peer: PeerId, kind: MessageKind, payload: bytes) -> None:
                if kind is MessageKind.TRANSACTIONS:
                    await inboxes[i].handler(peer, kind, payload)
                    gossips[i].handle(peer, payload)

            return handler

        nodes = [
            manager(kit, allowed, seed=i, handler=handler_for(i)) for i, kit in enumerate(kits)
        ]
        gossips.extend(
            TransactionGossip(node, SUITE, pool(accepted))
            for node, accepted in zip(nodes, pools, strict=True)
        )
        async with contextlib.AsyncExitStack() as stack:
            for node in nodes:
                await stack.enter_async_context(node)
            for i, node in enumerate(nodes):
                for other in nodes[i + 1 :]:
                    node.add_peer(address_of(other))
            await eventually(lambda: all(len(node.connected_peers()) == 3 for node in nodes))

            pools[0].append(b"tx-1")
            assert gossips[0].publish([b"tx-1"]) == 1
            await eventually(lambda: all(accepted == [b"tx-1"] for accepted in pools))
            published = {node.peer_id for node in nodes}
            for inbox in inboxes[1:]:  # one message each, from a, covering everyone
                ((sender, _, payload),) = inbox.messages
                assert sender == nodes[0].peer_id
                assert decode_batch(payload).covered == published
            pools[3].append(b"tx-2")  # d publishes: still one message per peer
            assert gossips[3].publish([b"tx-2"]) == 1
            await eventually(lambda: all(b"tx-2" in accepted for accepted in pools))
            await asyncio.sleep(0.1)  # time for any relay to show up
            assert [len(inbox.messages) for inbox in inboxes] == [1, 2, 2, 1]

    run(scenario())

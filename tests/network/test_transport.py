"""PeerManager over real TLS sockets on 127.0.0.1: connecting, messaging, refusing
strangers and impostors, policing bad input, surviving slow peers, reconnecting."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import pytest
from network_rig import (
    Inbox,
    KitFactory,
    NodeKit,
    address_of,
    eventually,
    keys,
    manager,
    raw_session,
    read_until_closed,
    run,
)

from baychain.errors import FrameTooLarge, HandshakeFailed, InvalidPeerMessage
from baychain.network.frames import MessageKind, encode_frame
from baychain.network.handshake import NodeIdentity, Refusal, decode_goodbye
from baychain.network.pki import (
    CertifiedKey,
    TlsCredentials,
    issue_node_certificate,
    write_tls_files,
)
from baychain.network.scoring import ScoreConfig
from baychain.network.transport import PeerManager
from baychain.primitives import PeerId

CONSENSUS = MessageKind.CONSENSUS
STRANGER = PeerId("0x" + "99" * 20)


async def start(*managers: PeerManager) -> contextlib.AsyncExitStack:
    """Start ``managers``; the returned stack closes them all."""
    stack = contextlib.AsyncExitStack()
    for peer_manager in managers:
        await stack.enter_async_context(peer_manager)
    return stack


async def connect(dialer: PeerManager, listener: PeerManager) -> None:
    """Make ``dialer`` dial ``listener`` and wait until both see the connection."""
    dialer.add_peer(address_of(listener, expect=True))
    await eventually(
        lambda: dialer.is_connected(listener.peer_id) and listener.is_connected(dialer.peer_id)
    )


@pytest.mark.parametrize("suite", ["ecdsa", "sm"])
def test_two_nodes_connect_and_exchange_messages(make_kit: KitFactory, suite: str) -> None:
    a, b = make_kit("node-a", suite=suite), make_kit("node-b", suite=suite)
    inbox_a, inbox_b = Inbox(), Inbox()
    connects: list[str] = []

    async def scenario() -> None:
        node_b = manager(
            b, keys(a, b), inbox_b, on_connect=lambda info: connects.append(info.certificate_name)
        )
        node_a = manager(a, keys(a, b), inbox_a)
        async with await start(node_b, node_a):
            await connect(node_a, node_b)
            big = bytes(range(256)) * 4096  # 1 MiB: many TLS records, many reads
            assert node_a.send(node_b.peer_id, CONSENSUS, b"to b")
            assert node_a.send(node_b.peer_id, MessageKind.BLOCK_RESPONSE, big)
            assert node_b.send(node_a.peer_id, MessageKind.TRANSACTIONS, b"to a")
            await eventually(lambda: len(inbox_b.messages) == 2 and len(inbox_a.messages) == 1)
            assert inbox_b.messages == [
                (node_a.peer_id, CONSENSUS, b"to b"),
                (node_a.peer_id, MessageKind.BLOCK_RESPONSE, big),
            ]
            assert inbox_a.messages == [(node_b.peer_id, MessageKind.TRANSACTIONS, b"to a")]
            (seen_by_b,) = node_b.connected_peers()
            assert seen_by_b.peer_id == a.identity.peer_id
            assert seen_by_b.public_key == a.identity.public_key
            assert seen_by_b.certificate_name == "node-a"
            assert not seen_by_b.outbound and node_a.connected_peers()[0].outbound
            assert connects == ["node-a"]

    run(scenario())


def test_three_nodes_broadcast_to_each_other(make_kit: KitFactory) -> None:
    kits = [make_kit(f"node-{i}") for i in range(3)]
    inboxes = [Inbox() for _ in kits]
    allowed = keys(*kits)

    async def scenario() -> None:
        nodes = [
            manager(kit, allowed, box, seed=i)
            for i, (kit, box) in enumerate(zip(kits, inboxes, strict=True))
        ]
        async with await start(*nodes):
            for dialer, listener in [(0, 1), (0, 2), (1, 2)]:
                await connect(nodes[dialer], nodes[listener])
            for i, node in enumerate(nodes):
                assert node.broadcast(CONSENSUS, f"from {i}".encode()) == 2
            assert nodes[0].broadcast(CONSENSUS, b"not to 1", exclude=[nodes[1].peer_id]) == 1
            await eventually(lambda: sum(len(box.messages) for box in inboxes) == 7)
            assert sorted(inboxes[0].payloads()) == [b"from 1", b"from 2"]
            assert sorted(inboxes[1].payloads()) == [b"from 0", b"from 2"]
            assert sorted(inboxes[2].payloads()) == [b"from 0", b"from 1", b"not to 1"]

    run(scenario())


def test_simultaneous_dials_settle_on_one_connection_both_ends_agree_on(
    make_kit: KitFactory,
) -> None:
    a, b = make_kit("node-a"), make_kit("node-b")

    async def scenario() -> None:
        node_a, node_b = manager(a, keys(a, b)), manager(b, keys(a, b), seed=2)
        async with await start(node_a, node_b):
            node_a.add_peer(address_of(node_b))
            node_b.add_peer(address_of(node_a))
            await eventually(lambda: node_a.is_connected(b.identity.peer_id))
            await eventually(lambda: node_b.is_connected(a.identity.peer_id))
            await asyncio.sleep(0.5)  # let any duplicate be found and closed
            (view_a,), (view_b,) = node_a.connected_peers(), node_b.connected_peers()
            assert view_a.outbound != view_b.outbound  # the same TCP connection
            dialer = node_a.peer_id if view_a.outbound else node_b.peer_id
            assert dialer == min(node_a.peer_id, node_b.peer_id)
            assert node_a.send(node_b.peer_id, CONSENSUS, b"x")
            connections = node_a.metrics.get("connections") + node_b.metrics.get("connections")
            await asyncio.sleep(0.3)
            assert node_a.metrics.get("connections") + node_b.metrics.get("connections") == (
                connections
            )  # stable: nobody keeps redialing

    run(scenario())


def test_certificates_from_another_ca_are_refused_at_tls(
    make_kit: KitFactory, foreign_ca: CertifiedKey, consortium_ca: CertifiedKey
) -> None:
    b = make_kit("node-b")
    stranger = make_kit("stranger", ca=foreign_ca)  # foreign cert, trusts the foreign CA
    # A foreign certificate that trusts our CA: only the server's check can catch it.
    forged = make_kit("forged")
    files = write_tls_files(
        forged.directory / "foreign",
        issue_node_certificate(foreign_ca, "forged"),
        consortium_ca.certificate,
    )
    forged.tls = TlsCredentials.load(files)
    allowed = keys(b, stranger, forged)

    async def scenario() -> None:
        node_b = manager(b, allowed)
        node_s, node_f = manager(stranger, allowed), manager(forged, allowed)
        async with await start(node_b, node_s, node_f):
            node_s.add_peer(address_of(node_b))
            node_f.add_peer(address_of(node_b))
            await eventually(lambda: node_b.metrics.get("handshake_failed.tls") >= 2)
            await eventually(lambda: node_s.metrics.get("handshake_failed.tls") >= 1)
            # the forged node's TLS succeeds on its side; the listener then hangs up
            await eventually(
                lambda: (
                    node_f.metrics.get("handshake_failed.tls")
                    + node_f.metrics.get("handshake_failed.closed")
                    >= 1
                )
            )
            assert not node_b.connected_peers()
            assert not node_s.connected_peers() and not node_f.connected_peers()

    run(scenario())


def test_a_consortium_node_whose_key_is_not_allowed_is_refused_at_the_handshake(
    make_kit: KitFactory,
) -> None:
    b, outsider = make_kit("node-b"), make_kit("outsider")

    async def scenario() -> None:
        node_b = manager(b, keys(b))  # outsider's key is not in b's peer set
        node_o = manager(outsider, keys(b, outsider))
        async with await start(node_b, node_o):
            node_o.add_peer(address_of(node_b))
            await eventually(lambda: node_b.metrics.get("handshake_failed.not_allowed") >= 1)
            await eventually(lambda: node_o.metrics.get("handshake_failed.refused_by_peer") >= 1)
            assert not node_b.connected_peers() and not node_o.connected_peers()

    run(scenario())


def test_a_stolen_tls_certificate_without_the_consensus_key_is_refused(
    make_kit: KitFactory,
) -> None:
    b, victim = make_kit("node-b"), make_kit("node-c")
    impostor_key = victim.identity.suite.new_private_key()
    # Mallory has node-c's certificate *and* TLS key, and claims node-c's consensus key,
    # but signs with a key of her own.
    mallory = make_kit("mallory", certified=victim.certified, private_key=impostor_key)
    mallory.identity = NodeIdentity(
        mallory.identity.suite,
        impostor_key,
        victim.identity.public_key,
        mallory.identity.chain_id,
        mallory.identity.genesis_hash,
    )

    async def scenario() -> None:
        node_b = manager(b, keys(b, victim))
        node_m = manager(mallory, keys(b))
        async with await start(node_b, node_m):
            node_m.add_peer(address_of(node_b))
            await eventually(lambda: node_b.metrics.get("handshake_failed.bad_signature") >= 1)
            assert not node_b.is_connected(victim.identity.peer_id)
            # By hand: mallory's side of the exchange completes (b proved itself), then
            # b, which checks the proof last, says why it hangs up.
            stream = await raw_session(mallory, node_b.listen_port)
            (goodbye,) = await read_until_closed(stream)
            assert goodbye.kind == MessageKind.GOODBYE
            assert decode_goodbye(goodbye.payload)[0] == Refusal.BAD_SIGNATURE

    run(scenario())


@pytest.mark.parametrize(
    ("changes", "metric"),
    [({"chain_id": 1}, "wrong_chain"), ({"genesis": b"\x09" * 32}, "wrong_genesis")],
)
def test_a_node_of_another_chain_is_refused(
    make_kit: KitFactory, changes: dict[str, object], metric: str
) -> None:
    b = make_kit("node-b")
    other = make_kit("other", **changes)

    async def scenario() -> None:
        node_b, node_o = manager(b, keys(b, other)), manager(other, keys(b, other))
        async with await start(node_b, node_o):
            node_o.add_peer(address_of(node_b))
            await eventually(lambda: node_b.metrics.get(f"handshake_failed.{metric}") >= 1)
            await eventually(lambda: node_o.metrics.get(f"handshake_failed.{metric}") >= 1)
            assert not node_b.connected_peers()

    run(scenario())


def test_oversized_frames_and_garbage_get_a_peer_banned_while_others_are_served(
    make_kit: KitFactory, caplog: pytest.LogCaptureFixture
) -> None:
    b, c, m = make_kit("node-b"), make_kit("node-c"), make_kit("mallory")
    inbox_b, inbox_c = Inbox(), Inbox()
    caplog.set_level(logging.WARNING, logger="baychain.network")

    async def scenario() -> None:
        node_b = manager(b, keys(b, c, m), inbox_b)
        node_c = manager(c, keys(b, c), inbox_c)
        async with await start(node_b, node_c):
            await connect(node_c, node_b)
            mallory = m.identity.peer_id

            stream = await raw_session(m, node_b.listen_port)
            stream.writer.write((node_b.config.max_frame_bytes + 1).to_bytes(4, "big"))
            goodbye = await read_until_closed(stream)
            assert [f.kind for f in goodbye] == [MessageKind.GOODBYE]
            assert node_b.metrics.get("offence.oversized_frame") == 1
            assert node_b.score(mallory) == pytest.approx(50, abs=1)
            assert not node_b.is_banned(mallory)

            stream = await raw_session(m, node_b.listen_port)
            stream.writer.write(b"\x00\x00\x00\x01garbage, not a frame")
            await read_until_closed(stream)
            assert node_b.metrics.get("offence.malformed_frame") == 1
            assert node_b.is_banned(mallory) and node_b.metrics.get("peers_banned") == 1

            with pytest.raises(HandshakeFailed) as caught:
                await raw_session(m, node_b.listen_port)
            assert caught.value.reason == Refusal.REFUSED_BY_PEER
            assert node_b.metrics.get("handshake_failed.banned") == 1

            # b kept serving c throughout
            assert node_c.send(b.identity.peer_id, CONSENSUS, b"still there?")
            await eventually(lambda: inbox_b.payloads() == [b"still there?"])
            assert node_b.send(c.identity.peer_id, CONSENSUS, b"yes")
            await eventually(lambda: inbox_c.payloads() == [b"yes"])
            assert node_b.is_connected(c.identity.peer_id)

        warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert any(mallory in w and "oversized_frame" in w for w in warnings)
        assert any(mallory in w and "banning" in w for w in warnings)

    run(scenario())


def test_unknown_kinds_and_invalid_messages_are_dropped_and_scored(
    make_kit: KitFactory,
) -> None:
    b, m = make_kit("node-b"), make_kit("mallory")
    delivered: list[bytes] = []

    async def handler(peer: object, kind: MessageKind, payload: bytes) -> None:
        if payload == b"bad":
            raise InvalidPeerMessage("replayed vote")
        if payload == b"bug":
            raise RuntimeError("a bug in the node, not the peer's fault")
        delivered.append(payload)

    async def scenario() -> None:
        node_b = manager(b, keys(b, m), handler=handler)
        async with await start(node_b):
            mallory = m.identity.peer_id
            stream = await raw_session(m, node_b.listen_port)
            stream.write_frame(0x7F, b"what is this")  # unknown kind: 10
            stream.write_frame(CONSENSUS, b"v9", version=9)  # not the agreed version: 20
            stream.write_frame(MessageKind.HELLO, b"again")  # handshake is over: 20
            stream.write_frame(CONSENSUS, b"bad")  # handler refuses: 10
            stream.write_frame(CONSENSUS, b"bug")  # handler bug: not scored
            stream.write_frame(CONSENSUS, b"fine")
            await eventually(lambda: delivered == [b"fine"])
            assert node_b.metrics.get("offence.unknown_kind") == 1
            assert node_b.metrics.get("offence.unsupported_version") == 1
            assert node_b.metrics.get("offence.unexpected_message") == 1
            assert node_b.metrics.get("offence.invalid_message") == 1
            assert node_b.metrics.get("handler_errors") == 1
            assert node_b.score(mallory) == pytest.approx(60, abs=1)
            assert node_b.is_connected(mallory)

            node_b.report_invalid(mallory, "bad signature found later")  # 70
            for _ in range(3):
                stream.write_frame(CONSENSUS, b"bad")  # 80, 90, 100: banned
            await read_until_closed(stream)
            assert node_b.is_banned(mallory) and not node_b.is_connected(mallory)
            assert node_b.metrics.get("offence.invalid_message") == 5

    run(scenario())


def test_the_running_transport_forgets_leaked_scores_and_expired_bans(
    make_kit: KitFactory,
) -> None:
    b, c, m = make_kit("node-b"), make_kit("node-c"), make_kit("mallory")
    now = [0.0]
    scores = ScoreConfig(threshold=100, ban_seconds=60.0, decay_per_second=1.0)

    async def scenario() -> None:
        node_b = manager(b, keys(b, c, m), clock=lambda: now[0], scores=scores)
        node_c = manager(c, keys(b, c), seed=2)
        async with await start(node_b, node_c):
            stream = await raw_session(m, node_b.listen_port)
            stream.write_frame(0x7F, b"what is this")  # 10 points, leaking 1 a second
            await eventually(lambda: node_b.metrics.get("offence.unknown_kind") == 1)
            node_b.report_invalid(STRANGER, "forged vote", points=100)  # banned for 60 s
            assert len(node_b.scores) == 2

            now[0] = 100.0  # the score has leaked to zero and the ban has expired,
            assert len(node_b.scores) == 2  # but nothing prunes the table on its own
            await connect(node_c, node_b)  # a new connection does
            assert len(node_b.scores) == 0

            stream.write_frame(0x7F, b"again")  # and so does an offence
            await eventually(lambda: node_b.metrics.get("offence.unknown_kind") == 2)
            node_b.report_invalid(STRANGER, "forged vote", points=100)
            now[0] = 200.0
            node_b.report_invalid(node_c.peer_id, "late bad signature", points=1)
            assert len(node_b.scores) == 1

    run(scenario())


def test_a_slow_peer_loses_frames_and_is_cut_off_without_holding_up_others(
    make_kit: KitFactory,
) -> None:
    b, c, slow = make_kit("node-b"), make_kit("node-c"), make_kit("slowpoke")
    inbox_c = Inbox()

    async def scenario() -> None:
        node_b = manager(b, keys(b, c, slow), send_queue_frames=4, write_timeout_seconds=0.5)
        node_c = manager(c, keys(b, c), inbox_c)
        async with await start(node_b, node_c):
            await connect(node_c, node_b)
            stream = await raw_session(slow, node_b.listen_port)  # and then never reads
            slow_id = slow.identity.peer_id
            await eventually(lambda: node_b.is_connected(slow_id))
            chunk = b"\x00" * (256 * 1024)
            checked_others = False
            for _ in range(1000):  # the kernel absorbs megabytes before the writer stalls
                if not node_b.is_connected(slow_id):
                    break
                if not node_b.send(slow_id, CONSENSUS, chunk) and not checked_others:
                    # the slow peer's queue is full right now: c must not notice
                    assert node_b.send(c.identity.peer_id, CONSENSUS, b"not held up")
                    await eventually(lambda: inbox_c.payloads() == [b"not held up"], timeout=0.4)
                    checked_others = True
                await asyncio.sleep(0.002)
            assert checked_others and node_b.metrics.get("send_dropped.queue_full") >= 1
            await eventually(lambda: not node_b.is_connected(slow_id))
            assert node_b.metrics.get("disconnected.slow") == 1
            assert node_b.is_connected(c.identity.peer_id)
            stream.writer.transport.abort()

    run(scenario())


def test_a_silent_peer_is_dropped_but_idle_managers_stay_connected(
    make_kit: KitFactory,
) -> None:
    a, b, quiet = make_kit("node-a"), make_kit("node-b"), make_kit("quiet")
    timers: dict[str, Any] = {"keepalive_seconds": 0.2, "idle_timeout_seconds": 0.8}

    async def scenario() -> None:
        node_a = manager(a, keys(a, b), **timers)
        node_b = manager(b, keys(a, b, quiet), **timers)
        async with await start(node_a, node_b):
            await connect(node_a, node_b)
            stream = await raw_session(quiet, node_b.listen_port)  # sends no keepalives
            frames = await read_until_closed(stream)
            assert MessageKind.KEEPALIVE in [f.kind for f in frames]
            assert frames[-1].kind == MessageKind.GOODBYE
            assert node_b.metrics.get("disconnected.idle") == 1
            assert node_a.is_connected(b.identity.peer_id)  # kept alive all along
            assert node_a.metrics.get("connections") == 1

    run(scenario())


def test_a_peer_reconnects_after_the_remote_restarts(make_kit: KitFactory) -> None:
    a, b = make_kit("node-a"), make_kit("node-b")
    inbox_b = Inbox()

    async def scenario() -> None:
        node_a = manager(a, keys(a, b))
        first_b = manager(b, keys(a, b))
        async with await start(node_a):
            await first_b.start()
            port = first_b.listen_port
            await connect(node_a, first_b)
            await first_b.close()
            await eventually(lambda: not node_a.is_connected(b.identity.peer_id))
            await asyncio.sleep(0.3)  # a few failed redials while b is down
            second_b = manager(b, keys(a, b), inbox_b, port=port)
            async with await start(second_b):
                await eventually(lambda: node_a.is_connected(b.identity.peer_id))
                assert node_a.send(b.identity.peer_id, CONSENSUS, b"welcome back")
                await eventually(lambda: inbox_b.payloads() == [b"welcome back"])
            assert node_a.metrics.get("dial_failed") >= 1

    run(scenario())


def test_revalidate_drops_peers_removed_from_the_consortium(make_kit: KitFactory) -> None:
    a, b = make_kit("node-a"), make_kit("node-b")
    allowed_by_b = keys(a, b)

    async def scenario() -> None:
        node_a, node_b = manager(a, keys(a, b)), manager(b, allowed_by_b)
        async with await start(node_a, node_b):
            await connect(node_a, node_b)
            assert node_b.revalidate() == 0
            allowed_by_b.discard(a.identity.public_key)  # governance removed a
            assert node_b.revalidate() == 1
            await eventually(lambda: not node_a.is_connected(b.identity.peer_id))
            await eventually(lambda: node_b.metrics.get("handshake_failed.not_allowed") >= 1)
            assert not node_b.connected_peers()

    run(scenario())


def test_a_node_listed_among_its_own_peers_does_not_dial_itself(make_kit: KitFactory) -> None:
    a: NodeKit = make_kit("node-a")

    async def scenario() -> None:
        node_a = manager(a, keys(a))
        async with await start(node_a):
            node_a.add_peer(address_of(node_a))
            await eventually(lambda: node_a.metrics.get("handshake_failed.self") >= 1)
            await asyncio.sleep(0.2)
            assert node_a.metrics.get("dials") == 1
            assert not node_a.connected_peers()

    run(scenario())


def test_control_kinds_cannot_be_sent_and_oversized_payloads_are_refused(
    make_kit: KitFactory,
) -> None:
    a = make_kit("node-a")
    node_a = manager(a, keys(a), max_frame_bytes=8192)
    with pytest.raises(ValueError):
        node_a.send(a.identity.peer_id, MessageKind.HELLO, b"")
    with pytest.raises(FrameTooLarge):
        node_a.broadcast(CONSENSUS, b"x" * 8192)
    assert not node_a.send(a.identity.peer_id, CONSENSUS, b"nobody")
    assert encode_frame(CONSENSUS, b"")  # the module is importable standalone


def test_an_unauthenticated_peer_cannot_send_a_big_frame(make_kit: KitFactory) -> None:
    b, m = make_kit("node-b"), make_kit("mallory")

    async def scenario() -> None:
        node_b = manager(b, keys(b, m))
        async with await start(node_b):
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", node_b.listen_port, ssl=m.tls.client
            )
            writer.write((5000).to_bytes(4, "big"))  # a "Hello" above the 4 KiB handshake cap
            await eventually(lambda: node_b.metrics.get("handshake_failed.malformed") == 1)
            # the listener sent its Hello, then a Goodbye saying why, then hung up
            assert b"exceeds the limit of 4096 bytes" in await reader.read()
            writer.close()
            assert not node_b.connected_peers()

    run(scenario())


# ----- handshake slots -------------------------------------------------------------------


async def idle_connections(port: int, count: int, source: str) -> list[asyncio.StreamWriter]:
    """``count`` TCP connections from ``source`` that never start TLS."""
    writers = []
    for _ in range(count):
        _, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
        writers.append(writer)
    return writers


def test_idle_connections_from_one_address_cannot_keep_a_validator_out(
    make_kit: KitFactory,
) -> None:
    a, b = make_kit("node-a"), make_kit("node-b")

    async def scenario() -> None:
        # Production timeouts: the idle connections would hold their slots for 10 s.
        node_b = manager(b, keys(a, b), handshake_timeout_seconds=10.0)
        node_a = manager(a, keys(a, b), handshake_timeout_seconds=10.0)
        async with await start(node_a, node_b):
            held = await idle_connections(node_b.listen_port, 64, "127.0.0.2")
            await asyncio.sleep(0.2)  # all accepted
            node_a.add_peer(address_of(node_b, expect=True))
            await eventually(lambda: node_b.is_connected(a.identity.peer_id), timeout=2.0)
            assert node_b.metrics.get("inbound_refused.per_address") >= 64 - 8
            for writer in held:
                writer.close()

    run(scenario())


def test_a_connection_that_never_starts_tls_loses_its_slot_quickly(make_kit: KitFactory) -> None:
    b = make_kit("node-b")

    async def scenario() -> None:
        node_b = manager(b, keys(b), handshake_timeout_seconds=10.0, tls_timeout_seconds=0.5)
        async with await start(node_b):
            reader, writer = await asyncio.open_connection("127.0.0.1", node_b.listen_port)
            await eventually(lambda: node_b.pending_handshakes == 1)
            async with asyncio.timeout(2.0):
                assert await reader.read() == b""  # hung up on, long before 10 s
            await eventually(lambda: node_b.pending_handshakes == 0)
            assert node_b.metrics.get("handshake_failed.timeout") == 1
            writer.close()

    run(scenario())


# ----- a panicking handler ---------------------------------------------------------------


class FakePanic(BaseException):
    """Like pyo3's ``PanicException``: a Rust panic surfaces as a BaseException."""


def test_a_panic_in_the_handler_does_not_kill_the_connection(make_kit: KitFactory) -> None:
    b, m = make_kit("node-b"), make_kit("mallory")
    delivered: list[bytes] = []

    async def handler(peer: object, kind: MessageKind, payload: bytes) -> None:
        if payload == b"panic":
            raise FakePanic("called `Option::unwrap()` on a `None` value")
        delivered.append(payload)

    async def scenario() -> None:
        node_b = manager(b, keys(b, m), handler=handler)
        async with await start(node_b):
            stream = await raw_session(m, node_b.listen_port)
            stream.write_frame(CONSENSUS, b"panic")
            stream.write_frame(CONSENSUS, b"fine")
            await eventually(lambda: delivered == [b"fine"])
            assert node_b.is_connected(m.identity.peer_id)
            assert node_b.metrics.get("handler_errors") == 1

    run(scenario())

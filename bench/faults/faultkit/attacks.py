"""A Byzantine validator: one validator's own key and certificate, scripted abuse.

The attacker is a real member of the consortium: it loads the node directory of one
validator (its SM4-encrypted consensus key, its TLS certificate from the consortium
CA), runs a :class:`~baychain.network.PeerManager` with them, and so passes TLS and
the identity handshake like the node it replaces. Then it misbehaves:

==================  ===========================================================
attack              what it sends, to every honest peer
==================  ===========================================================
request-flood       BLOCK_REQUEST for one block at a random height, ``FLOOD_PER_S`` a second
fake-height         STATUS claiming height 2**62 (and a random head), 50 a second
junk-response       unsolicited BLOCK_RESPONSE: random bytes, lists of junk blocks, and
                    one above the 8 MiB response limit every second
forged-votes        prevotes and precommits for the current round, in the names of every
                    validator, with random signatures
replayed-votes      consensus messages the honest nodes sent earlier (valid signatures),
                    re-sent round-robin at ``FLOOD_PER_S`` a second
oversize-frames     a CONSENSUS frame just above the peer's frame cap, once a second
idle-handshakes     up to ``IDLE_SOCKETS`` raw TCP connections per peer's p2p port that
                    never start TLS, reopened as they are closed
equivocation        for every round it sees, two different prevotes (and precommits)
                    signed with the real key: one for the proposal's block (or a random
                    hash), one nil; in alternate rounds each to a different half of the
                    peers, or both to every peer
none                nothing: connected and silent (the control)
==================  ===========================================================

It watches what the honest nodes send (votes, proposals, STATUS) to know the current
height and round and to have messages to replay. :func:`run_attacker` returns counts:
what was sent, how many peers were connected at the start and the end, connects and
disconnects (a ban shows as a disconnect and refused redials), and the transport's
metrics.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import os
import random
import time
import urllib.request
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from baychain.codec import rlp
from baychain.consensus.messages import (
    decode_message,
    encode_message,
    vote_sign_bytes,
)
from baychain.consensus.types import Proposal, Round, Vote, VoteType
from baychain.crypto import get_suite
from baychain.errors import BayChainError
from baychain.network import (
    MAX_FRAME_BYTES,
    MessageKind,
    NodeIdentity,
    PeerAddress,
    PeerInfo,
    PeerManager,
    TlsCredentials,
    TlsFiles,
    TransportConfig,
)
from baychain.node.bft.sync import (
    BlockRequest,
    ChainStatus,
    decode_status,
    encode_block_request,
    encode_status,
)
from baychain.node.genesis import load_genesis
from baychain.node.host.datadir import load_validator_key
from baychain.node.host.settings import load_config
from baychain.primitives import Hash32, Height, PeerId

ATTACKS = (
    "idle-handshakes",
    "request-flood",
    "fake-height",
    "replayed-votes",
    "equivocation",
    "forged-votes",
    "junk-response",
    "oversize-frames",
)
"""Every attack, in the order ``all`` runs them: the ones a node should ban last."""
FLOOD_PER_S = 200
"""Messages a second per peer for the flooding attacks."""
IDLE_SOCKETS = 100
"""Raw TCP connections held open per peer by idle-handshakes."""
MAX_REPLAY = 2000
"""Captured consensus messages kept for replaying."""
CONNECT_TIMEOUT_S = 30.0
CLOSE_TIMEOUT_S = 15.0


@dataclass
class Observed:
    """What the attacker learned from the honest nodes."""

    height: int = 0
    round: int = 0
    proposals: dict[tuple[int, int], Hash32] = field(default_factory=dict)
    captured: deque[bytes] = field(default_factory=lambda: deque(maxlen=MAX_REPLAY))
    peer_heights: dict[str, int] = field(default_factory=dict)


@dataclass
class Attacker:
    """The attacker's keys, peers and counters."""

    suite: Any
    chain_id: int
    genesis_hash: Hash32
    key: bytes
    validators: list[Any]
    manager: PeerManager
    honest: list[PeerAddress]
    observed: Observed
    sent: dict[str, int] = field(default_factory=dict)
    connects: int = 0
    disconnects: int = 0

    def count(self, name: str, amount: int = 1) -> None:
        self.sent[name] = self.sent.get(name, 0) + amount

    def peers(self) -> list[PeerId]:
        return [info.peer_id for info in self.manager.connected_peers()]


def genesis_hash(rpc_url: str) -> Hash32:
    """Block 0's hash, as an honest node serves it."""
    body = json.dumps(
        {"jsonrpc": "2.0", "id": 1, "method": "eth_getBlockByNumber", "params": ["0x0", False]}
    ).encode()
    request = urllib.request.Request(
        rpc_url, data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return Hash32(bytes.fromhex(json.loads(response.read())["result"]["hash"][2:]))


async def run_attacker(
    network_dir: Path,
    node: str,
    attack: str,
    duration_s: float,
    ready: Callable[[int], None] | None = None,
    report: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Run ``attack`` for ``duration_s`` as validator ``node`` of ``network_dir``.

    ``ready(connected)`` is called once the attacker is connected (or gave up waiting),
    ``report(counts)`` as soon as the attack ends, before the connections are closed
    (which may stall: a peer that stopped reading holds a 16 MiB frame in the queue).
    """
    document = json.loads((network_dir / "network.json").read_text())
    entries = {entry["name"]: entry for entry in document["nodes"]}
    own = entries[node]
    others = [entry for name, entry in entries.items() if name != node]
    config = load_config(Path(own["dir"]) / "node.toml")
    genesis = load_genesis(config.genesis_file)
    suite = get_suite(genesis.crypto)
    key = load_validator_key(config, genesis.crypto)
    tls = TlsCredentials.load(
        TlsFiles(
            config.tls_dir / "node.crt", config.tls_dir / "node.key", config.tls_dir / "ca.crt"
        )
    )
    block_zero = genesis_hash(others[0]["rpc"])
    identity = NodeIdentity.from_private_key(suite, key, genesis.chain_id, block_zero)
    honest = [PeerAddress(*_host_port(entry["p2p"])) for entry in others]
    observed = Observed()
    transport = TransportConfig(
        listen_host=config.p2p_host,
        listen_port=config.p2p_port,
        peers=tuple(honest),
        max_frame_bytes=4 * MAX_FRAME_BYTES,  # so oversize frames leave this side
        send_queue_bytes=8 * MAX_FRAME_BYTES,
    )
    attacker: Attacker | None = None

    def on_connect(info: PeerInfo) -> None:
        if attacker is not None:
            attacker.connects += 1

    def on_disconnect(info: PeerInfo) -> None:
        if attacker is not None:
            attacker.disconnects += 1

    manager = PeerManager(
        identity,
        tls,
        transport,
        allowed={v.public_key for v in genesis.validators},
        handler=lambda peer, kind, payload: _observe(observed, peer, kind, payload),
        on_connect=on_connect,
        on_disconnect=on_disconnect,
    )
    attacker = Attacker(
        suite,
        genesis.chain_id,
        block_zero,
        key,
        list(genesis.validators),
        manager,
        honest,
        observed,
    )
    await manager.start()
    try:
        deadline = time.monotonic() + CONNECT_TIMEOUT_S
        while len(attacker.peers()) < len(honest) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # hear a round's votes before attacking
        connected_at_start = len(attacker.peers())
        if ready is not None:
            ready(connected_at_start)
        started = time.monotonic()
        await asyncio.wait_for(
            ATTACK_FUNCTIONS[attack](attacker, started + duration_s), duration_s + 30
        )
        result = {
            "attack": attack,
            "node": node,
            "duration_s": round(time.monotonic() - started, 2),
            "connected_at_start": connected_at_start,
            "connected_at_end": len(attacker.peers()),
            "connects": attacker.connects,
            "disconnects": attacker.disconnects,
            "sent": dict(attacker.sent),
            "observed_height": observed.height,
            "transport_metrics": {
                k: v
                for k, v in manager.metrics.snapshot().items()
                if not k.startswith(("bytes_", "frames_"))
            },
        }
        if report is not None:
            report(result)
    finally:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(manager.close(), CLOSE_TIMEOUT_S)
    return result


def _host_port(text: str) -> tuple[str, int]:
    host, port = text.rsplit(":", 1)
    return host, int(port)


def _observe(observed: Observed, peer: PeerId, kind: MessageKind, payload: bytes) -> None:
    """Learn the round and keep messages to replay; never raise (we are the attacker)."""
    if kind == MessageKind.CONSENSUS:
        try:
            message = decode_message(payload)
        except BayChainError:
            return
        if isinstance(message, Vote | Proposal):
            observed.captured.append(payload)
            if (message.height, message.round) > (observed.height, observed.round):
                observed.height, observed.round = message.height, message.round
            if isinstance(message, Proposal):
                observed.proposals[(message.height, message.round)] = message.block_hash
    elif kind == MessageKind.STATUS:
        with contextlib.suppress(BayChainError):
            observed.peer_heights[peer] = decode_status(payload).height


# ----- the attacks ---------------------------------------------------------------------


async def _paced(attacker: Attacker, until: float, per_s: float, send: Any) -> None:
    """Call ``send()`` ``per_s`` times a second until ``until`` (in bursts every 20 ms)."""
    burst = max(1, round(per_s / 50))
    while time.monotonic() < until:
        for _ in range(burst):
            send()
        await asyncio.sleep(0.02)


def _to_all(attacker: Attacker, kind: MessageKind, payload: bytes, name: str) -> None:
    taken = attacker.manager.broadcast(kind, payload)
    attacker.count(name, taken)
    if taken < len(attacker.honest):
        attacker.count(name + ".dropped", len(attacker.honest) - taken)


async def _none(attacker: Attacker, until: float) -> None:
    await asyncio.sleep(max(0.0, until - time.monotonic()))


async def _request_flood(attacker: Attacker, until: float) -> None:
    rng = random.Random(1)

    def send() -> None:
        top = max(1, attacker.observed.height - 1)
        start = rng.randint(1, top)
        payload = encode_block_request(BlockRequest(start, 1))
        _to_all(attacker, MessageKind.BLOCK_REQUEST, payload, "block_request")

    await _paced(attacker, until, FLOOD_PER_S, send)


async def _fake_height(attacker: Attacker, until: float) -> None:
    def send() -> None:
        payload = encode_status(ChainStatus(2**62, Hash32(os.urandom(32))))
        _to_all(attacker, MessageKind.STATUS, payload, "status_fake_height")

    await _paced(attacker, until, 50, send)


async def _junk_response(attacker: Attacker, until: float) -> None:
    rng = random.Random(2)
    big = rlp.encode([os.urandom(1024 * 1024) for _ in range(9)])  # above the 8 MiB limit
    last_big = 0.0

    def send() -> None:
        nonlocal last_big
        choice = rng.randrange(3)
        if choice == 0:
            payload = os.urandom(rng.randint(1, 4096))
        elif choice == 1:
            payload = rlp.encode([os.urandom(100) for _ in range(64)])
        else:
            payload = rlp.encode([os.urandom(rng.randint(200, 2000))])
        _to_all(attacker, MessageKind.BLOCK_RESPONSE, payload, "block_response_junk")
        if time.monotonic() - last_big > 1.0:
            last_big = time.monotonic()
            _to_all(attacker, MessageKind.BLOCK_RESPONSE, big, "block_response_oversize")

    await _paced(attacker, until, 100, send)


async def _forged_votes(attacker: Attacker, until: float) -> None:
    rng = random.Random(3)

    def send() -> None:
        observed = attacker.observed
        validator = rng.choice(attacker.validators)
        vote = Vote(
            rng.choice((VoteType.PREVOTE, VoteType.PRECOMMIT)),
            Height(max(1, observed.height)),
            Round(observed.round),
            rng.choice((None, Hash32(os.urandom(32)))),
            validator.address,
            os.urandom(65),
        )
        _to_all(attacker, MessageKind.CONSENSUS, encode_message(vote), "forged_vote")

    await _paced(attacker, until, FLOOD_PER_S, send)


async def _replayed_votes(attacker: Attacker, until: float) -> None:
    position = 0

    def send() -> None:
        nonlocal position
        captured = attacker.observed.captured
        if not captured:
            return
        payload = captured[position % len(captured)]
        position += 1
        _to_all(attacker, MessageKind.CONSENSUS, payload, "replayed")

    await _paced(attacker, until, FLOOD_PER_S, send)


async def _oversize_frames(attacker: Attacker, until: float) -> None:
    payload = os.urandom(MAX_FRAME_BYTES + 1024)
    while time.monotonic() < until:
        _to_all(attacker, MessageKind.CONSENSUS, payload, "oversize_frame")
        await asyncio.sleep(1.0)


async def _idle_handshakes(attacker: Attacker, until: float) -> None:
    held: list[asyncio.StreamWriter] = []

    async def hold(address: PeerAddress) -> None:
        while time.monotonic() < until:
            try:
                reader, writer = await asyncio.open_connection(address.host, address.port)
            except OSError:
                attacker.count("idle_connect_failed")
                await asyncio.sleep(0.5)
                continue
            attacker.count("idle_opened")
            held.append(writer)
            opened = time.monotonic()
            with contextlib.suppress(OSError, asyncio.TimeoutError):
                await asyncio.wait_for(reader.read(), timeout=max(0.1, until - time.monotonic()))
            if time.monotonic() < until:
                attacker.count("idle_closed_by_peer")
                if time.monotonic() - opened < 1.0:
                    attacker.count("idle_closed_within_1s")
            writer.close()

    tasks = [
        asyncio.create_task(hold(address))
        for address in attacker.honest
        for _ in range(IDLE_SOCKETS)
    ]
    await asyncio.gather(*tasks, return_exceptions=True)
    for writer in held:
        writer.close()


async def _equivocation(attacker: Attacker, until: float) -> None:
    done: set[tuple[int, int]] = set()
    while time.monotonic() < until:
        observed = attacker.observed
        position = (observed.height, observed.round)
        peers = attacker.peers()
        if observed.height and position not in done and peers:
            done.add(position)
            block = observed.proposals.get(position) or Hash32(os.urandom(32))
            # Alternate rounds: split views (each peer sees one consistent vote, the
            # classic attack, which only vote relay could expose), then both votes to
            # everyone (each peer holds the evidence).
            split = len(done) % 2 == 1
            halves = (peers[::2], peers[1::2]) if split else (peers, peers)
            for vote_type in (VoteType.PREVOTE, VoteType.PRECOMMIT):
                for value, half in ((block, halves[0]), (None, halves[1])):
                    vote = _signed_vote(attacker, vote_type, position, value)
                    for peer in half:
                        attacker.manager.send(peer, MessageKind.CONSENSUS, encode_message(vote))
                        attacker.count("equivocating_vote")
            attacker.count("equivocated_rounds_split" if split else "equivocated_rounds_both")
        await asyncio.sleep(0.02)


def _signed_vote(
    attacker: Attacker, vote_type: VoteType, position: tuple[int, int], value: Hash32 | None
) -> Vote:
    """A vote signed with the attacker's real key, bypassing the double-sign guard."""
    height, round_ = position
    sign_bytes: Callable[..., bytes] = vote_sign_bytes
    if "genesis_hash" in inspect.signature(vote_sign_bytes).parameters:
        # Votes that sign the genesis hash too (the domain-separation fix under way).
        payload = sign_bytes(
            attacker.chain_id, attacker.genesis_hash, vote_type, height, round_, value
        )
    else:
        payload = sign_bytes(attacker.chain_id, vote_type, height, round_, value)
    signature = attacker.suite.sign(attacker.key, payload)
    address = attacker.suite.address(attacker.suite.public_key(attacker.key))
    return Vote(vote_type, Height(height), Round(round_), value, address, signature)


ATTACK_FUNCTIONS = {
    "none": _none,
    "request-flood": _request_flood,
    "fake-height": _fake_height,
    "junk-response": _junk_response,
    "forged-votes": _forged_votes,
    "replayed-votes": _replayed_votes,
    "oversize-frames": _oversize_frames,
    "idle-handshakes": _idle_handshakes,
    "equivocation": _equivocation,
}

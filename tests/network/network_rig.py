"""Helpers of the network tests: node kits (consensus key + TLS files) and PeerManagers
on 127.0.0.1 with short timers. The fixtures live in ``conftest.py``.

Every test runs its scenario with ``asyncio.run`` (through :func:`run`), under a
hard timeout so a hang fails instead of stalling the suite.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from baychain.errors import FrameError
from baychain.network.backoff import Backoff
from baychain.network.config import PeerAddress, TransportConfig
from baychain.network.connection import PeerInfo
from baychain.network.frames import MAX_FRAME_BYTES, Frame, MessageKind
from baychain.network.handshake import NodeIdentity, run_handshake
from baychain.network.pki import (
    CertifiedKey,
    TlsCredentials,
)
from baychain.network.scoring import ScoreConfig
from baychain.network.stream import FramedStream
from baychain.network.transport import AllowedPeers, MessageHandler, PeerManager
from baychain.primitives import Hash32, PeerId

CHAIN_ID = 7777
GENESIS = Hash32(bytes(range(32)))


def run(coro: Coroutine[Any, Any, Any], timeout: float = 15.0) -> Any:
    """Run a scenario to completion, failing it after ``timeout`` seconds."""

    async def bounded() -> Any:
        async with asyncio.timeout(timeout):
            return await coro

    return asyncio.run(bounded())


async def eventually(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait until ``predicate()`` holds; fail the test if it does not within ``timeout``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


@dataclass
class NodeKit:
    """What one test node needs: its consensus identity and its TLS credentials."""

    name: str
    identity: NodeIdentity
    tls: TlsCredentials
    certified: CertifiedKey
    directory: Path


@dataclass
class Inbox:
    """A message handler that records what it gets."""

    messages: list[tuple[PeerId, MessageKind, bytes]] = field(default_factory=list)

    async def handler(self, peer: PeerId, kind: MessageKind, payload: bytes) -> None:
        self.messages.append((peer, kind, payload))

    def payloads(self, kind: MessageKind = MessageKind.CONSENSUS) -> list[bytes]:
        return [payload for _, k, payload in self.messages if k is kind]


KitFactory = Callable[..., NodeKit]
"""The type of the ``make_kit`` fixture."""


def fast_config(
    peers: tuple[PeerAddress, ...] = (), *, port: int = 0, **overrides: Any
) -> TransportConfig:
    """A transport config with test-sized timers."""
    settings: dict[str, Any] = {
        "listen_port": port,
        "peers": peers,
        "handshake_timeout_seconds": 3.0,
        "keepalive_seconds": 0.5,
        "idle_timeout_seconds": 3.0,
        "write_timeout_seconds": 2.0,
        "backoff": Backoff(initial_seconds=0.02, max_seconds=0.2),
        "scores": ScoreConfig(threshold=100, ban_seconds=60.0, decay_per_second=0.0),
    }
    settings.update(overrides)
    return TransportConfig(**settings)


def manager(
    kit: NodeKit,
    allowed: AllowedPeers,
    inbox: Inbox | None = None,
    peers: tuple[PeerAddress, ...] = (),
    *,
    seed: int = 1,
    handler: MessageHandler | None = None,
    on_connect: Callable[[PeerInfo], None] | None = None,
    clock: Callable[[], float] | None = None,
    **overrides: Any,
) -> PeerManager:
    """A PeerManager for ``kit`` (not started) that records messages in ``inbox``
    (or hands them to ``handler``) and reads ``clock`` for scores and bans (the event
    loop's by default); ``overrides`` go to :func:`fast_config`."""
    box = inbox if inbox is not None else Inbox()
    return PeerManager(
        kit.identity,
        kit.tls,
        fast_config(peers, **overrides),
        allowed=allowed,
        handler=handler or box.handler,
        on_connect=on_connect,
        rng=random.Random(seed),
        clock=clock,
    )


def address_of(peer_manager: PeerManager, *, expect: bool = False) -> PeerAddress:
    """The address to dial ``peer_manager`` at (naming its identity when ``expect``)."""
    return PeerAddress(
        "127.0.0.1", peer_manager.listen_port, peer_manager.peer_id if expect else None
    )


def keys(*kits: NodeKit) -> set[bytes]:
    """The consensus public keys of ``kits`` (an allowed set)."""
    return {kit.identity.public_key for kit in kits}


async def raw_session(kit: NodeKit, port: int) -> FramedStream:
    """Dial 127.0.0.1:``port`` as ``kit`` and pass the handshake by hand, returning the
    bare framed stream, so a test can then write anything a misbehaving peer would."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=kit.tls.client)
    stream = FramedStream(reader, writer)
    await run_handshake(stream, kit.identity, kit.tls.certificate_der, allowed=lambda _: True)
    stream.decoder.max_frame_bytes = MAX_FRAME_BYTES
    return stream


async def read_until_closed(stream: FramedStream) -> list[Frame]:
    """Every frame the other end sends until it closes the connection."""
    frames: list[Frame] = []
    try:
        while True:
            frames.append(await stream.read_frame())
    except (OSError, FrameError):
        return frames

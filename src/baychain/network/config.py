"""Configuration of the peer transport: where to listen, whom to dial, and its limits.

Every limit a deployment may tune is here, with its unit in its name. The node
builds a :class:`TransportConfig` from ``node.toml`` (``[p2p]``); tests build small
ones with short timers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from baychain.errors import ConfigError
from baychain.network.backoff import Backoff
from baychain.network.frames import MAX_FRAME_BYTES, MAX_HANDSHAKE_FRAME_BYTES
from baychain.network.scoring import ScoreConfig
from baychain.primitives import PeerId

__all__ = ["PeerAddress", "TransportConfig"]


@dataclass(frozen=True, slots=True)
class PeerAddress:
    """A peer to dial: its address and, optionally, the identity expected there.

    With ``peer_id`` set, an address that answers with another consensus key is
    refused (:attr:`~baychain.network.handshake.Refusal.UNEXPECTED_PEER`).
    """

    host: str
    port: int
    peer_id: PeerId | None = None

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class TransportConfig:
    """Listening address, peers to dial and the transport's limits."""

    listen_host: str = "127.0.0.1"
    listen_port: int = 30300
    """0 picks a free port (see ``PeerManager.listen_port``)."""
    peers: tuple[PeerAddress, ...] = ()
    """Peers this node dials and keeps connected (others may dial in if allowed)."""
    max_frame_bytes: int = MAX_FRAME_BYTES
    """Largest frame body accepted from an authenticated peer."""
    handshake_timeout_seconds: float = 10.0
    """TLS plus identity handshake must finish within this."""
    tls_timeout_seconds: float = 3.0
    """An inbound connection must complete TLS within this (anyone who reaches the port
    can open one; a consortium certificate is needed only to get past TLS)."""
    send_queue_frames: int = 1024
    """Frames queued per peer; when full, further frames to it are dropped and counted."""
    send_queue_bytes: int = 64 * 1024 * 1024
    """Bytes queued per peer (the same rule: beyond it, frames are dropped and counted)."""
    write_timeout_seconds: float = 10.0
    """A peer that does not take what was written within this is disconnected as slow."""
    keepalive_seconds: float = 10.0
    """An idle connection sends a KEEPALIVE this often."""
    idle_timeout_seconds: float = 30.0
    """A connection that receives nothing for this long is closed as dead."""
    max_pending_handshakes: int = 64
    """Inbound connections allowed in the handshake at once; more are closed at once."""
    max_pending_handshakes_per_address: int = 8
    """Of those, how many may come from one source address (an IPv6 /64 counts as one
    address); more from it are closed at once, so one host cannot take every slot."""
    backoff: Backoff = field(default_factory=Backoff)
    """Reconnect delays."""
    scores: ScoreConfig = field(default_factory=ScoreConfig)
    """Misbehaviour threshold, points and ban length."""

    def __post_init__(self) -> None:
        if self.max_frame_bytes < MAX_HANDSHAKE_FRAME_BYTES:
            raise ConfigError(f"max_frame_bytes must be at least {MAX_HANDSHAKE_FRAME_BYTES}")
        if self.send_queue_frames < 1:
            raise ConfigError("send_queue_frames must be at least 1")
        if self.idle_timeout_seconds <= self.keepalive_seconds:
            raise ConfigError("idle_timeout_seconds must exceed keepalive_seconds")
        if not 0 < self.tls_timeout_seconds <= self.handshake_timeout_seconds:
            raise ConfigError(
                "tls_timeout_seconds must be positive and at most handshake_timeout_seconds"
            )
        if not 1 <= self.max_pending_handshakes_per_address <= self.max_pending_handshakes:
            raise ConfigError(
                "max_pending_handshakes_per_address must be between 1 and max_pending_handshakes"
            )

"""Misbehaviour scores and bans: a peer that keeps sending bad input is cut off for a while.

Every offence adds points to the offending peer's score (the peer is named by its
authenticated identity, so reconnecting does not reset it). The score leaks away at
a constant rate, so a rare glitch is forgotten; when it reaches the threshold the
peer is disconnected and banned for a fixed period, after which it starts from zero.

Default points (:data:`DEFAULT_OFFENCE_POINTS`) with the default threshold of 100:
two broken streams (oversized or malformed frames) or ten invalid messages in quick
succession get a peer banned. Everything here is a pure function of the times the
caller passes in (seconds of a monotonic clock); the transport owns the clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from baychain.primitives import PeerId

__all__ = [
    "DEFAULT_OFFENCE_POINTS",
    "MisbehaviourTracker",
    "Offence",
    "ScoreConfig",
]


class Offence(StrEnum):
    """What a peer did wrong; the value is the metric name suffix."""

    OVERSIZED_FRAME = "oversized_frame"
    """A length prefix above the frame cap (the connection is closed)."""
    MALFORMED_FRAME = "malformed_frame"
    """A length prefix below the header size (the connection is closed)."""
    UNSUPPORTED_VERSION = "unsupported_version"
    """A frame whose version byte is not the one agreed in the handshake."""
    UNKNOWN_KIND = "unknown_kind"
    """A frame whose kind this node does not know."""
    UNEXPECTED_MESSAGE = "unexpected_message"
    """A handshake message (or a malformed control message) after the handshake."""
    INVALID_MESSAGE = "invalid_message"
    """A message the node's handler refused (undecodable, wrongly signed, replayed)."""


DEFAULT_OFFENCE_POINTS: Mapping[Offence, int] = {
    Offence.OVERSIZED_FRAME: 50,
    Offence.MALFORMED_FRAME: 50,
    Offence.UNSUPPORTED_VERSION: 20,
    Offence.UNKNOWN_KIND: 10,
    Offence.UNEXPECTED_MESSAGE: 20,
    Offence.INVALID_MESSAGE: 10,
}
"""Points per offence."""


@dataclass(frozen=True, slots=True)
class ScoreConfig:
    """Thresholds of the misbehaviour score."""

    threshold: int = 100
    """Score at which a peer is disconnected and banned."""
    ban_seconds: float = 600.0
    """How long a ban lasts."""
    decay_per_second: float = 1.0
    """Points forgiven per second of good behaviour."""
    points: Mapping[Offence, int] | None = None
    """Points per offence; ``None`` means :data:`DEFAULT_OFFENCE_POINTS`."""

    def points_for(self, offence: Offence) -> int:
        """Points ``offence`` adds."""
        return (self.points or DEFAULT_OFFENCE_POINTS)[offence]


@dataclass(slots=True)
class _Score:
    value: float
    at: float


class MisbehaviourTracker:
    """Scores and bans per peer identity."""

    def __init__(self, config: ScoreConfig | None = None) -> None:
        self.config = config or ScoreConfig()
        self._scores: dict[PeerId, _Score] = {}
        self._banned_until: dict[PeerId, float] = {}

    def __len__(self) -> int:
        """How many peers the tracker holds a score or a ban for (:meth:`forget_idle` prunes)."""
        return len(self._scores.keys() | self._banned_until.keys())

    def score(self, peer: PeerId, now: float) -> float:
        """``peer``'s current score (after the leak since its last offence)."""
        entry = self._scores.get(peer)
        if entry is None:
            return 0.0
        return max(0.0, entry.value - (now - entry.at) * self.config.decay_per_second)

    def record(self, peer: PeerId, offence: Offence, now: float, points: int | None = None) -> bool:
        """Add ``offence`` (or ``points`` when given) to ``peer``'s score; return True when
        this crosses the threshold and bans the peer (from ``now`` for ``ban_seconds``)."""
        if self.is_banned(peer, now):
            return False
        value = self.score(peer, now) + (
            self.config.points_for(offence) if points is None else points
        )
        if value >= self.config.threshold:
            self._scores.pop(peer, None)
            self._banned_until[peer] = now + self.config.ban_seconds
            return True
        self._scores[peer] = _Score(value, now)
        return False

    def is_banned(self, peer: PeerId, now: float) -> bool:
        """True while ``peer`` is banned; an expired ban is forgotten."""
        until = self._banned_until.get(peer)
        if until is None:
            return False
        if now >= until:
            del self._banned_until[peer]
            return False
        return True

    def banned_until(self, peer: PeerId) -> float | None:
        """When ``peer``'s ban ends (clock seconds), or None if it has none."""
        return self._banned_until.get(peer)

    def unban(self, peer: PeerId) -> None:
        """Lift ``peer``'s ban and clear its score (an operator's decision)."""
        self._banned_until.pop(peer, None)
        self._scores.pop(peer, None)

    def forget_idle(self, now: float) -> None:
        """Drop scores that have leaked to zero and expired bans (bounds memory; the
        transport calls it on every new connection and every offence)."""
        for peer in [p for p in self._scores if self.score(p, now) == 0.0]:
            del self._scores[peer]
        for peer in [p for p, until in self._banned_until.items() if now >= until]:
            del self._banned_until[peer]

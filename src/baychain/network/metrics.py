"""Counters of the peer transport (frames, bytes, drops, offences, refusals).

Names are dotted: ``frames_received``, ``send_dropped.queue_full``,
``offence.unknown_kind``, ``handshake_refused.not_allowed``... (docs/network.md
lists them). The node exports a snapshot to its metrics endpoint and logs.
"""

from __future__ import annotations

from collections import Counter

__all__ = ["Metrics"]


class Metrics:
    """Monotonic named counters."""

    __slots__ = ("_counts",)

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()

    def inc(self, name: str, amount: int = 1) -> None:
        """Add ``amount`` to counter ``name``."""
        self._counts[name] += amount

    def get(self, name: str) -> int:
        """The value of counter ``name`` (0 if never incremented)."""
        return self._counts[name]

    def snapshot(self) -> dict[str, int]:
        """A copy of every counter."""
        return dict(self._counts)

"""Reconnect delays: exponential backoff with jitter.

After the ``n``-th failed attempt in a row (``n`` from 0) a dialer waits::

    base  = min(max_seconds, initial_seconds * multiplier ** n)
    delay = base * (1 + jitter * u),  u uniform in [-1, 1) from the injected RNG

The jitter spreads the redials of nodes that lost a peer at the same moment (say, a
restart), so they do not all knock at once; the injected ``random.Random`` makes
the sequence reproducible in tests. Delays never decide ledger state.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from baychain.errors import ConfigError

__all__ = ["Backoff"]

_MAX_EXPONENT = 64
"""Attempts beyond this do not grow the base further (it is capped long before)."""


@dataclass(frozen=True, slots=True)
class Backoff:
    """Parameters of the reconnect delay."""

    initial_seconds: float = 0.5
    max_seconds: float = 30.0
    multiplier: float = 2.0
    jitter: float = 0.25
    """Fraction of the base delay added or taken away at random (0 to 1)."""

    def __post_init__(self) -> None:
        if not (0 < self.initial_seconds <= self.max_seconds and self.multiplier >= 1):
            raise ConfigError(
                "backoff needs 0 < initial_seconds <= max_seconds and multiplier >= 1"
            )
        if not 0 <= self.jitter <= 1:
            raise ConfigError(f"backoff jitter is a fraction in [0, 1], got {self.jitter}")

    def base(self, attempt: int) -> float:
        """The delay before jitter after ``attempt`` failures in a row (from 0)."""
        exponent = min(max(attempt, 0), _MAX_EXPONENT)
        return min(self.max_seconds, self.initial_seconds * self.multiplier**exponent)

    def delay(self, attempt: int, rng: random.Random) -> float:
        """The jittered delay after ``attempt`` failures in a row."""
        return self.base(attempt) * (1.0 + self.jitter * (2.0 * rng.random() - 1.0))

"""Who votes, with what weight, at which height: validator sets, proposer rotation, schedule.

Quorum arithmetic is in integers over voting power (never floats):

- a *quorum* is more than two thirds of the total power: ``3 * power > 2 * total``
  (the paper's ``2f + 1`` for ``n = 3f + 1`` equal votes);
- a *third* is more than one third: ``3 * power > total`` (the paper's ``f + 1``:
  power that must include an honest validator when faulty power is below a third).

Any two quorums of one set share more than a third of the power, hence an honest
validator; that intersection is the core of the safety argument (docs/consensus.md).

Proposers rotate by *smooth weighted round robin*: over one period of the
rotation, each validator proposes a share of the slots proportional to its power,
spread out rather than in runs. The proposer of (height, round) is slot
``(height + round) mod period``, so every validator is proposer within one period
of consecutive rounds, which liveness needs.

A validator-set change decided in block ``h`` takes effect at height
``h + VALIDATOR_SET_DELAY``: the set of the next height is then always fixed by
blocks already committed when a height is decided, even while the newest commit
is still being written (pipelining).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import reduce
from math import gcd
from typing import Protocol

from baychain.crypto.suite import CryptoSuite
from baychain.errors import ConfigError
from baychain.primitives import Address, Height

__all__ = [
    "MAX_ROTATION_PERIOD",
    "VALIDATOR_SET_DELAY",
    "Validator",
    "ValidatorSchedule",
    "ValidatorSet",
    "ValidatorSetProvider",
    "rotation",
]

VALIDATOR_SET_DELAY = 2
"""Heights between the block that decides a validator-set change and the first height
that uses the new set."""

MAX_ROTATION_PERIOD = 1024
"""Longest proposer rotation computed; powers whose period is longer are scaled down
(for proposer choice only, never for quorums)."""

PUBLIC_KEY_SIZE = 64


@dataclass(frozen=True, slots=True)
class Validator:
    """One validator: its address, 64-byte public key and voting power (> 0)."""

    address: Address
    public_key: bytes
    power: int


def rotation(powers: Sequence[int]) -> tuple[int, ...]:
    """Return one period of the smooth weighted round robin over ``powers`` (indices).

    Each step adds every validator's weight to its credit, picks the largest credit
    (lowest index on ties) and takes the total weight off the winner. Weights are
    the powers divided by their gcd, scaled down when the period would exceed
    :data:`MAX_ROTATION_PERIOD`.
    """
    divisor = reduce(gcd, powers)
    weights = [p // divisor for p in powers]
    total = sum(weights)
    if total > MAX_ROTATION_PERIOD:
        weights = [max(1, w * MAX_ROTATION_PERIOD // total) for w in weights]
        total = sum(weights)
    credit = [0] * len(weights)
    order = []
    for _ in range(total):
        for i, w in enumerate(weights):
            credit[i] += w
        best = max(range(len(credit)), key=lambda i: (credit[i], -i))
        credit[best] -= total
        order.append(best)
    return tuple(order)


class ValidatorSet:
    """An ordered, immutable set of validators with their powers.

    The order is part of the set (certificates name signers by index): every node
    builds it from the same genesis or governance data. Raise
    :class:`~baychain.errors.ConfigError` for an empty set, a power that is not a
    positive integer, a public key that is not 64 bytes or a repeated address.
    """

    __slots__ = ("_index", "_rotation", "total_power", "validators")

    def __init__(self, validators: Iterable[Validator]) -> None:
        members = tuple(validators)
        if not members:
            raise ConfigError("a validator set needs at least one validator")
        index: dict[Address, int] = {}
        for position, v in enumerate(members):
            if not isinstance(v.power, int) or v.power <= 0:
                raise ConfigError(f"validator 0x{v.address.hex()} has power {v.power}; need > 0")
            if len(v.public_key) != PUBLIC_KEY_SIZE:
                raise ConfigError(
                    f"validator 0x{v.address.hex()} has a {len(v.public_key)}-byte public key; "
                    f"need {PUBLIC_KEY_SIZE}"
                )
            if v.address in index:
                raise ConfigError(f"validator 0x{v.address.hex()} appears twice in the set")
            index[v.address] = position
        self.validators = members
        self.total_power = sum(v.power for v in members)
        self._index = index
        self._rotation = rotation([v.power for v in members])

    @classmethod
    def from_public_keys(
        cls, suite: CryptoSuite, members: Iterable[tuple[bytes, int]]
    ) -> ValidatorSet:
        """Build a set from (public key, power) pairs, deriving addresses with ``suite``."""
        return cls(Validator(suite.address(pk), bytes(pk), power) for pk, power in members)

    def __len__(self) -> int:
        return len(self.validators)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ValidatorSet) and self.validators == other.validators

    def __hash__(self) -> int:
        return hash(self.validators)

    def __repr__(self) -> str:
        shown = ", ".join(f"0x{v.address.hex()[:8]}:{v.power}" for v in self.validators)
        return f"ValidatorSet([{shown}])"

    def index_of(self, address: Address) -> int | None:
        """Return the position of ``address`` in the set, or None if it is not a member."""
        return self._index.get(address)

    def get(self, address: Address) -> Validator | None:
        """Return the member with ``address``, or None."""
        position = self._index.get(address)
        return None if position is None else self.validators[position]

    def is_quorum(self, power: int) -> bool:
        """True when ``power`` is more than two thirds of the total."""
        return 3 * power > 2 * self.total_power

    def is_one_third(self, power: int) -> bool:
        """True when ``power`` is more than one third of the total (includes an honest one)."""
        return 3 * power > self.total_power

    @property
    def quorum_power(self) -> int:
        """The least power that is a quorum: ``floor(2 * total / 3) + 1``."""
        return 2 * self.total_power // 3 + 1

    @property
    def max_faulty_power(self) -> int:
        """The most Byzantine power the protocol tolerates: ``floor((total - 1) / 3)``."""
        return (self.total_power - 1) // 3

    def proposer(self, height: int, round: int) -> Validator:
        """The proposer of (``height``, ``round``): rotation slot ``height + round``."""
        slots = self._rotation
        return self.validators[slots[(height + round) % len(slots)]]


class ValidatorSetProvider(Protocol):
    """Anything that can say which validator set is in force at a height."""

    def validator_set_at(self, height: Height) -> ValidatorSet:
        """The set that votes on block ``height``."""
        ...


class ValidatorSchedule:
    """The validator set in force at each height; the interface governance calls.

    ``schedule_change(h, new_set)`` records that block ``h`` decided ``new_set``; it
    is used from height ``h + VALIDATOR_SET_DELAY`` on. Changes must be recorded in
    the order their blocks are decided; a later change in the same block replaces an
    earlier one. The consensus engine and certificate checks ask
    :meth:`validator_set_at`.
    """

    def __init__(self, initial: ValidatorSet, *, first_height: int = 1) -> None:
        self._heights: list[int] = [first_height]
        self._sets: list[ValidatorSet] = [initial]

    def validator_set_at(self, height: Height) -> ValidatorSet:
        """The set that votes on block ``height`` (the initial set before any change)."""
        position = bisect.bisect_right(self._heights, height) - 1
        return self._sets[max(position, 0)]

    def schedule_change(self, decided_at: Height, validators: ValidatorSet) -> Height:
        """Record a change decided in block ``decided_at``; return the height it takes effect.

        Raise ``ValueError`` when ``decided_at`` is older than a change already recorded
        (changes arrive in block order).
        """
        effective = decided_at + VALIDATOR_SET_DELAY
        last = self._heights[-1]
        if effective < last:
            raise ValueError(
                f"a change decided at height {decided_at} is older than the one "
                f"taking effect at {last}"
            )
        if effective == last:
            self._sets[-1] = validators
        else:
            self._heights.append(effective)
            self._sets.append(validators)
        return Height(effective)

    def changes(self) -> list[tuple[Height, ValidatorSet]]:
        """Every (first height, set) in force, oldest first."""
        return [(Height(h), s) for h, s in zip(self._heights, self._sets, strict=True)]

"""Vote tallies: the prevotes or precommits of one round.

Each validator counts once toward "any" (the paper's ``*``): its first vote. Toward
a particular value (a block hash, or ``None`` for nil) a validator counts once if it
signed a vote for that value. An equivocating validator (two different votes in one
round and type) therefore counts toward both values, which the safety argument
allows: two quorums for different values intersect in more than a third of the
power, so in an honest validator, and honest validators never equivocate. Counting
both is also what liveness needs: if a Byzantine validator sends one node a nil
prevote and the others a prevote for block B, that node must still be able to see
the polka for B once the prevote for B is relayed to it (Tendermint keeps such votes
for blocks a peer claims a quorum for, for the same reason).

The caller decides which conflicting votes are worth keeping (``keep_conflict``):
the engine keeps those naming nil or a block it holds a proposal for, which bounds
the memory a Byzantine validator can make it spend.
"""

from __future__ import annotations

from enum import Enum

from baychain.consensus.types import Vote
from baychain.primitives import Address, Hash32

__all__ = ["AddResult", "VoteSet"]


class AddResult(Enum):
    """What :meth:`VoteSet.add` did with a vote."""

    ADDED = "added"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"
    """The validator already voted for another value (equivocation); see ``keep_conflict``."""


class VoteSet:
    """Votes of one type in one round; the caller has checked signature and membership."""

    __slots__ = ("_by_value", "_first", "_power", "total_power")

    def __init__(self) -> None:
        self._first: dict[Address, Vote] = {}
        self._by_value: dict[Hash32 | None, dict[Address, Vote]] = {}
        self._power: dict[Hash32 | None, int] = {}
        self.total_power = 0
        """Power of the validators that voted, each once, whatever for (the paper's ``*``)."""

    def add(self, vote: Vote, power: int, *, keep_conflict: bool = True) -> AddResult:
        """Record ``vote`` of a validator with ``power``.

        A conflicting vote is reported as CONFLICT; it also counts toward its value
        when ``keep_conflict`` is true.
        """
        validator, value = vote.validator, vote.block_hash
        voters = self._by_value.get(value)
        if voters is not None and validator in voters:
            return AddResult.DUPLICATE
        first = self._first.get(validator)
        if first is None:
            self._first[validator] = vote
            self.total_power += power
        elif not keep_conflict:
            return AddResult.CONFLICT
        if voters is None:
            voters = self._by_value[value] = {}
        voters[validator] = vote
        self._power[value] = self._power.get(value, 0) + power
        return AddResult.ADDED if first is None else AddResult.CONFLICT

    def has(self, validator: Address, block_hash: Hash32 | None) -> bool:
        """True when a vote of ``validator`` for ``block_hash`` is recorded."""
        voters = self._by_value.get(block_hash)
        return voters is not None and validator in voters

    def get(self, validator: Address) -> Vote | None:
        """The first vote of ``validator``, if any."""
        return self._first.get(validator)

    def power_for(self, block_hash: Hash32 | None) -> int:
        """Power of the validators that voted for ``block_hash`` (``None``: nil)."""
        return self._power.get(block_hash, 0)

    def votes_for(self, block_hash: Hash32 | None) -> list[Vote]:
        """The votes for ``block_hash``, one per validator, in arrival order."""
        return list(self._by_value.get(block_hash, {}).values())

    def votes(self) -> list[Vote]:
        """The first vote of every validator, in arrival order."""
        return list(self._first.values())

    def __len__(self) -> int:
        return len(self._first)

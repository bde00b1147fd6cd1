"""The simulator's application: trivial, deterministic blocks that cost nothing to execute.

A block is ``height (8 bytes) || round (4) || proposer index (2) || payload (8)``, its
hash the suite's hash of those bytes. A block is valid at height ``h`` when it has
that shape and names ``h``; the Byzantine validator may propose blocks that do not.
The payload comes from the simulation's seeded random stream, so two proposals of
the same (height, round) by the twins differ.
"""

from __future__ import annotations

from collections.abc import Callable

from baychain.consensus.types import Round
from baychain.consensus.validators import ValidatorSchedule, ValidatorSet
from baychain.crypto.suite import CryptoSuite
from baychain.primitives import Hash32, Height

__all__ = ["BLOCK_SIZE", "SimApplication", "block_height", "make_block", "validate_block"]

BLOCK_SIZE = 22
"""Bytes in a simulator block."""


def make_block(height: int, round: int, proposer: int, payload: bytes) -> bytes:
    """Return the block bytes for (height, round, proposer index, 8-byte payload)."""
    return (
        height.to_bytes(8, "big")
        + round.to_bytes(4, "big")
        + proposer.to_bytes(2, "big")
        + payload[:8].rjust(8, b"\x00")
    )


def block_height(block: bytes) -> int | None:
    """The height a block names, or None if it is not a simulator block."""
    if len(block) != BLOCK_SIZE:
        return None
    return int.from_bytes(block[:8], "big")


def validate_block(suite: CryptoSuite, height: int, block: bytes) -> tuple[Hash32 | None, bool]:
    """The application's answer to ValidateBlock: (hash or None, valid at ``height``)."""
    named = block_height(block)
    if named is None:
        return None, False
    return suite.hash(block), named == height


class SimApplication:
    """One node's application (an :class:`~baychain.consensus.application.Application`):
    its committed blocks are its disk and survive crashes."""

    def __init__(
        self,
        suite: CryptoSuite,
        schedule: ValidatorSchedule,
        proposer_index: int,
        payload: Callable[[], bytes],
    ) -> None:
        self.suite = suite
        self.schedule = schedule
        self.proposer_index = proposer_index
        self.payload = payload
        self.chain: list[tuple[Hash32, bytes, bytes]] = []

    def validator_set_at(self, height: Height) -> ValidatorSet:
        """The schedule's set at ``height``."""
        return self.schedule.validator_set_at(height)

    def build_proposal(self, height: Height, round: Round) -> tuple[Hash32, bytes]:
        """A fresh block naming (height, round, this proposer) and a random payload."""
        block = make_block(height, round, self.proposer_index, self.payload())
        return self.suite.hash(block), block

    def validate_block(self, height: Height, block: bytes) -> tuple[Hash32 | None, bool]:
        """See :func:`validate_block`."""
        return validate_block(self.suite, height, block)

    def commit(self, height: Height, block_hash: Hash32, block: bytes, certificate: bytes) -> None:
        """Append the block (heights arrive in order)."""
        self.chain.append((block_hash, block, certificate))

    def decision_at(self, height: Height) -> tuple[bytes, bytes] | None:
        """The committed block at ``height`` and its certificate, if there is one."""
        if 1 <= height <= len(self.chain):
            _, block, certificate = self.chain[height - 1]
            return block, certificate
        return None

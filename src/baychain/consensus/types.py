"""The nouns of BFT consensus: rounds, steps, vote types, proposals and votes.

Glossary (after Buchman, Kwon and Milosevic, "The latest gossip on BFT consensus",
2018, whose Algorithm 1 :mod:`baychain.consensus.engine` implements):

- *height*: the number of the block being agreed on (:data:`~baychain.primitives.Height`).
- *round*: one attempt at a height, numbered from 0; each has one proposer.
- *step*: where a validator is inside a round: propose, prevote, precommit.
- *proposal*: the round proposer's block (the paper's value ``v``), its hash
  (``id(v)``) and ``valid_round``, the last round in which the proposer saw more
  than two thirds of the power prevote that block (-1 if none).
- *vote*: a signed prevote or precommit for a block hash, or for nil (``None``).
- *polka*: prevotes of more than two thirds of the power for one block in one round.

A proposal and a vote carry the signer's address and signature; the bytes that
are signed are defined in :mod:`baychain.consensus.messages`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import NewType

from baychain.primitives import Address, Hash32, Height

__all__ = [
    "NO_ROUND",
    "PROPOSAL_TYPE",
    "Height",
    "Proposal",
    "Round",
    "Step",
    "Vote",
    "VoteType",
]

Round = NewType("Round", int)
"""A round number within a height, from 0."""

NO_ROUND = -1
"""The paper's ``-1``: no locked round, no valid round, no proof-of-lock round."""


class VoteType(IntEnum):
    """The two kinds of vote; the value is the type byte in the signed bytes."""

    PREVOTE = 0x01
    PRECOMMIT = 0x02


PROPOSAL_TYPE = 0x20
"""The type byte of a signed proposal (distinct from both vote types)."""


class Step(IntEnum):
    """The step of a round, in the order a validator goes through them."""

    PROPOSE = 1
    PREVOTE = 2
    PRECOMMIT = 3


@dataclass(frozen=True, slots=True)
class Proposal:
    """``<PROPOSAL, height, round, block, valid_round>`` signed by ``proposer``.

    ``block`` is the application's encoding of the proposed block; ``block_hash`` is
    what the votes name. The signature covers ``block_hash``, not ``block``: the
    application checks that ``block`` hashes to ``block_hash`` when it validates it.
    """

    height: Height
    round: Round
    block_hash: Hash32
    valid_round: int
    block: bytes
    proposer: Address
    signature: bytes


@dataclass(frozen=True, slots=True)
class Vote:
    """A prevote or precommit of ``validator`` for ``block_hash`` (``None``: nil)."""

    vote_type: VoteType
    height: Height
    round: Round
    block_hash: Hash32 | None
    validator: Address
    signature: bytes

"""What the driver tells the consensus engine: the events of the sans-I/O seam.

The engine never reads a socket, a clock or a disk; everything it learns arrives
as one of these values through :meth:`~baychain.consensus.engine.Engine.handle`,
and everything it wants done leaves as an :mod:`~baychain.consensus.actions` value.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TypeAlias

from baychain.consensus.messages import Message
from baychain.consensus.types import Round
from baychain.primitives import Hash32, Height, PeerId

__all__ = [
    "BlockValidated",
    "Event",
    "MessageReceived",
    "Persisted",
    "ProposalBuilt",
    "TimeoutFired",
    "TimeoutKind",
    "TransactionsAvailable",
]


class TimeoutKind(Enum):
    """The timers of a round, and the periodic re-broadcast timer."""

    PROPOSE = "propose"
    PREVOTE = "prevote"
    PRECOMMIT = "precommit"
    GOSSIP = "gossip"


@dataclass(frozen=True, slots=True)
class MessageReceived:
    """``peer`` sent ``message`` (decoded by :func:`~.messages.decode_message`)."""

    peer: PeerId
    message: Message


@dataclass(frozen=True, slots=True)
class TimeoutFired:
    """A timer scheduled with :class:`~baychain.consensus.actions.ScheduleTimeout` expired."""

    kind: TimeoutKind
    height: Height
    round: Round


@dataclass(frozen=True, slots=True)
class ProposalBuilt:
    """The answer to :class:`~baychain.consensus.actions.BuildProposal`: a block to propose."""

    height: Height
    round: Round
    block_hash: Hash32
    block: bytes


@dataclass(frozen=True, slots=True)
class BlockValidated:
    """The answer to :class:`~baychain.consensus.actions.ValidateBlock` ``request_id``.

    ``block_hash`` is the hash of the block bytes (None when they do not even parse);
    ``valid`` says whether the block may be committed on top of the previous one.
    """

    request_id: int
    block_hash: Hash32 | None
    valid: bool


@dataclass(frozen=True, slots=True)
class Persisted:
    """The signer state of :class:`~baychain.consensus.actions.PersistSignerState` ``seq``
    (and every earlier one) is durable."""

    seq: int


@dataclass(frozen=True, slots=True)
class TransactionsAvailable:
    """The pool holds transactions (only matters when empty blocks are disabled)."""


Event: TypeAlias = (
    MessageReceived
    | TimeoutFired
    | ProposalBuilt
    | BlockValidated
    | Persisted
    | TransactionsAvailable
)

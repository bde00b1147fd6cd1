"""What the consensus engine asks its driver to do: the actions of the sans-I/O seam.

The driver performs the actions of one :meth:`~baychain.consensus.engine.Engine.handle`
call in order. Two rules make the engine safe:

- a :class:`PersistSignerState` must be durable before the driver reports
  :class:`~baychain.consensus.events.Persisted`; until then the engine holds back
  every :class:`Broadcast`, :class:`Send` and :class:`Commit` emitted after it;
- :class:`Commit` must be applied before anything the driver does for the next
  height (building or validating its blocks builds on the committed one).

Answers come back as events: :class:`BuildProposal` as
:class:`~baychain.consensus.events.ProposalBuilt`, :class:`ValidateBlock` as
:class:`~baychain.consensus.events.BlockValidated`, :class:`ScheduleTimeout` as
:class:`~baychain.consensus.events.TimeoutFired`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from baychain.consensus.certificate import CommitCertificate
from baychain.consensus.events import TimeoutKind
from baychain.consensus.messages import Message
from baychain.consensus.safety import SignerState
from baychain.consensus.types import Proposal, Round, Vote
from baychain.primitives import Hash32, Height, PeerId

__all__ = [
    "Action",
    "Broadcast",
    "BuildProposal",
    "Commit",
    "PersistSignerState",
    "ReportEquivocation",
    "ReportPeer",
    "ScheduleTimeout",
    "Send",
    "ServeDecision",
    "ValidateBlock",
]


@dataclass(frozen=True, slots=True)
class Broadcast:
    """Send ``message`` to every connected peer."""

    message: Message


@dataclass(frozen=True, slots=True)
class Send:
    """Send ``message`` to ``peer`` only."""

    peer: PeerId
    message: Message


@dataclass(frozen=True, slots=True)
class ScheduleTimeout:
    """Report ``TimeoutFired(kind, height, round)`` after ``delay_ms`` milliseconds."""

    kind: TimeoutKind
    height: Height
    round: Round
    delay_ms: int


@dataclass(frozen=True, slots=True)
class BuildProposal:
    """Build a block for ``height`` on top of the last committed block; answer with
    ``ProposalBuilt``. The driver may wait (for transactions, for the block interval)
    but should answer well within the propose timeout."""

    height: Height
    round: Round


@dataclass(frozen=True, slots=True)
class ValidateBlock:
    """Decode and execute ``block`` as the block at ``height`` and answer with
    ``BlockValidated(request_id, its hash, valid)``. ``block_hash`` is what the
    proposer claims; the engine compares it with the answer."""

    request_id: int
    height: Height
    round: Round
    block_hash: Hash32
    block: bytes


@dataclass(frozen=True, slots=True)
class Commit:
    """``block`` is final at ``height``: store it with ``certificate.encode()`` as its
    certificate. The engine has already moved to the next height."""

    height: Height
    round: Round
    block_hash: Hash32
    block: bytes
    certificate: CommitCertificate


@dataclass(frozen=True, slots=True)
class PersistSignerState:
    """Make ``state`` durable in the signer store, then report ``Persisted(seq)``."""

    seq: int
    state: SignerState


@dataclass(frozen=True, slots=True)
class ServeDecision:
    """Send ``peer`` a ``Decision`` with the committed block at ``height`` and its
    certificate, if this node has it."""

    peer: PeerId
    height: Height


@dataclass(frozen=True, slots=True)
class ReportEquivocation:
    """Two signed messages of one validator for the same (height, round, step):
    evidence of Byzantine behaviour (for logs and, later, for governance)."""

    first: Proposal | Vote
    second: Proposal | Vote


@dataclass(frozen=True, slots=True)
class ReportPeer:
    """``peer`` sent a message that can never be valid (a signature that does not verify,
    a forged certificate): hold it against the peer (the transport's misbehaviour score,
    ``PeerManager.report_invalid``). Emitted at once, never held behind a signer write."""

    peer: PeerId
    reason: str


Action: TypeAlias = (
    Broadcast
    | Send
    | ScheduleTimeout
    | BuildProposal
    | ValidateBlock
    | Commit
    | PersistSignerState
    | ServeDecision
    | ReportEquivocation
    | ReportPeer
)

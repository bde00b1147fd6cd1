"""BFT consensus: a Tendermint state machine without I/O, commit certificates, a simulator.

The pieces, by module:

- :mod:`.types`, :mod:`.validators`: heights, rounds, votes, proposals; validator sets,
  quorum arithmetic, proposer rotation and the per-height :class:`ValidatorSchedule`
  that governance changes.
- :mod:`.messages`: wire encoding and the exact signed bytes.
- :mod:`.certificate`: :class:`CommitCertificate` and :func:`verify_certificate`.
- :mod:`.safety`, :mod:`.signer_file`: the signer that never equivocates across restarts,
  and its durable store.
- :mod:`.engine` with :mod:`.events`, :mod:`.actions`, :mod:`.config`: the state machine;
  :mod:`.application`: what a driver asks of the node.
- :mod:`.sim`: the deterministic simulator (a test tool, imported on its own).
- :mod:`.solo`: the block policy of a one-validator chain.

See docs/consensus.md for the protocol, its safety and liveness argument and the
driver's obligations.
"""

from __future__ import annotations

from baychain.consensus.actions import (
    Action,
    Broadcast,
    BuildProposal,
    Commit,
    PersistSignerState,
    ReportEquivocation,
    ReportPeer,
    ScheduleTimeout,
    Send,
    ServeDecision,
    ValidateBlock,
)
from baychain.consensus.application import Application
from baychain.consensus.certificate import (
    CommitCertificate,
    decode_certificate,
    verify_certificate,
)
from baychain.consensus.config import EngineConfig, TimeoutConfig
from baychain.consensus.engine import Engine
from baychain.consensus.events import (
    BlockValidated,
    Event,
    MessageReceived,
    Persisted,
    ProposalBuilt,
    TimeoutFired,
    TimeoutKind,
    TransactionsAvailable,
)
from baychain.consensus.messages import (
    Decision,
    DecisionRequest,
    Message,
    decode_message,
    encode_message,
    proposal_sign_bytes,
    vote_sign_bytes,
)
from baychain.consensus.safety import (
    Lock,
    MemorySignerStore,
    PrivValidator,
    SignerState,
    SignerStore,
)
from baychain.consensus.signer_file import FileSignerStore
from baychain.consensus.types import NO_ROUND, Proposal, Round, Step, Vote, VoteType
from baychain.consensus.validators import (
    VALIDATOR_SET_DELAY,
    Validator,
    ValidatorSchedule,
    ValidatorSet,
    ValidatorSetProvider,
)

__all__ = [
    "NO_ROUND",
    "VALIDATOR_SET_DELAY",
    "Action",
    "Application",
    "BlockValidated",
    "Broadcast",
    "BuildProposal",
    "Commit",
    "CommitCertificate",
    "Decision",
    "DecisionRequest",
    "Engine",
    "EngineConfig",
    "Event",
    "FileSignerStore",
    "Lock",
    "MemorySignerStore",
    "Message",
    "MessageReceived",
    "PersistSignerState",
    "Persisted",
    "PrivValidator",
    "Proposal",
    "ProposalBuilt",
    "ReportEquivocation",
    "ReportPeer",
    "Round",
    "ScheduleTimeout",
    "Send",
    "ServeDecision",
    "SignerState",
    "SignerStore",
    "Step",
    "TimeoutConfig",
    "TimeoutFired",
    "TimeoutKind",
    "TransactionsAvailable",
    "ValidateBlock",
    "Validator",
    "ValidatorSchedule",
    "ValidatorSet",
    "ValidatorSetProvider",
    "Vote",
    "VoteType",
    "decode_certificate",
    "decode_message",
    "encode_message",
    "proposal_sign_bytes",
    "verify_certificate",
    "vote_sign_bytes",
]

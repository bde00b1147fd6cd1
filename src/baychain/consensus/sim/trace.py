"""One-line descriptions of messages and events, for a replayed run's trace."""

from __future__ import annotations

from baychain.consensus.events import (
    BlockValidated,
    Event,
    MessageReceived,
    Persisted,
    ProposalBuilt,
    TimeoutFired,
    TransactionsAvailable,
)
from baychain.consensus.messages import Decision, DecisionRequest, Message
from baychain.consensus.types import Proposal, Vote, VoteType
from baychain.primitives import Address

__all__ = ["describe_event", "describe_message"]


def _short(value: bytes | None) -> str:
    return "nil" if value is None else value.hex()[:8]


def describe_message(message: Message, names: dict[Address, str]) -> str:
    """``message`` in a few words, naming validators as the simulator does."""
    if isinstance(message, Vote):
        kind = "prevote" if message.vote_type == VoteType.PREVOTE else "precommit"
        who = names.get(message.validator, "?")
        return f"{kind} h{message.height} r{message.round} {_short(message.block_hash)} by {who}"
    if isinstance(message, Proposal):
        who = names.get(message.proposer, "?")
        return (
            f"proposal h{message.height} r{message.round} {_short(message.block_hash)} "
            f"vr={message.valid_round} by {who}"
        )
    if isinstance(message, Decision):
        return f"decision h{message.height}"
    if isinstance(message, DecisionRequest):
        return f"decision request h{message.height}"
    return repr(message)


def describe_event(event: Event, names: dict[Address, str]) -> str:
    """``event`` in a few words."""
    if isinstance(event, TimeoutFired):
        return f"timeout {event.kind.value} h{event.height} r{event.round}"
    if isinstance(event, ProposalBuilt):
        return f"built h{event.height} r{event.round} {_short(event.block_hash)}"
    if isinstance(event, BlockValidated):
        verdict = "valid" if event.valid else "invalid"
        return f"validated #{event.request_id} {_short(event.block_hash)} {verdict}"
    if isinstance(event, MessageReceived):
        return f"from {event.peer}: {describe_message(event.message, names)}"
    if isinstance(event, Persisted):
        return f"persisted #{event.seq}"
    if isinstance(event, TransactionsAvailable):
        return "transactions available"
    return repr(event)

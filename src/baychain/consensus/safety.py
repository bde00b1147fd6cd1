"""The validator's signer: it never signs two conflicting messages, even across restarts.

A validator equivocates when it signs two different proposals, prevotes or
precommits for the same (height, round). Honest validators must never do so (the
safety argument counts each honest validator once), including after a crash.
:class:`PrivValidator` keeps a :class:`SignerState`, the last thing it signed, and
signs only messages strictly later in (height, round, step) order, or the very same
bytes again (it then returns the signature it made before).

The state also records the validator's *lock* (the paper's ``lockedRound`` and
``lockedValue``): a validator locks exactly when it precommits a block, so the last
non-nil precommit of the height is its lock. A restarted validator that forgot its
lock could prevote for a conflicting block and help fork the chain, so the lock is
restored from the persisted state, not from memory. With the lock the state keeps
the locked block and the prevotes that justified it (its proof of lock): without
them a restarted validator could neither re-propose the block it is locked on nor
convince others to prevote it, and a chain whose honest validators are locked on a
block nobody can re-propose never decides again (the simulator found this).

Persist before release: every signature changes the state, and the message may
leave the node only after the new state is durable. The engine emits
:class:`~baychain.consensus.actions.PersistSignerState` and holds the message until
the driver reports :class:`~baychain.consensus.events.Persisted`; a
:class:`SignerStore` is what the driver writes to (:class:`MemorySignerStore` for
tests and the simulator, :class:`~baychain.consensus.signer_file.FileSignerStore`
in production). A crash between signing and persisting loses a message nobody saw;
a crash after persisting loses nothing that matters.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

from baychain.codec import rlp
from baychain.consensus.messages import encode_message, proposal_sign_bytes, vote_sign_bytes
from baychain.consensus.types import Proposal, Round, Step, Vote, VoteType
from baychain.crypto.suite import CryptoSuite
from baychain.errors import DecodingError, DoubleSignRefused
from baychain.primitives import Address, Hash32, Height

__all__ = [
    "Lock",
    "MemorySignerStore",
    "PrivValidator",
    "SignerState",
    "SignerStore",
    "decode_signer_state",
    "encode_signer_state",
]

_STEP_OF_VOTE = {VoteType.PREVOTE: Step.PREVOTE, VoteType.PRECOMMIT: Step.PRECOMMIT}


@dataclass(frozen=True, slots=True)
class Lock:
    """A lock: the block precommitted in ``round`` and the prevotes (encoded) that made
    more than two thirds of the power prevote it in that round (its proof of lock)."""

    round: int
    block_hash: Hash32
    block: bytes = b""
    proof: tuple[bytes, ...] = ()


@dataclass(frozen=True, slots=True)
class SignerState:
    """What a validator last signed, and its lock at that height.

    ``sign_bytes`` and ``signature`` are the last signed payload and its signature.
    ``prevote`` and ``precommit`` are this validator's latest encoded votes of each
    type at ``height`` (empty if none): a restarted node sends them again, since the
    others may still be waiting for them. ``lock`` is None when the validator holds
    no lock at ``height``.
    """

    height: Height
    round: Round
    step: Step
    sign_bytes: bytes
    signature: bytes
    lock: Lock | None = None
    prevote: bytes = b""
    precommit: bytes = b""

    def position(self) -> tuple[int, int, int]:
        """(height, round, step): the order in which a validator may sign."""
        return (self.height, self.round, self.step)


def encode_signer_state(state: SignerState) -> bytes:
    """Return the canonical encoding of ``state`` (what a store writes)."""
    uint = rlp.encode_uint
    lock = state.lock
    lock_item: list[rlp.Encodable] = (
        [] if lock is None else [uint(lock.round), lock.block_hash, lock.block, list(lock.proof)]
    )
    return rlp.encode(
        [
            uint(state.height),
            uint(state.round),
            uint(state.step),
            state.sign_bytes,
            state.signature,
            lock_item,
            state.prevote,
            state.precommit,
        ]
    )


def decode_signer_state(data: bytes) -> SignerState:
    """Decode a stored state; raise DecodingError if it is not one."""
    fields = rlp.decode_list(rlp.decode(data), 8, name="signer state")
    step = rlp.decode_uint(fields[2], name="signer step", max_bytes=1)
    if step not in (Step.PROPOSE, Step.PREVOTE, Step.PRECOMMIT):
        raise DecodingError(f"signer state has unknown step {step}")
    lock_item = rlp.decode_list(fields[5], name="signer lock")
    lock = None
    if lock_item:
        rlp.decode_list(lock_item, 4, name="signer lock")
        proof = rlp.decode_list(lock_item[3], name="lock proof")
        lock = Lock(
            round=rlp.decode_uint(lock_item[0], name="locked round", max_bytes=4),
            block_hash=Hash32(rlp.decode_fixed(lock_item[1], 32, name="locked hash")),
            block=rlp.decode_bytes(lock_item[2], name="locked block"),
            proof=tuple(rlp.decode_bytes(v, name="lock proof vote") for v in proof),
        )
    return SignerState(
        height=Height(rlp.decode_uint(fields[0], name="signer height", max_bytes=8)),
        round=Round(rlp.decode_uint(fields[1], name="signer round", max_bytes=4)),
        step=Step(step),
        sign_bytes=rlp.decode_bytes(fields[3], name="sign bytes"),
        signature=rlp.decode_bytes(fields[4], name="signature"),
        lock=lock,
        prevote=rlp.decode_bytes(fields[6], name="last prevote"),
        precommit=rlp.decode_bytes(fields[7], name="last precommit"),
    )


class SignerStore(Protocol):
    """Durable storage of one :class:`SignerState`.

    ``save`` returns only once the state would survive a crash (power loss included
    for a production store); ``load`` returns the last saved state, or None if none
    was ever saved.
    """

    def load(self) -> SignerState | None:
        """The last saved state, or None."""
        ...

    def save(self, state: SignerState) -> None:
        """Make ``state`` durable, replacing the previous one."""
        ...


class MemorySignerStore:
    """A store that lives as long as the object: the simulator's "disk"."""

    def __init__(self, state: SignerState | None = None) -> None:
        self._state = state

    def load(self) -> SignerState | None:
        """The last saved state, or None."""
        return self._state

    def save(self, state: SignerState) -> None:
        """Keep ``state``."""
        self._state = state


class PrivValidator:
    """Signs proposals and votes for one validator key, refusing to equivocate.

    ``chain_id`` and ``genesis_hash`` (block 0's hash) name the chain in every signed
    payload. ``state`` is the state loaded from the validator's store at start (None for a
    validator that never signed). After each signature :attr:`state` is the new
    state, which the caller must persist before the signed message leaves the node.
    """

    def __init__(
        self,
        suite: CryptoSuite,
        private_key: bytes,
        chain_id: int,
        genesis_hash: Hash32,
        state: SignerState | None = None,
    ) -> None:
        self.suite = suite
        self.chain_id = chain_id
        self.genesis_hash = genesis_hash
        self.public_key = suite.public_key(private_key)
        self.address: Address = suite.address(self.public_key)
        self.state = state
        self._private_key = private_key

    def sign_proposal(
        self, height: Height, round: Round, block_hash: Hash32, valid_round: int, block: bytes
    ) -> Proposal:
        """Return the signed proposal; raise DoubleSignRefused if it would conflict."""
        payload = proposal_sign_bytes(
            self.chain_id, self.genesis_hash, height, round, block_hash, valid_round
        )
        signature = self._sign(height, round, Step.PROPOSE, payload, None)
        return Proposal(height, round, block_hash, valid_round, block, self.address, signature)

    def sign_vote(
        self,
        vote_type: VoteType,
        height: Height,
        round: Round,
        block_hash: Hash32 | None,
        *,
        lock: Lock | None = None,
    ) -> Vote:
        """Return the signed vote; raise DoubleSignRefused if it would conflict.

        A precommit for a block is a lock: ``lock`` (its block and proof) is recorded
        with it, or a bare lock (round, hash) when not given.
        """
        payload = vote_sign_bytes(
            self.chain_id, self.genesis_hash, vote_type, height, round, block_hash
        )
        if vote_type == VoteType.PRECOMMIT and block_hash is not None:
            if lock is None or (lock.round, lock.block_hash) != (round, block_hash):
                lock = Lock(round, block_hash)
        else:
            lock = None
        signature = self._sign(height, round, _STEP_OF_VOTE[vote_type], payload, lock)
        vote = Vote(vote_type, height, round, block_hash, self.address, signature)
        if self.state is not None:
            # Remember the vote itself, for re-sending after a restart.
            encoded = encode_message(vote)
            if vote_type == VoteType.PREVOTE:
                self.state = replace(self.state, prevote=encoded)
            else:
                self.state = replace(self.state, precommit=encoded)
        return vote

    def _sign(
        self,
        height: Height,
        round: Round,
        step: Step,
        payload: bytes,
        lock: Lock | None,
    ) -> bytes:
        last = self.state
        position = (height, round, step)
        if last is not None:
            # Never go back in (height, round, step) order.
            if position < last.position():
                raise DoubleSignRefused(height, round, step.name.lower())
            # The same position only for the very same bytes: hand back the old signature.
            if position == last.position():
                if payload != last.sign_bytes:
                    raise DoubleSignRefused(height, round, step.name.lower())
                return last.signature
        signature = self.suite.sign(self._private_key, payload)
        prevote = precommit = b""
        if last is not None and last.height == height:
            if lock is None:
                lock = last.lock  # a lock lasts until the height ends or a newer one replaces it
            prevote, precommit = last.prevote, last.precommit
        self.state = SignerState(height, round, step, payload, signature, lock, prevote, precommit)
        return signature

"""The properties every simulated run must keep, checked as the run goes.

- *Agreement*: no two honest nodes commit different blocks at one height.
- *Validity*: every block an honest node commits was proposed (built by some node's
  application) and is valid at its height; its hash is the hash of its bytes.
- *Certificates*: every commit carries a certificate that
  :func:`~baychain.consensus.certificate.verify_certificate` accepts against the
  validator set in force at that height, and that survives its own encoding.
- *No honest equivocation*: an honest validator, restarts included, never sends two
  different messages for one (height, round, step); no equivocation is ever
  reported against one.
- *Order*: a node commits heights one after another.
- *No false reports*: no honest node is ever held to account for a bad message
  (a signature that does not verify, a forged certificate): honest nodes relay only
  what they checked, so a report names a Byzantine sender or a bug.

Liveness (every honest node commits new heights within a bound after healing) is
checked by the runner, which knows the clock.
"""

from __future__ import annotations

from collections.abc import Collection

from baychain.consensus.certificate import (
    CommitCertificate,
    decode_certificate,
    verify_certificate,
)
from baychain.consensus.messages import Message
from baychain.consensus.sim.app import validate_block
from baychain.consensus.types import Proposal, Step, Vote, VoteType
from baychain.consensus.validators import ValidatorSchedule
from baychain.consensus.verifier import CachingVerifier
from baychain.crypto.suite import CryptoSuite
from baychain.errors import InvalidCommitCertificate
from baychain.primitives import Address, Hash32, Height

__all__ = ["Checker", "InvariantViolation"]


class InvariantViolation(Exception):
    """A simulated run broke a safety property (a bug to fix, never an expected outcome)."""

    def __init__(self, invariant: str, detail: str) -> None:
        self.invariant = invariant
        self.detail = detail
        super().__init__(f"{invariant} violated: {detail}")


class Checker:
    """Watches commits and messages of one run and raises InvariantViolation on a breach."""

    def __init__(
        self,
        suite: CryptoSuite,
        chain_id: int,
        genesis_hash: Hash32,
        schedule: ValidatorSchedule,
        honest_validators: set[Address],
        honest_nodes: Collection[str] = (),
    ) -> None:
        self.suite = suite
        self.honest_nodes = frozenset(honest_nodes)
        self.chain_id = chain_id
        self.genesis_hash = genesis_hash
        self.schedule = schedule
        self.honest_validators = honest_validators
        self.decided: dict[int, Hash32] = {}
        self.proposed: set[bytes] = set()
        self._signed: dict[tuple[Address, int, int, int], tuple[Hash32 | None, int]] = {}
        self._certificates: dict[bytes, None] = {}
        self._verifier = CachingVerifier(suite)
        self.commits = 0

    def on_built(self, block: bytes) -> None:
        """A node's application built ``block`` for a proposal."""
        self.proposed.add(block)

    def on_commit(
        self,
        node: str,
        committed: int,
        height: Height,
        block_hash: Hash32,
        block: bytes,
        certificate: CommitCertificate,
    ) -> None:
        """Honest ``node``, holding ``committed`` blocks, commits ``block`` at ``height``."""
        self.commits += 1
        if height != committed + 1:
            raise InvariantViolation(
                "order", f"{node} committed height {height} after {committed} blocks"
            )
        first = self.decided.setdefault(height, block_hash)
        if first != block_hash:
            raise InvariantViolation(
                "agreement",
                f"{node} committed 0x{block_hash.hex()[:16]} at height {height}, "
                f"another honest node committed 0x{first.hex()[:16]}",
            )
        if block not in self.proposed:
            raise InvariantViolation("validity", f"{node} committed a block nobody proposed")
        computed, valid = validate_block(self.suite, height, block)
        if computed != block_hash or not valid:
            raise InvariantViolation(
                "validity", f"{node} committed an invalid block at height {height}"
            )
        encoded = certificate.encode()
        if encoded in self._certificates:
            return
        if decode_certificate(encoded) != certificate:
            raise InvariantViolation("certificate", f"{node}'s certificate does not round-trip")
        try:
            verify_certificate(
                certificate,
                block_hash,
                self.schedule.validator_set_at(height),
                self.suite,
                self.chain_id,
                self.genesis_hash,
                height=height,
                verifier=self._verifier,
            )
        except InvalidCommitCertificate as exc:
            raise InvariantViolation("certificate", f"{node} at height {height}: {exc}") from exc
        self._certificates[encoded] = None

    def on_send(self, node: str, message: Message) -> None:
        """Honest ``node`` lets ``message`` leave; it must not conflict with earlier ones."""
        if isinstance(message, Vote):
            step = Step.PREVOTE if message.vote_type == VoteType.PREVOTE else Step.PRECOMMIT
            key = (message.validator, message.height, message.round, int(step))
            content: tuple[Hash32 | None, int] = (message.block_hash, 0)
        elif isinstance(message, Proposal):
            key = (message.proposer, message.height, message.round, int(Step.PROPOSE))
            content = (message.block_hash, message.valid_round)
        else:
            return
        if key[0] not in self.honest_validators:
            return
        earlier = self._signed.setdefault(key, content)
        if earlier != content:
            raise InvariantViolation(
                "no honest equivocation",
                f"{node} sent two different {Step(key[3]).name.lower()} messages at height "
                f"{key[1]}, round {key[2]}",
            )

    def on_report(self, node: str, peer: str, reason: str) -> None:
        """Honest ``node`` holds a bad message against ``peer``; it must not be honest."""
        if peer in self.honest_nodes:
            raise InvariantViolation("no false reports", f"{node} reported honest {peer}: {reason}")

    def on_equivocation(self, node: str, first: Proposal | Vote, second: Proposal | Vote) -> None:
        """``node`` reported two conflicting messages; they must come from a Byzantine key."""
        signer = first.validator if isinstance(first, Vote) else first.proposer
        if signer in self.honest_validators:
            raise InvariantViolation(
                "no honest equivocation",
                f"{node} holds conflicting messages of honest validator 0x{signer.hex()}",
            )

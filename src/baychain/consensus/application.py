"""What a consensus driver needs from the node: the application seam.

The engine never calls the application: it emits actions, and the driver answers
them with the application's help. This protocol lists what the driver asks, so the
node (``node/``) knows what to implement and the simulator shows it done:

=====================================  ==============================================
engine action                          driver, with the application
=====================================  ==============================================
``BuildProposal(h, r)``                ``build_proposal(h, r)`` -> ``ProposalBuilt``
``ValidateBlock(id, h, r, hash, b)``   ``validate_block(h, b)`` -> ``BlockValidated``
``Commit(h, r, hash, b, cert)``        ``commit(h, hash, b, cert.encode())``
``ServeDecision(peer, h)``             ``decision_at(h)`` -> send ``Decision``
(engine construction, every height)    ``validator_set_at(h)``
=====================================  ==============================================

For the node: ``build_proposal`` is ``Chain.build_block`` on the pool's transactions
(keep the ``ProposedBlock`` by hash); ``validate_block`` is ``decode_block`` then
``Chain.validate_block`` (keep its ``ProposedBlock`` too, so ``commit`` does not
execute again); ``commit`` stores the kept ``ProposedBlock`` with the certificate in
``Block.certificate``. Building and validating may run on a worker thread, answered
later as events: that is what lets execution of a proposal overlap vote collection.
"""

from __future__ import annotations

from typing import Protocol

from baychain.consensus.types import Round
from baychain.consensus.validators import ValidatorSet
from baychain.primitives import Hash32, Height

__all__ = ["Application"]


class Application(Protocol):
    """The node's side of consensus, as a driver uses it."""

    def validator_set_at(self, height: Height) -> ValidatorSet:
        """The validator set in force at ``height`` (see ``ValidatorSchedule``)."""
        ...

    def build_proposal(self, height: Height, round: Round) -> tuple[Hash32, bytes]:
        """A block for ``height`` on top of the last committed one: (hash, encoding)."""
        ...

    def validate_block(self, height: Height, block: bytes) -> tuple[Hash32 | None, bool]:
        """(hash of ``block`` or None if it does not parse, whether it is valid at ``height``)."""
        ...

    def commit(self, height: Height, block_hash: Hash32, block: bytes, certificate: bytes) -> None:
        """Make ``block`` final at ``height`` with its encoded certificate; durable on return."""
        ...

    def decision_at(self, height: Height) -> tuple[bytes, bytes] | None:
        """(block, encoded certificate) committed at ``height``, or None if not stored."""
        ...

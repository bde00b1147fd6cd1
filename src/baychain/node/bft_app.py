"""The node's side of BFT consensus: build, validate, commit and serve blocks.

:class:`BftApplication` implements :class:`baychain.consensus.Application` over a
:class:`~baychain.node.node.Node`'s :class:`~baychain.node.chain.Chain`:

- ``build_proposal``: ``Chain.build_block`` on transactions the driver selected from
  the pool; the :class:`ProposedBlock` is kept by hash;
- ``validate_block``: ``decode_block`` then ``Chain.execute_block``; the result is kept
  too, so committing a validated block never executes it again;
- ``commit``: stores the kept block with the encoded commit certificate in
  ``Block.certificate`` (the certificate signs the header's hash, so it sits outside it);
- ``decision_at``: the stored block and its certificate, for peers catching up;
- ``validator_set_at``: a :class:`ValidatorSchedule` built from the genesis validators.

The methods that execute or write (build, validate, commit, commit_synced) are meant
for ONE worker thread, in the order the engine asked for them; they are synchronous
and hold no timers. Reads (``decision_at``, ``validator_set_at``) are safe from any
thread. Nothing here reads the clock: the driver passes the proposer's timestamp.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from baychain.consensus.certificate import decode_certificate, verify_certificate
from baychain.consensus.types import Round
from baychain.consensus.validators import ValidatorSchedule, ValidatorSet
from baychain.crypto import get_suite
from baychain.errors import DecodingError, InvalidBlock, NotFound
from baychain.ledger.block import Block, block_hash, decode_block, encode_block
from baychain.ledger.transactions import Transaction
from baychain.node.chain import ProposedBlock
from baychain.node.genesis import Genesis
from baychain.node.node import Node
from baychain.primitives import Hash32, Height

__all__ = ["BftApplication", "schedule_from_genesis"]


def schedule_from_genesis(genesis: Genesis) -> ValidatorSchedule:
    """The validator schedule of a chain with no governance changes yet: genesis's set, in
    genesis order (certificate signer indices are positions in this order)."""
    suite = get_suite(genesis.crypto)
    members = [(v.public_key, v.power) for v in genesis.validators]
    return ValidatorSchedule(ValidatorSet.from_public_keys(suite, members))


class BftApplication:
    """The :class:`~baychain.consensus.Application` of a BFT node (see the module docstring)."""

    def __init__(self, node: Node, schedule: ValidatorSchedule) -> None:
        self.node = node
        self.chain = node.chain
        self.schedule = schedule
        self._kept: dict[Hash32, ProposedBlock] = {}

    # -- reads (any thread) ---------------------------------------------------------

    def validator_set_at(self, height: Height) -> ValidatorSet:
        """The validator set in force at ``height``."""
        return self.schedule.validator_set_at(height)

    def decision_at(self, height: Height) -> tuple[bytes, bytes] | None:
        """(encoded block, encoded certificate) committed at ``height``; None when this node
        does not have it (or it is genesis, which has no certificate)."""
        if not 1 <= height <= self.chain.height:
            return None
        try:
            block = self.chain.block_at(height)
        except NotFound:
            return None
        if not block.certificate:
            return None
        return encode_block(block), block.certificate

    # -- worker thread ----------------------------------------------------------------

    def build_proposal(
        self,
        height: Height,
        round: Round,
        transactions: Sequence[Transaction] = (),
        timestamp_ms: int = 0,
    ) -> tuple[Hash32, bytes]:
        """Build block ``height`` from ``transactions`` (those the EVM rejects are left out)
        stamped ``timestamp_ms`` (raised past the parent's); keep it; return (hash, bytes).

        Raise :class:`InvalidBlock` when ``height`` is not the one after the head (the
        request is stale: the driver drops it).
        """
        self._require_next(height)
        proposed = self.chain.build_block(transactions, timestamp_ms, self.node.validator_address)
        self._kept[proposed.block_hash] = proposed
        return proposed.block_hash, encode_block(proposed.block)

    def validate_block(self, height: Height, block: bytes) -> tuple[Hash32 | None, bool]:
        """(hash of ``block`` or None if it does not parse, whether it is valid at ``height``).

        Valid means: it decodes, claims ``height``, was proposed by a validator of that
        height, extends the head and re-executes to exactly its header.
        """
        suite = self.chain.suite
        try:
            decoded = decode_block(block, suite, self.chain.chain_id)
        except (DecodingError, InvalidBlock):
            return None, False
        claimed = block_hash(decoded, suite)
        if claimed in self._kept:
            return claimed, True
        if decoded.header.height != height or self.chain.height + 1 != height:
            return claimed, False
        if self.validator_set_at(height).get(decoded.header.proposer) is None:
            return claimed, False
        try:
            proposed = self.chain.execute_block(decoded)
        except InvalidBlock:
            return claimed, False
        self._kept[proposed.block_hash] = proposed
        return proposed.block_hash, True

    def commit(
        self, height: Height, block_hash_: Hash32, block: bytes, certificate: bytes
    ) -> ProposedBlock | None:
        """Make ``block`` final at ``height`` with ``certificate``; durable on return.

        Return the committed :class:`ProposedBlock`, or None when the chain already has
        this block (block sync got there first). Raise :class:`InvalidBlock` when the
        chain holds a different block at ``height`` or the block does not extend it.
        """
        if height <= self.chain.height:
            stored = self.chain.block_hash_at(height)
            if stored != block_hash_:
                raise InvalidBlock(
                    f"consensus decided 0x{block_hash_.hex()} at height {height} but the chain "
                    f"holds 0x{stored.hex()}"
                )
            return None
        proposed = self._kept.get(block_hash_)
        if proposed is None:
            proposed = self.chain.execute_block(
                decode_block(block, self.chain.suite, self.chain.chain_id)
            )
        final = replace(proposed, block=replace(proposed.block, certificate=certificate))
        self.chain.commit(final)
        self._forget_through(height)
        return final

    def commit_synced(self, block: Block) -> ProposedBlock | None:
        """Verify a block fetched by block sync and commit it.

        Checks, in order: it is the block after the head (or one already stored with the
        same hash, then None is returned); its certificate decodes and proves its hash
        against the validator set of its height; it re-executes to exactly its header.
        Raise :class:`InvalidBlock` (``InvalidCommitCertificate`` for the certificate).
        """
        suite = self.chain.suite
        height = Height(block.header.height)
        claimed = block_hash(block, suite)
        if 1 <= height <= self.chain.height:
            if self.chain.block_hash_at(height) != claimed:
                raise InvalidBlock(f"synced block {height} conflicts with the stored one")
            return None
        if height != self.chain.height + 1:
            raise InvalidBlock(
                f"synced block {height} does not follow the head {self.chain.height}"
            )
        try:
            certificate = decode_certificate(block.certificate)
        except DecodingError as exc:
            raise InvalidBlock(f"synced block {height} has no valid certificate: {exc}") from exc
        verify_certificate(
            certificate,
            claimed,
            self.validator_set_at(height),
            suite,
            self.chain.chain_id,
            height=height,
        )
        proposed = self.chain.execute_block(block)
        self.chain.commit(proposed)
        self._forget_through(height)
        return proposed

    def _require_next(self, height: Height) -> None:
        if height != self.chain.height + 1:
            raise InvalidBlock(f"asked for block {height} but the head is {self.chain.height}")

    def _forget_through(self, height: int) -> None:
        stale = [h for h, p in self._kept.items() if p.block.header.height <= height]
        for key in stale:
            del self._kept[key]

"""The node's side of BFT consensus: build, validate, commit and serve blocks.

:class:`BftApplication` implements :class:`baychain.consensus.Application` over a
:class:`~baychain.node.node.Node`'s :class:`~baychain.node.chain.Chain`:

- ``build_proposal``: ``Chain.build_block`` on transactions the driver selected from
  the pool; the :class:`ProposedBlock` is kept by hash;
- ``validate_block``: the header first (a block this node built or already validated
  is known by its hash and not decoded again), then the transactions, then
  ``Chain.validate_block`` (the one statement of the block rules); the result is kept
  too, so committing a validated block never executes it again. A transaction this node
  already decoded (in its pool, or in the
  :class:`~baychain.node.pool.verified.VerifiedTransactions` shared with the gossip
  intake) is taken as it is when its bytes are identical
  (``ledger.block.decode_block(known=...)``), so each signature is checked once per
  node, not once more per proposal. A refusal is logged with its reason;
- ``commit``: stores the kept block with the encoded commit certificate in
  ``Block.certificate`` (the certificate signs the header's hash, so it sits outside it);
- ``commit_synced``: a block fetched by block sync, certificate first (its header and
  certificate are decoded and verified before any transaction signature is checked);
- ``decision_at``: the stored block (its bytes, as stored: a block in this node's store
  is not verified again) and its certificate, for peers catching up;
- ``validator_set_at``: a :class:`ValidatorSchedule` built from the genesis validators.

The methods that execute or write (build, validate, commit, commit_synced) are meant
for ONE worker thread, in the order the engine asked for them; they are synchronous
and hold no timers. Reads (``decision_at``, ``validator_set_at``) are safe from any
thread. Nothing here reads the clock: the driver passes the proposer's timestamp.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace

from baychain.consensus.certificate import decode_certificate, verify_certificate
from baychain.consensus.types import Round
from baychain.consensus.validators import ValidatorSchedule, ValidatorSet
from baychain.crypto import get_suite
from baychain.errors import DecodingError, InvalidBlock, NotFound
from baychain.ledger.block import (
    decode_block,
    decode_certified_header,
    decode_header_only,
    encode_block,
)
from baychain.ledger.header import header_hash
from baychain.ledger.transactions import Transaction
from baychain.node.chain import ProposedBlock
from baychain.node.genesis import Genesis
from baychain.node.node import Node
from baychain.node.pool.verified import VerifiedTransactions
from baychain.primitives import Hash32, Height

__all__ = ["BftApplication", "schedule_from_genesis"]

log = logging.getLogger("baychain.bft")


def schedule_from_genesis(genesis: Genesis) -> ValidatorSchedule:
    """The validator schedule of a chain with no governance changes yet: genesis's set, in
    genesis order (certificate signer indices are positions in this order)."""
    suite = get_suite(genesis.crypto)
    members = [(v.public_key, v.power) for v in genesis.validators]
    return ValidatorSchedule(ValidatorSet.from_public_keys(suite, members))


class BftApplication:
    """The :class:`~baychain.consensus.Application` of a BFT node (see the module docstring)."""

    def __init__(
        self,
        node: Node,
        schedule: ValidatorSchedule,
        verified: VerifiedTransactions | None = None,
    ) -> None:
        """``verified``: transactions already checked, shared with the driver's intake;
        validation also looks in the node's pool (a dict lookup, safe from the worker
        thread under the GIL; a transaction found stays valid whatever the pool does next)
        and records there what it had to decode itself."""
        self.node = node
        self.chain = node.chain
        self.schedule = schedule
        self.verified = verified if verified is not None else VerifiedTransactions()
        self._kept: dict[Hash32, ProposedBlock] = {}

    def known(self, tx_hash: Hash32) -> Transaction | None:
        """A transaction already decoded and checked by this node, or None."""
        return self.verified.get(tx_hash) or self.node.mempool.get(tx_hash)

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
            raw = self.chain.encoded_block_at(height)
        except NotFound:
            return None
        _, certificate = decode_certified_header(raw)
        if not certificate:
            return None
        return raw, certificate

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

        Valid means: it decodes, claims ``height``, and passes
        :meth:`Chain.validate_block <baychain.node.chain.Chain.validate_block>` against the
        validator set of ``height`` (which states every block rule). A refused block is
        logged with the reason, so a validator that prevotes nil can be diagnosed.
        """
        try:
            header = decode_header_only(block)
        except DecodingError as exc:
            log.warning("refusing the proposal for height %d: it does not parse: %s", height, exc)
            return None, False
        claimed = header_hash(header, self.chain.suite)
        if claimed in self._kept:
            return claimed, True
        try:
            if header.height != height:
                raise InvalidBlock(f"it claims height {header.height}")
            decoded = decode_block(block, self.chain.suite, self.chain.chain_id, self.known)
            self.verified.add_all(decoded.transactions)
            proposed = self.chain.validate_block(decoded, self.validator_set_at(height))
        except (DecodingError, InvalidBlock) as exc:
            log.warning(
                "refusing block 0x%s proposed for height %d: %s", claimed.hex(), height, exc
            )
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
            decoded = decode_block(block, self.chain.suite, self.chain.chain_id, self.known)
            proposed = self.chain.validate_block(decoded, self.validator_set_at(height))
        final = replace(proposed, block=replace(proposed.block, certificate=certificate))
        self.chain.commit(final)
        self._forget_through(height)
        return final

    def commit_synced(self, data: bytes, expected: Height | None = None) -> ProposedBlock | None:
        """Verify an encoded block fetched by block sync and commit it.

        Checks, in order, each before any costlier one: its header and certificate parse
        (the transactions are not decoded yet); it claims ``expected`` (the height asked
        for) when given; it is the block after the head (or one already stored with the
        same hash, then None is returned); its certificate proves its hash against the
        validator set of its height; only then are its transactions decoded (their
        signatures checked, reusing transactions this node already checked) and the block
        rules of ``Chain.validate_block`` applied.
        Raise :class:`~baychain.errors.DecodingError` for a block that does not parse and
        :class:`InvalidBlock` (``InvalidCommitCertificate`` for the certificate).
        """
        suite = self.chain.suite
        header, encoded_certificate = decode_certified_header(data)
        height = Height(header.height)
        if expected is not None and height != expected:
            raise InvalidBlock(f"synced block claims height {height}, not {expected} as asked")
        claimed = header_hash(header, suite)
        if 1 <= height <= self.chain.height:
            if self.chain.block_hash_at(height) != claimed:
                raise InvalidBlock(f"synced block {height} conflicts with the stored one")
            return None
        if height != self.chain.height + 1:
            raise InvalidBlock(
                f"synced block {height} does not follow the head {self.chain.height}"
            )
        try:
            certificate = decode_certificate(encoded_certificate)
        except DecodingError as exc:
            raise InvalidBlock(f"synced block {height} has no valid certificate: {exc}") from exc
        validators = self.validator_set_at(height)
        verify_certificate(
            certificate,
            claimed,
            validators,
            suite,
            self.chain.chain_id,
            self.chain.block_hash_at(0),
            height=height,
        )
        block = decode_block(data, suite, self.chain.chain_id, self.known)
        proposed = self.chain.validate_block(block, validators)
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

"""The node's side of BFT consensus: build, validate, commit and serve blocks.

:class:`BftApplication` implements :class:`baychain.consensus.Application` over a
:class:`~baychain.node.node.Node`'s :class:`~baychain.node.chain.Chain`:

- ``build_proposal``: ``Chain.build_block`` on transactions the driver selected from
  the pool; the :class:`ProposedBlock` is kept by hash;
- ``validate_block``: the header first (a block this node built or already validated
  is known by its hash and not decoded again), then the transactions, then
  ``Chain.validate_block``; the result is kept too, so committing a validated block never
  executes it again. A transaction this node already decoded (in its pool, or in the
  :class:`VerifiedTransactions` shared with the gossip intake) is taken as it is when
  its bytes are identical (see :func:`decode_proposal`), so each signature is checked
  once per node, not once more per proposal;
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

import itertools
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

from baychain.codec import rlp
from baychain.consensus.certificate import decode_certificate, verify_certificate
from baychain.consensus.types import Round
from baychain.consensus.validators import ValidatorSchedule, ValidatorSet
from baychain.crypto import get_suite
from baychain.crypto.suite import CryptoSuite
from baychain.errors import DecodingError, InvalidBlock, InvalidTransaction, NotFound
from baychain.ledger.block import Block, block_hash, encode_block
from baychain.ledger.header import Header, header_from_item, header_hash
from baychain.ledger.transactions import Transaction, decode_transaction
from baychain.node.chain import ProposedBlock
from baychain.node.genesis import Genesis
from baychain.node.node import Node
from baychain.primitives import Hash32, Height

__all__ = [
    "VERIFIED_CAPACITY",
    "BftApplication",
    "KnownTransactions",
    "VerifiedTransactions",
    "decode_proposal",
    "proposal_header",
    "schedule_from_genesis",
]

KnownTransactions = Callable[[Hash32], Transaction | None]
"""Looks up an already decoded and signature-checked transaction by hash (None if unknown)."""

VERIFIED_CAPACITY = 65_536
"""Decoded transactions :class:`VerifiedTransactions` keeps (about two pools' worth of
blocks in flight); the oldest are forgotten first."""


class VerifiedTransactions:
    """Transactions this node has decoded and whose signatures it has checked, by hash.

    A transaction reaches a validator twice: gossiped to its pool and inside a proposal,
    in either order. Whichever path decodes it first records it here and the other one
    takes it from here, so its signature is checked once. Bounded (oldest first); safe
    to share between the intake thread and the block worker thread.
    """

    def __init__(self, capacity: int = VERIFIED_CAPACITY) -> None:
        self.capacity = capacity
        self._by_hash: dict[Hash32, Transaction] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._by_hash)

    def get(self, tx_hash: Hash32) -> Transaction | None:
        """The recorded transaction with this hash, or None."""
        return self._by_hash.get(tx_hash)

    def add_all(self, transactions: Iterable[Transaction]) -> None:
        """Record decoded transactions, forgetting the oldest beyond the capacity."""
        with self._lock:
            by_hash = self._by_hash
            for tx in transactions:
                by_hash[tx.hash] = tx
            excess = len(by_hash) - self.capacity
            if excess > 0:
                for stale in list(itertools.islice(by_hash, excess)):
                    del by_hash[stale]


def decode_proposal(
    data: bytes, suite: CryptoSuite, chain_id: int, known: KnownTransactions
) -> Block:
    """Decode a proposed block as :func:`~baychain.ledger.block.decode_block` does, but take
    each transaction that ``known`` returns with exactly the same bytes instead of decoding
    it and checking its signature again.

    ``known`` must only return transactions decoded for ``chain_id`` with ``suite`` (as the
    pool's are). A transaction's hash is the suite hash of its bytes, so a hit with equal
    bytes is the transaction ``decode_transaction`` would return. Raises what
    ``decode_block`` raises.
    """
    fields = rlp.decode_list(rlp.decode(data), 3, name="block")
    header = header_from_item(fields[0])
    raw_txs = rlp.decode_list(fields[1], name="block transactions")
    transactions = []
    for index, item in enumerate(raw_txs):
        raw = rlp.decode_bytes(item, name=f"block transaction {index}")
        pooled = known(suite.hash(raw))
        if pooled is not None and pooled.raw == raw:
            transactions.append(pooled)
            continue
        try:
            transactions.append(decode_transaction(raw, suite, chain_id))
        except InvalidTransaction as exc:
            raise InvalidBlock(
                f"block {header.height}: transaction {index} is invalid: {exc}"
            ) from exc
    certificate = rlp.decode_bytes(fields[2], name="block certificate")
    return Block(header=header, transactions=tuple(transactions), certificate=certificate)


def proposal_header(data: bytes) -> Header:
    """The header of an encoded block, without decoding its transactions.

    Raise :class:`~baychain.errors.DecodingError` when the block's structure does not parse.
    """
    fields = rlp.decode_list(rlp.decode(data), 3, name="block")
    return header_from_item(fields[0])


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
            header = proposal_header(block)
        except DecodingError:
            return None, False
        claimed = header_hash(header, suite)
        if claimed in self._kept:
            return claimed, True
        if header.height != height or self.chain.height + 1 != height:
            return claimed, False
        if self.validator_set_at(height).get(header.proposer) is None:
            return claimed, False
        try:
            decoded = decode_proposal(block, suite, self.chain.chain_id, self.known)
        except (DecodingError, InvalidBlock):
            return claimed, False
        self.verified.add_all(decoded.transactions)
        try:
            proposed = self.chain.validate_block(decoded)
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
            proposed = self.chain.validate_block(
                decode_proposal(block, self.chain.suite, self.chain.chain_id, self.known)
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
        proposed = self.chain.validate_block(block)
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

"""The node's native interface: submit transactions, seal blocks, read the ledger.

``Node`` is what in-process users (tests, the benchmark, the JSON-RPC and
REST services) talk to. It is synchronous and owns no timers or sockets. The
drivers (``node/solo/driver.py``, ``node/bft/driver.py``) decide when a block is
built and committed; every committed block then takes the one path
:meth:`Node.after_commit` (pool update, log line, listeners).

Every transaction is decoded and its signature checked once, on entry to the
pool; blocks carry the decoded transactions, so the sender recovered there is
reused by execution. :meth:`Node.submit_transactions` takes a batch and checks
its signatures on several threads (``node/pool/intake.py``) before the pool
admits the transactions in order; its two halves, :meth:`Node.check_transactions`
(any thread) and :meth:`Node.admit_checked` (the pool's thread), let a server
check a batch off its event loop.

Observers (the JSON-RPC filters and subscriptions) register callables in
:attr:`Node.pending_listeners` and :attr:`Node.commit_listeners`; the node calls
them, on the thread that made the change, after each transaction the pool
accepts and after each block it commits. A listener must not block: it hands
the event on (e.g. to an asyncio queue) and returns.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from baychain.crypto.suite import CryptoSuite
from baychain.errors import InvalidTransaction, TransactionRejected
from baychain.ledger.block import Block
from baychain.ledger.receipt import Receipt
from baychain.ledger.transactions import Transaction
from baychain.node.chain import Chain, ProposedBlock
from baychain.node.genesis import Genesis
from baychain.node.pool.config import MempoolConfig
from baychain.node.pool.intake import ParallelIntake
from baychain.node.pool.mempool import Mempool
from baychain.primitives import Address, Hash32
from baychain.state.account import Account

log = logging.getLogger("baychain.node")

_Event = TypeVar("_Event")

DEFAULT_BLOCK_MAX_TXS = 10_000
"""Transactions per block unless ``[block] max_txs`` says otherwise (the gas limit bounds
blocks too)."""


@dataclass(frozen=True, slots=True)
class ReceiptRecord:
    """A committed transaction's receipt with where it sits in the chain."""

    receipt: Receipt
    transaction: Transaction
    block_hash: Hash32
    height: int
    index: int


@dataclass(frozen=True, slots=True)
class NodeStatus:
    """What `baychain status` reports."""

    height: int
    head_hash: Hash32
    state_root: Hash32
    crypto: str
    chain_id: int
    hardfork: str
    pending: int
    queued: int


class Node:
    """A validator's ledger and pool, with block sealing for solo consensus."""

    def __init__(
        self,
        chain: Chain,
        mempool_config: MempoolConfig,
        validator_address: Address,
        *,
        max_block_txs: int = DEFAULT_BLOCK_MAX_TXS,
        verify_threads: int | None = None,
    ) -> None:
        """``verify_threads``: threads that check a batch's signatures (default: one per CPU)."""
        self.chain = chain
        self.genesis: Genesis = chain.genesis
        self.suite: CryptoSuite = chain.suite
        self.validator_address = validator_address
        self.max_block_txs = max_block_txs
        self.mempool = Mempool(
            mempool_config,
            chain_id=self.genesis.chain_id,
            suite=self.suite,
            block_gas_limit=self.genesis.block_gas_limit,
            base_fee=self.genesis.base_fee_per_gas,
        )
        self.intake = ParallelIntake(
            self.mempool.decode_raws, verify_threads or os.cpu_count() or 1
        )
        self.pending_listeners: list[Callable[[Transaction], None]] = []
        """Called with each transaction the pool accepts."""
        self.commit_listeners: list[Callable[[ProposedBlock], None]] = []
        """Called with each block committed through this node (after the pool is updated)."""

    def close(self) -> None:
        """Stop the signature-checking threads (the chain is closed by its owner)."""
        self.intake.close()

    # -- writing ---------------------------------------------------------------

    def submit_transaction(self, raw: bytes) -> Transaction:
        """Validate a raw signed transaction and add it to the pool.

        Raises a subclass of DecodingError, InvalidTransaction, CryptoError or
        TransactionRejected that says why the transaction was refused.
        """
        with self.chain.state() as view:
            tx = self.mempool.add_raw(raw, view)
        self._notify(self.pending_listeners, tx)
        return tx

    def submit_decoded(self, tx: Transaction) -> Transaction:
        """Add a transaction that ``mempool.decode_raw`` decoded (maybe on another thread).

        Raises what :meth:`submit_transaction` raises after decoding.
        """
        with self.chain.state() as view:
            admitted = self.mempool.add(tx, view)
        self._notify(self.pending_listeners, admitted)
        return admitted

    def submit_transactions(
        self, raws: Sequence[bytes]
    ) -> list[Transaction | InvalidTransaction | TransactionRejected]:
        """Validate a batch of raw signed transactions and add them to the pool, in order.

        Returns, for each one, what :meth:`submit_transaction` would have returned
        or raised for it had they been submitted one by one: the pooled transaction
        or the InvalidTransaction / TransactionRejected refusing it. Signatures are
        checked on ``verify_threads`` threads; the pool admits in order, while later
        chunks are still being checked.
        """
        return self.admit_checked(self.intake.check_all(raws))

    def check_transactions(self, raws: Sequence[bytes]) -> list[Transaction | InvalidTransaction]:
        """The stateless half of :meth:`submit_transactions`: decode and check a batch.

        For each raw transaction, in order, the decoded transaction or the
        InvalidTransaction refusing it. Reads no pool state, so any thread may call
        it (the JSON-RPC server does, off the event loop); the signatures are
        checked on the ``verify_threads`` threads.
        """
        return list(self.intake.check_all(raws))

    def admit_checked(
        self, checked: Iterable[Transaction | InvalidTransaction]
    ) -> list[Transaction | InvalidTransaction | TransactionRejected]:
        """The pool half of :meth:`submit_transactions`: admit decoded transactions in order.

        Refusals in ``checked`` are passed through; each transaction is admitted as
        :meth:`submit_decoded` would (all against one snapshot of the committed
        state), and the pending listeners hear of the accepted ones afterwards.
        """
        outcomes: list[Transaction | InvalidTransaction | TransactionRejected] = []
        with self.chain.state() as view:
            for item in checked:
                if isinstance(item, Transaction):
                    try:
                        item = self.mempool.add(item, view)
                    except (InvalidTransaction, TransactionRejected) as refusal:
                        outcomes.append(refusal)
                        continue
                outcomes.append(item)
        for outcome in outcomes:
            if isinstance(outcome, Transaction):
                self._notify(self.pending_listeners, outcome)
        return outcomes

    # -- blocks: the one commit path ----------------------------------------------

    def select_candidates(self) -> list[Transaction]:
        """The pool's offer for the next block: pending transactions in ready order,
        within the block gas limit and ``max_block_txs``."""
        return self.mempool.select_for_block(self.genesis.block_gas_limit, self.max_block_txs)

    def build_and_commit(
        self, candidates: Sequence[Transaction], timestamp_ms: int
    ) -> ProposedBlock:
        """Build the next block of ``candidates`` as this validator and commit it (solo
        consensus; safe on a worker thread: it touches the chain, not the pool)."""
        proposed = self.chain.build_block(candidates, timestamp_ms, self.validator_address)
        self.chain.commit(proposed)
        return proposed

    def after_commit(self, proposed: ProposedBlock) -> None:
        """What follows every committed block, whoever committed it (a solo seal, BFT
        consensus, block sync): the pool forgets the block's transactions and those the
        block left out as invalid, drops what the new state made stale, the block is
        logged, and the commit listeners hear of it. Call it on the pool's thread."""
        header = proposed.block.header
        left_out = [tx for tx, _ in proposed.rejected]
        with self.chain.state() as view:
            self.mempool.remove_committed([*proposed.block.transactions, *left_out], view)
        for tx, reason in proposed.rejected:
            log.info("left out tx 0x%s: %s", tx.hash.hex(), reason)
        log.info(
            "committed height=%d hash=0x%s txs=%d gas=%d state_root=0x%s",
            header.height,
            proposed.block_hash.hex(),
            len(proposed.block.transactions),
            header.gas_used,
            header.state_root.hex(),
        )
        self._notify(self.commit_listeners, proposed)

    def seal_block(self, timestamp_ms: int) -> ProposedBlock:
        """Select, build, commit and :meth:`after_commit` one block, synchronously (for
        in-process users: tests, benchmarks; the solo driver runs the same steps with the
        build on a worker thread)."""
        proposed = self.build_and_commit(self.select_candidates(), timestamp_ms)
        self.after_commit(proposed)
        return proposed

    @staticmethod
    def _notify(listeners: list[Callable[[_Event], None]], event: _Event) -> None:
        for listener in listeners:
            try:
                listener(event)
            except Exception:  # an observer's bug must not undo or stall block production
                log.exception("a node listener failed")

    # -- reading -----------------------------------------------------------------

    def status(self) -> NodeStatus:
        """Height, head, state root and identity of the chain."""
        head = self.chain.head
        return NodeStatus(
            height=head.height,
            head_hash=self.chain.head_hash,
            state_root=head.state_root,
            crypto=self.suite.name,
            chain_id=self.genesis.chain_id,
            hardfork=self.genesis.hardfork,
            pending=self.mempool.pending_count,
            queued=self.mempool.queued_count,
        )

    def block(self, height: int) -> Block:
        """The committed block at ``height``."""
        return self.chain.block_at(height)

    def block_by_hash(self, block_hash: bytes) -> Block:
        """The committed block with this hash."""
        return self.chain.block_by_hash(block_hash)

    def receipt(self, tx_hash: bytes) -> ReceiptRecord:
        """The receipt of a committed transaction; raise NotFound if it is not committed."""
        height, index = self.chain.transaction_location(tx_hash)
        block = self.chain.block_at(height)
        receipts = self.chain.receipts_at(height)
        return ReceiptRecord(
            receipt=receipts[index],
            transaction=block.transactions[index],
            block_hash=self.chain.block_hash_at(height),
            height=height,
            index=index,
        )

    def transaction(self, tx_hash: bytes) -> Transaction:
        """A committed or pending transaction by hash."""
        pending = self.mempool.get(Hash32(tx_hash))
        if pending is not None:
            return pending
        height, index = self.chain.transaction_location(tx_hash)
        return self.chain.block_at(height).transactions[index]

    def account(self, address: Address) -> Account:
        """The committed account at ``address``."""
        return self.chain.account(address)

    def storage(self, address: Address, slot: int) -> int:
        """A committed storage slot's value."""
        with self.chain.state() as view:
            return view.storage(address, slot)

    def code(self, address: Address) -> bytes:
        """The committed code at ``address`` (empty for accounts without code)."""
        with self.chain.state() as view:
            account = view.get_account(address)
            return b"" if account is None else view.code(account.code_hash)

    def pending_nonce(self, address: Address) -> int:
        """The next nonce of ``address`` counting its pending transactions."""
        with self.chain.state() as view:
            return self.mempool.pending_nonce(address, view)

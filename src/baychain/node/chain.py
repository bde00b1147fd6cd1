"""The chain a node keeps: genesis, head, block building, validation, commit and queries.

``Chain`` joins the protocol parts: it executes transactions on the committed
state (``execution``), computes roots (``ledger``, ``state.commitment``) and
commits each block atomically (``state.chain_store``). It is synchronous and
holds no timers; the node's driver decides when to build and commit.

On open it checks that the store belongs to this genesis and that the stored
state's LtHash reproduces the head header's state root, so a damaged or foreign
data directory is refused with a clear error instead of being extended.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from baychain.consensus.validators import ValidatorSet
from baychain.crypto import get_suite
from baychain.errors import CorruptStore, InvalidBlock, NotFound, StoreError
from baychain.execution.transition import (
    BlockContext,
    ExecutionResult,
    execute_block,
    require_all_valid,
)
from baychain.ledger.block import Block
from baychain.ledger.header import Header, header_differences, header_hash
from baychain.ledger.merkle import receipts_root, transactions_root
from baychain.ledger.receipt import Receipt
from baychain.ledger.transactions import Transaction
from baychain.ledger.validity import TxRefusal
from baychain.node.genesis import Genesis, genesis_params_hash, genesis_writes
from baychain.primitives import ZERO_ADDRESS, ZERO_HASH, Address, Hash32, Height
from baychain.state import chain_store
from baychain.state.account import Account
from baychain.state.commitment import EntryVectors, StateUpdate, plan_state_update, state_root
from baychain.state.store import Snapshot, Store
from baychain.state.view import StateView


@dataclass(frozen=True, slots=True)
class ProposedBlock:
    """A block built on the current head, with what committing it needs."""

    block: Block
    block_hash: Hash32
    receipts: tuple[Receipt, ...]
    update: StateUpdate
    rejected: tuple[tuple[Transaction, TxRefusal], ...]
    """Transactions offered but left out, each with the error refusing it."""


class StateSnapshot:
    """``with chain.state() as view``: a :class:`StateView` over one read snapshot.

    A class rather than a generator-based context manager because the node opens
    one per submitted transaction.
    """

    __slots__ = ("_snapshot",)

    def __init__(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot

    def __enter__(self) -> StateView:
        return StateView(self._snapshot.__enter__())

    def __exit__(self, *exc_info: object) -> None:
        self._snapshot.__exit__(*exc_info)


class Chain:
    """The ledger of one node: open it, build or validate blocks, commit them, query them."""

    def __init__(self, store: Store, genesis: Genesis) -> None:
        self.store = store
        self.genesis = genesis
        self.suite = get_suite(genesis.crypto)
        self.chain_id = genesis.chain_id
        self._head: Header
        self._head_hash: Hash32
        self._lthash: int
        # lane vectors of the entries the last committed block wrote (saves LtHash work)
        self._written: EntryVectors = {}
        with store.read() as reader:
            head = chain_store.read_head(reader)
        if head is None:
            self._commit_genesis()
        self._check_consistency()

    @classmethod
    def open(cls, data_dir: Path, genesis: Genesis, *, map_size: int | None = None) -> Chain:
        """Open (or create) the store in ``data_dir`` for ``genesis``."""
        store = Store(data_dir) if map_size is None else Store(data_dir, map_size=map_size)
        try:
            return cls(store, genesis)
        except Exception:
            store.close()
            raise

    def close(self) -> None:
        """Close the store."""
        self.store.close()

    # -- head -------------------------------------------------------------

    @property
    def head(self) -> Header:
        """The header of the last committed block."""
        return self._head

    @property
    def head_hash(self) -> Hash32:
        """The hash of the last committed block."""
        return self._head_hash

    @property
    def height(self) -> int:
        """The height of the last committed block."""
        return self._head.height

    def state(self) -> StateSnapshot:
        """Return a context manager yielding a view of the committed state at the head."""
        return StateSnapshot(self.store.read())

    # -- building and validating ---------------------------------------------

    def context_for(self, timestamp_ms: int, proposer: Address) -> BlockContext:
        """The execution context of the next block."""
        return BlockContext(
            height=self._head.height + 1,
            timestamp_ms=max(timestamp_ms, self._head.timestamp_ms + 1),
            proposer=proposer,
            gas_limit=self.genesis.block_gas_limit,
            base_fee=self.genesis.base_fee_per_gas,
            chain_id=self.chain_id,
            hardfork=self.genesis.hardfork,
            parent_hash=self._head_hash,
        )

    def build_block(
        self, txs: Sequence[Transaction], timestamp_ms: int, proposer: Address
    ) -> ProposedBlock:
        """Execute ``txs`` on the head and seal a block of those the EVM accepted."""
        context = self.context_for(timestamp_ms, proposer)
        with self.store.read() as reader:
            result = execute_block(StateView(reader), context, txs)
            update = plan_state_update(reader, self._lthash, result.writes, self._written)
        return self._seal(context, result, update)

    def validate_block(
        self, block: Block, validators: ValidatorSet | None = None
    ) -> ProposedBlock:
        """Check that ``block`` is a valid next block and return it executed, ready to commit.

        The block rules, checked in this order; the first one broken raises
        :class:`~baychain.errors.InvalidBlock` naming it:

        1. it claims the height after the head;
        2. its parent hash is the head's hash;
        3. its proposer is a member of ``validators`` (the set of that height; solo
           chains, which have no set, pass None);
        4. its timestamp is later than its parent's;
        5. its gas limit and base fee are the chain's (genesis fixes both);
        6. every transaction is valid where it stands (the state-transition function
           refused none: nonce, funds, fees, intrinsic gas, block gas);
        7. re-executing it reproduces its header: transactions root, receipts root,
           state root and gas used.

        Signatures and chain ids were checked when the block was decoded
        (:func:`~baychain.ledger.block.decode_block`); the commit certificate, which
        sits outside the header, is the caller's to check (consensus or block sync).
        """
        header = block.header
        height = self._head.height + 1
        # 1. the next height
        if header.height != height:
            raise InvalidBlock(f"block {header.height} does not follow the head {height - 1}")
        # 2. extends the head
        if header.parent_hash != self._head_hash:
            raise InvalidBlock(
                f"block {height}: parent 0x{header.parent_hash.hex()} is not the head "
                f"0x{self._head_hash.hex()}"
            )
        # 3. proposed by a validator of this height
        if validators is not None and validators.get(header.proposer) is None:
            raise InvalidBlock(
                f"block {height}: proposer 0x{header.proposer.hex()} is not a validator"
            )
        # 4. time moves forward
        if header.timestamp_ms <= self._head.timestamp_ms:
            raise InvalidBlock(
                f"block {height}: timestamp {header.timestamp_ms} does not advance past its "
                f"parent's {self._head.timestamp_ms}"
            )
        # 5. the chain's gas limit and base fee
        if header.gas_limit != self.genesis.block_gas_limit:
            raise InvalidBlock(
                f"block {height}: gas limit {header.gas_limit} is not the chain's "
                f"{self.genesis.block_gas_limit}"
            )
        if header.base_fee_per_gas != self.genesis.base_fee_per_gas:
            raise InvalidBlock(
                f"block {height}: base fee {header.base_fee_per_gas} is not the chain's "
                f"{self.genesis.base_fee_per_gas}"
            )
        context = self.context_for(header.timestamp_ms, header.proposer)
        with self.store.read() as reader:
            result = execute_block(StateView(reader), context, block.transactions)
            # 6. no transaction refused
            require_all_valid(result)
            update = plan_state_update(reader, self._lthash, result.writes, self._written)
        proposed = self._seal(context, result, update, certificate=block.certificate)
        # 7. the header is what re-execution gives
        differing = header_differences(header, proposed.block.header)
        if differing:
            raise InvalidBlock(
                f"block {height} does not match its re-execution: {', '.join(differing)} differ"
            )
        return proposed

    def _seal(
        self,
        context: BlockContext,
        result: ExecutionResult,
        update: StateUpdate,
        certificate: bytes = b"",
    ) -> ProposedBlock:
        header = Header(
            parent_hash=context.parent_hash,
            height=Height(context.height),
            timestamp_ms=context.timestamp_ms,
            proposer=context.proposer,
            transactions_root=transactions_root(result.transactions, self.suite),
            receipts_root=receipts_root(result.receipts, self.suite),
            state_root=state_root(update.lthash, self.suite),
            gas_used=result.gas_used,
            gas_limit=context.gas_limit,
            base_fee_per_gas=context.base_fee,
            extra_data=b"",
        )
        block = Block(header, tuple(result.transactions), certificate)
        return ProposedBlock(
            block=block,
            block_hash=header_hash(header, self.suite),
            receipts=tuple(result.receipts),
            update=update,
            rejected=tuple(result.rejected),
        )

    # -- committing -----------------------------------------------------------

    def commit(self, proposed: ProposedBlock) -> None:
        """Persist a block built or validated on the current head, atomically."""
        header = proposed.block.header
        if header.parent_hash != self._head_hash:
            raise InvalidBlock("the head moved since this block was built; build it again")
        with self.store.write() as writer:
            chain_store.commit_block(
                writer, proposed.block, proposed.block_hash, proposed.receipts, proposed.update
            )
        self._head = header
        self._head_hash = proposed.block_hash
        self._lthash = proposed.update.lthash
        self._written = proposed.update.written

    def _commit_genesis(self) -> None:
        genesis = self.genesis
        with self.store.read() as reader:
            update = plan_state_update(reader, 0, genesis_writes(genesis), keep_vectors=False)
        header = Header(
            parent_hash=ZERO_HASH,
            height=Height(0),
            timestamp_ms=genesis.timestamp_ms,
            proposer=ZERO_ADDRESS,
            transactions_root=transactions_root([], self.suite),
            receipts_root=receipts_root([], self.suite),
            state_root=state_root(update.lthash, self.suite),
            gas_used=0,
            gas_limit=genesis.block_gas_limit,
            base_fee_per_gas=genesis.base_fee_per_gas,
            extra_data=genesis_params_hash(genesis),
        )
        block = Block(header, (), b"")
        with self.store.write() as writer:
            chain_store.commit_block(writer, block, header_hash(header, self.suite), (), update)

    def _check_consistency(self) -> None:
        with self.store.read() as reader:
            head = chain_store.read_head(reader)
            if head is None:
                raise CorruptStore("the store has no head block")
            height, head_hash = head
            genesis_block = chain_store.read_block(reader, 0, self.suite, self.chain_id)
            if genesis_block is None:
                raise CorruptStore("the store has a head but no genesis block")
            if genesis_block.header.extra_data != genesis_params_hash(self.genesis):
                raise StoreError(
                    f"the data directory {self.store.path} belongs to another chain "
                    "(its genesis differs from genesis.json); use another directory"
                )
            block = chain_store.read_block(reader, height, self.suite, self.chain_id)
            if block is None or header_hash(block.header, self.suite) != head_hash:
                raise CorruptStore(f"the head block {height} is missing or does not match its hash")
            lthash_value = chain_store.read_lthash(reader)
        if state_root(lthash_value, self.suite) != block.header.state_root:
            raise CorruptStore(f"the stored state does not match the state root of block {height}")
        self._head = block.header
        self._head_hash = head_hash
        self._lthash = lthash_value

    # -- queries -------------------------------------------------------------

    def block_at(self, height: int) -> Block:
        """The committed block at ``height``; raise NotFound if there is none."""
        with self.store.read() as reader:
            block = chain_store.read_block(reader, height, self.suite, self.chain_id)
        if block is None:
            raise NotFound(f"no block at height {height} (head is {self.height})")
        return block

    def encoded_block_at(self, height: int) -> bytes:
        """The committed block at ``height`` as stored (``encode_block``, certificate
        included), not decoded nor verified again; raise NotFound if there is none. What
        the node serves to peers (safe from any thread)."""
        with self.store.read() as reader:
            raw = chain_store.read_block_bytes(reader, height)
        if raw is None:
            raise NotFound(f"no block at height {height} (head is {self.height})")
        return raw

    def block_hash_at(self, height: int) -> Hash32:
        """The hash of the committed block at ``height``; raise NotFound if there is none."""
        with self.store.read() as reader:
            block_hash = chain_store.read_block_hash(reader, height)
        if block_hash is None:
            raise NotFound(f"no block at height {height} (head is {self.height})")
        return block_hash

    def block_by_hash(self, block_hash: bytes) -> Block:
        """The committed block with ``block_hash``; raise NotFound if unknown."""
        with self.store.read() as reader:
            height = chain_store.read_height_of(reader, block_hash)
            block = (
                None
                if height is None
                else chain_store.read_block(reader, height, self.suite, self.chain_id)
            )
        if block is None:
            raise NotFound(f"no block with hash 0x{block_hash.hex()}")
        return block

    def receipts_at(self, height: int) -> list[Receipt]:
        """The receipts of the block at ``height``."""
        with self.store.read() as reader:
            receipts = chain_store.read_receipts(reader, height)
        if receipts is None:
            raise NotFound(f"no block at height {height}")
        return receipts

    def transaction_location(self, tx_hash: bytes) -> tuple[int, int]:
        """(height, index) of a committed transaction; raise NotFound if unknown."""
        with self.store.read() as reader:
            location = chain_store.read_tx_location(reader, tx_hash)
        if location is None:
            raise NotFound(f"no committed transaction 0x{tx_hash.hex()}")
        return location

    def account(self, address: Address) -> Account:
        """The account at ``address`` (an empty account if it does not exist)."""
        with self.state() as view:
            return view.get_account(address) or Account()

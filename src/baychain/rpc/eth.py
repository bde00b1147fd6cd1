"""The ``web3_``, ``net_`` and ``eth_`` methods on chain, blocks, transactions, state and fees.

Calls (``eth_call``, ``eth_estimateGas``) are in ``rpc/calls.py``, logs in
``rpc/logs.py``, filters in ``rpc/filters.py`` and subscriptions in
``rpc/subscriptions.py``. Block tags: ``latest``, ``pending``, ``safe`` and
``finalized`` all name the head (a BFT chain finalises every block it commits;
there is no pending block), ``earliest`` names genesis. Block and receipt
queries work at every height; state queries (balance, code, storage, nonce)
only at the head (``rpc/resolve.py``).

Handlers that decode blocks run on the worker threads (``rpc/workers.py``);
those that touch the transaction pool stay on the event loop, which owns it.
"""

from __future__ import annotations

from typing import Any

from baychain import __version__
from baychain.crypto import keccak256
from baychain.errors import InvalidTransaction, NotFound, TransactionRejected
from baychain.ledger.block import Block
from baychain.ledger.receipt import Receipt
from baychain.ledger.transactions import Transaction
from baychain.node.node import Node
from baychain.node.reads import ChainReads
from baychain.primitives import Hash32
from baychain.rpc import fees, params
from baychain.rpc.formatting import (
    data,
    format_block,
    format_receipt,
    format_transaction,
    quantity,
    receipt_locations,
)
from baychain.rpc.jsonrpc import Dispatcher, InvalidParams
from baychain.rpc.limits import RpcLimits
from baychain.rpc.resolve import height_of, require_head_state
from baychain.rpc.workers import Workers

__all__ = ["CLIENT_VERSION", "EthApi"]

CLIENT_VERSION = f"BayChain/v{__version__}/python"
"""What ``web3_clientVersion`` answers."""

METHODS = (
    "web3_clientVersion",
    "web3_sha3",
    "net_version",
    "net_listening",
    "net_peerCount",
    "eth_chainId",
    "eth_syncing",
    "eth_blockNumber",
    "eth_accounts",
    "eth_gasPrice",
    "eth_maxPriorityFeePerGas",
    "eth_feeHistory",
    "eth_getBalance",
    "eth_getCode",
    "eth_getStorageAt",
    "eth_getTransactionCount",
    "eth_getBlockByNumber",
    "eth_getBlockByHash",
    "eth_getBlockTransactionCountByNumber",
    "eth_getBlockTransactionCountByHash",
    "eth_getTransactionByHash",
    "eth_getTransactionByBlockNumberAndIndex",
    "eth_getTransactionByBlockHashAndIndex",
    "eth_getTransactionReceipt",
    "eth_getBlockReceipts",
    "eth_sendRawTransaction",
)


class EthApi:
    """Handlers of the chain, block, transaction, state and fee methods over one node."""

    def __init__(
        self,
        node: Node,
        queries: ChainReads | None = None,
        workers: Workers | None = None,
        limits: RpcLimits | None = None,
    ) -> None:
        self.node = node
        self.limits = limits or RpcLimits()
        self.queries = queries or ChainReads(node.chain)
        self.workers = workers or Workers(self.limits.call_threads, self.limits.max_queued_calls)

    def register(self, dispatcher: Dispatcher) -> None:
        """Register every handler under its JSON-RPC name."""
        batched = {"eth_sendRawTransaction": self.send_raw_transactions}
        for name in METHODS:
            dispatcher.register(name, getattr(self, name), batch_handler=batched.get(name))

    # -- node and chain ------------------------------------------------------

    async def web3_clientVersion(self) -> str:
        return CLIENT_VERSION

    async def web3_sha3(self, payload: Any) -> str:
        return data(keccak256(params.data(payload, "data")))

    async def net_version(self) -> str:
        return str(self.node.genesis.chain_id)

    async def net_listening(self) -> bool:
        return True

    async def net_peerCount(self) -> str:
        return quantity(0)

    async def eth_chainId(self) -> str:
        return quantity(self.node.genesis.chain_id)

    async def eth_syncing(self) -> bool:
        return False

    async def eth_blockNumber(self) -> str:
        return quantity(self.node.chain.height)

    async def eth_accounts(self) -> list[str]:
        return []  # the node holds no user keys: clients sign

    # -- fees ------------------------------------------------------------------

    async def eth_gasPrice(self) -> str:
        tip = await self.workers.run(self._suggested_tip)
        return quantity(self.node.chain.head.base_fee_per_gas + tip)

    async def eth_maxPriorityFeePerGas(self) -> str:
        return quantity(await self.workers.run(self._suggested_tip))

    def _suggested_tip(self) -> int:
        head = self.queries.height
        first = max(0, head - fees.TIP_SAMPLE_BLOCKS + 1)
        blocks = [self.queries.block(height) for height in range(first, head + 1)]
        return fees.suggested_tip([block for block in blocks if block is not None])

    async def eth_feeHistory(
        self, block_count: Any, newest: Any, percentiles: Any = None
    ) -> dict[str, Any]:
        count = _count(block_count, "blockCount")
        newest_ref = params.block_ref(newest, "newestBlock", allow_hash=False)
        newest_height = height_of(self.queries, newest_ref)
        wanted = _percentiles(percentiles)
        if newest_height is None or newest_height > self.queries.height:
            raise NotFound(f"block {newest} does not exist (the head is {self.queries.height})")
        count = min(count, self.limits.max_fee_history_blocks, newest_height + 1)
        return await self.workers.run(self._fee_history, count, newest_height, wanted)

    def _fee_history(self, count: int, newest: int, percentiles: list[float]) -> dict[str, Any]:
        oldest = newest - count + 1
        base_fees, ratios, rewards = [], [], []
        for height in range(oldest, newest + 1):
            block, receipts = self._block_and_receipts(height)
            header = block.header
            base_fees.append(quantity(header.base_fee_per_gas))
            ratios.append(header.gas_used / header.gas_limit if header.gas_limit else 0.0)
            if percentiles:
                rewards.append(
                    [quantity(r) for r in fees.block_rewards(block, receipts, percentiles)]
                )
        # the base fee of the block after the newest: fixed by genesis
        base_fees.append(quantity(self.node.genesis.base_fee_per_gas))
        result: dict[str, Any] = {
            "oldestBlock": quantity(oldest),
            "baseFeePerGas": base_fees if count else [],
            "gasUsedRatio": ratios,
        }
        if percentiles:
            result["reward"] = rewards
        return result

    # -- state at the head -------------------------------------------------------

    async def eth_getBalance(self, address: Any, block: Any = "latest") -> str:
        who = params.address(address)
        require_head_state(self.queries, params.block_ref(block))
        return quantity(self.node.account(who).balance)

    async def eth_getTransactionCount(self, address: Any, block: Any = "latest") -> str:
        who = params.address(address)
        ref = params.block_ref(block)
        if ref.tag == "pending":
            return quantity(self.node.pending_nonce(who))
        require_head_state(self.queries, ref)
        return quantity(self.node.account(who).nonce)

    async def eth_getCode(self, address: Any, block: Any = "latest") -> str:
        who = params.address(address)
        require_head_state(self.queries, params.block_ref(block))
        return data(self.node.code(who))

    async def eth_getStorageAt(self, address: Any, slot: Any, block: Any = "latest") -> str:
        who = params.address(address)
        key = params.quantity(slot, "slot")
        require_head_state(self.queries, params.block_ref(block))
        return data(self.node.storage(who, key).to_bytes(32, "big"))

    # -- blocks ----------------------------------------------------------------

    async def eth_getBlockByNumber(self, block: Any, full: Any = False) -> dict[str, Any] | None:
        height = height_of(self.queries, params.block_ref(block, allow_hash=False))
        return await self.workers.run(self._format_block, height, params.boolean(full, "full"))

    async def eth_getBlockByHash(self, block_hash: Any, full: Any = False) -> dict[str, Any] | None:
        height = self.queries.height_of(params.hash32(block_hash, "block hash"))
        return await self.workers.run(self._format_block, height, params.boolean(full, "full"))

    def _format_block(self, height: int | None, full: bool) -> dict[str, Any] | None:
        found = None if height is None else self._find_block(height)
        if found is None:
            return None
        block, block_hash, receipts = found
        return format_block(block, block_hash, receipts, full)

    async def eth_getBlockTransactionCountByNumber(self, block: Any) -> str | None:
        height = height_of(self.queries, params.block_ref(block, allow_hash=False))
        return await self.workers.run(self._transaction_count, height)

    async def eth_getBlockTransactionCountByHash(self, block_hash: Any) -> str | None:
        height = self.queries.height_of(params.hash32(block_hash, "block hash"))
        return await self.workers.run(self._transaction_count, height)

    def _transaction_count(self, height: int | None) -> str | None:
        block = None if height is None else self.queries.block(height)
        return None if block is None else quantity(len(block.transactions))

    async def eth_getBlockReceipts(self, block: Any) -> list[dict[str, Any]] | None:
        height = height_of(self.queries, params.block_ref(block))
        return await self.workers.run(self._block_receipts, height)

    def _block_receipts(self, height: int | None) -> list[dict[str, Any]] | None:
        found = None if height is None else self._find_block(height)
        if found is None:
            return None
        block, block_hash, receipts = found
        header = block.header
        return [
            format_receipt(
                receipt,
                tx,
                (block_hash, header.height, index, header.timestamp_ms),
                first,
                header.base_fee_per_gas,
            )
            for index, (tx, receipt, first) in enumerate(
                zip(block.transactions, receipts, receipt_locations(receipts), strict=True)
            )
        ]

    # -- transactions ------------------------------------------------------------

    async def eth_getTransactionByHash(self, tx_hash: Any) -> dict[str, Any] | None:
        wanted = params.hash32(tx_hash, "transaction hash")
        pending = self.node.mempool.get(wanted)  # the pool lives on the event loop
        if pending is not None:
            return format_transaction(pending, None, self.node.chain.head.base_fee_per_gas)
        return await self.workers.run(self._committed_transaction, wanted)

    def _committed_transaction(self, tx_hash: Hash32) -> dict[str, Any] | None:
        location = self.queries.tx_location(tx_hash)
        return None if location is None else self._transaction_at(*location)

    async def eth_getTransactionByBlockNumberAndIndex(
        self, block: Any, index: Any
    ) -> dict[str, Any] | None:
        height = height_of(self.queries, params.block_ref(block, allow_hash=False))
        position = params.quantity(index, "index", bits=64)
        if height is None:
            return None
        return await self.workers.run(self._transaction_at, height, position)

    async def eth_getTransactionByBlockHashAndIndex(
        self, block_hash: Any, index: Any
    ) -> dict[str, Any] | None:
        height = self.queries.height_of(params.hash32(block_hash, "block hash"))
        position = params.quantity(index, "index", bits=64)
        if height is None:
            return None
        return await self.workers.run(self._transaction_at, height, position)

    def _transaction_at(self, height: int, index: int) -> dict[str, Any] | None:
        found = self._find_block(height)
        if found is None or index >= len(found[0].transactions):
            return None
        block, block_hash, _ = found
        header = block.header
        return format_transaction(
            block.transactions[index],
            (block_hash, height, index, header.timestamp_ms),
            header.base_fee_per_gas,
        )

    async def eth_getTransactionReceipt(self, tx_hash: Any) -> dict[str, Any] | None:
        wanted = params.hash32(tx_hash, "transaction hash")
        return await self.workers.run(self._receipt, wanted)

    def _receipt(self, tx_hash: Hash32) -> dict[str, Any] | None:
        location = self.queries.tx_location(tx_hash)
        found = None if location is None else self._find_block(location[0])
        if location is None or found is None:
            return None
        height, index = location
        block, block_hash, receipts = found
        header = block.header
        first = sum(len(receipt.logs) for receipt in receipts[:index])
        return format_receipt(
            receipts[index],
            block.transactions[index],
            (block_hash, height, index, header.timestamp_ms),
            first,
            header.base_fee_per_gas,
        )

    async def eth_sendRawTransaction(self, raw: Any) -> str:
        # the signature check runs on a worker; the pool (event loop only) takes the result
        payload = params.data(raw, "transaction")
        decoded = await self.workers.run(self.node.mempool.decode_raw, payload)
        return data(self.node.submit_decoded(decoded).hash)

    async def send_raw_transactions(self, calls: list[list[Any]]) -> list[str | Exception]:
        """``eth_sendRawTransaction`` for a run of calls in one JSON-RPC batch.

        One trip to a worker decodes the run and checks its signatures (on the
        node's intake threads); then the pool admits the transactions in order on
        the event loop. Each call gets what it would have got on its own: the
        transaction hash, or the error refusing it.
        """
        payloads: list[bytes | InvalidParams] = []
        for call in calls:
            try:
                payloads.append(params.data(call[0], "transaction"))
            except InvalidParams as error:
                payloads.append(error)
        raws = [payload for payload in payloads if isinstance(payload, bytes)]
        checked = await self.workers.run(self.node.check_transactions, raws)
        outcomes = iter(self.node.admit_checked(checked))
        return [
            payload if isinstance(payload, InvalidParams) else _sent(next(outcomes))
            for payload in payloads
        ]

    # -- helpers -----------------------------------------------------------------

    def _find_block(self, height: int) -> tuple[Block, Hash32, tuple[Receipt, ...]] | None:
        block = self.queries.block(height)
        receipts = self.queries.receipts(height)
        block_hash = self.queries.block_hash(height)
        if block is None or receipts is None or block_hash is None:
            return None
        return block, block_hash, receipts

    def _block_and_receipts(self, height: int) -> tuple[Block, tuple[Receipt, ...]]:
        found = self._find_block(height)
        if found is None:
            raise NotFound(f"no block at height {height}")
        return found[0], found[2]


def _sent(outcome: Transaction | InvalidTransaction | TransactionRejected) -> str | Exception:
    """What ``eth_sendRawTransaction`` answers for a pool outcome: the hash or the refusal."""
    return outcome if isinstance(outcome, Exception) else data(outcome.hash)


def _count(value: Any, name: str) -> int:
    """A count given as a QUANTITY or (as some clients send it) a JSON integer."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise InvalidParams(f"{name} must not be negative")
        return value
    return params.quantity(value, name, bits=64)


def _percentiles(value: Any) -> list[float]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(
        isinstance(p, int | float) and not isinstance(p, bool) for p in value
    ):
        raise InvalidParams("rewardPercentiles must be a list of numbers")
    wanted = [float(p) for p in value]
    if any(not 0 <= p <= 100 for p in wanted) or wanted != sorted(wanted):
        raise InvalidParams("rewardPercentiles must rise monotonically within 0..100")
    if len(wanted) > 100:
        raise InvalidParams("rewardPercentiles lists more than 100 values")
    return wanted

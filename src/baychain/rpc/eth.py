"""The first Ethereum JSON-RPC methods a node serves, over the node's native interface.

Served so far: ``web3_clientVersion``, ``net_version``, ``eth_chainId``,
``eth_blockNumber``, ``eth_getBalance``, ``eth_getTransactionCount``,
``eth_getCode``, ``eth_getStorageAt``, ``eth_sendRawTransaction``,
``eth_getTransactionReceipt``, ``eth_getBlockByNumber``, ``eth_getBlockByHash``
and ``baychain_status``. Quantities are lower-case hex without leading zeros,
data is even-length hex (execution-apis conventions). State reads accept the
block tags ``latest``/``pending``/``safe``/``finalized`` (all the head on a
chain with instant finality); historical state is not kept.
"""

from __future__ import annotations

from typing import Any

from baychain import __version__
from baychain.errors import DecodingError, NotFound
from baychain.ledger.block import Block, encode_block
from baychain.ledger.bloom import bloom as logs_bloom
from baychain.ledger.header import header_hash
from baychain.ledger.transactions import LEGACY_TX_TYPE, Transaction
from baychain.node.node import Node, ReceiptRecord
from baychain.primitives import Address, parse_address, parse_hex
from baychain.rpc.jsonrpc import Dispatcher, InvalidParams

HEAD_TAGS = ("latest", "pending", "safe", "finalized")


def quantity(value: int) -> str:
    """Encode an integer as an execution-apis QUANTITY."""
    return hex(value)


def data(value: bytes) -> str:
    """Encode bytes as an execution-apis DATA string."""
    return "0x" + value.hex()


def parse_quantity(value: Any, name: str) -> int:
    """Decode a QUANTITY parameter; raise InvalidParams naming it."""
    if not isinstance(value, str) or not value.startswith("0x") or len(value) < 3:
        raise InvalidParams(f"{name} must be a hex quantity such as 0x1a")
    try:
        return int(value, 16)
    except ValueError:
        raise InvalidParams(f"{name} is not a hex quantity: {value!r}") from None


def parse_data(value: Any, name: str) -> bytes:
    """Decode a DATA parameter; raise InvalidParams naming it."""
    if not isinstance(value, str) or not value.startswith("0x"):
        raise InvalidParams(f"{name} must be 0x-prefixed hex data")
    try:
        return parse_hex(value, name=name)
    except DecodingError as error:
        raise InvalidParams(str(error)) from None


def parse_addr(value: Any, name: str = "address") -> Address:
    """Decode an address parameter; raise InvalidParams naming it."""
    if not isinstance(value, str):
        raise InvalidParams(f"{name} must be a 20-byte hex string")
    try:
        return parse_address(value, name=name)
    except DecodingError as error:
        raise InvalidParams(str(error)) from None


class EthApi:
    """Handlers of the served methods over one node."""

    def __init__(self, node: Node) -> None:
        self.node = node

    def register(self, dispatcher: Dispatcher) -> None:
        """Register every handler under its JSON-RPC name."""
        for name in (
            "web3_clientVersion",
            "net_version",
            "eth_chainId",
            "eth_blockNumber",
            "eth_getBalance",
            "eth_getTransactionCount",
            "eth_getCode",
            "eth_getStorageAt",
            "eth_sendRawTransaction",
            "eth_getTransactionReceipt",
            "eth_getBlockByNumber",
            "eth_getBlockByHash",
            "baychain_status",
        ):
            dispatcher.register(name, getattr(self, name))

    def _head_only(self, tag: Any) -> None:
        if tag in HEAD_TAGS:
            return
        if isinstance(tag, str) and tag.startswith("0x"):
            if parse_quantity(tag, "block") == self.node.chain.height:
                return
            raise InvalidParams('historical state is not available; use "latest"')
        raise InvalidParams(f"block must be a block number or one of {', '.join(HEAD_TAGS)}")

    async def web3_clientVersion(self) -> str:
        return f"BayChain/v{__version__}/python"

    async def net_version(self) -> str:
        return str(self.node.genesis.chain_id)

    async def eth_chainId(self) -> str:
        return quantity(self.node.genesis.chain_id)

    async def eth_blockNumber(self) -> str:
        return quantity(self.node.chain.height)

    async def eth_getBalance(self, address: Any, block: Any = "latest") -> str:
        self._head_only(block)
        return quantity(self.node.account(parse_addr(address)).balance)

    async def eth_getTransactionCount(self, address: Any, block: Any = "latest") -> str:
        who = parse_addr(address)
        if block == "pending":
            return quantity(self.node.pending_nonce(who))
        self._head_only(block)
        return quantity(self.node.account(who).nonce)

    async def eth_getCode(self, address: Any, block: Any = "latest") -> str:
        self._head_only(block)
        return data(self.node.code(parse_addr(address)))

    async def eth_getStorageAt(self, address: Any, slot: Any, block: Any = "latest") -> str:
        self._head_only(block)
        value = self.node.storage(parse_addr(address), parse_quantity(slot, "slot"))
        return data(value.to_bytes(32, "big"))

    async def eth_sendRawTransaction(self, raw: Any) -> str:
        tx = self.node.submit_transaction(parse_data(raw, "transaction"))
        return data(tx.hash)

    async def eth_getTransactionReceipt(self, tx_hash: Any) -> dict[str, Any] | None:
        try:
            record = self.node.receipt(parse_data(tx_hash, "transaction hash"))
        except NotFound:
            return None
        earlier = self.node.chain.receipts_at(record.height)[: record.index]
        first_log_index = sum(len(receipt.logs) for receipt in earlier)
        return format_receipt(record, first_log_index, self.node.genesis.base_fee_per_gas)

    async def eth_getBlockByNumber(self, tag: Any, full: Any = False) -> dict[str, Any] | None:
        if tag in (*HEAD_TAGS, "earliest"):
            height = 0 if tag == "earliest" else self.node.chain.height
        else:
            height = parse_quantity(tag, "block number")
        try:
            block = self.node.block(height)
        except NotFound:
            return None
        return self.format_block(block, bool(full))

    async def eth_getBlockByHash(self, block_hash: Any, full: Any = False) -> dict[str, Any] | None:
        try:
            block = self.node.block_by_hash(parse_data(block_hash, "block hash"))
        except NotFound:
            return None
        return self.format_block(block, bool(full))

    async def baychain_status(self) -> dict[str, Any]:
        status = self.node.status()
        return {
            "height": quantity(status.height),
            "headHash": data(status.head_hash),
            "stateRoot": data(status.state_root),
            "crypto": status.crypto,
            "chainId": quantity(status.chain_id),
            "hardfork": status.hardfork,
            "pending": status.pending,
            "queued": status.queued,
        }

    def format_block(self, block: Block, full: bool) -> dict[str, Any]:
        """A block in the execution-apis shape (BFT-meaningless fields neutral)."""
        header = block.header
        block_hash = header_hash(header, self.node.suite)
        receipts = self.node.chain.receipts_at(header.height)
        logs = [log for receipt in receipts for log in receipt.logs]
        txs: list[Any] = [
            format_transaction(tx, block_hash, header.height, index, header.base_fee_per_gas)
            if full
            else data(tx.hash)
            for index, tx in enumerate(block.transactions)
        ]
        return {
            "number": quantity(header.height),
            "hash": data(block_hash),
            "parentHash": data(header.parent_hash),
            "nonce": "0x0000000000000000",
            "sha3Uncles": "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347",
            "logsBloom": data(logs_bloom(logs)),
            "transactionsRoot": data(header.transactions_root),
            "stateRoot": data(header.state_root),
            "receiptsRoot": data(header.receipts_root),
            "miner": data(header.proposer),
            "difficulty": "0x0",
            "totalDifficulty": "0x0",
            "extraData": data(header.extra_data),
            "size": quantity(len(encode_block(block))),
            "gasLimit": quantity(header.gas_limit),
            "gasUsed": quantity(header.gas_used),
            "timestamp": quantity(header.timestamp_ms // 1000),
            "transactions": txs,
            "uncles": [],
            "mixHash": data(header.parent_hash),
            "baseFeePerGas": quantity(header.base_fee_per_gas),
        }


def format_transaction(
    tx: Transaction, block_hash: bytes | None, height: int | None, index: int | None, base_fee: int
) -> dict[str, Any]:
    """A transaction in the execution-apis shape."""
    body: dict[str, Any] = {
        "type": quantity(tx.tx_type),
        "hash": data(tx.hash),
        "nonce": quantity(tx.nonce),
        "blockHash": None if block_hash is None else data(block_hash),
        "blockNumber": None if height is None else quantity(height),
        "transactionIndex": None if index is None else quantity(index),
        "from": data(tx.sender),
        "to": None if tx.to is None else data(tx.to),
        "value": quantity(tx.value),
        "gas": quantity(tx.gas_limit),
        "gasPrice": quantity(tx.effective_gas_price(base_fee)),
        "input": data(tx.data),
        "r": quantity(tx.r),
        "s": quantity(tx.s),
        "v": quantity(tx.v),
    }
    if tx.chain_id is not None:
        body["chainId"] = quantity(tx.chain_id)
    if tx.tx_type != LEGACY_TX_TYPE:
        body["maxFeePerGas"] = quantity(tx.max_fee_per_gas)
        body["maxPriorityFeePerGas"] = quantity(tx.max_priority_fee_per_gas)
        body["accessList"] = [
            {"address": data(address), "storageKeys": [data(key) for key in keys]}
            for address, keys in tx.access_list
        ]
        body["yParity"] = quantity(tx.v)
    return body


def format_receipt(record: ReceiptRecord, first_log_index: int, base_fee: int) -> dict[str, Any]:
    """A receipt in the execution-apis shape; log indexes count from ``first_log_index``."""
    receipt, tx = record.receipt, record.transaction
    return {
        "type": quantity(receipt.tx_type),
        "transactionHash": data(tx.hash),
        "transactionIndex": quantity(record.index),
        "blockHash": data(record.block_hash),
        "blockNumber": quantity(record.height),
        "from": data(tx.sender),
        "to": None if tx.to is None else data(tx.to),
        "cumulativeGasUsed": quantity(receipt.cumulative_gas_used),
        "gasUsed": quantity(receipt.gas_used),
        "contractAddress": None
        if receipt.contract_address is None
        else data(receipt.contract_address),
        "logs": [
            {
                "address": data(log.address),
                "topics": [data(topic) for topic in log.topics],
                "data": data(log.data),
                "blockNumber": quantity(record.height),
                "blockHash": data(record.block_hash),
                "transactionHash": data(tx.hash),
                "transactionIndex": quantity(record.index),
                "logIndex": quantity(first_log_index + position),
                "removed": False,
            }
            for position, log in enumerate(receipt.logs)
        ],
        "logsBloom": data(logs_bloom(receipt.logs)),
        "status": quantity(receipt.status),
        "effectiveGasPrice": quantity(tx.effective_gas_price(base_fee)),
    }

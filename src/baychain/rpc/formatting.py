"""Answers in the shapes of the Ethereum execution-apis OpenRPC specification.

Encodings: a QUANTITY is lower-case hex without leading zeros (``0x0``, ``0x1a``);
DATA is ``0x`` and an even number of lower-case hex digits. Objects carry every
field the specification requires:

- a block has the Ethereum header fields; those that mean nothing on a BFT chain
  are present with neutral values: ``difficulty`` 0, ``nonce`` eight zero bytes,
  ``sha3Uncles`` the hash of an empty uncle list, ``uncles`` empty, ``mixHash``
  the parent hash (the EVM's PREVRANDAO, see ``execution/transition.py``).
  ``timestamp`` is in seconds (the header keeps milliseconds);
- a transaction has the fields of its type; a BayChain SM2 transaction (type
  ``0x53``) has those of an EIP-1559 one plus ``publicKey`` (the SM2 key it
  carries), with ``r``/``s`` its signature and ``v``/``yParity`` 0;
- a receipt has exactly the specification's receipt fields;
- a log has its block, transaction and block-wide index, and ``blockTimestamp``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from baychain.ledger.block import Block, encode_block
from baychain.ledger.bloom import bloom as logs_bloom
from baychain.ledger.header import Header
from baychain.ledger.log import Log
from baychain.ledger.receipt import Receipt
from baychain.ledger.transactions import LEGACY_TX_TYPE, SM2_TX_TYPE, Transaction
from baychain.node.reads import LocatedLog
from baychain.primitives import Hash32

__all__ = [
    "EMPTY_UNCLES_HASH",
    "TxLocation",
    "data",
    "format_block",
    "format_header",
    "format_log",
    "format_receipt",
    "format_transaction",
    "quantity",
    "receipt_locations",
]

EMPTY_UNCLES_HASH = "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347"
"""keccak-256 of rlp([]): Ethereum's ``sha3Uncles`` of a block without uncles."""

ZERO_NONCE = "0x0000000000000000"


def quantity(value: int) -> str:
    """Encode a non-negative integer as a QUANTITY."""
    return hex(value)


def data(value: bytes) -> str:
    """Encode bytes as DATA."""
    return "0x" + value.hex()


TxLocation = tuple[Hash32, int, int, int]
"""Where a committed transaction is: (block hash, height, index, block timestamp ms)."""


def format_header(header: Header, block_hash: Hash32, logs: Sequence[Log]) -> dict[str, Any]:
    """The header fields of a block (``newHeads`` notifications and blocks)."""
    return {
        "number": quantity(header.height),
        "hash": data(block_hash),
        "parentHash": data(header.parent_hash),
        "nonce": ZERO_NONCE,
        "sha3Uncles": EMPTY_UNCLES_HASH,
        "logsBloom": data(logs_bloom(logs)),
        "transactionsRoot": data(header.transactions_root),
        "stateRoot": data(header.state_root),
        "receiptsRoot": data(header.receipts_root),
        "miner": data(header.proposer),
        "difficulty": "0x0",
        "extraData": data(header.extra_data),
        "gasLimit": quantity(header.gas_limit),
        "gasUsed": quantity(header.gas_used),
        "timestamp": quantity(header.timestamp_ms // 1000),
        "mixHash": data(header.parent_hash),
        "baseFeePerGas": quantity(header.base_fee_per_gas),
    }


def format_block(
    block: Block, block_hash: Hash32, receipts: Sequence[Receipt], full: bool
) -> dict[str, Any]:
    """A block with transaction hashes, or full transactions when ``full``."""
    header = block.header
    logs = [log for receipt in receipts for log in receipt.logs]
    body = format_header(header, block_hash, logs)
    body["totalDifficulty"] = "0x0"
    body["size"] = quantity(len(encode_block(block)))
    body["transactions"] = [
        format_transaction(
            tx, (block_hash, header.height, index, header.timestamp_ms), header.base_fee_per_gas
        )
        if full
        else data(tx.hash)
        for index, tx in enumerate(block.transactions)
    ]
    body["uncles"] = []
    return body


def format_transaction(
    tx: Transaction, location: TxLocation | None, base_fee: int
) -> dict[str, Any]:
    """A transaction; ``location`` None for a pending one (block fields null).

    ``gasPrice`` is the price paid once included, and the fee cap while pending
    (as the specification asks).
    """
    price = tx.max_fee_per_gas if location is None else tx.effective_gas_price(base_fee)
    body: dict[str, Any] = {
        "type": quantity(tx.tx_type),
        "hash": data(tx.hash),
        "nonce": quantity(tx.nonce),
        "blockHash": None if location is None else data(location[0]),
        "blockNumber": None if location is None else quantity(location[1]),
        "transactionIndex": None if location is None else quantity(location[2]),
        "from": data(tx.sender),
        "to": None if tx.to is None else data(tx.to),
        "value": quantity(tx.value),
        "gas": quantity(tx.gas_limit),
        "gasPrice": quantity(price),
        "input": data(tx.data),
        "v": quantity(tx.v),
        "r": quantity(tx.r),
        "s": quantity(tx.s),
    }
    if location is not None:
        body["blockTimestamp"] = quantity(location[3] // 1000)
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
    if tx.tx_type == SM2_TX_TYPE:
        body["publicKey"] = data(tx.public_key)
    return body


def format_receipt(
    receipt: Receipt,
    tx: Transaction,
    location: TxLocation,
    first_log_index: int,
    base_fee: int,
) -> dict[str, Any]:
    """A receipt; its logs are numbered in the block from ``first_log_index``."""
    block_hash, height, index, timestamp_ms = location
    return {
        "type": quantity(receipt.tx_type),
        "transactionHash": data(tx.hash),
        "transactionIndex": quantity(index),
        "blockHash": data(block_hash),
        "blockNumber": quantity(height),
        "from": data(tx.sender),
        "to": None if tx.to is None else data(tx.to),
        "cumulativeGasUsed": quantity(receipt.cumulative_gas_used),
        "gasUsed": quantity(receipt.gas_used),
        "contractAddress": None
        if receipt.contract_address is None
        else data(receipt.contract_address),
        "logs": [
            format_log(
                LocatedLog(
                    log, height, block_hash, timestamp_ms, tx.hash, index, first_log_index + offset
                )
            )
            for offset, log in enumerate(receipt.logs)
        ],
        "logsBloom": data(logs_bloom(receipt.logs)),
        "status": quantity(receipt.status),
        "effectiveGasPrice": quantity(tx.effective_gas_price(base_fee)),
    }


def format_log(entry: LocatedLog, removed: bool = False) -> dict[str, Any]:
    """A log as ``eth_getLogs``, receipts and ``logs`` notifications show it."""
    return {
        "address": data(entry.log.address),
        "topics": [data(topic) for topic in entry.log.topics],
        "data": data(entry.log.data),
        "blockNumber": quantity(entry.height),
        "blockHash": data(entry.block_hash),
        "blockTimestamp": quantity(entry.timestamp_ms // 1000),
        "transactionHash": data(entry.tx_hash),
        "transactionIndex": quantity(entry.tx_index),
        "logIndex": quantity(entry.log_index),
        "removed": removed,
    }


def receipt_locations(receipts: Sequence[Receipt]) -> list[int]:
    """The block-wide index of each receipt's first log."""
    firsts = []
    count = 0
    for receipt in receipts:
        firsts.append(count)
        count += len(receipt.logs)
    return firsts

"""Parsing JSON-RPC parameters into domain values; every refusal names the parameter.

Each function takes the raw JSON value and the parameter's name and returns a
typed value or raises :class:`~baychain.rpc.jsonrpc.InvalidParams` (-32602).
Accepted encodings follow the execution-apis specification, leniently where
clients differ: a QUANTITY may carry leading zeros, addresses may be
checksummed, DATA must have an even number of digits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from baychain.ledger.access_list import AccessList
from baychain.ledger.log import MAX_TOPICS
from baychain.node.reads import LogFilter
from baychain.primitives import Address, Hash32
from baychain.rpc.jsonrpc import InvalidParams

__all__ = [
    "BLOCK_TAGS",
    "MAX_FILTER_ITEMS",
    "BlockRef",
    "CallFields",
    "FilterSpec",
    "address",
    "block_ref",
    "boolean",
    "call_fields",
    "data",
    "filter_spec",
    "hash32",
    "quantity",
]

BLOCK_TAGS = ("latest", "earliest", "pending", "safe", "finalized")
"""Named blocks. On a BFT chain every committed block is final: safe = finalized = latest."""

MAX_FILTER_ITEMS = 1_000
"""Most addresses, or alternatives of one topic position, a log filter may list."""

_HEX = re.compile(r"0x[0-9a-fA-F]+")
# DATA's even digit count is checked apart: a repeated digit-pair group in the pattern
# matches several times slower on long strings such as raw transactions and contract code.
_DATA = re.compile(r"0x[0-9a-fA-F]*")


@dataclass(frozen=True, slots=True)
class BlockRef:
    """A block parameter: a tag, a number, or a hash (EIP-1898)."""

    tag: str | None = None
    number: int | None = None
    block_hash: Hash32 | None = None


LATEST = BlockRef(tag="latest")


def quantity(value: Any, name: str, *, bits: int = 256) -> int:
    """A QUANTITY: ``0x``-prefixed hex, at most ``bits`` bits."""
    if not isinstance(value, str) or not _HEX.fullmatch(value):
        raise InvalidParams(f"{name} must be a hex quantity such as 0x1a, got {value!r}")
    number = int(value, 16)
    if number.bit_length() > bits:
        raise InvalidParams(f"{name} does not fit in {bits} bits")
    return number


def data(value: Any, name: str, *, size: int | None = None) -> bytes:
    """DATA: ``0x`` and an even number of hex digits (exactly ``size`` bytes if given)."""
    if not isinstance(value, str) or len(value) % 2 or not _DATA.fullmatch(value):
        raise InvalidParams(f"{name} must be 0x-prefixed hex data with an even number of digits")
    raw = bytes.fromhex(value[2:])
    if size is not None and len(raw) != size:
        raise InvalidParams(f"{name} must be {size} bytes, got {len(raw)}")
    return raw


def address(value: Any, name: str = "address") -> Address:
    """A 20-byte address."""
    return Address(data(value, name, size=20))


def hash32(value: Any, name: str) -> Hash32:
    """A 32-byte hash."""
    return Hash32(data(value, name, size=32))


def boolean(value: Any, name: str) -> bool:
    """A JSON boolean."""
    if not isinstance(value, bool):
        raise InvalidParams(f"{name} must be true or false")
    return value


def block_ref(value: Any, name: str = "block", *, allow_hash: bool = True) -> BlockRef:
    """A block tag, number, hash string, or EIP-1898 object ``{blockNumber | blockHash}``."""
    if isinstance(value, str):
        if value in BLOCK_TAGS:
            return BlockRef(tag=value)
        if allow_hash and len(value) == 66:
            return BlockRef(block_hash=hash32(value, name))
        if not _HEX.fullmatch(value):
            raise InvalidParams(
                f"{name} must be a block number, {', '.join(BLOCK_TAGS)}"
                + (" or a block hash" if allow_hash else "")
            )
        return BlockRef(number=quantity(value, name, bits=64))
    if allow_hash and isinstance(value, dict):
        if "blockHash" in value and "blockNumber" not in value:
            if not isinstance(value.get("requireCanonical", False), bool):
                raise InvalidParams(f"{name}.requireCanonical must be true or false")
            return BlockRef(block_hash=hash32(value["blockHash"], f"{name}.blockHash"))
        if "blockNumber" in value and "blockHash" not in value:
            return block_ref(value["blockNumber"], f"{name}.blockNumber", allow_hash=False)
        raise InvalidParams(f"{name} object needs exactly one of blockHash and blockNumber")
    raise InvalidParams(f"{name} must be a block number, a tag or a block hash")


@dataclass(frozen=True, slots=True)
class CallFields:
    """The transaction object of ``eth_call`` / ``eth_estimateGas``; None = not given."""

    caller: Address | None = None
    to: Address | None = None
    gas: int | None = None
    gas_price: int | None = None
    max_fee_per_gas: int | None = None
    max_priority_fee_per_gas: int | None = None
    value: int = 0
    input: bytes = b""
    nonce: int | None = None
    access_list: AccessList = ()

    @property
    def has_fees(self) -> bool:
        """True when the caller named a price (else the call runs with base fee 0)."""
        return any(
            fee is not None
            for fee in (self.gas_price, self.max_fee_per_gas, self.max_priority_fee_per_gas)
        )


def call_fields(value: Any, name: str = "transaction") -> CallFields:
    """Parse a call object (execution-apis ``GenericTransaction``)."""
    if not isinstance(value, dict):
        raise InvalidParams(f"{name} must be an object")

    def opt_quantity(key: str, bits: int = 256) -> int | None:
        raw = value.get(key)
        return None if raw is None else quantity(raw, f"{name}.{key}", bits=bits)

    payload = value.get("input")
    legacy_payload = value.get("data")
    call_input = b"" if payload is None else data(payload, f"{name}.input")
    if legacy_payload is not None:
        old = data(legacy_payload, f"{name}.data")
        if payload is not None and old != call_input:
            raise InvalidParams(f"{name} has both input and data, with different values")
        call_input = old
    gas_price = opt_quantity("gasPrice")
    max_fee = opt_quantity("maxFeePerGas")
    tip = opt_quantity("maxPriorityFeePerGas")
    if gas_price is not None and (max_fee is not None or tip is not None):
        raise InvalidParams(f"{name} gives both gasPrice and maxFeePerGas/maxPriorityFeePerGas")
    caller = value.get("from")
    to = value.get("to")
    return CallFields(
        caller=None if caller is None else address(caller, f"{name}.from"),
        to=None if to is None else address(to, f"{name}.to"),
        gas=opt_quantity("gas", 64),
        gas_price=gas_price,
        max_fee_per_gas=max_fee,
        max_priority_fee_per_gas=tip,
        value=opt_quantity("value") or 0,
        input=call_input,
        nonce=opt_quantity("nonce", 64),
        access_list=_access_list(value.get("accessList"), f"{name}.accessList"),
    )


def _access_list(value: Any, name: str) -> AccessList:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise InvalidParams(f"{name} must be a list")
    entries = []
    for index, entry in enumerate(value):
        where = f"{name}[{index}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("storageKeys", []), list):
            raise InvalidParams(f"{where} must be {{address, storageKeys}}")
        keys = tuple(
            hash32(key, f"{where}.storageKeys") for key in entry.get("storageKeys", [])
        )
        entries.append((address(entry.get("address"), f"{where}.address"), keys))
    return tuple(entries)


@dataclass(frozen=True, slots=True)
class FilterSpec:
    """A log filter: a block range (or one block by hash) and the matching criteria."""

    from_block: BlockRef
    to_block: BlockRef
    block_hash: Hash32 | None
    criteria: LogFilter


def filter_spec(value: Any, name: str = "filter") -> FilterSpec:
    """Parse an ``eth_getLogs`` / ``eth_newFilter`` filter object."""
    if not isinstance(value, dict):
        raise InvalidParams(f"{name} must be an object")
    block_hash = None
    if value.get("blockHash") is not None:
        if value.get("fromBlock") is not None or value.get("toBlock") is not None:
            raise InvalidParams(f"{name} cannot have blockHash with fromBlock or toBlock")
        block_hash = hash32(value["blockHash"], f"{name}.blockHash")
    from_block = value.get("fromBlock")
    to_block = value.get("toBlock")
    return FilterSpec(
        from_block=LATEST
        if from_block is None
        else block_ref(from_block, f"{name}.fromBlock", allow_hash=False),
        to_block=LATEST
        if to_block is None
        else block_ref(to_block, f"{name}.toBlock", allow_hash=False),
        block_hash=block_hash,
        criteria=LogFilter(
            addresses=_addresses(value.get("address"), f"{name}.address"),
            topics=_topics(value.get("topics"), f"{name}.topics"),
        ),
    )


def _addresses(value: Any, name: str) -> frozenset[Address] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return frozenset({address(value, name)})
    if not isinstance(value, list):
        raise InvalidParams(f"{name} must be an address or a list of addresses")
    if len(value) > MAX_FILTER_ITEMS:
        raise InvalidParams(f"{name} lists more than {MAX_FILTER_ITEMS} addresses")
    if not value:
        return None  # an empty list matches any address, as in geth
    return frozenset(address(item, f"{name}[{i}]") for i, item in enumerate(value))


def _topics(value: Any, name: str) -> tuple[frozenset[Hash32] | None, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise InvalidParams(f"{name} must be a list")
    if len(value) > MAX_TOPICS:
        raise InvalidParams(f"{name} has {len(value)} positions; logs have at most {MAX_TOPICS}")
    positions: list[frozenset[Hash32] | None] = []
    for index, entry in enumerate(value):
        where = f"{name}[{index}]"
        if entry is None:
            positions.append(None)
        elif isinstance(entry, str):
            positions.append(frozenset({hash32(entry, where)}))
        elif isinstance(entry, list):
            if len(entry) > MAX_FILTER_ITEMS:
                raise InvalidParams(f"{where} lists more than {MAX_FILTER_ITEMS} topics")
            if not entry or any(item is None for item in entry):
                positions.append(None)  # an empty or null alternative matches anything
            else:
                positions.append(frozenset(hash32(t, f"{where}[{i}]") for i, t in enumerate(entry)))
        else:
            raise InvalidParams(f"{where} must be a topic, a list of topics or null")
    return tuple(positions)


"""genesis.json: the parameters every node of a chain must share, fixed at height 0.

::

    {
      "chain_id": 20261,                       EIP-155 chain id
      "crypto": "sm",                          "ecdsa" or "sm" (the CryptoSuite)
      "hardfork": "cancun",                    EVM rules: "cancun" or "prague"
      "timestamp_ms": 0,                       genesis block time
      "block_gas_limit": 60000000,
      "base_fee_per_gas": 0,                   fixed; 0 lets consortium members transact for free
      "block_interval_ms": 1000,               target time between blocks
      "validators": [{"name": "node0", "public_key": "0x..", "power": 1}],
      "alloc": {"0x<address>": {"balance": "0x..", "nonce": 0, "code": "0x..",
                                "storage": {"0x<slot>": "0x<value>"}}},
      "extra_data": "0x"
    }

Every field is required except ``alloc`` entries' ``nonce``, ``code`` and
``storage``, ``timestamp_ms`` (0) and ``extra_data`` (empty). A missing or
malformed field raises :class:`~baychain.errors.GenesisError` naming it.

Besides the file's format, this module holds the two protocol rules genesis fixes:
:func:`genesis_params_hash` (the consensus parameters every node must share, committed
as the genesis header's extra data) and :func:`genesis_writes` (the world state at
height 0, system contracts included).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from baychain.codec import rlp
from baychain.crypto import SUITE_NAMES, get_suite
from baychain.crypto.ecdsa import keccak256
from baychain.errors import DecodingError, GenesisError
from baychain.execution.system_config import SYSTEM_CONFIG_ADDRESS
from baychain.execution.system_config import genesis_storage as system_config_genesis
from baychain.execution.system_tx import system_account
from baychain.execution.transition import default_system_contracts
from baychain.primitives import (
    UINT64_MAX,
    UINT256_MAX,
    Address,
    Hash32,
    parse_address,
    parse_hex,
)
from baychain.state.account import EMPTY_CODE_HASH, Account
from baychain.state.writeset import WriteSet

HARDFORKS = ("cancun", "prague")
MAX_EXTRA_DATA_BYTES = 32


@dataclass(frozen=True, slots=True)
class GenesisAccount:
    """One pre-funded or pre-deployed account."""

    balance: int
    nonce: int = 0
    code: bytes = b""
    storage: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class Validator:
    """A member of the initial validator set."""

    name: str
    public_key: bytes
    power: int
    address: Address


@dataclass(frozen=True, slots=True)
class Genesis:
    """The validated content of genesis.json."""

    chain_id: int
    crypto: str
    hardfork: str
    block_gas_limit: int
    base_fee_per_gas: int
    block_interval_ms: int
    validators: tuple[Validator, ...]
    alloc: tuple[tuple[Address, GenesisAccount], ...] = field(default=())
    timestamp_ms: int = 0
    extra_data: bytes = b""

    def to_json(self) -> dict[str, Any]:
        """Return the genesis.json document for this genesis."""
        alloc: dict[str, Any] = {}
        for address, account in self.alloc:
            entry: dict[str, Any] = {"balance": hex(account.balance)}
            if account.nonce:
                entry["nonce"] = account.nonce
            if account.code:
                entry["code"] = "0x" + account.code.hex()
            if account.storage:
                entry["storage"] = {hex(slot): hex(value) for slot, value in account.storage}
            alloc["0x" + address.hex()] = entry
        return {
            "chain_id": self.chain_id,
            "crypto": self.crypto,
            "hardfork": self.hardfork,
            "timestamp_ms": self.timestamp_ms,
            "block_gas_limit": self.block_gas_limit,
            "base_fee_per_gas": self.base_fee_per_gas,
            "block_interval_ms": self.block_interval_ms,
            "validators": [
                {"name": v.name, "public_key": "0x" + v.public_key.hex(), "power": v.power}
                for v in self.validators
            ],
            "alloc": alloc,
            "extra_data": "0x" + self.extra_data.hex(),
        }


def load_genesis(path: Path) -> Genesis:
    """Read and validate a genesis file."""
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise GenesisError(f"genesis file not found: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise GenesisError(f"{path} is not valid JSON: {error}") from None
    return parse_genesis(document, source=str(path))


def parse_genesis(document: object, *, source: str = "genesis") -> Genesis:
    """Validate a decoded genesis document; raise GenesisError naming the bad field."""
    if not isinstance(document, dict):
        raise GenesisError(f"{source}: the top level must be a JSON object")
    crypto = _field(document, "crypto", str, source)
    if crypto not in SUITE_NAMES:
        raise GenesisError(
            f"{source}: crypto must be one of {', '.join(SUITE_NAMES)}, got {crypto!r}"
        )
    hardfork = _field(document, "hardfork", str, source)
    if hardfork not in HARDFORKS:
        raise GenesisError(
            f"{source}: hardfork must be one of {', '.join(HARDFORKS)}, got {hardfork!r}"
        )
    suite = get_suite(crypto)
    validators = _parse_validators(_field(document, "validators", list, source), suite, source)
    extra = _hex_field(document.get("extra_data", "0x"), f"{source}: extra_data")
    if len(extra) > MAX_EXTRA_DATA_BYTES:
        raise GenesisError(f"{source}: extra_data is at most {MAX_EXTRA_DATA_BYTES} bytes")
    return Genesis(
        chain_id=_uint(document, "chain_id", source, UINT64_MAX, minimum=1),
        crypto=crypto,
        hardfork=hardfork,
        block_gas_limit=_uint(document, "block_gas_limit", source, UINT64_MAX, minimum=21_000),
        base_fee_per_gas=_uint(document, "base_fee_per_gas", source, UINT256_MAX),
        block_interval_ms=_uint(document, "block_interval_ms", source, 3_600_000, minimum=10),
        validators=validators,
        alloc=_parse_alloc(_field(document, "alloc", dict, source), source),
        timestamp_ms=_uint(document, "timestamp_ms", source, UINT64_MAX, default=0),
        extra_data=extra,
    )


def _field(document: dict[str, Any], name: str, kind: type, source: str) -> Any:
    if name not in document:
        raise GenesisError(f"{source}: required field {name!r} is missing")
    value = document[name]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise GenesisError(f"{source}: {name} must be a JSON {kind.__name__}")
    return value


def _uint(
    document: dict[str, Any],
    name: str,
    source: str,
    maximum: int,
    *,
    minimum: int = 0,
    default: int | None = None,
) -> int:
    if name not in document and default is not None:
        return default
    raw = _field(document, name, object, source)
    value = _to_int(raw, f"{source}: {name}")
    if not minimum <= value <= maximum:
        raise GenesisError(f"{source}: {name} must be between {minimum} and {maximum}, got {value}")
    return value


def _to_int(raw: object, what: str) -> int:
    if isinstance(raw, bool):
        raise GenesisError(f"{what} must be an integer or a 0x-hex string")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str):
        try:
            return int(raw, 16) if raw.startswith(("0x", "0X")) else int(raw, 10)
        except ValueError:
            pass
    raise GenesisError(f"{what} must be an integer or a 0x-hex string, got {raw!r}")


def _hex_field(raw: object, what: str) -> bytes:
    if not isinstance(raw, str):
        raise GenesisError(f"{what} must be a 0x-hex string")
    try:
        return parse_hex(raw, name=what)
    except DecodingError as error:
        raise GenesisError(str(error)) from None


def _parse_validators(entries: list[Any], suite: Any, source: str) -> tuple[Validator, ...]:
    if not entries:
        raise GenesisError(f"{source}: validators must list at least one validator")
    validators = []
    for index, entry in enumerate(entries):
        where = f"{source}: validators[{index}]"
        if not isinstance(entry, dict):
            raise GenesisError(f"{where} must be an object")
        public_key = _hex_field(_field(entry, "public_key", str, where), f"{where}.public_key")
        if len(public_key) != 64:
            raise GenesisError(f"{where}.public_key must be 64 bytes (uncompressed, no 04 prefix)")
        power = _to_int(entry.get("power", 1), f"{where}.power")
        if power < 1:
            raise GenesisError(f"{where}.power must be at least 1")
        name = entry.get("name", f"validator{index}")
        if not isinstance(name, str):
            raise GenesisError(f"{where}.name must be a string")
        validators.append(Validator(name, public_key, power, suite.address(public_key)))
    if len({v.address for v in validators}) != len(validators):
        raise GenesisError(f"{source}: validators contain the same key twice")
    return tuple(validators)


def _parse_alloc(
    entries: dict[str, Any], source: str
) -> tuple[tuple[Address, GenesisAccount], ...]:
    # A benchmark genesis holds a million entries: the canonical forms (0x-hex strings,
    # as to_json writes them) take a fast path; anything else, valid or not, goes through
    # the general checks, which accept the other forms or raise naming the field.
    alloc: dict[Address, GenesisAccount] = {}
    funded: dict[int, GenesisAccount] = {}  # balance-only entries share one frozen value
    for text, entry in entries.items():
        address = _canonical_address(text) or _alloc_address(text, f"{source}: alloc[{text}]")
        if address in alloc:
            raise GenesisError(f"{source}: alloc[{text}] appears twice")
        if type(entry) is dict and len(entry) == 1:
            balance = _canonical_uint(entry.get("balance"))
            if balance is not None and balance <= UINT256_MAX:
                account = funded.get(balance)
                if account is None:
                    account = funded[balance] = GenesisAccount(balance)
                alloc[address] = account
                continue
        alloc[address] = _parse_account(entry, f"{source}: alloc[{text}]")
    return tuple(sorted(alloc.items()))


def _canonical_address(text: str) -> Address | None:
    """The address of a ``0x`` + 40 hex digits string, or None for any other form."""
    if len(text) != 42 or text[:2] != "0x":
        return None
    try:
        raw = bytes.fromhex(text[2:])
    except ValueError:
        return None
    return Address(raw) if len(raw) == 20 else None


def _canonical_uint(raw: object) -> int | None:
    """The value of a ``0x``-hex string (as :func:`_to_int` reads it), or None otherwise."""
    if type(raw) is str and raw[:2] == "0x":
        try:
            return int(raw, 16)
        except ValueError:
            return None
    return None


def _alloc_address(text: str, where: str) -> Address:
    try:
        return parse_address(text, name=where)
    except DecodingError as error:
        raise GenesisError(str(error)) from None


def _parse_account(entry: object, where: str) -> GenesisAccount:
    if not isinstance(entry, dict):
        raise GenesisError(f"{where} must be an object")
    balance = _to_int(_field(entry, "balance", object, where), f"{where}.balance")
    nonce = _to_int(entry.get("nonce", 0), f"{where}.nonce")
    if not 0 <= balance <= UINT256_MAX or not 0 <= nonce <= UINT64_MAX:
        raise GenesisError(f"{where}: balance or nonce out of range")
    code = _hex_field(entry.get("code", "0x"), f"{where}.code")
    storage_doc = entry.get("storage", {})
    if not isinstance(storage_doc, dict):
        raise GenesisError(f"{where}.storage must be an object of slot -> value")
    storage = []
    for slot_text, value_text in storage_doc.items():
        slot = _canonical_uint(slot_text)
        if slot is None:
            slot = _to_int(slot_text, f"{where}.storage key")
        value = _canonical_uint(value_text)
        if value is None:
            value = _to_int(value_text, f"{where}.storage[{slot_text}]")
        if not (0 <= slot <= UINT256_MAX and 0 <= value <= UINT256_MAX):
            raise GenesisError(f"{where}.storage[{slot_text}] is out of the uint256 range")
        if value:
            storage.append((slot, value))
    return GenesisAccount(balance, nonce, code, tuple(sorted(storage)))


def genesis_params_hash(genesis: Genesis) -> Hash32:
    """The suite hash of the consensus-relevant genesis parameters (the genesis extra data)."""
    suite = get_suite(genesis.crypto)
    encoded = rlp.encode(
        [
            rlp.encode_uint(genesis.chain_id),
            genesis.crypto.encode(),
            genesis.hardfork.encode(),
            rlp.encode_uint(genesis.block_gas_limit),
            rlp.encode_uint(genesis.base_fee_per_gas),
            rlp.encode_uint(genesis.block_interval_ms),
            [[v.name.encode(), v.public_key, rlp.encode_uint(v.power)] for v in genesis.validators],
            genesis.extra_data,
        ]
    )
    return suite.hash(encoded)


def genesis_writes(genesis: Genesis) -> WriteSet:
    """The world state that genesis allocates, with the system contracts' initial state.

    Every genesis validator starts as an administrator of SystemConfig.
    """
    writes = WriteSet()
    allocated = dict(genesis.alloc)
    for contract in default_system_contracts():
        if contract.address in allocated:
            raise GenesisError(
                f"alloc cannot hold 0x{contract.address.hex()}: it is the system contract "
                f"{contract.name}"
            )
        writes.set_account(contract.address, system_account())
    for slot, value in system_config_genesis([v.address for v in genesis.validators]):
        writes.set_storage(SYSTEM_CONFIG_ADDRESS, slot, value)
    code_hashes = {b"": EMPTY_CODE_HASH}  # most entries share one code (none): hash it once
    for address, entry in genesis.alloc:
        code_hash = code_hashes.get(entry.code)
        if code_hash is None:
            code_hash = code_hashes[entry.code] = keccak256(entry.code)
        writes.set_account(address, Account(entry.nonce, entry.balance, code_hash))
        if entry.code:
            writes.code[code_hash] = entry.code
        for slot, value in entry.storage:
            writes.set_storage(address, slot, value)
    return writes

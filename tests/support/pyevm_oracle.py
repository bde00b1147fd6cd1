"""py-evm as the slow, exact oracle for BayChain's execution engine.

DESIGN.md keeps py-evm as a test oracle: the same block must give the same
receipts and post-state on our revm-based engine and here. This module runs a
block's transactions on py-evm 0.12.1b1's Cancun state (``CancunState``) and
reports, per transaction, what a receipt and a state diff need.

Glossary
    env          the block context: number, timestamp, coinbase, gas_limit,
                 base_fee (may be 0), prevrandao, chain_id. Any object with those
                 attributes (the engine's ``BlockEnv``, or :class:`OracleEnv`).
    tx           an *unsigned* transaction with a known sender: tx_type (0 legacy,
                 1 EIP-2930, 2 EIP-1559), caller, to (None creates), value, data,
                 gas_limit, gas_price (types 0 and 1; when absent, max_fee_per_gas
                 holds the price, as in the engine's ``TxInput``) or
                 max_fee_per_gas/max_priority_fee_per_gas,
                 nonce, access_list, chain_id. The engine's ``TxInput`` or :class:`OracleTx`.
    alloc        the pre-state: ``{address: (balance, nonce, code, {slot: value})}``.
    post-state   the same shape for every account a transaction wrote to.

How it works, and what it simplifies
    * py-evm only executes signed transactions, so the oracle signs each one with
      the private key of its caller, looked up in ``keys`` (by default the
      deterministic :data:`DEV_KEYS`). A caller without a known key is a test bug
      and raises ``LookupError``.
    * The state is built directly (``CancunState(db, ExecutionContext, root)``)
      rather than through a chain, so every header field, including a base fee
      of 0, is ours to set. The VM's block-level steps are therefore skipped:
      no EIP-4788 beacon-root system call, no withdrawals, no blobs.
    * Validity rules that py-evm leaves to its chain layer, or does not apply at
      transaction level, are checked here first (see :func:`_check_validity`):
      chain id (EIP-155/2930/1559), EIP-3860's initcode limit and its initcode
      gas as part of the intrinsic gas (py-evm charges it during execution
      instead), EIP-1559's tip <= fee cap, the block's gas (a transaction's gas
      limit must not exceed the block gas limit less the gas used by the
      transactions before it, as execution-specs' ``check_transaction``) and
      EIP-3607 (no transactions from contracts).
    * An invalid transaction (``valid=False``) changes nothing and uses no gas.
    * BLOCKHASH answers from ``block_hash(n)`` for the 256 blocks below
      ``env.number``; by default :func:`default_block_hash`, which the
      differential test's engine database uses too.
    * Absent accounts (never created, or deleted by EIP-161 or SELFDESTRUCT)
      are reported as ``(0, 0, b"", {})``; storage maps hold non-zero values only.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from eth.constants import BLANK_ROOT_HASH, CREATE_CONTRACT_ADDRESS
from eth.db.atomic import AtomicDB
from eth.vm.execution_context import ExecutionContext
from eth.vm.forks.cancun import CancunVM
from eth.vm.forks.cancun.state import CancunState
from eth_hash.auto import keccak
from eth_keys.datatypes import PrivateKey
from eth_typing import Address, BlockNumber, Hash32
from eth_utils.exceptions import ValidationError

__all__ = [
    "BLOCK_HASH_WINDOW",
    "DEV_KEYS",
    "EMPTY_ACCOUNT",
    "Log",
    "OracleBlock",
    "OracleEnv",
    "OracleOutcome",
    "OracleTx",
    "PostAccount",
    "alloc_state_root",
    "default_block_hash",
    "dev_address",
    "run_block_pyevm",
    "run_transactions_pyevm",
]

BLOCK_HASH_WINDOW = 256
"""How many ancestors BLOCKHASH can see (Yellow Paper, ``BLOCKHASH`` opcode)."""

LEGACY_TX, ACCESS_LIST_TX, DYNAMIC_FEE_TX = 0, 1, 2
"""Transaction types: legacy, EIP-2930 and EIP-1559."""

MAX_INITCODE_BYTES = 49_152
"""EIP-3860: the largest initcode a creation may run (twice EIP-170's code limit)."""

INITCODE_GAS_PER_WORD = 2
"""EIP-3860: intrinsic gas per 32-byte word of a creation transaction's initcode."""

DEV_KEYS: tuple[bytes, ...] = tuple(
    keccak(b"baychain dev key " + str(i).encode()) for i in range(8)
)
"""Eight deterministic secp256k1 private keys for test accounts (never for real funds)."""


def dev_address(private_key: bytes) -> bytes:
    """The 20-byte Ethereum address of a secp256k1 private key."""
    return bytes(PrivateKey(private_key).public_key.to_canonical_address())


def default_block_hash(number: int) -> bytes:
    """A stand-in hash for block ``number``: keccak-256 of ``b"baychain test block " + number``."""
    return bytes(keccak(b"baychain test block " + number.to_bytes(8, "big")))


class BlockEnvLike(Protocol):
    """The block context the oracle reads (the engine's ``BlockEnv`` has this shape)."""

    @property
    def number(self) -> int: ...
    @property
    def timestamp(self) -> int: ...
    @property
    def coinbase(self) -> bytes: ...
    @property
    def gas_limit(self) -> int: ...
    @property
    def base_fee(self) -> int: ...
    @property
    def prevrandao(self) -> bytes: ...
    @property
    def chain_id(self) -> int: ...


@dataclass(frozen=True)
class OracleEnv:
    """A block context for using the oracle on its own."""

    number: int
    timestamp: int
    coinbase: bytes
    gas_limit: int = 30_000_000
    base_fee: int = 0
    prevrandao: bytes = b"\x00" * 32
    chain_id: int = 1337


@dataclass(frozen=True)
class OracleTx:
    """An unsigned transaction for using the oracle on its own (fields as the engine's)."""

    caller: bytes
    to: bytes | None
    nonce: int
    value: int = 0
    data: bytes = b""
    gas_limit: int = 1_000_000
    tx_type: int = DYNAMIC_FEE_TX
    gas_price: int | None = None
    max_fee_per_gas: int | None = 0
    max_priority_fee_per_gas: int | None = 0
    access_list: Sequence[tuple[bytes, Sequence[int]]] = ()
    chain_id: int | None = 1337


class Log(NamedTuple):
    """One log entry: emitting address, topics (32 bytes each), data."""

    address: bytes
    topics: tuple[bytes, ...]
    data: bytes


@dataclass(frozen=True)
class OracleOutcome:
    """What py-evm made of one transaction.

    ``valid`` is False when the transaction may not be in the block at all (bad
    nonce, funds, chain id, fee cap, intrinsic gas, block gas limit); ``error``
    then says why and the other fields are empty. For a valid transaction,
    ``success`` is the receipt status, ``gas_used`` the receipt's gas (after the
    EIP-3529 refund cap), ``output`` the return data or revert data (empty on an
    exceptional halt), ``created_address`` the new contract's address for a
    successful creation, ``logs`` the logs kept (none when it failed).
    """

    valid: bool
    error: str | None = None
    success: bool = False
    gas_used: int = 0
    output: bytes = b""
    created_address: bytes | None = None
    logs: tuple[Log, ...] = ()


class PostAccount(NamedTuple):
    """An account after the block: balance, nonce, code, non-zero storage."""

    balance: int
    nonce: int
    code: bytes
    storage: dict[int, int]


EMPTY_ACCOUNT = PostAccount(0, 0, b"", {})
"""How an absent account is reported."""

Alloc = Mapping[bytes, tuple[int, int, bytes, Mapping[int, int]]]


class _RecordingCancunState(CancunState):
    """Cancun state that remembers every account and storage slot written to.

    py-evm cannot list a trie's keys (it stores hashed keys), so the post-state is
    read back for the addresses and slots recorded here. Writes later reverted are
    recorded too, which only adds unchanged entries to the report.
    """

    def start_recording(self) -> None:
        self.touched: set[bytes] = set()
        self.written_slots: dict[bytes, set[int]] = {}

    def _touch(self, address: Address) -> None:
        if hasattr(self, "touched"):
            self.touched.add(bytes(address))

    def set_balance(self, address: Address, balance: int) -> None:
        self._touch(address)
        super().set_balance(address, balance)

    def set_nonce(self, address: Address, nonce: int) -> None:
        self._touch(address)
        super().set_nonce(address, nonce)

    def increment_nonce(self, address: Address) -> None:
        self._touch(address)
        super().increment_nonce(address)

    def set_code(self, address: Address, code: bytes) -> None:
        self._touch(address)
        super().set_code(address, code)

    def delete_code(self, address: Address) -> None:
        self._touch(address)
        super().delete_code(address)

    def set_storage(self, address: Address, slot: int, value: int) -> None:
        self._touch(address)
        if hasattr(self, "written_slots"):
            self.written_slots.setdefault(bytes(address), set()).add(slot)
        super().set_storage(address, slot, value)

    def delete_storage(self, address: Address) -> None:
        self._touch(address)
        super().delete_storage(address)

    def delete_account(self, address: Address) -> None:
        self._touch(address)
        super().delete_account(address)

    def touch_account(self, address: Address) -> None:
        self._touch(address)
        super().touch_account(address)


@dataclass(frozen=True)
class OracleBlock:
    """Everything the oracle learned from one block."""

    outcomes: list[OracleOutcome]
    post_state: dict[bytes, PostAccount]
    state_root: bytes
    """py-evm's Merkle-Patricia state root after the block (Yellow Paper, appendix D)."""


def run_block_pyevm(
    env: BlockEnvLike,
    txs: Iterable[Any],
    genesis_alloc: Alloc,
    *,
    keys: Iterable[bytes] = DEV_KEYS,
    block_hash: Callable[[int], bytes] = default_block_hash,
) -> tuple[list[OracleOutcome], dict[bytes, PostAccount]]:
    """Execute ``txs`` in order on py-evm's Cancun rules, starting from ``genesis_alloc``.

    Returns one :class:`OracleOutcome` per transaction and the post-state of every
    account any transaction wrote to (including the coinbase, which EIP-161 touches
    even when the fee is zero). Raises ``LookupError`` for a caller with no key in
    ``keys``.
    """
    block = run_transactions_pyevm(env, txs, genesis_alloc, keys=keys, block_hash=block_hash)
    return block.outcomes, block.post_state


def run_transactions_pyevm(
    env: BlockEnvLike,
    txs: Iterable[Any],
    genesis_alloc: Alloc,
    *,
    keys: Iterable[bytes] = DEV_KEYS,
    block_hash: Callable[[int], bytes] = default_block_hash,
) -> OracleBlock:
    """:func:`run_block_pyevm`, also returning py-evm's post-block state root.

    Raises ``ValueError`` when ``env.spec`` (if present) names a fork other than Cancun.
    """
    spec = getattr(env, "spec", "cancun")
    if spec != "cancun":
        raise ValueError(f"the py-evm oracle runs Cancun only, not {spec!r}")
    key_by_address = {dev_address(k): PrivateKey(k) for k in keys}
    state = _new_state(env, block_hash)
    _load_alloc(state, genesis_alloc)
    state.start_recording()

    outcomes: list[OracleOutcome] = []
    block_gas_used = 0
    for tx in txs:
        private_key = key_by_address.get(bytes(tx.caller))
        if private_key is None:
            raise LookupError(f"no private key for caller 0x{bytes(tx.caller).hex()}")
        signed = _sign(tx, private_key)
        problem = _check_validity(env, state, tx, signed, block_gas_used)
        if problem is not None:
            outcomes.append(OracleOutcome(valid=False, error=problem))
            continue
        outcome = _apply(state, signed)
        block_gas_used += outcome.gas_used
        outcomes.append(outcome)
    state.lock_changes()
    return OracleBlock(
        outcomes=outcomes,
        post_state=_post_state(state, genesis_alloc),
        state_root=bytes(state.make_state_root()),
    )


def alloc_state_root(alloc: Alloc) -> bytes:
    """The state root py-evm computes for ``alloc`` alone (absent accounts left out)."""
    env = OracleEnv(number=0, timestamp=0, coinbase=bytes(20))
    state = _new_state(env, default_block_hash)
    _load_alloc(state, {a: entry for a, entry in alloc.items() if entry != EMPTY_ACCOUNT})
    return bytes(state.make_state_root())


def _new_state(env: BlockEnvLike, block_hash: Callable[[int], bytes]) -> _RecordingCancunState:
    """A fresh in-memory Cancun state whose execution context is exactly ``env``."""
    first_visible = max(0, env.number - BLOCK_HASH_WINDOW)
    # prev_hashes lists the parent first, then the grandparent, and so on.
    prev_hashes = [Hash32(block_hash(n)) for n in range(env.number - 1, first_visible - 1, -1)]
    context = ExecutionContext(
        coinbase=Address(bytes(env.coinbase)),
        timestamp=env.timestamp,
        block_number=BlockNumber(env.number),
        difficulty=0,  # post-merge (EIP-3675)
        mix_hash=Hash32(bytes(env.prevrandao)),  # PREVRANDAO reads mix_hash (EIP-4399)
        gas_limit=env.gas_limit,
        prev_hashes=prev_hashes,
        chain_id=env.chain_id,
        base_fee_per_gas=env.base_fee,
        excess_blob_gas=0,  # no blobs: BLOBBASEFEE is the minimum, 1 wei (EIP-4844)
    )
    return _RecordingCancunState(AtomicDB(), context, BLANK_ROOT_HASH)


def _load_alloc(state: _RecordingCancunState, alloc: Alloc) -> None:
    """Write the pre-state and make it the committed base of the first transaction."""
    for raw, (balance, nonce, code, storage) in alloc.items():
        address = Address(raw)
        state.set_balance(address, balance)
        state.set_nonce(address, nonce)
        if code:
            state.set_code(address, code)
        for slot, value in storage.items():
            if value:
                state.set_storage(address, slot, value)
    state.lock_changes()
    state.persist()


def _check_validity(
    env: BlockEnvLike, state: _RecordingCancunState, tx: Any, signed: Any, block_gas_used: int
) -> str | None:
    """The validity rules py-evm leaves to its chain layer or skips; None when all hold.

    py-evm itself then checks the nonce, the balance and the fee cap against the base fee.
    """
    tx_chain_id = getattr(tx, "chain_id", None)
    is_create = tx.to is None
    # typed transactions always name a chain; a legacy one may predate EIP-155
    if tx.tx_type != LEGACY_TX and tx_chain_id is None:
        return "typed transaction without a chain id"
    if tx_chain_id is not None and tx_chain_id != env.chain_id:
        return f"wrong chain id {tx_chain_id}, the block's is {env.chain_id}"
    # EIP-3860: initcode is at most 49152 bytes
    if is_create and len(tx.data) > MAX_INITCODE_BYTES:
        return f"initcode of {len(tx.data)} bytes exceeds {MAX_INITCODE_BYTES}"
    # intrinsic gas, with EIP-3860's 2 gas per initcode word that py-evm charges later
    initcode_gas = INITCODE_GAS_PER_WORD * ((len(tx.data) + 31) // 32) if is_create else 0
    intrinsic = signed.intrinsic_gas + initcode_gas
    if tx.gas_limit < intrinsic:
        return f"intrinsic gas too low: needs {intrinsic}, gas limit is {tx.gas_limit}"
    # EIP-1559: the tip cannot exceed the fee cap
    if tx.tx_type == DYNAMIC_FEE_TX and tx.max_priority_fee_per_gas > tx.max_fee_per_gas:
        return "max priority fee per gas exceeds max fee per gas"
    # a transaction's gas limit must fit in the gas the block has left
    gas_left = env.gas_limit - block_gas_used
    if tx.gas_limit > gas_left:
        return f"gas limit {tx.gas_limit} exceeds the {gas_left} gas left in the block"
    # EIP-3607: a sender with code cannot originate a transaction
    if state.get_code(Address(bytes(tx.caller))):
        return "sender has deployed code (EIP-3607)"
    return None


def _access_list(tx: Any) -> list[tuple[bytes, list[int]]]:
    """The access list with slots as ints (the engine may give 32-byte slots)."""
    entries = getattr(tx, "access_list", None) or ()
    return [
        (bytes(address), [s if isinstance(s, int) else int.from_bytes(s, "big") for s in slots])
        for address, slots in entries
    ]


def _gas_price(tx: Any) -> int:
    """The gas price of a type 0 or 1 transaction.

    The engine's ``TxInput`` has no ``gas_price``: for those types it carries the price
    in ``max_fee_per_gas`` (and ignores the priority fee), so that is used when
    ``gas_price`` is absent or None.
    """
    price = getattr(tx, "gas_price", None)
    return int(tx.max_fee_per_gas if price is None else price)


def _sign(tx: Any, key: Any) -> Any:
    """Build and sign the py-evm transaction object for ``tx``."""
    builder: Any = CancunVM.get_transaction_builder()
    gas_price = _gas_price(tx)
    to = CREATE_CONTRACT_ADDRESS if tx.to is None else Address(bytes(tx.to))
    data = bytes(tx.data)
    if tx.tx_type == LEGACY_TX:
        unsigned = builder.create_unsigned_transaction(
            nonce=tx.nonce, gas_price=gas_price, gas=tx.gas_limit, to=to,
            value=tx.value, data=data,
        )
        return unsigned.as_signed_transaction(key, chain_id=tx.chain_id)
    if tx.tx_type == ACCESS_LIST_TX:
        unsigned = builder.new_unsigned_access_list_transaction(
            tx.chain_id, tx.nonce, gas_price, tx.gas_limit, to, tx.value, data,
            _access_list(tx),
        )
        return unsigned.as_signed_transaction(key)
    if tx.tx_type == DYNAMIC_FEE_TX:
        unsigned = builder.new_unsigned_dynamic_fee_transaction(
            tx.chain_id, tx.nonce, tx.max_priority_fee_per_gas, tx.max_fee_per_gas,
            tx.gas_limit, to, tx.value, data, _access_list(tx),
        )
        return unsigned.as_signed_transaction(key)
    raise ValueError(f"the oracle does not execute transaction type {tx.tx_type}")


def _apply(state: _RecordingCancunState, signed: Any) -> OracleOutcome:
    """Apply one signed transaction, as ``VM.apply_transaction`` does, and describe it."""
    state.lock_changes()  # the previous transaction's writes become "original" values
    snapshot = state.snapshot()
    try:
        with warnings.catch_warnings():
            # py-evm warns on every SELFDESTRUCT; the scenarios use it on purpose
            warnings.filterwarnings("ignore", "SELFDESTRUCT", DeprecationWarning)
            computation = state.apply_transaction(signed)
    except ValidationError as exc:
        state.revert(snapshot)
        return OracleOutcome(valid=False, error=str(exc))
    state.commit(snapshot)

    gas_used = CancunVM.finalize_gas_used(signed, computation)
    success = computation.is_success
    created = None
    if success and signed.to == CREATE_CONTRACT_ADDRESS:
        created = bytes(computation.msg.storage_address)
    logs = tuple(
        Log(bytes(address), tuple(t.to_bytes(32, "big") for t in topics), bytes(data))
        for address, topics, data in (computation.get_log_entries() if success else ())
    )
    return OracleOutcome(
        valid=True,
        error=None if success else repr(computation.error),
        success=success,
        gas_used=gas_used,
        output=bytes(computation.output),
        created_address=created,
        logs=logs,
    )


def _post_state(state: _RecordingCancunState, alloc: Alloc) -> dict[bytes, PostAccount]:
    """Read back every recorded account with its recorded and pre-state slots."""
    post: dict[bytes, PostAccount] = {}
    for raw in sorted(state.touched):
        address = Address(raw)
        if not state.account_exists(address):
            post[address] = EMPTY_ACCOUNT
            continue
        slots = set(state.written_slots.get(address, ()))
        if address in alloc:
            slots.update(alloc[address][3])
        storage = {s: v for s in sorted(slots) if (v := state.get_storage(address, s))}
        post[address] = PostAccount(
            balance=state.get_balance(address),
            nonce=state.get_nonce(address),
            code=bytes(state.get_code(address)),
            storage=storage,
        )
    return post


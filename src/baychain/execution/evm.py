"""The EVM engine: a typed face for the Rust extension ``baychain._evm`` (revm inside).

Glossary:

- *block environment* (:class:`BlockEnv`): what the EVM's block opcodes read (NUMBER,
  TIMESTAMP, COINBASE, GASLIMIT, BASEFEE, PREVRANDAO, CHAINID) plus the pinned fork.
- *engine input* (:class:`TxInput`): a transaction whose sender is already recovered.
- *state reader* (:class:`StateReader`): the object the engine asks for state it has not
  seen yet in this block; each answer is cached for the rest of the call.
- *outcome* (:class:`TxOutcome`): receipt fields plus the transaction's *state diff*;
  ``receipt_encoding(tx_type, cumulative_gas_used)`` gives its receipt's canonical
  encoding (:mod:`baychain.ledger.receipt`) without building the receipt in Python.

Contract of :func:`run_transactions`:

- Transactions run in order on one accumulating state: each sees its predecessors' writes.
- Each is validated fully under the pinned fork (SpecId CANCUN or PRAGUE, nothing relaxed):
  chain id (EIP-155), nonce equal to the account's, balance covering
  ``value + gas_limit * max_fee``, intrinsic gas (and the EIP-7623 floor under Prague),
  fee cap at least the base fee (EIP-1559), max priority fee at most max fee, sender without
  code (EIP-3607), init code size (EIP-3860), and ``gas_limit`` within what is left of the
  block's gas. A transaction failing any check is *not applied*: its outcome has
  ``valid=False``, ``error`` (a sentence) and ``error_kind`` (a stable token, see
  :data:`ERROR_KINDS`), and execution goes on with the next transaction.
  These are the rules of :mod:`baychain.ledger.validity`, applied by revm on its fast
  path; :data:`ENGINE_REFUSALS` names each token's refusal with the same typed error
  the Python checks raise (:func:`refusal_error`).
- EIP-2929 warm/cold sets and EIP-1153 transient storage are fresh for every transaction.
- Fees: the sender pays ``gas_used * effective_gas_price``; the priority part goes to the
  coinbase and the base-fee part is burned. Gas price 0 (with base fee 0) is allowed.
- State diffs: ``accounts`` rows ``(address, balance, nonce, code_hash, code, destroyed)`` for
  every account whose info changed, that was created (``code`` is the deployed runtime code,
  else None) or that was deleted (``destroyed=True``: an EIP-6780 self-destruct in the creating
  transaction, or an empty account touched and so removed by EIP-161); ``storage`` rows
  ``(address, slot, value)`` for every slot whose value changed (0 means deleted). Rows are
  sorted by address, then slot. Apply a row set (a transaction's, or the merged block diff
  of :func:`merge_diffs`) with one rule: if ``destroyed``, delete the account and all its
  storage; then, unless ``(balance, nonce, code_hash)`` is empty, write the account; then
  write the storage rows.

Simplifications (documented, deliberate): no blob transactions (type 3 is rejected), no
EIP-7702 authorizations (type 4 is rejected), and no block-level system calls (the EIP-4788
beacon-root and EIP-2935 block-hash contracts are not updated; BLOCKHASH reads the state
reader's ``block_hash`` for the last 256 blocks). Every precompile of the fork is available,
including KZG point evaluation (0x0a) and, under Prague, BLS12-381 (EIP-2537), both through
revm's pure-Rust arkworks backend.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Protocol

from baychain import _evm
from baychain._evm import TxOutcome
from baychain.errors import (
    BlockGasExhausted,
    ExecutionError,
    FeeTooLow,
    GasLimitExceeded,
    InitCodeTooLarge,
    InsufficientFunds,
    IntrinsicGasTooLow,
    InvalidTransaction,
    NonceTooHigh,
    NonceTooLow,
    PriorityFeeAboveMaxFee,
    SenderNotEoa,
    UnsupportedTransactionType,
    WrongChainId,
)
from baychain.ledger.intrinsic_gas import calldata_floor_gas, intrinsic_gas
from baychain.ledger.transactions import Transaction
from baychain.ledger.validity import TxRefusal, transaction_cost
from baychain.primitives import Address, Hash32

__all__ = [
    "ENGINE_REFUSALS",
    "ERROR_KINDS",
    "EXECUTABLE_TX_TYPES",
    "MAX_INITCODE_SIZE",
    "SUPPORTED_SPECS",
    "AccountRow",
    "BlockEnv",
    "EngineRefusal",
    "LogRow",
    "RefusalFactory",
    "StateReader",
    "StorageRow",
    "TxInput",
    "TxOutcome",
    "create_address",
    "deployed_code",
    "merge_diffs",
    "refusal_error",
    "run_call",
    "run_transactions",
]

AccountRow = tuple[Address, int, int, Hash32, bytes | None, bool]
"""A state-diff account row: (address, balance, nonce, code_hash, deployed code, destroyed)."""

StorageRow = tuple[Address, int, int]
"""A state-diff storage row: (address, slot, new value); 0 deletes the slot."""

LogRow = tuple[Address, tuple[Hash32, ...], bytes]
"""A log of a successful transaction: (address, topics, data)."""

SUPPORTED_SPECS = ("cancun", "prague")
"""Fork names :class:`BlockEnv` accepts (revm SpecId CANCUN and PRAGUE)."""

EXECUTABLE_TX_TYPES = frozenset({0x00, 0x01, 0x02, 0x53})
"""Legacy, EIP-2930, EIP-1559 and BayChain's SM2 envelope (which executes as EIP-1559)."""

MAX_INITCODE_SIZE = 49_152
"""EIP-3860 ``MAX_INITCODE_SIZE`` in bytes (twice EIP-170's code size limit)."""


@dataclass(frozen=True, slots=True)
class BlockEnv:
    """The block environment the EVM executes in.

    ``timestamp`` is in seconds (TIMESTAMP opcode); ``prevrandao`` is 32 bytes (PREVRANDAO,
    EIP-4399); ``spec`` is one of :data:`SUPPORTED_SPECS` (any other name makes
    :func:`run_transactions` raise ``ValueError``).
    """

    number: int
    timestamp: int
    coinbase: Address
    gas_limit: int
    base_fee: int
    prevrandao: Hash32 | bytes
    chain_id: int
    spec: str = "cancun"


@dataclass(frozen=True, slots=True)
class EngineRefusal:
    """An engine refusal with the facts that name it as a typed error.

    The engine reports only a token and a sentence; the values a typed error carries
    come from the transaction and from the block and sender as the engine saw them
    when it refused (the caller knows both: see ``execution/transition.py``).
    """

    kind: str
    """The outcome's ``error_kind`` (one of :data:`ERROR_KINDS`)."""
    sentence: str
    """The outcome's ``error``: kept by the ``"invalid"`` catch-all."""
    env: BlockEnv
    gas_left: int
    """Gas the block had left before this transaction."""
    sender_nonce: int
    sender_balance: int


RefusalFactory = Callable[[Transaction, EngineRefusal], TxRefusal]
"""Builds the typed error of one engine token."""


def _intrinsic_refusal(tx: Transaction, refusal: EngineRefusal) -> IntrinsicGasTooLow:
    required = intrinsic_gas(tx)
    if tx.gas_limit >= required and refusal.env.spec == "prague":
        required = calldata_floor_gas(tx)  # EIP-7623: below the calldata floor instead
    return IntrinsicGasTooLow(required, tx.gas_limit)


ENGINE_REFUSALS: Mapping[str, tuple[type[TxRefusal], RefusalFactory]] = MappingProxyType(
    {
        "nonce_too_low": (
            NonceTooLow,
            lambda tx, r: NonceTooLow(r.sender_nonce, tx.nonce),
        ),
        "nonce_too_high": (
            NonceTooHigh,  # the engine queues nothing: any nonce past the next is too high
            lambda tx, r: NonceTooHigh(r.sender_nonce, tx.nonce, 0),
        ),
        "insufficient_funds": (
            InsufficientFunds,
            lambda tx, r: InsufficientFunds(transaction_cost(tx), r.sender_balance),
        ),
        "fee_too_low": (
            FeeTooLow,
            lambda tx, r: FeeTooLow(r.env.base_fee, tx.max_fee_per_gas),
        ),
        "priority_fee_above_max_fee": (
            PriorityFeeAboveMaxFee,
            lambda tx, r: PriorityFeeAboveMaxFee(tx.max_priority_fee_per_gas, tx.max_fee_per_gas),
        ),
        "intrinsic_gas_too_low": (IntrinsicGasTooLow, _intrinsic_refusal),
        "gas_limit_exceeds_block": (
            GasLimitExceeded,
            lambda tx, r: GasLimitExceeded(tx.gas_limit, r.env.gas_limit),
        ),
        "block_gas_exhausted": (
            BlockGasExhausted,
            lambda tx, r: BlockGasExhausted(tx.gas_limit, r.gas_left, r.env.gas_limit),
        ),
        "wrong_chain_id": (
            WrongChainId,
            lambda tx, r: WrongChainId(r.env.chain_id, tx.chain_id),
        ),
        "sender_not_eoa": (SenderNotEoa, lambda tx, r: SenderNotEoa(tx.sender)),
        "initcode_too_large": (
            InitCodeTooLarge,
            lambda tx, r: InitCodeTooLarge(len(tx.data), MAX_INITCODE_SIZE),
        ),
        "invalid": (InvalidTransaction, lambda tx, r: InvalidTransaction(r.sentence)),
    }
)
"""The one map from the engine's ``error_kind`` tokens (``describe_invalid`` and the block gas
check in ``rust/src/block.rs``) to the typed error of :mod:`baychain.errors` each names: the
class, and how to build it. A token the Rust side adds needs an entry here."""

ERROR_KINDS = frozenset(ENGINE_REFUSALS)
"""Values of :attr:`TxOutcome.error_kind` for a transaction that failed validation."""


def refusal_error(tx: Transaction, refusal: EngineRefusal) -> TxRefusal:
    """The typed error naming the engine's refusal of ``tx`` (:data:`ENGINE_REFUSALS`).

    A token missing from the table (an engine newer than this table) gives a plain
    :class:`InvalidTransaction` with the engine's sentence.
    """
    entry = ENGINE_REFUSALS.get(refusal.kind)
    if entry is None:
        return InvalidTransaction(refusal.sentence)
    return entry[1](tx, refusal)


@dataclass(frozen=True, slots=True)
class TxInput:
    """One transaction as the engine runs it: signature checked, sender recovered.

    Fee fields use EIP-1559 names for every type, as
    :class:`~baychain.ledger.transactions.Transaction` does: for types 0 and 1 the gas price
    is ``max_fee_per_gas`` (``max_priority_fee_per_gas`` is ignored). ``to`` is None for a
    contract creation. ``chain_id`` is None only for a legacy pre-EIP-155 transaction.
    """

    tx_type: int
    caller: Address
    to: Address | None
    value: int
    data: bytes
    gas_limit: int
    max_fee_per_gas: int
    max_priority_fee_per_gas: int
    nonce: int
    access_list: Sequence[tuple[bytes, Sequence[bytes]]] = ()
    chain_id: int | None = None

    @property
    def gas_price(self) -> int:
        """The legacy gas price (the fee cap of a type 2 / 0x53 transaction)."""
        return self.max_fee_per_gas


class StateReader(Protocol):
    """What the engine reads from the world state, on demand.

    Values are those *before* the block; the engine layers the block's own writes on top.
    An exception raised here aborts :func:`run_transactions` and propagates unchanged.
    """

    def account(self, address: bytes) -> tuple[int, int, bytes] | None:
        """``(balance, nonce, code_hash)`` of the account, or None if it does not exist."""
        ...

    def code(self, code_hash: bytes) -> bytes:
        """The code whose keccak-256 is ``code_hash``."""
        ...

    def storage(self, address: bytes, slot: int) -> int:
        """The value of a storage slot (0 if unset)."""
        ...

    def block_hash(self, number: int) -> bytes:
        """The 32-byte hash of block ``number``, or 32 zero bytes if unknown."""
        ...


def run_transactions(
    env: BlockEnv, txs: Sequence[TxInput] | Sequence[Transaction], db: StateReader
) -> list[TxOutcome]:
    """Execute ``txs`` in order on the state ``db`` reads; return one outcome per transaction.

    ``txs`` are engine inputs, or ledger transactions as they are (the engine reads the
    same attributes, with a transaction's recovered ``sender`` as the caller).

    Raises :class:`~baychain.errors.UnsupportedTransactionType` for a transaction type the
    engine does not run (blob and set-code transactions), ``ValueError`` for malformed input
    (unknown spec, wrong byte lengths, ints out of range), :class:`ExecutionError` if revm
    faults, and re-raises whatever ``db`` raises.
    """
    for tx in txs:
        if tx.tx_type not in EXECUTABLE_TX_TYPES:
            raise UnsupportedTransactionType(tx.tx_type, "the EVM engine runs types 0, 1, 2, 0x53")
    try:
        return _evm.run_transactions(env, txs, db)
    except RuntimeError as fault:
        raise ExecutionError(str(fault)) from fault


def run_call(
    env: BlockEnv, tx: TxInput, db: StateReader, *, time_limit_ms: int | None = None
) -> TxOutcome:
    """Execute one simulated call ``tx`` on the state ``db`` reads; commit nothing.

    The outcome is the one :func:`run_transactions` gives for ``tx`` alone. Unlike it, the
    engine runs the EVM *without the GIL* (re-taking it only to ask ``db`` for state), so
    the node's other threads keep running while a call computes, and it stops the EVM once
    ``time_limit_ms`` of wall-clock time has passed (None: no limit).

    Raises :class:`TimeoutError` when the time limit passes, and otherwise what
    :func:`run_transactions` raises.
    """
    if tx.tx_type not in EXECUTABLE_TX_TYPES:
        raise UnsupportedTransactionType(tx.tx_type, "the EVM engine runs types 0, 1, 2, 0x53")
    try:
        return _evm.run_call(env, tx, db, time_limit_ms)
    except RuntimeError as fault:
        raise ExecutionError(str(fault)) from fault


def merge_diffs(outcomes: Sequence[TxOutcome]) -> tuple[list[AccountRow], list[StorageRow]]:
    """Merge the state diffs of a block's outcomes (in block order) into one block diff.

    Later rows win; a destroyed account drops its earlier storage rows, and an account
    destroyed then written again keeps ``destroyed=True`` with its final info (the apply
    rule in the module docstring handles both). Invalid outcomes contribute nothing.
    """
    return _evm.merge_diffs(outcomes)


def deployed_code(outcomes: Sequence[TxOutcome]) -> list[tuple[Hash32, bytes]]:
    """Every ``(code_hash, code)`` the outcomes deployed, in order.

    :func:`merge_diffs` keeps one code per account (its final one); this also keeps
    code deployed by an account destroyed and re-created later in the same outcomes.
    """
    return _evm.deployed_code(outcomes)


def create_address(sender: Address, nonce: int) -> Address:
    """The address a CREATE from ``sender`` at ``nonce`` deploys to (Yellow Paper eq. 85)."""
    return Address(_evm.create_address(sender, nonce))

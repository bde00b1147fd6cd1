"""Transaction validity: every rule once, each a small check raising one typed error.

Glossary
--------
- **refusal** (:data:`TxRefusal`): the typed error a check raises. An
  :class:`~baychain.errors.InvalidTransaction` can never be part of a valid block
  (malformed, wrong chain, gas below its intrinsic cost); a
  :class:`~baychain.errors.TransactionRejected` is refused in the current state
  (nonce, funds, base fee, block gas) and may be fine later or elsewhere.
- **cost** of a transaction: ``value + gas_limit * max_fee_per_gas``, the most it can
  take from its sender (the EIP-1559 up-front balance check).
- **account nonce**: the sender's next nonce in the state the check runs against.

Who applies which rules, in which order (each caller keeps its own order, because the
first failing rule names the error a client sees):

- the decoder (:func:`baychain.ledger.transactions.decode_transaction`): chain id,
  EIP-2681 nonce limit, EIP-1559 tip within the fee cap, gas limit x fee cap within
  256 bits;
- the pool (:meth:`baychain.node.pool.mempool.Mempool.add_raw`): size, then the decoder,
  then intrinsic gas, block gas limit, fee cap, nonce unused, nonce gap, funds;
- a system-contract transaction (:func:`baychain.execution.system_tx.run_system_tx`):
  nonce exactly the account's, fee cap, funds, intrinsic gas;
- block execution (:func:`baychain.execution.transition.execute_block`): block gas left.

The EVM (revm, in ``rust/src/block.rs``) applies its own copy of these rules on its fast
path; its refusals are named by the same errors through one table,
:data:`baychain.execution.evm.ENGINE_REFUSALS`.

Every function here is pure: values in, ``None`` out or a raised refusal.
"""

from __future__ import annotations

from typing import Protocol, TypeAlias

from baychain.errors import (
    BlockGasExhausted,
    FeeTooLow,
    GasLimitExceeded,
    GasLimitPriceOverflow,
    InsufficientFunds,
    IntrinsicGasTooLow,
    InvalidTransaction,
    NonceLimitExceeded,
    NonceTooHigh,
    NonceTooLow,
    PriorityFeeAboveMaxFee,
    TransactionRejected,
    TransactionTooLarge,
    WrongChainId,
)
from baychain.ledger.intrinsic_gas import HasIntrinsicFields, intrinsic_gas

__all__ = [
    "NONCE_LIMIT",
    "UINT256_MAX",
    "HasCostFields",
    "TxRefusal",
    "check_block_gas_left",
    "check_block_gas_limit",
    "check_chain_id",
    "check_fee_cap",
    "check_funds",
    "check_gas_fee_product",
    "check_intrinsic_gas",
    "check_nonce",
    "check_nonce_gap",
    "check_nonce_limit",
    "check_nonce_unused",
    "check_priority_fee",
    "check_size",
    "transaction_cost",
]

TxRefusal: TypeAlias = InvalidTransaction | TransactionRejected
"""What a validity check raises: a transaction no block may hold, or one refused now."""

NONCE_LIMIT = 2**64 - 1
"""EIP-2681: a nonce must be strictly below this (so it can be incremented in 64 bits)."""

UINT256_MAX = 2**256 - 1
"""The largest value of a 256-bit word, the EVM's (and the balances') integer width."""


class HasCostFields(Protocol):
    """The fields a transaction's cost depends on (signed and unsigned transactions have them)."""

    @property
    def value(self) -> int: ...
    @property
    def gas_limit(self) -> int: ...
    @property
    def max_fee_per_gas(self) -> int: ...


def transaction_cost(tx: HasCostFields) -> int:
    """Most wei ``tx`` can take from its sender: ``value + gas_limit * max_fee_per_gas``."""
    return tx.value + tx.gas_limit * tx.max_fee_per_gas


# -- stateless rules ---------------------------------------------------------


def check_size(size: int, limit: int) -> None:
    """Raise :class:`TransactionTooLarge` if an encoding of ``size`` bytes exceeds ``limit``."""
    if size > limit:
        raise TransactionTooLarge(size, limit)


def check_chain_id(expected: int, got: int | None) -> None:
    """Raise :class:`WrongChainId` unless the transaction is signed for chain ``expected``
    (EIP-155; ``got`` is None for a signature without replay protection)."""
    if got != expected:
        raise WrongChainId(expected, got)


def check_nonce_limit(nonce: int) -> None:
    """Raise :class:`NonceLimitExceeded` unless ``nonce`` is below 2**64-1 (EIP-2681)."""
    if nonce >= NONCE_LIMIT:
        raise NonceLimitExceeded(nonce)


def check_priority_fee(tip: int, fee_cap: int) -> None:
    """Raise :class:`PriorityFeeAboveMaxFee` if the tip exceeds the fee cap (EIP-1559)."""
    if tip > fee_cap:
        raise PriorityFeeAboveMaxFee(tip, fee_cap)


def check_gas_fee_product(gas_limit: int, fee_cap: int) -> None:
    """Raise :class:`GasLimitPriceOverflow` if ``gas_limit * fee_cap`` (legacy: the gas
    price) exceeds 2**256-1: the up-front gas payment must be a 256-bit amount (the
    Ethereum reference tests' ``GASLIMIT_PRICE_PRODUCT_OVERFLOW``, ttGasPrice)."""
    if gas_limit * fee_cap > UINT256_MAX:
        raise GasLimitPriceOverflow(gas_limit, fee_cap)


def check_intrinsic_gas(tx: HasIntrinsicFields) -> None:
    """Raise :class:`IntrinsicGasTooLow` unless ``tx.gas_limit`` covers its intrinsic gas
    (:func:`baychain.ledger.intrinsic_gas.intrinsic_gas`, Cancun rules)."""
    required = intrinsic_gas(tx)
    if tx.gas_limit < required:
        raise IntrinsicGasTooLow(required, tx.gas_limit)


# -- block rules -------------------------------------------------------------


def check_block_gas_limit(gas_limit: int, block_gas_limit: int) -> None:
    """Raise :class:`GasLimitExceeded` if a transaction could not fit in any block."""
    if gas_limit > block_gas_limit:
        raise GasLimitExceeded(gas_limit, block_gas_limit)


def check_block_gas_left(gas_limit: int, gas_used: int, block_gas_limit: int) -> None:
    """Raise :class:`BlockGasExhausted` if ``gas_limit`` exceeds what a block that has used
    ``gas_used`` of its ``block_gas_limit`` has left."""
    if gas_used + gas_limit > block_gas_limit:
        raise BlockGasExhausted(gas_limit, block_gas_limit - gas_used, block_gas_limit)


# -- state rules -------------------------------------------------------------


def check_fee_cap(fee_cap: int, base_fee: int) -> None:
    """Raise :class:`FeeTooLow` if the fee cap is below the base fee (EIP-1559)."""
    if fee_cap < base_fee:
        raise FeeTooLow(base_fee, fee_cap)


def check_nonce_unused(account_nonce: int, nonce: int) -> None:
    """Raise :class:`NonceTooLow` if the sender has already used ``nonce``."""
    if nonce < account_nonce:
        raise NonceTooLow(account_nonce, nonce)


def check_nonce_gap(next_nonce: int, nonce: int, max_gap: int) -> None:
    """Raise :class:`NonceTooHigh` if ``nonce`` is more than ``max_gap`` past ``next_nonce``."""
    if nonce - next_nonce > max_gap:
        raise NonceTooHigh(next_nonce, nonce, max_gap)


def check_nonce(account_nonce: int, nonce: int) -> None:
    """Raise :class:`NonceTooLow` or :class:`NonceTooHigh` (``max_gap`` 0) unless ``nonce``
    is exactly the sender's next one: the rule of execution, which queues nothing."""
    check_nonce_unused(account_nonce, nonce)
    check_nonce_gap(account_nonce, nonce, 0)


def check_funds(required: int, balance: int) -> None:
    """Raise :class:`InsufficientFunds` if ``balance`` does not cover ``required`` wei."""
    if required > balance:
        raise InsufficientFunds(required, balance)

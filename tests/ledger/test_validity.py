"""The transaction validity rules (``baychain.ledger.validity``): each check passes at its
boundary and raises its one typed error, carrying the values, just past it.

The case table covers every ``check_*`` the module exports, so a check added without a
case, or a check whose rule is dropped (its body gone), fails here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

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
from baychain.ledger import validity
from baychain.ledger.signing import UnsignedTransaction
from baychain.ledger.validity import (
    NONCE_LIMIT,
    UINT256_MAX,
    check_block_gas_left,
    check_block_gas_limit,
    check_chain_id,
    check_fee_cap,
    check_funds,
    check_gas_fee_product,
    check_intrinsic_gas,
    check_nonce,
    check_nonce_gap,
    check_nonce_limit,
    check_nonce_unused,
    check_priority_fee,
    check_size,
)
from baychain.primitives import Address

TO = Address(b"\x42" * 20)


def _tx(gas: int, *, data: bytes = b"", to: Address | None = TO) -> UnsignedTransaction:
    return UnsignedTransaction(2, 1, 0, 0, 0, gas, to, 0, data)


# (check, arguments that pass at the boundary, arguments just past it, error, its values)
CASES: list[tuple[Callable[..., None], tuple[Any, ...], tuple[Any, ...], type, dict[str, Any]]] = [
    (check_size, (100, 100), (101, 100), TransactionTooLarge, {"size": 101, "limit": 100}),
    (check_chain_id, (7, 7), (7, 8), WrongChainId, {"expected": 7, "got": 8}),
    (check_nonce_limit, (NONCE_LIMIT - 1,), (NONCE_LIMIT,), NonceLimitExceeded,
     {"nonce": NONCE_LIMIT}),
    (check_priority_fee, (5, 5), (6, 5), PriorityFeeAboveMaxFee, {"tip": 6, "fee_cap": 5}),
    (check_gas_fee_product, (3, UINT256_MAX // 3), (3, UINT256_MAX // 3 + 1),
     GasLimitPriceOverflow, {"gas_limit": 3, "fee_cap": UINT256_MAX // 3 + 1}),
    (check_intrinsic_gas, (_tx(21_000),), (_tx(20_999),), IntrinsicGasTooLow,
     {"required": 21_000, "got": 20_999}),
    (check_block_gas_limit, (100, 100), (101, 100), GasLimitExceeded,
     {"gas_limit": 101, "block_gas_limit": 100}),
    (check_block_gas_left, (40, 60, 100), (41, 60, 100), BlockGasExhausted,
     {"gas_limit": 41, "gas_left": 40, "block_gas_limit": 100}),
    (check_fee_cap, (7, 7), (6, 7), FeeTooLow, {"required": 7, "got": 6}),
    (check_nonce_unused, (3, 3), (3, 2), NonceTooLow, {"expected": 3, "got": 2}),
    (check_nonce_gap, (3, 5, 2), (3, 6, 2), NonceTooHigh,
     {"expected": 3, "got": 6, "max_gap": 2}),
    (check_nonce, (3, 3), (3, 4), NonceTooHigh, {"expected": 3, "got": 4, "max_gap": 0}),
    (check_funds, (10, 10), (11, 10), InsufficientFunds, {"required": 11, "balance": 10}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("check", "passing", "failing", "error", "values"),
    CASES,
    ids=[case[0].__name__ for case in CASES],
)
def test_each_check_raises_its_one_error_just_past_its_boundary(
    check: Callable[..., None],
    passing: tuple[Any, ...],
    failing: tuple[Any, ...],
    error: type,
    values: dict[str, Any],
) -> None:
    check(*passing)
    with pytest.raises(error) as caught:
        check(*failing)
    assert type(caught.value) is error
    assert isinstance(caught.value, InvalidTransaction | TransactionRejected)
    assert {name: getattr(caught.value, name) for name in values} == values


def test_every_exported_check_has_a_case() -> None:
    exported = {name for name in validity.__all__ if name.startswith("check_")}
    assert exported == {case[0].__name__ for case in CASES}


def test_check_nonce_refuses_a_used_nonce_as_too_low() -> None:
    with pytest.raises(NonceTooLow):
        check_nonce(3, 2)


def test_intrinsic_gas_counts_creation_and_calldata() -> None:
    check_intrinsic_gas(_tx(53_000 + 16 + 2, data=b"\x01", to=None))
    with pytest.raises(IntrinsicGasTooLow) as caught:
        check_intrinsic_gas(_tx(53_000 + 16 + 1, data=b"\x01", to=None))
    assert caught.value.required == 53_018


def _refusal(check: Callable[..., None], *args: Any) -> str:
    with pytest.raises((InvalidTransaction, TransactionRejected)) as caught:
        check(*args)
    return str(caught.value)


def test_messages_clients_see_are_unchanged() -> None:
    # eth_sendRawTransaction answers these sentences; they predate the validity module
    assert _refusal(check_nonce_limit, NONCE_LIMIT) == (
        "nonce 18446744073709551615 is at or above the EIP-2681 limit 2**64-1"
    )
    assert _refusal(check_priority_fee, 3, 2) == "max priority fee 3 exceeds max fee per gas 2"
    assert _refusal(check_block_gas_left, 9, 2, 10) == (
        "gas limit 9 exceeds the block gas left (8 of 10)"
    )


def test_transaction_cost_is_value_plus_the_most_gas_can_cost() -> None:
    tx = UnsignedTransaction(2, 1, 0, 1, 7, 21_000, TO, 5)
    assert validity.transaction_cost(tx) == 5 + 21_000 * 7

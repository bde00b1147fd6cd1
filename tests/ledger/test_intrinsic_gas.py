"""Intrinsic gas under the Cancun rules, by hand and against py-evm."""

from __future__ import annotations

import pytest
from eth.vm.forks.cancun.transactions import CancunTransactionBuilder
from hypothesis import given, settings
from hypothesis import strategies as st

from baychain.crypto import dev_private_keys, get_suite
from baychain.errors import IntrinsicGasTooLow
from baychain.ledger.intrinsic_gas import intrinsic_gas
from baychain.ledger.signing import UnsignedTransaction, sign_transaction
from baychain.ledger.validity import check_intrinsic_gas
from baychain.primitives import Address, Hash32

TO = Address(b"\x42" * 20)
KEY = dev_private_keys("ecdsa", 1)[0]


def _tx(
    *, to: Address | None = TO, data: bytes = b"", access: int = 0, keys: int = 0, gas: int = 10**6
) -> UnsignedTransaction:
    access_list = tuple(
        (Address(bytes([i]) * 20), tuple(Hash32(bytes([k]) * 32) for k in range(keys)))
        for i in range(access)
    )
    return UnsignedTransaction(2, 1, 0, 0, 0, gas, to, 0, data, access_list)


@pytest.mark.parametrize(
    ("tx", "expected"),
    [
        (_tx(), 21_000),
        (_tx(to=None), 53_000),
        (_tx(data=b"\x00" * 10), 21_000 + 40),
        (_tx(data=b"\x01" * 10), 21_000 + 160),
        (_tx(data=b"\x00\x01\x00"), 21_000 + 4 + 16 + 4),
        (_tx(access=2, keys=3), 21_000 + 2 * 2_400 + 6 * 1_900),
        # EIP-3860: 33 bytes of initcode are two words.
        (_tx(to=None, data=b"\x01" * 33), 53_000 + 33 * 16 + 2 * 2),
        (_tx(to=None, data=b"\x00" * 64), 53_000 + 64 * 4 + 2 * 2),
    ],
)
def test_intrinsic_gas_by_hand(tx: UnsignedTransaction, expected: int) -> None:
    assert intrinsic_gas(tx) == expected


def test_check_intrinsic_gas() -> None:
    check_intrinsic_gas(_tx(gas=21_000))
    with pytest.raises(IntrinsicGasTooLow) as caught:
        check_intrinsic_gas(_tx(gas=20_999))
    assert (caught.value.required, caught.value.got) == (21_000, 20_999)
    with pytest.raises(IntrinsicGasTooLow):
        check_intrinsic_gas(_tx(to=None, data=b"\x01", gas=53_016))


@settings(max_examples=60, deadline=None)
@given(
    st.binary(max_size=200),
    st.booleans(),
    st.integers(0, 3),
    st.integers(0, 3),
)
def test_matches_py_evm(data: bytes, create: bool, access: int, keys: int) -> None:
    unsigned = _tx(to=None if create else TO, data=data, access=access, keys=keys)
    tx = sign_transaction(unsigned, KEY, get_suite("ecdsa"))
    oracle = CancunTransactionBuilder.decode(tx.raw)
    # py-evm charges the EIP-3860 initcode words during execution instead of up front.
    initcode_words = (len(data) + 31) // 32 if create else 0
    assert intrinsic_gas(tx) == oracle.intrinsic_gas + 2 * initcode_words

"""Intrinsic gas: what a transaction costs before its first EVM instruction runs.

Rules of the Cancun fork (the fork BayChain pins by default), in the names of
the Yellow Paper / execution-specs:

- ``TX_BASE_COST`` 21000 (G_transaction), plus ``TX_CREATE_COST`` 32000
  (G_txcreate, Homestead) for a contract creation: 53000 in all;
- calldata: 4 gas per zero byte (G_txdatazero), 16 per non-zero byte
  (G_txdatanonzero, EIP-2028);
- EIP-2930 access list: 2400 per address, 1900 per storage key;
- EIP-3860 (Shanghai): creations pay 2 gas per 32-byte word of initcode.

Not applied: Prague's EIP-7623 calldata floor (``10/40`` gas per token as a
minimum charge) and EIP-7702 authorisation costs. Both belong to a later fork
than the one we pin; adopting Prague means adding them here and in the EVM
configuration together. :func:`calldata_floor_gas` computes the EIP-7623 floor
only to name the EVM's refusal of a transaction below it on a Prague chain; no
Python check applies it.

The rule that a gas limit covers this cost is
:func:`baychain.ledger.validity.check_intrinsic_gas`.
"""

from __future__ import annotations

from typing import Protocol

from baychain.ledger.access_list import AccessList
from baychain.primitives import Address

__all__ = [
    "ACCESS_LIST_ADDRESS_COST",
    "ACCESS_LIST_STORAGE_KEY_COST",
    "INITCODE_WORD_COST",
    "TX_BASE_COST",
    "TX_CREATE_COST",
    "TX_DATA_COST_PER_NON_ZERO",
    "TX_DATA_COST_PER_ZERO",
    "TX_FLOOR_COST_PER_TOKEN",
    "HasIntrinsicFields",
    "calldata_floor_gas",
    "intrinsic_gas",
]

TX_BASE_COST = 21_000
TX_CREATE_COST = 32_000
TX_DATA_COST_PER_ZERO = 4
TX_DATA_COST_PER_NON_ZERO = 16
ACCESS_LIST_ADDRESS_COST = 2_400
ACCESS_LIST_STORAGE_KEY_COST = 1_900
INITCODE_WORD_COST = 2
TX_FLOOR_COST_PER_TOKEN = 10
"""EIP-7623 (Prague) ``TOTAL_COST_FLOOR_PER_TOKEN``: a zero calldata byte is one token, a
non-zero byte four."""


class HasIntrinsicFields(Protocol):
    """The fields intrinsic gas depends on (signed and unsigned transactions both have them)."""

    @property
    def to(self) -> Address | None: ...
    @property
    def data(self) -> bytes: ...
    @property
    def access_list(self) -> AccessList: ...
    @property
    def gas_limit(self) -> int: ...


def intrinsic_gas(tx: HasIntrinsicFields) -> int:
    """Return the gas ``tx`` is charged up front under the Cancun rules."""
    data = tx.data
    zeros = data.count(0)
    gas = TX_BASE_COST + zeros * TX_DATA_COST_PER_ZERO
    gas += (len(data) - zeros) * TX_DATA_COST_PER_NON_ZERO
    if tx.to is None:
        gas += TX_CREATE_COST + INITCODE_WORD_COST * ((len(data) + 31) // 32)
    for _address, keys in tx.access_list:
        gas += ACCESS_LIST_ADDRESS_COST + ACCESS_LIST_STORAGE_KEY_COST * len(keys)
    return gas


def calldata_floor_gas(tx: HasIntrinsicFields) -> int:
    """Return the EIP-7623 (Prague) least gas ``tx`` is charged: ``21000 + 10 * tokens``."""
    zeros = tx.data.count(0)
    tokens = zeros + 4 * (len(tx.data) - zeros)
    return TX_BASE_COST + TX_FLOOR_COST_PER_TOKEN * tokens

"""Executing a transaction addressed to a system contract (the rules are in ``system.py``).

Such a transaction runs in Python, not in the EVM, so it is checked here with the
rules of :mod:`baychain.ledger.validity` (:func:`check_system_tx`); a refused one
changes nothing and its :attr:`SystemTxOutcome.refusal` names the rule it broke.
"""

from __future__ import annotations

from dataclasses import dataclass

from baychain.errors import (
    FeeTooLow,
    InsufficientFunds,
    IntrinsicGasTooLow,
    InvalidTransaction,
    NonceTooHigh,
    NonceTooLow,
    TransactionRejected,
)
from baychain.execution.evm import StateReader
from baychain.execution.system import (
    SYSTEM_CALL_GAS,
    OutOfGas,
    StorageAccess,
    SystemCall,
    SystemContract,
    SystemRevert,
    revert_data,
)
from baychain.ledger.intrinsic_gas import intrinsic_gas
from baychain.ledger.log import Log
from baychain.ledger.transactions import Transaction
from baychain.ledger.validity import (
    TxRefusal,
    check_fee_cap,
    check_funds,
    check_intrinsic_gas,
    check_nonce,
    transaction_cost,
)
from baychain.primitives import Address, Hash32
from baychain.state.account import EMPTY_CODE_HASH, Account
from baychain.state.writeset import WriteSet


@dataclass(frozen=True, slots=True)
class SystemTxOutcome:
    """What a system-contract transaction did (``refusal`` set when it was not applied)."""

    refusal: TxRefusal | None
    success: bool = False
    gas_used: int = 0
    output: bytes = b""
    logs: tuple[Log, ...] = ()

    @property
    def error(self) -> str | None:
        """The refusal in the words a simulated call answers (:func:`call_sentence`), or None."""
        return None if self.refusal is None else call_sentence(self.refusal)


def call_sentence(refusal: TxRefusal) -> str:
    """``refusal`` worded as ``eth_call`` / ``eth_estimateGas`` have always answered it for a
    system contract.

    Clients see this text, so it is kept as it was: the nonce and fee cap sentences are
    the EVM engine's (``rust/src/block.rs``), the funds and intrinsic gas ones are older
    wordings of this module. Any other refusal is worded as the error itself.
    """
    if isinstance(refusal, NonceTooLow | NonceTooHigh):
        relation = "too low" if isinstance(refusal, NonceTooLow) else "too high"
        return f"nonce {relation}: expected {refusal.expected}, got {refusal.got}"
    if isinstance(refusal, FeeTooLow):
        return f"fee cap {refusal.got} is below the base fee {refusal.required}"
    if isinstance(refusal, InsufficientFunds):
        return f"insufficient funds: needs {refusal.required}, balance is {refusal.balance}"
    if isinstance(refusal, IntrinsicGasTooLow):
        return f"intrinsic gas too low: needs {refusal.required}, gas limit {refusal.got}"
    return str(refusal)


def check_system_tx(tx: Transaction, account: Account, base_fee: int) -> None:
    """Raise the refusal of ``tx`` from a sender whose account is ``account``, if any.

    The rules of :mod:`baychain.ledger.validity`, in this path's order.
    """
    # the nonce is exactly the sender's next one
    check_nonce(account.nonce, tx.nonce)
    # the fee cap covers the base fee (EIP-1559)
    check_fee_cap(tx.max_fee_per_gas, base_fee)
    # the balance covers value plus the most the gas can cost
    check_funds(transaction_cost(tx), account.balance)
    # the gas limit pays for the transaction's intrinsic cost
    check_intrinsic_gas(tx)


class _ReaderStorage(StorageAccess):
    def __init__(self, reader: StateReader) -> None:
        self._reader = reader

    def load(self, address: Address, slot: int) -> int:
        return self._reader.storage(address, slot)


def _account(reader: StateReader, address: Address) -> Account:
    found = reader.account(address)
    if found is None:
        return Account()
    balance, nonce, code_hash = found
    return Account(nonce, balance, Hash32(code_hash))


def run_system_tx(
    contract: SystemContract,
    tx: Transaction,
    reader: StateReader,
    writes: WriteSet,
    *,
    base_fee: int,
    proposer: Address,
) -> SystemTxOutcome:
    """Validate and run ``tx``, recording its effects into ``writes``.

    ``reader`` must be an overlay of ``writes`` on the block's base state (the
    state so far in the block), so that reads see the writes made here.
    """
    sender = _account(reader, tx.sender)
    try:
        check_system_tx(tx, sender, base_fee)
    except (InvalidTransaction, TransactionRejected) as refusal:
        return SystemTxOutcome(refusal)
    floor = intrinsic_gas(tx)

    call = SystemCall(
        contract=contract.address,
        sender=tx.sender,
        gas_available=max(0, tx.gas_limit - floor - SYSTEM_CALL_GAS),
        storage=_ReaderStorage(reader),
    )
    output = b""
    success = False
    try:
        if floor + SYSTEM_CALL_GAS > tx.gas_limit:
            raise OutOfGas("out of gas")
        if tx.value:
            raise SystemRevert(f"{contract.name} does not accept value")
        output = contract.dispatch(call, tx.data)
        success = True
        gas_used = floor + SYSTEM_CALL_GAS + call.gas_used
    except OutOfGas:
        gas_used = tx.gas_limit
        output = revert_data("out of gas")
    except SystemRevert as revert:
        gas_used = min(tx.gas_limit, floor + SYSTEM_CALL_GAS + call.gas_used)
        output = revert_data(str(revert))

    price = tx.effective_gas_price(base_fee)
    writes.set_account(
        tx.sender,
        Account(sender.nonce + 1, sender.balance - gas_used * price, sender.code_hash),
    )
    tip = gas_used * (price - base_fee)
    if tip:
        paid = _account(reader, proposer)  # reader overlays writes: sees the sender's update
        writes.set_account(proposer, Account(paid.nonce, paid.balance + tip, paid.code_hash))
    if success:
        for slot, value in sorted(call.writes.items()):
            writes.set_storage(contract.address, slot, value)
    return SystemTxOutcome(
        refusal=None,
        success=success,
        gas_used=gas_used,
        output=output,
        logs=tuple(call.logs) if success else (),
    )


def system_account() -> Account:
    """The account record every system contract has from genesis (nonce 1, so never 'empty')."""
    return Account(nonce=1, balance=0, code_hash=EMPTY_CODE_HASH)

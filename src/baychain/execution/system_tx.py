"""Executing a transaction addressed to a system contract (the rules are in ``system.py``)."""

from __future__ import annotations

from dataclasses import dataclass

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
from baychain.primitives import Address, Hash32
from baychain.state.account import EMPTY_CODE_HASH, Account
from baychain.state.writeset import WriteSet


@dataclass(frozen=True, slots=True)
class SystemTxOutcome:
    """What a system-contract transaction did (``error`` set when it was not applied)."""

    error: str | None
    success: bool = False
    gas_used: int = 0
    output: bytes = b""
    logs: tuple[Log, ...] = ()


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
    if tx.nonce != sender.nonce:
        relation = "too low" if tx.nonce < sender.nonce else "too high"
        return SystemTxOutcome(f"nonce {relation}: expected {sender.nonce}, got {tx.nonce}")
    if tx.max_fee_per_gas < base_fee:
        return SystemTxOutcome(f"fee cap {tx.max_fee_per_gas} is below the base fee {base_fee}")
    required = tx.gas_limit * tx.max_fee_per_gas + tx.value
    if sender.balance < required:
        return SystemTxOutcome(
            f"insufficient funds: needs {required}, balance is {sender.balance}"
        )
    floor = intrinsic_gas(tx)
    if tx.gas_limit < floor:
        return SystemTxOutcome(f"intrinsic gas too low: needs {floor}, gas limit {tx.gas_limit}")

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
        error=None,
        success=success,
        gas_used=gas_used,
        output=output,
        logs=tuple(call.logs) if success else (),
    )


def system_account() -> Account:
    """The account record every system contract has from genesis (nonce 1, so never 'empty')."""
    return Account(nonce=1, balance=0, code_hash=EMPTY_CODE_HASH)

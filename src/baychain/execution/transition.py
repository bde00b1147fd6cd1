"""The state-transition function: execute a block's transactions against a state view.

``execute_block(view, context, txs)`` is pure: it reads only its
arguments (the state view is a snapshot), never the clock or the network, and
returns the same receipts and write set for the same inputs on every node.
The EVM part runs in the Rust engine (``baychain._evm``); this module turns
its per-transaction outcomes into ledger receipts and one merged write set.

A transaction the engine refuses (wrong nonce, unaffordable, gas above what is
left in the block) is reported in ``ExecutionResult.rejected`` with the typed
error naming the rule it broke (:mod:`baychain.ledger.validity`; the engine's
tokens map to the same errors through :data:`~baychain.execution.evm.ENGINE_REFUSALS`)
and changes nothing. A block proposer leaves such transactions out; a block
validator treats a block containing one as invalid (:func:`require_all_valid`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from baychain.errors import BlockGasExhausted, InvalidBlock
from baychain.execution.evm import (
    BlockEnv,
    EngineRefusal,
    StateReader,
    TxOutcome,
    deployed_code,
    merge_diffs,
    refusal_error,
    run_transactions,
)
from baychain.execution.overlay import OverlayReader
from baychain.execution.system import SystemContract, SystemRegistry
from baychain.execution.system_config import SystemConfig
from baychain.execution.system_tx import run_system_tx
from baychain.ledger.log import Log
from baychain.ledger.receipt import Receipt, cache_encoding
from baychain.ledger.transactions import Transaction
from baychain.ledger.validity import TxRefusal, check_block_gas_left
from baychain.primitives import Address, Hash32
from baychain.state.account import Account
from baychain.state.writeset import WriteSet


@dataclass(frozen=True, slots=True)
class BlockContext:
    """What a block's execution may depend on besides state and transactions."""

    height: int
    timestamp_ms: int
    proposer: Address
    gas_limit: int
    base_fee: int
    chain_id: int
    hardfork: str
    parent_hash: Hash32

    def engine_env(self) -> BlockEnv:
        """The EVM's block environment; PREVRANDAO is the parent hash (no beacon chain)."""
        return BlockEnv(
            number=self.height,
            timestamp=self.timestamp_ms // 1000,
            coinbase=self.proposer,
            gas_limit=self.gas_limit,
            base_fee=self.base_fee,
            prevrandao=self.parent_hash,
            chain_id=self.chain_id,
            spec=self.hardfork,
        )


@dataclass(slots=True)
class ExecutionResult:
    """Receipts of the applied transactions, in order, and the state they wrote."""

    transactions: list[Transaction] = field(default_factory=list)
    receipts: list[Receipt] = field(default_factory=list)
    writes: WriteSet = field(default_factory=WriteSet)
    gas_used: int = 0
    rejected: list[tuple[Transaction, TxRefusal]] = field(default_factory=list)
    """The refused transactions, in order, each with the typed error refusing it."""


def default_system_contracts() -> SystemRegistry:
    """The system contracts every BayChain chain has."""
    return SystemRegistry([SystemConfig()])


def execute_block(
    view: StateReader,
    context: BlockContext,
    txs: Sequence[Transaction],
    system: SystemRegistry | None = None,
) -> ExecutionResult:
    """Run ``txs`` in order on top of ``view`` and collect receipts and writes.

    Consecutive EVM transactions run in one engine call; a transaction to a
    system contract runs in Python between them, and the engine reads the
    block's earlier writes through an overlay. A transaction whose gas limit
    exceeds the block gas left (gas limit minus gas used so far) is refused.
    """
    registry = system if system is not None else default_system_contracts()
    result = ExecutionResult()
    overlay = OverlayReader(view, result.writes)
    start = 0
    while start < len(txs):
        contract = registry.get(txs[start].to)
        if contract is not None:
            _apply_system_tx(result, contract, txs[start], overlay, context)
            start += 1
            continue
        end = start
        while end < len(txs) and txs[end].to not in registry:
            end += 1
        start = _apply_evm_run(result, txs[start:end], overlay, context, start)
    return result


def _apply_evm_run(
    result: ExecutionResult,
    run: Sequence[Transaction],
    overlay: OverlayReader,
    context: BlockContext,
    position: int,
) -> int:
    """Execute a run of EVM transactions; return the index of the next transaction to run.

    The engine counts block gas only within one call, so a run that starts after
    gas was already used may admit a transaction over the block's limit. Such a
    transaction is refused here and execution resumes after it (outcomes before
    it are unaffected: execution is sequential).
    """
    env = context.engine_env()
    outcomes = run_transactions(env, run, overlay)
    senders = _RunAccounts(overlay, outcomes)
    applied: list[TxOutcome] = []
    next_position = position + len(run)
    for offset, (tx, outcome) in enumerate(zip(run, outcomes, strict=True)):
        if not outcome.valid:
            nonce, balance = senders.at(tx.sender, offset)
            refusal = EngineRefusal(
                kind=outcome.error_kind or "invalid",
                sentence=outcome.error or "rejected by the EVM",
                env=env,
                gas_left=context.gas_limit - result.gas_used,
                sender_nonce=nonce,
                sender_balance=balance,
            )
            result.rejected.append((tx, refusal_error(tx, refusal)))
            continue
        try:
            check_block_gas_left(tx.gas_limit, result.gas_used, context.gas_limit)
        except BlockGasExhausted as refused:
            result.rejected.append((tx, refused))
            next_position = position + offset + 1
            break
        result.gas_used += outcome.gas_used
        result.transactions.append(tx)
        result.receipts.append(_receipt(tx, outcome, result.gas_used))
        applied.append(outcome)
    _merge(result.writes, applied)
    return next_position


def _apply_system_tx(
    result: ExecutionResult,
    contract: SystemContract,
    tx: Transaction,
    overlay: OverlayReader,
    context: BlockContext,
) -> None:
    try:
        check_block_gas_left(tx.gas_limit, result.gas_used, context.gas_limit)
    except BlockGasExhausted as refused:
        result.rejected.append((tx, refused))
        return
    outcome = run_system_tx(
        contract, tx, overlay, result.writes, base_fee=context.base_fee, proposer=context.proposer
    )
    if outcome.refusal is not None:
        result.rejected.append((tx, outcome.refusal))
        return
    result.gas_used += outcome.gas_used
    result.transactions.append(tx)
    result.receipts.append(
        Receipt(
            tx_type=tx.tx_type,
            status=1 if outcome.success else 0,
            cumulative_gas_used=result.gas_used,
            gas_used=outcome.gas_used,
            logs=outcome.logs,
            contract_address=None,
            output=outcome.output,
        )
    )


class _RunAccounts:
    """The sender's ``(nonce, balance)`` at each point of one engine run, as the engine saw it
    when it refused a transaction there: the run's base state with the account rows of the
    valid outcomes before that point. Asked at non-decreasing positions, it reads each
    outcome's rows at most once."""

    def __init__(self, base: StateReader, outcomes: Sequence[TxOutcome]) -> None:
        self._base = base
        self._outcomes = outcomes
        self._seen = 0
        self._rows: dict[bytes, tuple[int, int]] = {}

    def at(self, address: Address, position: int) -> tuple[int, int]:
        """``(nonce, balance)`` of ``address`` before the transaction at ``position`` ran."""
        while self._seen < position:
            outcome = self._outcomes[self._seen]
            self._seen += 1
            if outcome.valid:
                for row_address, balance, nonce, _code_hash, _code, _gone in outcome.accounts:
                    self._rows[row_address] = (nonce, balance)
        if address in self._rows:
            return self._rows[address]
        found = self._base.account(address)
        return (0, 0) if found is None else (found[1], found[0])


def require_all_valid(result: ExecutionResult) -> None:
    """Raise InvalidBlock if execution refused any of the block's transactions."""
    if result.rejected:
        tx, refusal = result.rejected[0]
        raise InvalidBlock(f"block contains an invalid transaction 0x{tx.hash.hex()}: {refusal}")


def _receipt(tx: Transaction, outcome: TxOutcome, cumulative_gas_used: int) -> Receipt:
    receipt = Receipt(
        tx_type=tx.tx_type,
        status=1 if outcome.success else 0,
        cumulative_gas_used=cumulative_gas_used,
        gas_used=outcome.gas_used,
        logs=tuple([Log(address, topics, data) for address, topics, data in outcome.logs]),
        contract_address=outcome.created_address,
        output=outcome.output,
    )
    cache_encoding(receipt, outcome.receipt_encoding(tx.tx_type, cumulative_gas_used))
    return receipt


def _merge(writes: WriteSet, outcomes: Sequence[TxOutcome]) -> None:
    """Apply the merged diff of a run's applied outcomes (in order) to ``writes``.

    The result is the same as applying each outcome's diff in turn with the engine's
    rule (a destroyed account loses its account record and all its storage first; a
    non-empty final record and the storage rows then apply), in fewer rows; the code
    table keeps every code deployed, as it would row by row.
    """
    accounts, storage = merge_diffs(outcomes)
    for address, balance, nonce, code_hash, _, destroyed in accounts:
        account = Account(nonce, balance, code_hash)
        if destroyed:
            writes.destroy_account(address)
            if account.is_empty:
                continue
        writes.set_account(address, account)
    for address, slot, value in storage:
        writes.set_storage(address, slot, value)
    for code_hash, code in deployed_code(outcomes):
        writes.code[code_hash] = code

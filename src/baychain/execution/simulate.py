"""Simulated calls: run a message call on a state view without committing anything.

This is what ``eth_call`` and ``eth_estimateGas`` execute. It is pure like the
state-transition function: :func:`simulate_call` reads only its arguments (a
state view, a block context, the call) and returns an outcome; the writes the
call would make are computed and dropped. The one exception is the clock: a call
may be given a :class:`TimeBudget`, and then it stops when its wall-clock time is
spent (:class:`CallTimedOut`), whatever gas it has left.

Glossary:

- *call request* (:class:`CallRequest`): an unsigned transaction, every field known
  (the RPC layer fills the defaults: nonce from the state, gas from the block).
- *refused*: the call fails the checks a transaction must pass before it runs
  (nonce, funds, intrinsic gas, fee cap); nothing executed.
- *reverted*: the code ran and executed REVERT; the output is the revert data.
- *halted*: the code ran and stopped exceptionally (out of gas, invalid opcode,
  stack fault); all gas is consumed and there is no output. The engine does not
  name the halt, so a failed call that used its whole gas limit and returned
  nothing is reported as halted.
- *time budget* (:class:`TimeBudget`): the wall-clock milliseconds a call, or a
  whole gas estimation (all its runs together), may take; geth's ``RPCEVMTimeout``.
  The EVM engine checks it while it runs (``rust/src/call.rs``), so a runaway loop
  stops itself; a call past it raises :class:`CallTimedOut` (a :class:`CallFailed`).

EVM calls run through :func:`~baychain.execution.evm.run_call`, which executes
without holding the GIL: a long call does not stop the node's other threads.

Calls to a system contract (``execution/system.py``) run its Python code on an
overlay of a throwaway write set, exactly as a transaction to it would.

:func:`estimate_gas` finds, by binary search as geth's ``eth_estimateGas`` does,
the lowest gas limit at which the call succeeds, up to the request's own limit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from baychain.errors import CallFailed, ExecutionReverted
from baychain.execution.evm import StateReader, TxInput, run_call
from baychain.execution.overlay import OverlayReader
from baychain.execution.system import SystemContract, SystemRegistry
from baychain.execution.system_tx import run_system_tx
from baychain.execution.transition import BlockContext, default_system_contracts
from baychain.ledger.access_list import AccessList
from baychain.ledger.header import Header
from baychain.ledger.intrinsic_gas import TX_BASE_COST
from baychain.ledger.log import Log
from baychain.ledger.transactions import DYNAMIC_FEE_TX_TYPE, Transaction
from baychain.primitives import ZERO_HASH, Address, Hash32
from baychain.state.writeset import WriteSet

__all__ = [
    "CallOutcome",
    "CallRequest",
    "CallTimedOut",
    "TimeBudget",
    "context_at",
    "estimate_gas",
    "raise_for_failure",
    "revert_reason",
    "simulate_call",
]

_ERROR_SELECTOR = bytes.fromhex("08c379a0")  # Error(string)
_PANIC_SELECTOR = bytes.fromhex("4e487b71")  # Panic(uint256)

# Solidity's panic codes (Solidity documentation, "Panic via assert and Error via require").
_PANIC_REASONS = {
    0x00: "generic panic",
    0x01: "assert(false)",
    0x11: "arithmetic underflow or overflow",
    0x12: "division or modulo by zero",
    0x21: "enum overflow",
    0x22: "invalid encoded storage byte array accessed",
    0x31: "out-of-bounds array access; popping on an empty array",
    0x32: "out-of-bounds access of an array or bytesN",
    0x41: "out of memory",
    0x51: "uninitialized function",
}


@dataclass(frozen=True, slots=True)
class CallRequest:
    """A call to simulate: an unsigned transaction from ``caller`` with every field set.

    Fee fields use EIP-1559 names (a legacy ``gasPrice`` is both). ``nonce`` None
    means the caller's current nonce.
    """

    caller: Address
    to: Address | None
    gas_limit: int
    data: bytes = b""
    value: int = 0
    max_fee_per_gas: int = 0
    max_priority_fee_per_gas: int = 0
    nonce: int | None = None
    access_list: AccessList = ()


@dataclass(frozen=True, slots=True)
class CallOutcome:
    """What a simulated call did. ``refusal`` is set when it never ran."""

    success: bool
    gas_used: int
    output: bytes
    logs: tuple[Log, ...] = ()
    created_address: Address | None = None
    refusal: str | None = None
    refusal_kind: str | None = None
    halted: bool = False

    @property
    def reverted(self) -> bool:
        """True when the code ran and ended in REVERT."""
        return self.refusal is None and not self.success and not self.halted


class CallTimedOut(CallFailed):
    """A call (or a gas estimation) ran past its :class:`TimeBudget`; nothing is answered."""

    def __init__(self, what: str, limit_ms: int) -> None:
        self.what = what
        self.limit_ms = limit_ms
        super().__init__(f"execution timeout: {what} exceeded {limit_ms} ms")


@dataclass(frozen=True, slots=True)
class TimeBudget:
    """``limit_ms`` milliseconds of wall-clock time from ``started`` (a ``time.monotonic()``).

    ``what`` names the work in the timeout message (``call``, ``gas estimation``).
    """

    limit_ms: int
    started: float
    what: str = "call"

    @classmethod
    def start(cls, limit_ms: int, what: str = "call") -> TimeBudget:
        """A budget of ``limit_ms`` starting now."""
        return cls(limit_ms, time.monotonic(), what)

    def remaining_ms(self) -> int:
        """Whole milliseconds left; raise :class:`CallTimedOut` when none are."""
        left = self.limit_ms - int((time.monotonic() - self.started) * 1000)
        if left <= 0:
            raise self.exceeded()
        return left

    def exceeded(self) -> CallTimedOut:
        """The error of a call past this budget."""
        return CallTimedOut(self.what, self.limit_ms)


def context_at(header: Header, chain_id: int, hardfork: str, *, base_fee: int) -> BlockContext:
    """The block context of a call made "at" the block ``header`` (on its post-state).

    As geth's ``eth_call``: NUMBER, TIMESTAMP, COINBASE and GASLIMIT are the block's;
    ``base_fee`` is passed separately because a call without fees runs with base fee 0.
    """
    return BlockContext(
        height=header.height,
        timestamp_ms=header.timestamp_ms,
        proposer=header.proposer,
        gas_limit=header.gas_limit,
        base_fee=base_fee,
        chain_id=chain_id,
        hardfork=hardfork,
        parent_hash=header.parent_hash,
    )


def simulate_call(
    view: StateReader,
    context: BlockContext,
    call: CallRequest,
    system: SystemRegistry | None = None,
    *,
    budget: TimeBudget | None = None,
) -> CallOutcome:
    """Execute ``call`` on ``view`` in ``context`` and return its outcome; write nothing.

    With a ``budget``, raise :class:`CallTimedOut` when it is spent, before or during
    the run (a system contract's Python code is short and runs to its end).
    """
    registry = system if system is not None else default_system_contracts()
    nonce = call.nonce if call.nonce is not None else _nonce(view, call.caller)
    time_limit_ms = None if budget is None else budget.remaining_ms()
    contract = registry.get(call.to)
    if contract is not None:
        return _simulate_system(contract, view, context, call, nonce)
    engine_input = TxInput(
        tx_type=DYNAMIC_FEE_TX_TYPE,
        caller=call.caller,
        to=call.to,
        value=call.value,
        data=call.data,
        gas_limit=call.gas_limit,
        max_fee_per_gas=call.max_fee_per_gas,
        max_priority_fee_per_gas=call.max_priority_fee_per_gas,
        nonce=nonce,
        access_list=[(address, list(keys)) for address, keys in call.access_list],
        chain_id=context.chain_id,
    )
    try:
        outcome = run_call(context.engine_env(), engine_input, view, time_limit_ms=time_limit_ms)
    except TimeoutError:
        if budget is None:  # the engine times out only when given a limit
            raise
        raise budget.exceeded() from None
    if not outcome.valid:
        return CallOutcome(
            success=False,
            gas_used=0,
            output=b"",
            refusal=outcome.error or "the call is not a valid transaction",
            refusal_kind=outcome.error_kind,
        )
    halted = not outcome.success and not outcome.output and outcome.gas_used >= call.gas_limit
    created = outcome.created_address
    return CallOutcome(
        success=outcome.success,
        gas_used=outcome.gas_used,
        output=outcome.output,
        logs=tuple(
            Log(Address(address), tuple(Hash32(topic) for topic in topics), data)
            for address, topics, data in outcome.logs
        ),
        created_address=None if created is None else Address(created),
        halted=halted,
    )


def _nonce(view: StateReader, address: Address) -> int:
    found = view.account(address)
    return 0 if found is None else found[1]


def _simulate_system(
    contract: SystemContract,
    view: StateReader,
    context: BlockContext,
    call: CallRequest,
    nonce: int,
) -> CallOutcome:
    # A system contract reads and writes through the block's write set; a fresh one
    # makes the call see the committed state and leaves it untouched.
    writes = WriteSet()
    unsigned = Transaction(
        tx_type=DYNAMIC_FEE_TX_TYPE,
        chain_id=context.chain_id,
        nonce=nonce,
        max_priority_fee_per_gas=call.max_priority_fee_per_gas,
        max_fee_per_gas=call.max_fee_per_gas,
        gas_limit=call.gas_limit,
        to=call.to,
        value=call.value,
        data=call.data,
        access_list=call.access_list,
        v=0,
        r=0,
        s=0,
        public_key=b"",
        sender=call.caller,
        hash=ZERO_HASH,
        raw=b"",
    )
    outcome = run_system_tx(
        contract,
        unsigned,
        OverlayReader(view, writes),
        writes,
        base_fee=context.base_fee,
        proposer=context.proposer,
    )
    if outcome.error is not None:
        return CallOutcome(success=False, gas_used=0, output=b"", refusal=outcome.error)
    return CallOutcome(
        success=outcome.success,
        gas_used=outcome.gas_used,
        output=outcome.output,
        logs=outcome.logs,
    )


def revert_reason(data: bytes) -> str | None:
    """Decode Solidity revert data: ``Error(string)``'s message or ``Panic(uint256)``'s meaning.

    Returns None for empty data, custom errors and anything that does not decode.
    """
    if data[:4] == _ERROR_SELECTOR and len(data) >= 68:
        offset = int.from_bytes(data[4:36], "big")
        start = 4 + offset
        if offset > len(data) or start + 32 > len(data):
            return None
        length = int.from_bytes(data[start : start + 32], "big")
        text = data[start + 32 : start + 32 + length]
        if len(text) != length:
            return None
        try:
            return text.decode("utf-8")
        except UnicodeDecodeError:
            return None
    if data[:4] == _PANIC_SELECTOR and len(data) == 36:
        code = int.from_bytes(data[4:], "big")
        return _PANIC_REASONS.get(code, f"panic code 0x{code:x}")
    return None


def raise_for_failure(outcome: CallOutcome) -> None:
    """Raise the error a failed call answers with; return if it succeeded.

    :class:`ExecutionReverted` (revert data, decoded reason) for a revert;
    :class:`CallFailed` with the engine's sentence for a refusal or a halt.
    """
    if outcome.success:
        return
    if outcome.refusal is not None:
        raise CallFailed(outcome.refusal)
    if outcome.halted:
        raise CallFailed(
            f"execution halted after using all {outcome.gas_used} gas "
            "(out of gas or an invalid instruction)"
        )
    raise ExecutionReverted(outcome.output, revert_reason(outcome.output))


def estimate_gas(
    view: StateReader,
    context: BlockContext,
    call: CallRequest,
    system: SystemRegistry | None = None,
    *,
    budget: TimeBudget | None = None,
) -> int:
    """The lowest gas limit, at most ``call.gas_limit``, at which ``call`` succeeds.

    Raises what :func:`raise_for_failure` raises when the call fails even with
    ``call.gas_limit`` (a revert with its data; ``gas required exceeds allowance``
    when it runs out of gas there), and :class:`CallTimedOut` when the runs together
    spend ``budget``.
    """
    registry = system if system is not None else default_system_contracts()
    if call.nonce is None:
        call = replace(call, nonce=_nonce(view, call.caller))
    high = call.gas_limit
    top = simulate_call(view, context, call, registry, budget=budget)
    if not top.success:
        if top.halted:
            raise CallFailed(f"gas required exceeds allowance ({high})")
        raise_for_failure(top)
    # Below the gas the call used it cannot succeed; try just above it first (most
    # calls need only that, plus the 1/64 EIP-150 withholds), then bisect.
    low = max(top.gas_used - 1, TX_BASE_COST - 1)
    guess = min(high, (top.gas_used + 2_300) * 64 // 63)
    if guess < high and _succeeds(view, context, call, guess, registry, budget):
        high = guess
    while high - low > 1:
        middle = (low + high) // 2
        if _succeeds(view, context, call, middle, registry, budget):
            high = middle
        else:
            low = middle
    return high


def _succeeds(
    view: StateReader,
    context: BlockContext,
    call: CallRequest,
    gas: int,
    system: SystemRegistry,
    budget: TimeBudget | None,
) -> bool:
    capped = replace(call, gas_limit=gas)
    return simulate_call(view, context, capped, system, budget=budget).success

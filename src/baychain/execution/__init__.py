"""Execution: the state-transition function, and the calls that run it without committing.

The parts, by module:

- :mod:`.transition`: :func:`execute_block`, the pure state-transition function: a
  state view, a :class:`BlockContext` and transactions in, an :class:`ExecutionResult`
  (receipts and the block's write set) out.
- :mod:`.evm`: the typed face of the Rust extension ``baychain._evm`` (revm inside):
  :func:`run_transactions` and the rows it reads and returns.
- :mod:`.overlay`: the state as seen in the middle of a block (committed state plus the
  block's writes so far).
- :mod:`.system`, :mod:`.system_tx`: system contracts, platform logic in Python at fixed
  addresses (:class:`SystemContract`, :class:`SystemRegistry`), and how a transaction
  addressed to one is checked and run.
- :mod:`.system_config`: :class:`SystemConfig`, the chain parameters on the ledger.
- :mod:`.simulate`: :func:`simulate_call` and :func:`estimate_gas`, what ``eth_call`` and
  ``eth_estimateGas`` execute.

Executing a block needs every module but :mod:`.simulate`, which needs them too, so this
face imports them all eagerly: importing any one submodule costs about as much.
"""

from __future__ import annotations

from baychain.execution.evm import run_transactions
from baychain.execution.simulate import CallOutcome, CallRequest, estimate_gas, simulate_call
from baychain.execution.system import SystemContract, SystemRegistry
from baychain.execution.system_config import SystemConfig
from baychain.execution.transition import (
    BlockContext,
    ExecutionResult,
    default_system_contracts,
    execute_block,
)

__all__ = [
    "BlockContext",
    "CallOutcome",
    "CallRequest",
    "ExecutionResult",
    "SystemConfig",
    "SystemContract",
    "SystemRegistry",
    "default_system_contracts",
    "estimate_gas",
    "execute_block",
    "run_transactions",
    "simulate_call",
]

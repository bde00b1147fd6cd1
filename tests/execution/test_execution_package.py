"""The package surface of baychain.execution: the state-transition function and calls."""

from __future__ import annotations

import baychain.execution as execution


def test_public_names_are_pinned_and_importable() -> None:
    assert execution.__all__ == [
        "BlockContext", "CallOutcome", "CallRequest", "ExecutionResult", "SystemConfig",
        "SystemContract", "SystemRegistry", "default_system_contracts", "estimate_gas",
        "execute_block", "run_transactions", "simulate_call",
    ]  # fmt: skip
    for name in execution.__all__:
        assert getattr(execution, name) is not None

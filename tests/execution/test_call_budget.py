"""Simulated calls under a wall-clock budget, run by the engine without the GIL."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from baychain.crypto import dev_private_keys, get_suite
from baychain.errors import CallFailed
from baychain.execution.evm import TxInput, run_call, run_transactions
from baychain.execution.simulate import (
    CallRequest,
    CallTimedOut,
    TimeBudget,
    context_at,
    estimate_gas,
    simulate_call,
)
from baychain.execution.transition import BlockContext
from baychain.node.chain import Chain
from baychain.node.genesis import Genesis, GenesisAccount, Validator
from baychain.primitives import Address

SUITE = get_suite("ecdsa")
PUBLIC_KEY = SUITE.public_key(dev_private_keys("ecdsa", 1)[0])
RICH = Address(b"\x11" * 20)
HASHER = Address(b"\x22" * 20)
"""JUMPDEST PUSH1 32 PUSH1 0 SHA3 POP PUSH1 0 JUMP: hashes until its gas runs out."""
CALLER = Address(b"\x33" * 20)
"""CALLs HASHER with all its gas, then STOPs (so only the inner frame loops)."""
GAS_LIMIT = 1_000_000_000
"""A block gas limit that lets one call hash for many seconds."""
BOUND_S = 2.0
"""A generous bound on how long a call past a 50 ms budget may take to stop."""

CALLER_CODE = bytes.fromhex("6000" * 5 + "73") + HASHER + bytes.fromhex("5af100")


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[Chain]:
    genesis = Genesis(
        chain_id=9, crypto="ecdsa", hardfork="cancun", block_gas_limit=GAS_LIMIT,
        base_fee_per_gas=0, block_interval_ms=1000,
        validators=(Validator("v", PUBLIC_KEY, 1, SUITE.address(PUBLIC_KEY)),),
        alloc=((RICH, GenesisAccount(10**20)),
               (HASHER, GenesisAccount(0, code=bytes.fromhex("5b602060002050600056"))),
               (CALLER, GenesisAccount(0, code=CALLER_CODE))),
    )
    opened = Chain.open(tmp_path, genesis)
    yield opened
    opened.close()


def context(chain: Chain) -> BlockContext:
    return context_at(chain.head, chain.chain_id, "cancun", base_fee=0)


def engine_input(chain: Chain, to: Address | None, gas: int, data: bytes = b"") -> TxInput:
    return TxInput(tx_type=2, caller=RICH, to=to, value=1, data=data, gas_limit=gas,
                   max_fee_per_gas=0, max_priority_fee_per_gas=0, nonce=0,
                   chain_id=chain.chain_id)


def test_a_call_past_its_budget_stops_and_says_so(chain: Chain) -> None:
    with chain.state() as view:
        for target in (HASHER, CALLER):  # looping itself, or in a frame it called
            start = time.monotonic()
            with pytest.raises(CallTimedOut) as stopped:
                simulate_call(view, context(chain), CallRequest(RICH, target, GAS_LIMIT),
                              budget=TimeBudget.start(50))
            assert time.monotonic() - start < BOUND_S
            assert str(stopped.value) == "execution timeout: call exceeded 50 ms"
            assert isinstance(stopped.value, CallFailed)  # answered -32000 like other failures


def test_an_estimate_shares_one_budget_across_its_runs(chain: Chain) -> None:
    with chain.state() as view:
        start = time.monotonic()
        with pytest.raises(CallTimedOut, match="gas estimation exceeded 50 ms"):
            estimate_gas(view, context(chain), CallRequest(RICH, HASHER, GAS_LIMIT),
                         budget=TimeBudget.start(50, "gas estimation"))
        assert time.monotonic() - start < BOUND_S
        spent = TimeBudget(limit_ms=10, started=time.monotonic() - 1.0)
        with pytest.raises(CallTimedOut):  # nothing runs on a spent budget
            simulate_call(view, context(chain), CallRequest(RICH, RICH, 21_000), budget=spent)
        transfer = CallRequest(RICH, Address(b"\x44" * 20), 100_000, value=1)
        budget = TimeBudget.start(60_000, "gas estimation")
        assert estimate_gas(view, context(chain), transfer, budget=budget) == 21_000


def test_a_call_gives_the_outcome_a_block_would(chain: Chain) -> None:
    env = context(chain).engine_env()
    with chain.state() as view:
        for tx in (engine_input(chain, HASHER, 100_000), engine_input(chain, CALLER, 300_000),
                   engine_input(chain, None, 200_000, bytes.fromhex("60fe60005360016000f3"))):
            (in_block,) = run_transactions(env, [tx], view)
            for limit in (None, 60_000):
                alone = run_call(env, tx, view, time_limit_ms=limit)
                assert (alone.valid, alone.success, alone.gas_used, alone.output) == (
                    in_block.valid, in_block.success, in_block.gas_used, in_block.output)
                assert (alone.accounts, alone.storage) == (in_block.accounts, in_block.storage)
        refused = run_call(env, engine_input(chain, HASHER, GAS_LIMIT + 1), view)
        assert not refused.valid and refused.error_kind == "gas_limit_exceeds_block"


def test_the_engine_runs_a_call_without_the_gil(chain: Chain) -> None:
    ticks: list[float] = []
    running, done = threading.Event(), threading.Event()

    def python_work() -> None:
        running.set()
        while not done.is_set():
            ticks.append(time.monotonic())  # pure Python: each step needs the GIL

    with chain.state() as view:
        worker = threading.Thread(target=python_work)
        worker.start()
        running.wait()
        try:
            with pytest.raises(TimeoutError):
                run_call(context(chain).engine_env(), engine_input(chain, HASHER, GAS_LIMIT),
                         view, time_limit_ms=600)
        finally:
            done.set()
            worker.join()
    # an engine holding the GIL would stop the thread for the call's whole 600 ms
    longest_pause = max(later - earlier for earlier, later in itertools.pairwise(ticks))
    assert longest_pause < 0.2, longest_pause

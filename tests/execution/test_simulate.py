"""Simulated calls: revert decoding, refusals, halts, system contracts, estimates."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from evm_fixtures import encode, revert_reason_data, selector
from hypothesis import given
from hypothesis import strategies as st

from baychain.crypto import dev_private_keys, get_suite
from baychain.errors import CallFailed, ExecutionReverted
from baychain.execution.simulate import (
    CallRequest,
    context_at,
    estimate_gas,
    raise_for_failure,
    revert_reason,
    simulate_call,
)
from baychain.execution.system import encode_call
from baychain.execution.system_config import SYSTEM_CONFIG_ADDRESS
from baychain.execution.transition import BlockContext
from baychain.node.chain import Chain
from baychain.node.genesis import Genesis, GenesisAccount, Validator
from baychain.primitives import Address

SUITE = get_suite("ecdsa")
KEY = dev_private_keys("ecdsa", 1)[0]
ADMIN = SUITE.address(SUITE.public_key(KEY))
RICH = Address(b"\x11" * 20)
LOOPER = Address(b"\x22" * 20)  # code: JUMPDEST PUSH1 0 JUMP, an endless loop
REVERTER = Address(b"\x33" * 20)  # code: revert("no") via Error(string)


def revert_code(reason: bytes) -> bytes:
    data = revert_reason_data(reason.decode())
    # CODECOPY the payload that follows the 12-byte prologue, then REVERT with it
    prologue = bytes([0x60, len(data), 0x60, 12, 0x60, 0, 0x39, 0x60, len(data), 0x60, 0, 0xFD])
    return prologue + data


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[Chain]:
    genesis = Genesis(
        chain_id=9, crypto="ecdsa", hardfork="cancun", block_gas_limit=5_000_000,
        base_fee_per_gas=3, block_interval_ms=1000,
        validators=(Validator("v", SUITE.public_key(KEY), 1, ADMIN),),
        alloc=((RICH, GenesisAccount(10**20)),
               (LOOPER, GenesisAccount(0, code=bytes.fromhex("5b600056"))),
               (REVERTER, GenesisAccount(0, code=revert_code(b"no")))),
    )
    opened = Chain.open(tmp_path, genesis)
    yield opened
    opened.close()


def context(chain: Chain, base_fee: int = 0) -> BlockContext:
    return context_at(chain.head, chain.chain_id, "cancun", base_fee=base_fee)


def test_revert_reasons_decode_errors_and_panics() -> None:
    assert revert_reason(revert_reason_data("Token: balance too low")) == "Token: balance too low"
    assert revert_reason(revert_reason_data("")) == ""
    panic = selector("Panic(uint256)")
    assert revert_reason(panic + encode(["uint256"], [0x11])) == "arithmetic underflow or overflow"
    assert revert_reason(panic + encode(["uint256"], [0x99])) == "panic code 0x99"
    assert revert_reason(selector("Refused(address,uint256)") + bytes(64)) is None
    assert revert_reason(b"") is None
    assert revert_reason(revert_reason_data("cut short")[:-40]) is None


@given(st.binary(max_size=200))
def test_revert_decoding_never_raises(data: bytes) -> None:
    revert_reason(data)
    revert_reason(bytes.fromhex("08c379a0") + data)


def test_outcomes_refused_halted_reverted(chain: Chain) -> None:
    stranger = Address(b"\x44" * 20)
    with chain.state() as view:
        ctx = context(chain)
        loop = simulate_call(view, ctx, CallRequest(caller=RICH, to=LOOPER, gas_limit=50_000))
        assert loop.halted and loop.gas_used == 50_000 and not loop.reverted
        with pytest.raises(CallFailed, match="halted"):
            raise_for_failure(loop)
        reverted = simulate_call(view, ctx, CallRequest(RICH, REVERTER, gas_limit=50_000))
        assert reverted.reverted and reverted.gas_used < 50_000
        with pytest.raises(ExecutionReverted) as raised:
            raise_for_failure(reverted)
        assert raised.value.reason == "no" and raised.value.data == revert_reason_data("no")
        poor = simulate_call(view, ctx, CallRequest(stranger, RICH, 21_000, value=1))
        assert poor.refusal is not None and poor.refusal_kind == "insufficient_funds"
        with pytest.raises(CallFailed, match="funds"):
            raise_for_failure(poor)
        priced = simulate_call(view, context(chain, base_fee=3),
                               CallRequest(caller=RICH, to=LOOPER, gas_limit=30_000))
        assert priced.refusal_kind == "fee_too_low"  # a fee cap of 0 under base fee 3
        fine = simulate_call(view, ctx, CallRequest(RICH, stranger, value=5, gas_limit=21_000))
        assert fine.success and fine.gas_used == 21_000
        raise_for_failure(fine)
    with chain.state() as view:
        assert view.balance(stranger) == 0 and view.nonce(RICH) == 0  # nothing was written


def test_estimates_are_the_least_gas_that_succeeds(chain: Chain) -> None:
    get = CallRequest(caller=RICH, to=SYSTEM_CONFIG_ADDRESS, data=encode_call("get", b"k"),
                      gas_limit=100_000)
    with chain.state() as view:
        ctx = context(chain)
        outcome = simulate_call(view, ctx, get)
        assert outcome.success and outcome.output == b"\xa0" + bytes(32)
        needed = estimate_gas(view, ctx, get)
        assert simulate_call(view, ctx, replace(get, gas_limit=needed)).success
        assert not simulate_call(view, ctx, replace(get, gas_limit=needed - 1)).success
        transfer = CallRequest(RICH, Address(bytes(20)), 100_000, value=1)
        assert estimate_gas(view, ctx, transfer) == 21_000
        with pytest.raises(CallFailed, match="gas required exceeds allowance"):
            estimate_gas(view, ctx, CallRequest(RICH, LOOPER, gas_limit=100_000))
        with pytest.raises(ExecutionReverted):
            estimate_gas(view, ctx, CallRequest(RICH, REVERTER, gas_limit=100_000))


def test_system_contract_calls_follow_transaction_rules(chain: Chain) -> None:
    with chain.state() as view:
        ctx = context(chain)
        refused = simulate_call(view, ctx, CallRequest(
            RICH, SYSTEM_CONFIG_ADDRESS, 100_000, encode_call("get", b"k"), nonce=5))
        assert refused.refusal is not None and "nonce" in refused.refusal
        denied = simulate_call(view, ctx, CallRequest(
            RICH, SYSTEM_CONFIG_ADDRESS, 100_000, encode_call("set", b"k", bytes(32))))
        assert denied.reverted and "not an administrator" in (revert_reason(denied.output) or "")
        allowed = simulate_call(view, ctx, CallRequest(
            ADMIN, SYSTEM_CONFIG_ADDRESS, 100_000, encode_call("set", b"k", bytes(32))))
        assert allowed.success and len(allowed.logs) == 1

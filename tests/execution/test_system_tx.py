"""The validity rules of a system-contract transaction (``baychain.execution.system_tx``).

Each case breaks exactly one rule of ``check_system_tx``, so dropping a rule there fails
its case; the sentence a simulated call answers (``SystemTxOutcome.error``, which
``eth_call`` shows a client) is pinned word for word.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from eth_hash.auto import keccak

from baychain.errors import (
    BlockGasExhausted,
    FeeTooLow,
    InsufficientFunds,
    IntrinsicGasTooLow,
    NonceTooHigh,
    NonceTooLow,
)
from baychain.execution.overlay import OverlayReader
from baychain.execution.system import encode_call
from baychain.execution.system_config import SYSTEM_CONFIG_ADDRESS, SystemConfig
from baychain.execution.system_tx import run_system_tx
from baychain.execution.transition import BlockContext, execute_block
from baychain.ledger.transactions import DYNAMIC_FEE_TX_TYPE, Transaction
from baychain.primitives import Address, Hash32
from baychain.state.writeset import WriteSet

BASE_FEE = 7
ALICE = Address(b"\xa1" * 20)
PROPOSER = Address(b"\x99" * 20)
BALANCE = 10**9
GET = encode_call("get", b"a")


class State:
    """ALICE holds ``BALANCE`` wei at nonce 3; nothing else exists."""

    def account(self, address: bytes) -> tuple[int, int, bytes] | None:
        return (BALANCE, 3, keccak(b"")) if bytes(address) == ALICE else None

    def code(self, code_hash: bytes) -> bytes:
        return b""

    def storage(self, address: bytes, slot: int) -> int:
        return 0

    def block_hash(self, number: int) -> bytes:
        return bytes(32)


def call(nonce: int = 3, **changes: object) -> Transaction:
    base = Transaction(
        tx_type=DYNAMIC_FEE_TX_TYPE,
        chain_id=5,
        nonce=nonce,
        max_priority_fee_per_gas=0,
        max_fee_per_gas=BASE_FEE,
        gas_limit=100_000,
        to=SYSTEM_CONFIG_ADDRESS,
        value=0,
        data=GET,
        access_list=(),
        v=0,
        r=0,
        s=0,
        public_key=b"",
        sender=ALICE,
        hash=Hash32(keccak(repr((nonce, sorted(changes.items()))).encode())),
        raw=b"",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


# (id, transaction breaking one rule, typed error, the sentence eth_call answers)
CASES = [
    ("nonce_too_low", call(2), NonceTooLow, "nonce too low: expected 3, got 2"),
    ("nonce_too_high", call(4), NonceTooHigh, "nonce too high: expected 3, got 4"),
    ("fee_cap", call(max_fee_per_gas=6), FeeTooLow, "fee cap 6 is below the base fee 7"),
    ("funds", call(value=BALANCE), InsufficientFunds,
     f"insufficient funds: needs {BALANCE + 700_000}, balance is {BALANCE}"),
    ("intrinsic_gas", call(gas_limit=21_000), IntrinsicGasTooLow,
     f"intrinsic gas too low: needs {21_000 + 16 * len(GET.strip(bytes(1))) + 4 * GET.count(0)}, "
     "gas limit 21000"),
]  # fmt: skip


def _run(tx: Transaction) -> tuple[object, str | None]:
    writes = WriteSet()
    outcome = run_system_tx(
        SystemConfig(),
        tx,
        OverlayReader(State(), writes),
        writes,
        base_fee=BASE_FEE,
        proposer=PROPOSER,
    )
    if outcome.refusal is not None:
        assert not writes.accounts and not writes.storage  # a refusal changes nothing
    return outcome.refusal, outcome.error


@pytest.mark.parametrize(
    ("tx", "error", "sentence"), [case[1:] for case in CASES], ids=[c[0] for c in CASES]
)
def test_each_rule_refuses_with_its_typed_error_and_its_old_sentence(
    tx: Transaction, error: type, sentence: str
) -> None:
    refusal, said = _run(tx)
    assert type(refusal) is error
    assert said == sentence


def test_a_transaction_keeping_every_rule_runs() -> None:
    refusal, said = _run(call())
    assert refusal is None and said is None


def test_the_nonce_is_checked_before_the_fee_cap() -> None:
    refusal, _ = _run(call(2, max_fee_per_gas=0))
    assert isinstance(refusal, NonceTooLow)


def test_execute_block_reports_system_refusals_typed() -> None:
    context = BlockContext(
        height=1,
        timestamp_ms=1_000,
        proposer=PROPOSER,
        gas_limit=150_000,
        base_fee=BASE_FEE,
        chain_id=5,
        hardfork="cancun",
        parent_hash=Hash32(bytes(32)),
    )
    txs = [call(2), call(), call(4, gas_limit=140_000)]  # stale; good; over the gas left
    result = execute_block(State(), context, txs)
    assert [tx.hash for tx in result.transactions] == [txs[1].hash]
    (stale, first), (late, second) = result.rejected
    assert (stale, late) == (txs[0], txs[2])
    assert isinstance(first, NonceTooLow)
    assert isinstance(second, BlockGasExhausted)
    left = 150_000 - result.gas_used
    assert str(second) == f"gas limit 140000 exceeds the block gas left ({left} of 150000)"

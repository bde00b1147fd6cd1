"""The EVM engine's refusals named as typed errors (``ENGINE_REFUSALS`` in
``baychain.execution.evm``) and reported so by ``execute_block``.

Each case makes the Rust engine refuse a transaction for one reason and checks that the
block's ``rejected`` list carries the typed error of ``baychain.errors`` the table names,
with its values; every number in the engine's own sentence must be one of those values
(the Python side and revm agree on what they report). A test also reads the tokens out of
``rust/src/block.rs`` so that a token added there without a table entry fails here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
from eth_hash.auto import keccak

from baychain.errors import (
    BlockGasExhausted,
    FeeTooLow,
    GasLimitExceeded,
    InitCodeTooLarge,
    InsufficientFunds,
    IntrinsicGasTooLow,
    InvalidTransaction,
    NonceTooHigh,
    NonceTooLow,
    PriorityFeeAboveMaxFee,
    SenderNotEoa,
    TransactionRejected,
    WrongChainId,
)
from baychain.execution.evm import (
    ENGINE_REFUSALS,
    ERROR_KINDS,
    BlockEnv,
    EngineRefusal,
    refusal_error,
    run_transactions,
)
from baychain.execution.transition import BlockContext, execute_block, require_all_valid
from baychain.ledger.transactions import DYNAMIC_FEE_TX_TYPE, Transaction
from baychain.primitives import Address, Hash32

CHAIN_ID = 20_250
GWEI = 10**9
ETHER = 10**18
BLOCK_GAS = 30_000_000
ALICE = Address(bytes.fromhex("a11ce00000000000000000000000000000000001"))
BOB = Address(bytes.fromhex("b0b0000000000000000000000000000000000002"))
CONTRACT = Address(bytes.fromhex("00000000000000000000000000000000000c0de1"))
PROPOSER = Address(bytes.fromhex("c0ffee00000000000000000000000000000000c0"))
STOP = b"\x00"
EMPTY_CODE_HASH = keccak(b"")
BLOCK_RS = Path(__file__).resolve().parents[2] / "rust" / "src" / "block.rs"
EIP_NUMBERS = {"3607", "3860", "7623"}
"""Numbers an engine sentence may cite that are EIP names, not values."""


@dataclass
class DictState:
    """A StateReader over dicts: ALICE holds 1 ether at nonce 3, CONTRACT has code."""

    accounts: dict[bytes, tuple[int, int, bytes]] = field(
        default_factory=lambda: {
            ALICE: (ETHER, 3, EMPTY_CODE_HASH),
            CONTRACT: (ETHER, 1, keccak(STOP)),
        }
    )

    def account(self, address: bytes) -> tuple[int, int, bytes] | None:
        return self.accounts.get(bytes(address))

    def code(self, code_hash: bytes) -> bytes:
        return STOP if code_hash == keccak(STOP) else b""

    def storage(self, address: bytes, slot: int) -> int:
        return 0

    def block_hash(self, number: int) -> bytes:
        return bytes(32)


def tx(nonce: int = 3, **changes: object) -> Transaction:
    """A transaction from ALICE paying 1 gwei per gas (its signature is not checked here)."""
    base = Transaction(
        tx_type=DYNAMIC_FEE_TX_TYPE,
        chain_id=CHAIN_ID,
        nonce=nonce,
        max_priority_fee_per_gas=0,
        max_fee_per_gas=GWEI,
        gas_limit=21_000,
        to=BOB,
        value=0,
        data=b"",
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


def context(
    *, spec: str = "cancun", gas_limit: int = BLOCK_GAS, base_fee: int = GWEI
) -> BlockContext:
    return BlockContext(
        height=1,
        timestamp_ms=1_000,
        proposer=PROPOSER,
        gas_limit=gas_limit,
        base_fee=base_fee,
        chain_id=CHAIN_ID,
        hardfork=spec,
        parent_hash=Hash32(bytes(32)),
    )


INITCODE = b"\x01" * 49_153
# (id, block context, transactions (the last is refused), error class, its values)
CASES = [
    ("nonce_too_low", context(), [tx(2)], NonceTooLow, {"expected": 3, "got": 2}),
    ("nonce_too_high", context(), [tx(5)], NonceTooHigh, {"expected": 3, "got": 5, "max_gap": 0}),
    ("nonce_after_earlier_tx", context(), [tx(3), tx(3)], NonceTooLow, {"expected": 4, "got": 3}),
    ("insufficient_funds", context(), [tx(value=ETHER)], InsufficientFunds,
     {"required": ETHER + 21_000 * GWEI, "balance": ETHER}),
    ("funds_after_earlier_tx", context(), [tx(value=ETHER // 2), tx(4, value=ETHER // 2)],
     InsufficientFunds,
     {"required": ETHER // 2 + 21_000 * GWEI, "balance": ETHER // 2 - 21_000 * GWEI}),
    ("fee_too_low", context(), [tx(max_fee_per_gas=GWEI // 2)], FeeTooLow,
     {"required": GWEI, "got": GWEI // 2}),
    ("priority_fee_above_max_fee", context(), [tx(max_priority_fee_per_gas=2 * GWEI)],
     PriorityFeeAboveMaxFee, {"tip": 2 * GWEI, "fee_cap": GWEI}),
    ("intrinsic_gas_too_low", context(), [tx(gas_limit=20_999)], IntrinsicGasTooLow,
     {"required": 21_000, "got": 20_999}),
    ("eip7623_floor", context(spec="prague"), [tx(data=b"\x01" * 1000, gas_limit=40_000)],
     IntrinsicGasTooLow, {"required": 21_000 + 10 * 4 * 1000, "got": 40_000}),
    ("gas_limit_exceeds_block", context(gas_limit=60_000), [tx(gas_limit=60_001)],
     GasLimitExceeded, {"gas_limit": 60_001, "block_gas_limit": 60_000}),
    ("block_gas_exhausted", context(gas_limit=60_000),
     [tx(gas_limit=40_000), tx(4, gas_limit=40_000)], BlockGasExhausted,
     {"gas_limit": 40_000, "gas_left": 39_000, "block_gas_limit": 60_000}),
    ("wrong_chain_id", context(), [tx(chain_id=CHAIN_ID + 1)], WrongChainId,
     {"expected": CHAIN_ID, "got": CHAIN_ID + 1}),
    ("sender_not_eoa", context(), [tx(1, sender=CONTRACT)], SenderNotEoa, {"sender": CONTRACT}),
    ("initcode_too_large", context(), [tx(to=None, data=INITCODE, gas_limit=10_000_000)],
     InitCodeTooLarge, {"size": 49_153, "limit": 49_152}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("block", "txs", "error", "values"), [case[1:] for case in CASES], ids=[c[0] for c in CASES]
)
def test_engine_refusals_are_reported_as_typed_errors(
    block: BlockContext, txs: list[Transaction], error: type, values: dict[str, object]
) -> None:
    result = execute_block(DictState(), block, txs)
    assert [t.hash for t in result.transactions] == [t.hash for t in txs[:-1]]
    ((refused, refusal),) = result.rejected
    assert refused is txs[-1]
    assert type(refusal) is error
    assert {name: getattr(refusal, name) for name in values} == values
    # every value the engine's sentence reports is one the typed error carries
    outcome = run_transactions(block.engine_env(), txs, DictState())[-1]
    assert not outcome.valid and outcome.error is not None
    assert ENGINE_REFUSALS[outcome.error_kind or ""][0] is error
    carried = {str(value) for value in vars(refusal).values() if isinstance(value, int)}
    assert set(re.findall(r"\d+", outcome.error)) - EIP_NUMBERS <= carried, outcome.error
    with pytest.raises(Exception, match="block contains an invalid transaction"):
        require_all_valid(result)


def test_the_table_names_every_token_the_engine_answers() -> None:
    tokens = set(re.findall(r'\(\s*"([a-z_0-9]+)",', BLOCK_RS.read_text()))
    assert tokens == set(ERROR_KINDS) == set(ENGINE_REFUSALS)


@pytest.mark.parametrize("kind", sorted(ENGINE_REFUSALS))
def test_each_entry_builds_an_error_of_its_class(kind: str) -> None:
    refusal = EngineRefusal(kind, "the engine says no", _env(), 30_000, 3, 10)
    cls, build = ENGINE_REFUSALS[kind]
    error = build(tx(), refusal)
    assert type(error) is cls
    assert isinstance(error, InvalidTransaction | TransactionRejected)
    assert refusal_error(tx(), refusal) is not error  # built afresh each time
    assert type(refusal_error(tx(), refusal)) is cls


def test_an_unknown_token_keeps_the_engine_sentence() -> None:
    refusal = EngineRefusal("newer_rule", "the engine says no", _env(), 30_000, 3, 10)
    error = refusal_error(tx(), refusal)
    assert type(error) is InvalidTransaction and str(error) == "the engine says no"
    assert str(refusal_error(tx(), replace(refusal, kind="invalid"))) == "the engine says no"


def _env() -> BlockEnv:
    return context().engine_env()

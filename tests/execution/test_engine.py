"""Tests of the EVM engine (``baychain.execution.evm`` over the Rust ``baychain._evm``).

Contracts are hand-assembled with the few opcodes each test needs, so every expected gas
figure can be derived from the Yellow Paper / EIP tables cited next to it. State lives in
:class:`MemoryState`, a dict-backed :class:`StateReader` that also applies diffs with the
rule stated in the engine's module docstring.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import coincurve
import pytest
import sha3
from hypothesis import given, settings
from hypothesis import strategies as st

from baychain import _evm
from baychain.crypto import dev_private_keys, get_suite
from baychain.errors import ExecutionError, UnsupportedTransactionType
from baychain.execution.evm import (
    ERROR_KINDS,
    AccountRow,
    BlockEnv,
    StorageRow,
    TxInput,
    TxOutcome,
    create_address,
    deployed_code,
    merge_diffs,
    run_transactions,
)
from baychain.ledger.log import Log
from baychain.ledger.receipt import Receipt, encode_receipt
from baychain.ledger.signing import UnsignedTransaction, sign_transaction
from baychain.ledger.transactions import Transaction
from baychain.primitives import Address, Hash32


def keccak(data: bytes) -> bytes:
    return bytes(sha3.keccak_256(data).digest())


EMPTY_CODE_HASH = keccak(b"")
CHAIN_ID = 20_250
GWEI = 10**9
ETHER = 10**18
ALICE = Address(bytes.fromhex("a11ce00000000000000000000000000000000001"))
BOB = Address(bytes.fromhex("b0b0000000000000000000000000000000000002"))
CAROL = Address(bytes.fromhex("ca401000000000000000000000000000000000c3"))
COINBASE = Address(bytes.fromhex("c0ffee00000000000000000000000000000000c0"))
CONTRACT = Address(bytes.fromhex("00000000000000000000000000000000000c0de1"))

# --- a minimal assembler -------------------------------------------------------------------

OPCODES = {
    "STOP": 0x00, "ISZERO": 0x15, "CALLER": 0x33, "CALLDATALOAD": 0x35, "CALLDATASIZE": 0x36,
    "CODECOPY": 0x39, "BLOCKHASH": 0x40, "POP": 0x50, "MSTORE": 0x52, "SLOAD": 0x54,
    "SSTORE": 0x55, "JUMPI": 0x57, "JUMPDEST": 0x5B, "LOG2": 0xA2, "RETURN": 0xF3,
    "REVERT": 0xFD, "SELFDESTRUCT": 0xFF,
}  # fmt: skip


def asm(*items: str | int | bytes) -> bytes:
    """Assemble opcode names; an int or bytes item becomes the smallest PUSH of it."""
    out = bytearray()
    for item in items:
        if isinstance(item, str):
            out.append(OPCODES[item])
            continue
        raw = (
            item
            if isinstance(item, bytes)
            else item.to_bytes(max(1, (item.bit_length() + 7) // 8), "big")
        )
        out.append(0x5F + len(raw))
        out += raw
    return bytes(out)


def deployer(runtime: bytes) -> bytes:
    """Init code that returns ``runtime``: CODECOPY the tail of itself, then RETURN it."""
    prefix_len = 15  # PUSH2 n, PUSH2 off, PUSH1 0, CODECOPY, PUSH2 n, PUSH1 0, RETURN
    n = len(runtime).to_bytes(2, "big")
    head = bytes([0x61]) + n + bytes([0x61]) + prefix_len.to_bytes(2, "big") + asm(0, "CODECOPY")
    head += bytes([0x61]) + n + asm(0, "RETURN")
    assert len(head) == prefix_len
    return head + runtime


RETURN_WORD = ("MSTORE", 32, 0, "RETURN")  # after pushing the word and then offset 0
STORE_AND_ECHO = asm(
    # if calldata is present, slot0 := calldata[0:32]; then return slot0
    "CALLDATASIZE", "ISZERO", 11, "JUMPI", 0, "CALLDATALOAD", 0, "SSTORE",
    "JUMPDEST", 0, "SLOAD", 0, *RETURN_WORD,
)  # fmt: skip
REVERTER = asm(0xDEADBEEF, 0, "MSTORE", 4, 28, "REVERT")
LOGGER = asm(  # LOG2(mem[0:32], topic0=0x01..., topic1=caller) with data = 42
    42, 0, "MSTORE", "CALLER", b"\x01" * 32, 32, 0, "LOG2", "STOP"
)
SLOAD_TWICE = asm(0, "SLOAD", "POP", 0, "SLOAD", "POP", "STOP")
SLOAD_ONCE = asm(0, "SLOAD", "POP", "STOP")


# --- an in-memory state ---------------------------------------------------------------------


@dataclass
class MemoryState:
    """A dict-backed StateReader that counts reads and applies state diffs."""

    accounts: dict[bytes, tuple[int, int, bytes]] = field(default_factory=dict)
    codes: dict[bytes, bytes] = field(default_factory=dict)
    slots: dict[tuple[bytes, int], int] = field(default_factory=dict)
    reads: int = 0

    def account(self, address: bytes) -> tuple[int, int, bytes] | None:
        self.reads += 1
        return self.accounts.get(address)

    def code(self, code_hash: bytes) -> bytes:
        return self.codes[code_hash]

    def storage(self, address: bytes, slot: int) -> int:
        self.reads += 1
        return self.slots.get((address, slot), 0)

    def block_hash(self, number: int) -> bytes:
        return keccak(number.to_bytes(8, "big"))

    def fund(self, address: bytes, balance: int, nonce: int = 0) -> None:
        self.accounts[address] = (balance, nonce, EMPTY_CODE_HASH)

    def install(self, address: bytes, runtime: bytes, nonce: int = 1) -> None:
        self.codes[keccak(runtime)] = runtime
        self.accounts[address] = (0, nonce, keccak(runtime))

    def balance(self, address: bytes) -> int:
        return self.accounts.get(address, (0, 0, b""))[0]

    def apply(self, accounts: Sequence[AccountRow], storage: Sequence[StorageRow]) -> None:
        """The apply rule of the engine's docstring."""
        for address, balance, nonce, code_hash, code, destroyed in accounts:
            if destroyed:
                self.accounts.pop(address, None)
                self.slots = {k: v for k, v in self.slots.items() if k[0] != address}
            if (balance, nonce, code_hash) != (0, 0, EMPTY_CODE_HASH):
                self.accounts[address] = (balance, nonce, code_hash)
            if code is not None:
                self.codes[code_hash] = code
        for address, slot, value in storage:
            if value:
                self.slots[(address, slot)] = value
            else:
                self.slots.pop((address, slot), None)

    def apply_outcomes(self, outcomes: Sequence[TxOutcome]) -> None:
        for outcome in outcomes:
            self.apply(outcome.accounts, outcome.storage)


def env(spec: str = "cancun", base_fee: int = 0, gas_limit: int = 30_000_000) -> BlockEnv:
    return BlockEnv(
        number=7,
        timestamp=1_700_000_000,
        coinbase=COINBASE,
        gas_limit=gas_limit,
        base_fee=base_fee,
        prevrandao=Hash32(b"\x55" * 32),
        chain_id=CHAIN_ID,
        spec=spec,
    )


def tx(
    caller: Address = ALICE,
    to: Address | None = BOB,
    *,
    nonce: int = 0,
    value: int = 0,
    data: bytes = b"",
    gas: int = 100_000,
    price: int = 0,
    tip: int | None = None,
    tx_type: int = 2,
    access_list: Sequence[tuple[bytes, Sequence[bytes]]] = (),
) -> TxInput:
    return TxInput(
        tx_type=tx_type,
        caller=caller,
        to=to,
        value=value,
        data=data,
        gas_limit=gas,
        max_fee_per_gas=price,
        max_priority_fee_per_gas=price if tip is None else tip,
        nonce=nonce,
        access_list=access_list,
        chain_id=CHAIN_ID,
    )


def account_row(outcome: TxOutcome, address: bytes) -> AccountRow:
    rows = [row for row in outcome.accounts if row[0] == address]
    assert len(rows) == 1, f"expected one row for {address.hex()}, got {rows}"
    return rows[0]


# --- value transfers and fees ---------------------------------------------------------------


def test_value_transfer_moves_value_bumps_nonce_and_pays_fees() -> None:
    state = MemoryState()
    state.fund(ALICE, ETHER)
    base_fee, max_fee, tip = 7 * GWEI, 20 * GWEI, 2 * GWEI
    [out] = run_transactions(
        env(base_fee=base_fee), [tx(value=1000, price=max_fee, tip=tip)], state
    )
    assert out.valid and out.success and out.error is None
    assert out.gas_used == 21_000  # G_transaction
    paid = 21_000 * (base_fee + tip)  # EIP-1559 effective price = min(max_fee, base + tip)
    assert account_row(out, ALICE) == (ALICE, ETHER - 1000 - paid, 1, EMPTY_CODE_HASH, None, False)
    assert account_row(out, BOB) == (BOB, 1000, 0, EMPTY_CODE_HASH, None, False)
    assert account_row(out, COINBASE)[1] == 21_000 * tip  # the base fee part is burned
    assert out.storage == [] and out.logs == [] and out.output == b""
    assert [row[0] for row in out.accounts] == sorted(row[0] for row in out.accounts)


def test_legacy_gas_price_pays_everything_above_base_fee_to_coinbase() -> None:
    state = MemoryState()
    state.fund(ALICE, ETHER)
    [out] = run_transactions(env(base_fee=5), [tx(tx_type=0, price=12, tip=0)], state)
    assert account_row(out, ALICE)[1] == ETHER - 21_000 * 12
    assert account_row(out, COINBASE)[1] == 21_000 * 7


def test_gas_price_zero_with_base_fee_zero_is_free() -> None:
    state = MemoryState()
    state.fund(ALICE, 50)
    outcomes = run_transactions(env(base_fee=0), [tx(value=50, price=0)], state)
    [out] = outcomes
    assert out.valid and out.success and out.gas_used == 21_000
    assert account_row(out, ALICE)[1:3] == (0, 1)
    assert account_row(out, BOB)[1] == 50
    # The coinbase earned nothing; it does not exist and is not created (EIP-161).
    assert COINBASE not in [row[0] for row in out.accounts]


def test_transactions_see_earlier_writes_of_the_same_block() -> None:
    state = MemoryState()
    state.fund(ALICE, 100)
    outcomes = run_transactions(env(), [tx(ALICE, BOB, value=100), tx(BOB, CAROL, value=60)], state)
    assert [o.valid for o in outcomes] == [True, True]
    assert account_row(outcomes[1], BOB)[1:3] == (40, 1)
    assert account_row(outcomes[1], CAROL)[1] == 60


# --- validation -----------------------------------------------------------------------------


def test_invalid_transactions_are_reported_and_not_applied() -> None:
    state = MemoryState()
    state.fund(ALICE, 10 * GWEI * 21_000, nonce=3)
    outcomes = run_transactions(
        env(base_fee=GWEI),
        [
            tx(nonce=2, price=GWEI),  # nonce too low
            tx(nonce=5, price=GWEI),  # nonce too high
            tx(nonce=3, price=GWEI, value=10 * GWEI * 21_000),  # cannot pay value + gas
            tx(nonce=3, price=GWEI // 2),  # fee cap below base fee
            tx(nonce=3, price=GWEI, gas=20_999),  # below intrinsic gas
            tx(nonce=3, price=GWEI, tip=2 * GWEI),  # tip above fee cap
            replace(tx(nonce=3, price=GWEI), chain_id=CHAIN_ID + 1),
            tx(nonce=3, price=GWEI),  # finally a good one
        ],
        state,
    )
    kinds = [o.error_kind for o in outcomes]
    assert kinds == [
        "nonce_too_low",
        "nonce_too_high",
        "insufficient_funds",
        "fee_too_low",
        "intrinsic_gas_too_low",
        "priority_fee_above_max_fee",
        "wrong_chain_id",
        None,
    ]
    assert set(kinds[:-1]) <= ERROR_KINDS
    assert outcomes[0].error == "nonce too low: expected 3, got 2"
    assert outcomes[1].error == "nonce too high: expected 3, got 5"
    assert outcomes[2].error is not None and outcomes[2].error.startswith("insufficient funds")
    assert outcomes[3].error == f"fee cap {GWEI // 2} is below the base fee {GWEI}"
    assert outcomes[6].error == f"wrong chain id: expected {CHAIN_ID}, got {CHAIN_ID + 1}"
    for bad in outcomes[:-1]:
        assert not bad.valid and not bad.success and bad.gas_used == 0
        assert bad.accounts == [] and bad.storage == [] and bad.logs == []
    good = outcomes[-1]
    assert (
        good.valid and account_row(good, ALICE)[2] == 4
    )  # nonce 3 -> 4: nothing before it applied


def test_sender_with_code_is_rejected_by_eip3607() -> None:
    state = MemoryState()
    state.install(CONTRACT, SLOAD_ONCE)
    [out] = run_transactions(env(), [tx(CONTRACT, BOB, nonce=1)], state)
    assert not out.valid and out.error_kind == "sender_not_eoa"


def test_block_gas_limit_counts_gas_used_by_earlier_transactions() -> None:
    state = MemoryState()
    state.fund(ALICE, ETHER)
    outcomes = run_transactions(
        env(gas_limit=60_000),
        [tx(nonce=0, gas=40_000), tx(nonce=1, gas=40_000), tx(nonce=1, gas=39_000)],
        state,
    )
    assert [o.error_kind for o in outcomes] == [None, "block_gas_exhausted", None]
    assert outcomes[1].error == (
        "block gas limit reached: gas limit 40000 exceeds the 39000 gas left"
    )
    [too_big] = run_transactions(env(gas_limit=60_000), [tx(gas=60_001)], state)
    assert too_big.error_kind == "gas_limit_exceeds_block"


def test_prague_adds_the_eip7623_calldata_floor() -> None:
    state = MemoryState()
    state.fund(ALICE, ETHER)
    data = b"\x01" * 1000
    # Cancun: 21000 + 16 * 1000 = 37000 intrinsic. Prague floor: 21000 + 10 * 4 * 1000 = 61000.
    [cancun] = run_transactions(env("cancun"), [tx(data=data, gas=40_000)], state)
    [prague] = run_transactions(env("prague"), [tx(data=data, gas=40_000)], state)
    assert cancun.valid and cancun.gas_used == 37_000
    assert not prague.valid and prague.error_kind == "intrinsic_gas_too_low"
    [prague_ok] = run_transactions(env("prague"), [tx(data=data, gas=61_000)], state)
    assert prague_ok.valid and prague_ok.gas_used == 61_000


# --- contracts ------------------------------------------------------------------------------


def test_deploy_returns_address_code_and_code_hash() -> None:
    state = MemoryState()
    state.fund(ALICE, ETHER, nonce=5)
    [out] = run_transactions(
        env(), [tx(to=None, nonce=5, data=deployer(STORE_AND_ECHO), gas=200_000)], state
    )
    assert out.valid and out.success
    created = create_address(ALICE, 5)
    assert created == Address(keccak(bytes([0xD6, 0x94]) + ALICE + bytes([5]))[12:])
    assert out.created_address == created
    assert out.output == STORE_AND_ECHO
    assert account_row(out, created) == (
        created,
        0,
        1,
        keccak(STORE_AND_ECHO),
        STORE_AND_ECHO,
        True,  # a creation wipes whatever storage the address had, then writes the account
    )
    assert account_row(out, ALICE)[2] == 6


def test_storage_write_then_read_in_the_next_transaction() -> None:
    state = MemoryState()
    state.fund(ALICE, ETHER)
    state.install(CONTRACT, STORE_AND_ECHO)
    word = (2**255 + 42).to_bytes(32, "big")  # a value above 2**128 crosses the slow int path
    outcomes = run_transactions(
        env(), [tx(to=CONTRACT, nonce=0, data=word), tx(to=CONTRACT, nonce=1)], state
    )
    assert [o.success for o in outcomes] == [True, True]
    assert outcomes[0].storage == [(CONTRACT, 0, 2**255 + 42)]
    assert outcomes[1].output == word and outcomes[1].storage == []
    # The contract's own info did not change, so it has no account row.
    assert CONTRACT not in [row[0] for row in outcomes[0].accounts]
    state.apply_outcomes(outcomes)
    [again] = run_transactions(env(), [tx(to=CONTRACT, nonce=2)], state)
    assert again.output == word


def test_revert_returns_revert_data_charges_gas_and_bumps_nonce() -> None:
    state = MemoryState()
    state.fund(ALICE, ETHER)
    state.install(CONTRACT, REVERTER)
    [out] = run_transactions(env(), [tx(to=CONTRACT, value=5, price=1)], state)
    assert out.valid and not out.success
    assert out.output == bytes.fromhex("deadbeef")
    # 21000 + PUSH4, PUSH1 (3 each) + MSTORE (3 + 3 memory) + PUSH1 x2 (3 each) + REVERT (0)
    assert out.gas_used == 21_000 + 3 + 3 + 6 + 3 + 3
    assert account_row(out, ALICE) == (ALICE, ETHER - out.gas_used, 1, EMPTY_CODE_HASH, None, False)
    assert out.storage == [] and out.logs == []


def test_logs_carry_address_topics_and_data() -> None:
    state = MemoryState()
    state.fund(ALICE, ETHER)
    state.install(CONTRACT, LOGGER)
    [out] = run_transactions(env(), [tx(to=CONTRACT)], state)
    assert out.success
    assert out.logs == [(CONTRACT, (b"\x01" * 32, bytes(12) + ALICE), (42).to_bytes(32, "big"))]


# LOG2 over 300 bytes of memory (a long RLP string), then RETURN 300 bytes of memory.
LONG_LOGGER = asm(42, 280, "MSTORE", "CALLER", b"\x01" * 32, 300, 0, "LOG2", 300, 0, "RETURN")


def python_receipt(outcome: TxOutcome, tx_type: int, cumulative: int) -> bytes:
    """The receipt's encoding as the Python reference (``ledger.receipt``) makes it."""
    return encode_receipt(
        Receipt(
            tx_type=tx_type,
            status=1 if outcome.success else 0,
            cumulative_gas_used=cumulative,
            gas_used=outcome.gas_used,
            logs=tuple(Log(address, topics, data) for address, topics, data in outcome.logs),
            contract_address=outcome.created_address,
            output=outcome.output,
        )
    )


@pytest.mark.parametrize("cumulative", [0, 1, 127, 128, 2**63 + 5])
def test_receipt_encoding_is_the_python_reference(cumulative: int) -> None:
    state = MemoryState()
    state.fund(ALICE, ETHER)
    state.install(CONTRACT, LONG_LOGGER)
    state.install(CAROL, REVERTER)
    outcomes = run_transactions(
        env(),
        [
            tx(to=CONTRACT, nonce=0),  # two long RLP strings: data and output
            tx(to=CAROL, nonce=1),  # reverted: status 0, revert data, no logs
            tx(to=None, nonce=2, data=deployer(LOGGER)),  # a contract address
            tx(to=BOB, nonce=3, tx_type=0),  # plain transfer, legacy type
        ],
        state,
    )
    assert [(o.valid, o.success) for o in outcomes] == [(True, True), (True, False)] + [
        (True, True)
    ] * 2
    assert len(outcomes[0].logs[0][2]) == 300 and outcomes[2].created_address is not None
    for outcome, tx_type in zip(outcomes, [2, 2, 2, 0], strict=True):
        expected = python_receipt(outcome, tx_type, cumulative)
        assert outcome.receipt_encoding(tx_type, cumulative) == expected


def test_ledger_transactions_run_as_they_are() -> None:
    suite = get_suite("ecdsa")
    key = dev_private_keys("ecdsa", 1)[0]
    sender = suite.address(suite.public_key(key))
    access = ((CONTRACT, (Hash32(bytes(32)),)),)
    signed = [
        sign_transaction(UnsignedTransaction(0, CHAIN_ID, 0, 0, 0, 50_000, BOB, 5), key, suite),
        sign_transaction(
            UnsignedTransaction(2, CHAIN_ID, 1, 0, 0, 50_000, CONTRACT, 0, b"", access), key, suite
        ),
    ]
    engine_inputs = [
        tx(sender, BOB, nonce=0, value=5, gas=50_000, tx_type=0),
        tx(sender, CONTRACT, nonce=1, gas=50_000, access_list=access),
    ]

    def outcomes(txs: Sequence[TxInput] | Sequence[Transaction]) -> list[tuple[object, ...]]:
        state = MemoryState()
        state.fund(sender, ETHER)
        state.install(CONTRACT, LOGGER)
        return [
            (o.valid, o.success, o.gas_used, o.logs, o.accounts, o.storage)
            for o in run_transactions(env(), txs, state)
        ]

    assert outcomes(signed) == outcomes(engine_inputs)
    assert all(valid and success for valid, success, *_ in outcomes(signed))


def test_deployed_code_lists_every_deployment_in_order() -> None:
    state = MemoryState()
    state.fund(ALICE, ETHER)
    runtimes = [LOGGER, REVERTER, LOGGER]
    outcomes = run_transactions(
        env(),
        [tx(to=None, nonce=n, data=deployer(code)) for n, code in enumerate(runtimes)]
        + [tx(to=BOB, nonce=3)],
        state,
    )
    assert deployed_code(outcomes) == [(keccak(code), code) for code in runtimes]


def test_selfdestruct_in_the_creating_transaction_destroys_the_account() -> None:
    state = MemoryState()
    state.fund(ALICE, ETHER)
    init = asm(CAROL, "SELFDESTRUCT")
    [out] = run_transactions(env(), [tx(to=None, value=77, data=init, gas=100_000)], state)
    created = create_address(ALICE, 0)
    assert out.valid and out.success and out.created_address == created
    assert account_row(out, created) == (created, 0, 0, EMPTY_CODE_HASH, None, True)
    assert account_row(out, CAROL)[1] == 77


def test_selfdestruct_of_an_older_contract_only_moves_its_balance() -> None:
    # EIP-6780: outside the creating transaction SELFDESTRUCT keeps code and storage.
    state = MemoryState()
    state.fund(ALICE, ETHER)
    runtime = asm(CAROL, "SELFDESTRUCT")
    state.install(CONTRACT, runtime)
    state.accounts[CONTRACT] = (500, 1, keccak(runtime))
    state.slots[(CONTRACT, 1)] = 9
    [out] = run_transactions(env(), [tx(to=CONTRACT)], state)
    assert account_row(out, CONTRACT) == (CONTRACT, 0, 1, keccak(runtime), None, False)
    assert account_row(out, CAROL)[1] == 500
    assert out.storage == []


def test_touching_an_existing_empty_account_deletes_it() -> None:
    # EIP-161: an empty account touched by a zero-value call is removed.
    state = MemoryState()
    state.fund(ALICE, ETHER)
    state.fund(BOB, 0)
    [out] = run_transactions(env(), [tx(to=BOB, value=0)], state)
    assert account_row(out, BOB) == (BOB, 0, 0, EMPTY_CODE_HASH, None, True)


def test_blockhash_reads_the_state_reader_for_the_last_256_blocks() -> None:
    state = MemoryState()
    state.fund(ALICE, ETHER)
    for number in (6, 7, 0):  # env() is block 7: 6 is known, 7 is the current block
        state.install(CONTRACT, asm(number, "BLOCKHASH", 0, *RETURN_WORD))
        [out] = run_transactions(env(), [tx(to=CONTRACT)], state)
        expected = state.block_hash(number) if number < 7 else bytes(32)
        assert out.output == expected


# --- precompiles ----------------------------------------------------------------------------


def test_sha256_precompile() -> None:
    state = MemoryState()
    state.fund(ALICE, ETHER)
    sha256 = Address((2).to_bytes(20, "big"))
    [out] = run_transactions(env(), [tx(to=sha256, data=b"abc")], state)
    assert out.success
    assert out.output == hashlib.sha256(b"abc").digest()
    # 21000 + 3 * 16 calldata + sha256 precompile 60 + 12 per word
    assert out.gas_used == 21_000 + 48 + 72


def test_ecrecover_precompile() -> None:
    state = MemoryState()
    state.fund(ALICE, ETHER)
    key = coincurve.PrivateKey(b"\x42" * 32)
    digest = keccak(b"baychain")
    signature = key.sign_recoverable(digest, hasher=None)
    r, s, recid = signature[:32], signature[32:64], signature[64]
    v = (27 + recid).to_bytes(32, "big")
    signer = keccak(key.public_key.format(compressed=False)[1:])[12:]
    ecrecover = Address((1).to_bytes(20, "big"))
    [out] = run_transactions(env(), [tx(to=ecrecover, data=digest + v + r + s)], state)
    assert out.success and out.output == bytes(12) + signer


def test_kzg_point_evaluation_precompile_is_present() -> None:
    # A malformed input (wrong length) must fail inside the precompile (all gas consumed),
    # which shows 0x0a is a precompile under Cancun, not an empty account.
    state = MemoryState()
    state.fund(ALICE, ETHER)
    kzg = Address((10).to_bytes(20, "big"))
    [out] = run_transactions(env(), [tx(to=kzg, data=b"\x00", gas=100_000)], state)
    assert out.valid and not out.success and out.gas_used == 100_000


# --- EIP-2929 warm/cold per transaction -----------------------------------------------------


def test_warm_sets_are_per_transaction() -> None:
    state = MemoryState()
    state.fund(ALICE, ETHER)
    state.fund(BOB, ETHER)
    state.install(CONTRACT, SLOAD_ONCE)
    [alone] = run_transactions(env(), [tx(ALICE, CONTRACT)], state)
    outcomes = run_transactions(
        env(), [tx(ALICE, CONTRACT), tx(BOB, CONTRACT), tx(ALICE, CONTRACT, nonce=1)], state
    )
    # Cold SLOAD costs 2100 (EIP-2929) in every transaction, even after another warmed it.
    assert alone.gas_used == 21_000 + 3 + 2_100 + 2
    assert [o.gas_used for o in outcomes] == [alone.gas_used] * 3


def test_warm_access_inside_one_transaction_and_by_access_list() -> None:
    state = MemoryState()
    state.fund(ALICE, ETHER)
    state.install(CONTRACT, SLOAD_TWICE)
    [twice] = run_transactions(env(), [tx(to=CONTRACT)], state)
    assert twice.gas_used == 21_000 + 3 + 2_100 + 2 + 3 + 100 + 2  # second SLOAD is warm
    listed = [(CONTRACT, [bytes(32)])]
    [warmed] = run_transactions(env(), [tx(to=CONTRACT, access_list=listed, tx_type=1)], state)
    # EIP-2930: 2400 per address + 1900 per key up front; both SLOADs are then warm.
    assert warmed.gas_used == 21_000 + 2_400 + 1_900 + 3 + 100 + 2 + 3 + 100 + 2


# --- reads, merge, errors -------------------------------------------------------------------


def test_state_reads_are_cached_for_the_block() -> None:
    state = MemoryState()
    state.fund(ALICE, ETHER)
    state.install(CONTRACT, SLOAD_ONCE)
    run_transactions(env(), [tx(ALICE, CONTRACT, nonce=n) for n in range(10)], state)
    assert state.reads == 4  # ALICE, CONTRACT, COINBASE and slot 0, once each


def test_merge_diffs_equals_applying_each_transaction_diff() -> None:
    state = MemoryState()
    state.fund(ALICE, ETHER)
    state.install(CONTRACT, STORE_AND_ECHO)
    txs = [
        tx(to=CONTRACT, nonce=0, data=(1).to_bytes(32, "big")),
        tx(to=CONTRACT, nonce=1, data=(2).to_bytes(32, "big")),
        tx(to=None, nonce=2, data=asm(BOB, "SELFDESTRUCT"), value=3),
        tx(to=create_address(ALICE, 2), nonce=3, value=4),  # revives the destroyed address
        tx(to=BOB, nonce=99),  # invalid: contributes nothing
    ]
    outcomes = run_transactions(env(), txs, state)
    stepwise = MemoryState(dict(state.accounts), dict(state.codes), dict(state.slots))
    stepwise.apply_outcomes(outcomes)
    merged = MemoryState(dict(state.accounts), dict(state.codes), dict(state.slots))
    accounts, storage = merge_diffs(outcomes)
    merged.apply(accounts, storage)
    assert (merged.accounts, merged.slots) == (stepwise.accounts, stepwise.slots)
    assert storage == [(CONTRACT, 0, 2)]
    revived = [row for row in accounts if row[0] == create_address(ALICE, 2)]
    assert revived == [(create_address(ALICE, 2), 4, 0, EMPTY_CODE_HASH, None, True)]


def test_errors_of_the_state_reader_propagate() -> None:
    class Broken(MemoryState):
        def storage(self, address: bytes, slot: int) -> int:
            raise KeyError("disk on fire")

    state = Broken()
    state.fund(ALICE, ETHER)
    state.install(CONTRACT, SLOAD_ONCE)
    with pytest.raises(KeyError, match="disk on fire"):
        run_transactions(env(), [tx(to=CONTRACT)], state)


def test_malformed_input_is_rejected() -> None:
    state = MemoryState()
    with pytest.raises(ValueError, match="unsupported spec"):
        run_transactions(env("shanghai"), [], state)
    with pytest.raises(UnsupportedTransactionType):
        run_transactions(env(), [tx(tx_type=3)], state)
    with pytest.raises(ValueError, match="caller must be 20 bytes"):
        run_transactions(env(), [tx(Address(b"\x01" * 19))], state)
    with pytest.raises(ValueError, match=r"tx.value must be an int in \[0, 2\*\*256\)"):
        run_transactions(env(), [tx(value=2**256)], state)
    with pytest.raises(ValueError, match="legacy transaction has no access list"):
        run_transactions(env(), [tx(tx_type=0, access_list=[(BOB, [])])], state)
    assert issubclass(ExecutionError, Exception)


def test_sm2_type_executes_like_eip1559() -> None:
    state = MemoryState()
    state.fund(ALICE, ETHER)
    [sm2] = run_transactions(env(base_fee=3), [tx(tx_type=0x53, price=10, tip=1)], state)
    [eip1559] = run_transactions(env(base_fee=3), [tx(tx_type=2, price=10, tip=1)], state)
    assert sm2.accounts == eip1559.accounts


def test_module_exports_its_api() -> None:
    assert {"run_transactions", "merge_diffs", "create_address", "TxOutcome"} <= set(dir(_evm))


# --- a conservation law ---------------------------------------------------------------------

PEOPLE = (ALICE, BOB, CAROL)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 2), st.integers(0, 2), st.integers(0, 3 * ETHER), st.integers(1, 5)
        ),
        max_size=12,
    )
)
def test_value_is_conserved_except_for_burned_base_fee(
    transfers: list[tuple[int, int, int, int]],
) -> None:
    state = MemoryState()
    for person in PEOPLE:
        state.fund(person, 2 * ETHER)
    base_fee = 2
    nonces = [0, 0, 0]
    txs = []
    for sender, receiver, value, tip in transfers:
        txs.append(
            tx(
                PEOPLE[sender],
                PEOPLE[receiver],
                nonce=nonces[sender],
                value=value,
                price=10,
                tip=tip,
            )
        )
        nonces[sender] += 1  # later ones may still fail (funds), shifting nonces: also tested
    outcomes = run_transactions(env(base_fee=base_fee), txs, state)
    total_before = sum(state.balance(p) for p in (*PEOPLE, COINBASE))
    state.apply_outcomes(outcomes)
    total_after = sum(state.balance(p) for p in (*PEOPLE, COINBASE))
    burned = base_fee * sum(o.gas_used for o in outcomes if o.valid)
    assert total_before - total_after == burned

"""Differential test: BayChain's revm engine against the py-evm oracle.

DESIGN.md: py-evm (exact, slow) is kept as a test oracle; the same blocks must give
the same receipts and post-state on both. Each scenario below is one block of
unsigned transactions over a genesis allocation. It runs on the engine
(``baychain.execution.evm.run_transactions``) and on the oracle
(``pyevm_oracle.run_block_pyevm``), and the test asserts, per transaction, the same
validity, status, gas used, output, created address and logs, and the same state
of every account either side touched.

Each transaction also states what it is meant to do (``ok``, ``revert`` or
``invalid``), checked on the oracle, so a scenario cannot silently stop testing
what its name says.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from eth_hash.auto import keccak
from eth_keys.datatypes import PrivateKey
from evm_fixtures import (
    create2_address,
    create_address,
    encode,
    load_artifact,
    revert_reason_data,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyevm_oracle import (
    DEV_KEYS,
    EMPTY_ACCOUNT,
    OracleOutcome,
    PostAccount,
    default_block_hash,
    dev_address,
    run_block_pyevm,
)

from baychain.execution.evm import BlockEnv, TxInput, merge_diffs, run_transactions
from baychain.primitives import Address

ALICE, BOB, CAROL = (dev_address(k) for k in DEV_KEYS[:3])
DAVE = bytes.fromhex("000000000000000000000000000000000000da7e")  # no key: receives only
COINBASE = bytes.fromhex("c0ffee00000000000000000000000000000000c0")
CHAIN_ID = 20_250
ETHER = 10**18
EMPTY_CODE_HASH = bytes(keccak(b""))
TOKEN, PROBE, CHILD = load_artifact("Token"), load_artifact("Probe"), load_artifact("Child")
GENESIS_PROBE = bytes.fromhex("0000000000000000000000000000000000b0b0b0")

OK, REVERT, INVALID = "ok", "revert", "invalid"

PROBE_COUNTER_SLOT, PROBE_SLOTS_MAPPING = 0, 1
"""Probe's storage layout: ``counter`` then ``slots`` (solc assigns slots in order)."""


def probe_slot(key: int) -> int:
    """The storage slot of ``Probe.slots[key]``: keccak256(key . mapping slot)."""
    return int.from_bytes(keccak(encode(["uint256", "uint256"], [key, PROBE_SLOTS_MAPPING])), "big")


Alloc = dict[bytes, tuple[int, int, bytes, dict[int, int]]]
"""A genesis allocation: address -> (balance, nonce, code, storage)."""


# ---- building blocks ---------------------------------------------------------------


@dataclass
class Block:
    """A block under construction: transactions with what each is meant to do."""

    env: Any
    alloc: Alloc
    txs: list[Any] = field(default_factory=list)
    intents: list[str | None] = field(default_factory=list)
    nonces: dict[bytes, int] = field(default_factory=dict)
    marks: dict[str, int] = field(default_factory=dict)

    def nonce_of(self, sender: bytes) -> int:
        return self.nonces.get(sender, self.alloc.get(sender, (0, 0))[1])

    def send(
        self,
        sender: bytes,
        to: bytes | None,
        data: bytes = b"",
        *,
        value: int = 0,
        gas: int = 300_000,
        intent: str | None = OK,
        nonce: int | None = None,
        mark: str | None = None,
        **fields: Any,
    ) -> int:
        """Append a transaction and return its index in the block.

        The sender's nonce advances unless the transaction is meant to be invalid;
        ``mark`` names the transaction so a test can find its outcome.
        """
        own_nonce = self.nonce_of(sender)
        tx = make_tx(sender, to, data, value=value, gas=gas,
                     nonce=own_nonce if nonce is None else nonce, **fields)
        if intent != INVALID:
            self.nonces[sender] = own_nonce + 1
        self.txs.append(tx)
        self.intents.append(intent)
        if mark is not None:
            self.marks[mark] = len(self.txs) - 1
        return len(self.txs) - 1

    def next_create_address(self, sender: bytes) -> bytes:
        return create_address(sender, self.nonce_of(sender))


def make_tx(
    caller: bytes,
    to: bytes | None,
    data: bytes = b"",
    *,
    value: int = 0,
    gas: int = 300_000,
    nonce: int,
    tx_type: int = 2,
    max_fee_per_gas: int = 0,
    max_priority_fee_per_gas: int = 0,
    access_list: Iterable[tuple[bytes, Iterable[bytes]]] = (),
    chain_id: int | None = CHAIN_ID,
) -> Any:
    """An engine ``TxInput`` (for types 0 and 1, ``max_fee_per_gas`` is the gas price)."""
    return TxInput(
        tx_type=tx_type,
        caller=Address(caller),
        to=None if to is None else Address(to),
        value=value,
        data=data,
        gas_limit=gas,
        max_fee_per_gas=max_fee_per_gas,
        max_priority_fee_per_gas=max_priority_fee_per_gas,
        nonce=nonce,
        access_list=tuple((a, tuple(keys)) for a, keys in access_list),
        chain_id=chain_id,
    )


def make_env(*, number: int = 42, base_fee: int = 0, gas_limit: int = 30_000_000) -> Any:
    return BlockEnv(
        number=number,
        timestamp=1_750_000_000 + number,
        coinbase=Address(COINBASE),
        gas_limit=gas_limit,
        base_fee=base_fee,
        prevrandao=bytes(keccak(b"prevrandao")),
        chain_id=CHAIN_ID,
        spec="cancun",
    )


def funded(*extra: tuple[bytes, tuple[int, int, bytes, dict[int, int]]]) -> Alloc:
    alloc: Alloc = {
        ALICE: (1_000 * ETHER, 0, b"", {}),
        BOB: (50 * ETHER, 7, b"", {}),
        CAROL: (ETHER // 1000, 0, b"", {}),
    }
    alloc.update(extra)
    return alloc


# ---- the engine's view: genesis plus its diffs ----------------------------------


class GenesisReader:
    """The engine's state reader over a genesis allocation (the ``StateReader`` protocol)."""

    def __init__(self, alloc: Mapping[bytes, tuple[int, int, bytes, Mapping[int, int]]]) -> None:
        self.alloc = alloc
        self.codes = {bytes(keccak(code)): code for _, _, code, _ in alloc.values()}

    def account(self, address: bytes) -> tuple[int, int, bytes] | None:
        if address not in self.alloc:
            return None
        balance, nonce, code, _ = self.alloc[address]
        return balance, nonce, bytes(keccak(code))

    def code(self, code_hash: bytes) -> bytes:
        return self.codes[code_hash]

    def storage(self, address: bytes, slot: int) -> int:
        entry = self.alloc.get(address)
        return entry[3].get(slot, 0) if entry else 0

    def block_hash(self, number: int) -> bytes:
        return default_block_hash(number)


def genesis_view(alloc: Alloc, address: bytes) -> PostAccount:
    if address not in alloc:
        return EMPTY_ACCOUNT
    balance, nonce, code, storage = alloc[address]
    return PostAccount(balance, nonce, code, {s: v for s, v in storage.items() if v})


Diff = tuple[list[Any], list[Any]]
"""An engine state diff: (account rows, storage rows)."""


def engine_post_state(alloc: Alloc, diffs: Iterable[Diff]) -> dict[bytes, PostAccount]:
    """Apply the engine's state diffs, in order, to the genesis, by the rule in its docs.

    A destroyed row deletes the account and its storage; then non-empty info is
    written; then storage rows apply (0 deletes). Code comes with the row that
    deployed it, else it is unchanged.
    """
    post: dict[bytes, PostAccount] = {}

    def current(address: bytes) -> PostAccount:
        return post.get(address) or genesis_view(alloc, address)

    for account_rows, storage_rows in diffs:
        for address, balance, nonce, code_hash, code, destroyed in account_rows:
            address = bytes(address)
            before = EMPTY_ACCOUNT if destroyed else current(address)
            if code is not None:
                new_code = bytes(code)
            elif bytes(code_hash) in (EMPTY_CODE_HASH, bytes(32)):
                new_code = b""
            else:
                new_code = before.code
                assert bytes(keccak(new_code)) == bytes(code_hash), "code changed without code"
            post[address] = PostAccount(balance, nonce, new_code, dict(before.storage))
        for address, slot, value in storage_rows:
            address = bytes(address)
            account = current(address)
            storage = dict(account.storage)
            if value:
                storage[slot] = value
            else:
                storage.pop(slot, None)
            post[address] = account._replace(storage=storage)
    return post


# ---- comparison ---------------------------------------------------------------


def normalized_logs(logs: Iterable[Any]) -> list[tuple[bytes, tuple[bytes, ...], bytes]]:
    return [(bytes(a), tuple(bytes(t) for t in topics), bytes(d)) for a, topics, d in logs]


def receipt_fields(outcome: Any) -> dict[str, Any]:
    """What must agree between engine and oracle for one transaction."""
    if not outcome.valid:
        return {"valid": False}
    created = outcome.created_address
    return {
        "valid": True,
        "success": bool(outcome.success),
        "gas_used": int(outcome.gas_used),
        "output": bytes(outcome.output),
        "created_address": None if created is None else bytes(created),
        "logs": normalized_logs(outcome.logs),
    }


def intent_of(outcome: OracleOutcome) -> str:
    if not outcome.valid:
        return INVALID
    return OK if outcome.success else REVERT


def run_both(block: Block) -> tuple[list[OracleOutcome], dict[bytes, PostAccount]]:
    """Run ``block`` on both executors; assert they agree; return the oracle's results."""
    oracle_outcomes, oracle_post = run_block_pyevm(block.env, block.txs, block.alloc)
    intended = [None if want is None else intent_of(o)
                for o, want in zip(oracle_outcomes, block.intents, strict=True)]
    assert intended == block.intents, [o.error for o in oracle_outcomes]

    engine_outcomes = run_transactions(block.env, block.txs, GenesisReader(block.alloc))
    assert len(engine_outcomes) == len(block.txs)
    for index, (ours, theirs) in enumerate(zip(engine_outcomes, oracle_outcomes, strict=True)):
        assert receipt_fields(ours) == receipt_fields(theirs), (
            f"transaction {index}: engine {ours!r} / oracle {theirs!r}"
        )

    per_tx = [(o.accounts, o.storage) for o in engine_outcomes]
    for how, diffs in (("per transaction", per_tx), ("merged", [merge_diffs(engine_outcomes)])):
        engine_post = engine_post_state(block.alloc, diffs)
        for address in sorted(set(engine_post) | set(oracle_post)):
            ours_ = engine_post.get(address) or genesis_view(block.alloc, address)
            theirs_ = oracle_post.get(address) or genesis_view(block.alloc, address)
            assert ours_ == theirs_, f"account 0x{address.hex()} differs ({how} diffs)"
    return oracle_outcomes, oracle_post


# ---- scenarios ------------------------------------------------------------------


def token_block() -> Block:
    """ERC-20 deploy, transfers, approve / transferFrom, and its reverts."""
    b = Block(make_env(), funded())
    token = b.next_create_address(ALICE)
    b.send(ALICE, None, TOKEN.deploy_data("Bay Token", "BAY", 10**24), gas=1_500_000)
    b.send(ALICE, token, TOKEN.call_data("transfer", BOB, 5_000))
    b.send(ALICE, token, TOKEN.call_data("transfer", DAVE, 1))  # to an address with no account
    b.send(BOB, token, TOKEN.call_data("approve", CAROL, 1_200))
    b.send(CAROL, token, TOKEN.call_data("transferFrom", BOB, DAVE, 1_000))
    b.send(CAROL, token, TOKEN.call_data("transferFrom", BOB, DAVE, 1_000), intent=REVERT)
    b.send(BOB, token, TOKEN.call_data("transfer", bytes(20), 1), intent=REVERT)
    b.send(BOB, token, TOKEN.call_data("transfer", ALICE, 10**30), intent=REVERT)
    b.send(BOB, token, TOKEN.call_data("approve", CAROL, 2**256 - 1))
    b.send(CAROL, token, TOKEN.call_data("transferFrom", BOB, CAROL, 3_000))
    b.send(BOB, token, TOKEN.call_data("balanceOf", DAVE))
    b.send(CAROL, token, TOKEN.call_data("allowance", BOB, CAROL))
    return b


def probe_block() -> Block:
    """Storage, events, reverts, value, CREATE/CREATE2, SELFDESTRUCT, precompiles, context."""
    b = Block(make_env(), funded())
    probe = b.next_create_address(ALICE)
    b.send(ALICE, None, PROBE.deploy_data(False), value=3 * ETHER, gas=3_000_000, mark="probe")
    b.send(BOB, probe, PROBE.call_data("set", 1, 111))
    b.send(BOB, probe, PROBE.call_data("set", 2, 222))
    b.send(CAROL, probe, PROBE.call_data("get", 1))
    b.send(BOB, probe, PROBE.call_data("clear", 2))  # refund (EIP-3529)
    b.send(BOB, probe, PROBE.call_data("set", 3, 0))  # a no-op write
    b.send(ALICE, probe, PROBE.call_data("failWithReason"), intent=REVERT, mark="reason")
    b.send(ALICE, probe, PROBE.call_data("failWithCustomError", 7), intent=REVERT, mark="custom")
    b.send(ALICE, probe, PROBE.call_data("tryFail", 9), mark="tryFail")
    b.send(BOB, probe, PROBE.call_data("deposit"), value=12345)
    b.send(ALICE, probe, PROBE.call_data("sendValue", DAVE, ETHER))  # creates DAVE
    b.send(ALICE, probe, PROBE.call_data("sendValue", DAVE, 10**30), intent=REVERT)
    # CREATE and CREATE2
    b.send(ALICE, probe, PROBE.call_data("spawn", 5), value=100, mark="spawn")
    salt = b"\x5a" * 32
    b.send(ALICE, probe, PROBE.call_data("spawn2", salt, 6), value=200, mark="spawn2")
    b.send(ALICE, probe, PROBE.call_data("spawn2", salt, 6), intent=REVERT)  # address taken
    # SELFDESTRUCT: in the creating transaction (deleted) and later (EIP-6780: balance only)
    b.send(BOB, probe, PROBE.call_data("spawnAndDestroy", 8), value=300, mark="spawnAndDestroy")
    child2 = create2_address(probe, salt, CHILD.deploy_data(6))
    b.send(CAROL, probe, PROBE.call_data("destroyChild", child2))
    b.send(BOB, None, PROBE.deploy_data(True), value=ETHER, gas=3_000_000, mark="dieAtBirth")
    b.send(ALICE, probe, PROBE.call_data("destroy"))
    b.send(BOB, probe, PROBE.call_data("get", 1), mark="getAfterDestroy")
    b.send(ALICE, probe, PROBE.call_data("set", 10, 1010))  # still runs after SELFDESTRUCT
    # precompiles
    digest = bytes(keccak(b"baychain"))
    v, r, s = PrivateKey(DEV_KEYS[2]).sign_msg_hash(digest).vrs
    b.send(ALICE, probe, PROBE.call_data(
        "recover", digest, v + 27, r.to_bytes(32, "big"), s.to_bytes(32, "big")), mark="recover")
    b.send(ALICE, probe, PROBE.call_data("recover", digest, 29, bytes(32), bytes(32)),
           mark="recoverBad")
    b.send(ALICE, probe, PROBE.call_data("hashes", b"hello, precompiles" * 5), mark="hashes")
    b.send(ALICE, probe, PROBE.call_data("modexp", 3, 2**200 + 1, 2**255 - 19), mark="modexp")
    # block context and transient storage
    b.send(ALICE, probe, PROBE.call_data("blockInfo"), mark="blockInfo")
    b.send(ALICE, probe, PROBE.call_data("recordBlock"))
    b.send(ALICE, probe, PROBE.call_data("transientRoundTrip", 77))
    b.send(ALICE, probe, PROBE.call_data("transientRoundTrip", 78), mark="transient")
    # out of gas inside execution: valid, failed, all gas charged
    b.send(BOB, probe, PROBE.call_data("set", 4, 4), gas=30_000, intent=REVERT, mark="oog")
    return b


def value_and_validity_block() -> Block:
    """Plain value transfers, fee payment with a zero base fee, and invalid transactions."""
    b = Block(make_env(gas_limit=5_000_000), funded())
    fresh = bytes.fromhex("00000000000000000000000000000000000f4e54")
    b.send(ALICE, fresh, value=ETHER, gas=21_000)  # to a new account
    b.send(ALICE, DAVE, value=0, gas=21_000)  # zero value to nothing: EIP-161 keeps it absent
    b.send(BOB, CAROL, value=2, gas=21_000, tx_type=0, max_fee_per_gas=3, chain_id=None)
    b.send(BOB, CAROL, value=3, gas=30_000, tx_type=0, max_fee_per_gas=5)  # EIP-155
    b.send(BOB, fresh, value=4, gas=40_000, tx_type=1, max_fee_per_gas=2,
           access_list=[(fresh, [bytes(32), (5).to_bytes(32, "big")]), (DAVE, [])])
    b.send(ALICE, CAROL, value=5, gas=21_000, max_fee_per_gas=9, max_priority_fee_per_gas=4)
    b.send(ALICE, bytes.fromhex("00" * 19 + "04"), value=6, gas=50_000)  # value to a precompile
    b.send(ALICE, bytes.fromhex("00" * 19 + "02"), b"abc", gas=50_000)  # call SHA-256 directly
    # invalid ones: none of these changes anything or uses block gas
    b.send(ALICE, CAROL, value=1, gas=21_000, nonce=0, intent=INVALID)  # nonce too low
    b.send(ALICE, CAROL, value=1, gas=21_000, nonce=99, intent=INVALID)  # nonce too high
    b.send(CAROL, ALICE, value=ETHER, gas=21_000, intent=INVALID)  # insufficient funds
    b.send(CAROL, ALICE, value=1, gas=21_000, max_fee_per_gas=10**14,
           intent=INVALID)  # cannot afford the gas
    b.send(ALICE, CAROL, value=1, gas=21_000, chain_id=1, intent=INVALID)  # wrong chain
    b.send(ALICE, CAROL, value=1, gas=20_999, intent=INVALID)  # intrinsic gas
    b.send(ALICE, CAROL, gas=21_000, max_fee_per_gas=1, max_priority_fee_per_gas=2,
           intent=INVALID)  # tip above fee cap
    b.send(ALICE, CAROL, gas=6_000_000, intent=INVALID)  # above the block gas limit
    b.send(ALICE, CAROL, gas=4_900_000, intent=INVALID)  # above the gas left in the block
    b.send(ALICE, None, b"\x00" * 49_153, gas=4_000_000, intent=INVALID)  # EIP-3860
    # still valid after the invalid ones
    b.send(ALICE, CAROL, value=7, gas=21_000)
    return b


def base_fee_block() -> Block:
    """EIP-1559 with a non-zero base fee: burn, tip to the coinbase, fee cap checks."""
    b = Block(make_env(base_fee=7), funded())
    b.send(ALICE, CAROL, value=1, gas=21_000, max_fee_per_gas=10, max_priority_fee_per_gas=2)
    b.send(ALICE, CAROL, value=1, gas=21_000, max_fee_per_gas=8, max_priority_fee_per_gas=5)
    b.send(BOB, CAROL, value=1, gas=21_000, tx_type=0, max_fee_per_gas=9)
    b.send(BOB, CAROL, value=1, gas=21_000, tx_type=0, max_fee_per_gas=6, intent=INVALID)
    b.send(ALICE, CAROL, value=1, gas=21_000, max_fee_per_gas=6, intent=INVALID)
    token = b.next_create_address(ALICE)
    b.send(ALICE, None, TOKEN.deploy_data("Fee", "FEE", 1_000), gas=1_500_000,
           max_fee_per_gas=20, max_priority_fee_per_gas=3)
    b.send(ALICE, token, TOKEN.call_data("transfer", BOB, 10), max_fee_per_gas=20,
           max_priority_fee_per_gas=3)
    return b


def genesis_contract_block() -> Block:
    """A contract that exists at genesis: its code and storage come through the state reader."""
    alloc = funded((GENESIS_PROBE, (ETHER, 1, PROBE.deployed_bytecode,
                                    {PROBE_COUNTER_SLOT: 10, probe_slot(5): 55})))
    b = Block(make_env(), alloc)
    b.send(ALICE, GENESIS_PROBE, PROBE.call_data("get", 5))
    b.send(ALICE, GENESIS_PROBE, PROBE.call_data("set", 5, 56))  # dirty an existing slot
    b.send(ALICE, GENESIS_PROBE, PROBE.call_data("set", 5, 55))  # and restore it (EIP-2200)
    b.send(ALICE, GENESIS_PROBE, PROBE.call_data("clear", 5))
    b.send(ALICE, GENESIS_PROBE, PROBE.call_data("spawn", 1))  # CREATE from nonce 1
    b.send(ALICE, GENESIS_PROBE, PROBE.call_data("destroy"))  # balance to ALICE, code stays
    b.send(ALICE, GENESIS_PROBE, PROBE.call_data("deposit"), value=9)
    b.send(BOB, GENESIS_PROBE, PROBE.call_data("counter"))
    return b

SCENARIOS: dict[str, Callable[[], Block]] = {
    "token": token_block,
    "probe": probe_block,
    "value_and_validity": value_and_validity_block,
    "base_fee": base_fee_block,
    "genesis_contract": genesis_contract_block,
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_engine_and_oracle_agree(name: str) -> None:
    run_both(SCENARIOS[name]())


# ---- random blocks: the two executors agree on any mix of these operations ----

RICH = (ALICE, BOB, CAROL)
RECIPIENTS = (ALICE, BOB, CAROL, DAVE, COINBASE, bytes.fromhex("00" * 19 + "09"),
              bytes.fromhex("00000000000000000000000000000000000a11ce"))

sender_st = st.sampled_from(RICH)
amount_st = st.one_of(st.integers(0, 10**6), st.just(10**30))
operation_st = st.one_of(
    st.tuples(st.just("value"), sender_st, st.sampled_from(RECIPIENTS), st.integers(0, ETHER)),
    st.tuples(st.just("token_transfer"), sender_st, st.sampled_from(RECIPIENTS), amount_st),
    st.tuples(st.just("token_approve"), sender_st, sender_st, amount_st),
    st.tuples(st.just("token_transfer_from"), sender_st, sender_st, amount_st),
    st.tuples(st.just("probe_set"), sender_st, st.integers(0, 3), st.integers(0, 2)),
    st.tuples(st.just("probe_spawn2"), sender_st, st.integers(0, 2), st.integers(0, 500)),
    st.tuples(st.just("probe_destroy"), sender_st, st.none(), st.none()),
    st.tuples(st.just("stale_nonce"), sender_st, st.none(), st.none()),
)


def random_block(operations: list[tuple[str, bytes, Any, Any]], gas_cut: list[bool]) -> Block:
    """Deploy Token and Probe, then run ``operations``; ``gas_cut`` starves some of gas."""
    alloc: Alloc = {address: (10**6 * ETHER, 0, b"", {}) for address in RICH}
    b = Block(make_env(number=300, base_fee=1), alloc)
    token, probe = b.next_create_address(ALICE), create_address(ALICE, 1)
    b.send(ALICE, None, TOKEN.deploy_data("T", "T", 10**9), gas=1_500_000, max_fee_per_gas=2)
    b.send(ALICE, None, PROBE.deploy_data(False), gas=3_000_000, max_fee_per_gas=2)
    b.send(ALICE, token, TOKEN.call_data("transfer", BOB, 10**8), max_fee_per_gas=2)
    for (kind, sender, a, c), starve in zip(operations, gas_cut, strict=False):
        gas = 40_000 if starve else 400_000
        if kind == "value":
            b.send(sender, a, value=c, gas=21_000 if starve else 60_000, max_fee_per_gas=3,
                   max_priority_fee_per_gas=1, intent=None)
        elif kind == "token_transfer":
            b.send(sender, token, TOKEN.call_data("transfer", a, c), gas=gas, intent=None,
                   max_fee_per_gas=1)
        elif kind == "token_approve":
            b.send(sender, token, TOKEN.call_data("approve", a, c), gas=gas, intent=None,
                   tx_type=0, max_fee_per_gas=2)
        elif kind == "token_transfer_from":
            b.send(sender, token, TOKEN.call_data("transferFrom", a, sender, c), gas=gas,
                   intent=None, tx_type=1, max_fee_per_gas=2,
                   access_list=[(token, [bytes(32)])])
        elif kind == "probe_set":
            b.send(sender, probe, PROBE.call_data("set", a, c), gas=gas, intent=None,
                   max_fee_per_gas=1)
        elif kind == "probe_spawn2":
            b.send(sender, probe, PROBE.call_data("spawn2", bytes([a]) * 32, c), value=c,
                   gas=gas * 2, intent=None, max_fee_per_gas=1)
        elif kind == "probe_destroy":
            b.send(sender, probe, PROBE.call_data("destroy"), gas=gas, intent=None,
                   max_fee_per_gas=1)
        else:  # replay the sender's last nonce (too low), or skip ahead (too high)
            used = b.nonce_of(sender)
            b.send(sender, CAROL, value=1, gas=21_000, nonce=used - 1 if used else 5,
                   intent=INVALID, max_fee_per_gas=1)
    return b


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    operations=st.lists(operation_st, min_size=1, max_size=12),
    gas_cut=st.lists(st.booleans(), max_size=12),
)
def test_engine_and_oracle_agree_on_random_blocks(
    operations: list[tuple[str, bytes, Any, Any]], gas_cut: list[bool]
) -> None:
    run_both(random_block(operations, gas_cut + [False] * len(operations)))


# ---- the scenarios test what they claim (checked on the oracle's results) -----


def test_probe_scenario_exercises_each_feature() -> None:
    block = probe_block()
    outcomes, post = run_both(block)
    at = {name: outcomes[index] for name, index in block.marks.items()}
    probe = at["probe"].created_address
    assert probe == create_address(ALICE, 0)
    assert at["reason"].output == revert_reason_data("Probe: refused with a reason")
    assert at["custom"].output == PROBE.error_data("Refused", ALICE, 7)
    assert PROBE.decode_output("tryFail", at["tryFail"].output) == (
        False, "Probe: refused with a reason")
    assert PROBE.decode_output("recover", at["recover"].output) == (dev_address(DEV_KEYS[2]),)
    assert PROBE.decode_output("recover", at["recoverBad"].output) == (bytes(20),)
    sha, ripemd, echoed = PROBE.decode_output("hashes", at["hashes"].output)
    assert sha == hashlib.sha256(b"hello, precompiles" * 5).digest()
    assert echoed == b"hello, precompiles" * 5 and len(ripemd) == 20
    assert PROBE.decode_output("modexp", at["modexp"].output) == (
        pow(3, 2**200 + 1, 2**255 - 19),)
    assert PROBE.decode_output("transientRoundTrip", at["transient"].output) == (0, 78)
    assert at["oog"].gas_used == 30_000 and at["oog"].output == b""
    # CREATE and CREATE2 put the children where the formulas say
    spawned = at["spawn"].logs[0].topics[1][12:]
    assert post[spawned].code == CHILD.deployed_bytecode and post[spawned].balance == 100
    child2 = create2_address(probe, b"\x5a" * 32, CHILD.deploy_data(6))
    assert at["spawn2"].logs[0].topics[1][12:] == child2
    # EIP-6780: the child made and destroyed in one transaction is gone ...
    assert post[at["spawnAndDestroy"].logs[0].topics[1][12:]] == EMPTY_ACCOUNT
    # ... as is the Probe that destroyed itself in its constructor ...
    born_dead = create_address(BOB, block.txs[block.marks["dieAtBirth"]].nonce)
    assert post[born_dead] == EMPTY_ACCOUNT
    # ... but contracts destroyed later keep code and storage, and hand over their balance
    assert post[probe].code == PROBE.deployed_bytecode and post[probe].balance == 0
    assert post[probe].storage[probe_slot(10)] == 1010
    assert PROBE.decode_output("get", at["getAfterDestroy"].output) == (111,)
    assert post[child2].code == CHILD.deployed_bytecode and post[child2].balance == 0


def test_block_context_reaches_the_evm() -> None:
    block = probe_block()
    outcomes, post = run_both(block)
    env = block.env
    info = PROBE.decode_output("blockInfo", outcomes[block.marks["blockInfo"]].output)
    assert info == (env.number, env.timestamp, CHAIN_ID, COINBASE,
                    default_block_hash(env.number - 1), 0,
                    int.from_bytes(env.prevrandao, "big"), env.gas_limit)
    recorded = post[create_address(ALICE, 0)].storage
    assert recorded[probe_slot(0xB0)] == env.number
    assert recorded[probe_slot(0xB3)] == int.from_bytes(COINBASE, "big")
    assert recorded[probe_slot(0xB4)] == int.from_bytes(default_block_hash(env.number - 1), "big")

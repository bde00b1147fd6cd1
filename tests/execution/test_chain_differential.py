"""Differential test of the node's commit path: a real ``Chain`` against the py-evm oracle.

``test_differential.py`` checks the Rust engine's per-transaction outcomes and
diffs against py-evm. This file checks what the node does with them: signed
transactions go through ``Chain.build_block`` (``execution.transition.execute_block``
turns outcomes into receipts and one merged ``WriteSet``), ``Chain.commit``
(``state.commitment.plan_state_update`` and ``apply_ops`` write the LMDB store and
move the LtHash), and a second ``Chain`` re-executes every committed block with
``Chain.validate_block``. After each block the test asserts:

- receipts (type, status, gas used, cumulative gas, logs, contract address, output)
  equal the oracle's outcomes, as built and as read back from the store, and the
  transactions the chain left out are exactly those the oracle calls invalid;
- every account the oracle reports reads back through ``chain.state()`` with the
  same balance, nonce, code and storage, and an account the oracle reports absent
  has no account record and no storage left;
- the whole committed state (prefix scans of the ``accounts``, ``storage`` and
  ``code`` tables) equals the oracle's world state, accumulated block by block;
- the stored LtHash equals one recomputed from scratch over the store, and the
  head's state root commits to it;
- the replica reaches the same block hash and byte-identical state tables.

The oracle runs each block from the world state left by the previous ones, in
the block environment ``Chain`` derives from the header: number = height,
timestamp = ``timestamp_ms // 1000``, coinbase = the proposer (the genesis
validator), PREVRANDAO = the parent hash, BLOCKHASH = the committed block hashes.

Scenarios: the single-block scenarios of ``test_differential.py`` (each as block 1
of its own chain, with a follow-up block reading BLOCKHASH of block 1), a
three-block "lifecycle" chain (base fee 0 and 7) built around a hand-assembled
CREATE2 factory, so that an address is destroyed in its creating transaction and
created again later in the same block, plus EIP-161 removal of empty genesis
accounts with storage (one of them then re-created by CREATE2 in the same block),
and random blocks drawn as in ``test_differential.py``. Each is also run with
"splitters" offered to the proposer: refused transactions to a system contract,
which cut the block's execution into several engine calls joined by the overlay
of the block's earlier writes (``execution.overlay``).

Simplifications: the oracle knows nothing of system contracts, so their genesis
accounts are carried along as plain accounts and no scenario calls them with
effect; pre-EIP-155 legacy transactions get the chain id (a chain refuses them).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from eth_hash.auto import keccak
from evm_fixtures import create2_address, load_artifact
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyevm_oracle import (
    DEV_KEYS,
    EMPTY_ACCOUNT,
    OracleEnv,
    OracleOutcome,
    PostAccount,
    dev_address,
    run_block_pyevm,
)
from test_differential import (
    ALICE,
    BOB,
    CAROL,
    CHAIN_ID,
    DAVE,
    ETHER,
    INVALID,
    REVERT,
    SCENARIOS,
    Alloc,
    Block,
    funded,
    intent_of,
    operation_st,
    probe_slot,
    random_block,
)

from baychain.crypto import get_suite
from baychain.errors import GenesisError, InvalidTransaction
from baychain.execution import transition as execution_block
from baychain.execution.transition import default_system_contracts
from baychain.ledger.receipt import Receipt, encode_receipt
from baychain.ledger.signing import UnsignedTransaction, sign_transaction
from baychain.ledger.transactions import Transaction
from baychain.node.chain import Chain
from baychain.node.genesis import Genesis, GenesisAccount, Validator, parse_genesis
from baychain.primitives import Address, Hash32
from baychain.state import chain_store, lthash
from baychain.state.account import EMPTY_CODE_HASH, decode_account
from baychain.state.commitment import account_element, state_root, storage_element

SUITE = get_suite("ecdsa")
KEY_OF = {dev_address(key): key for key in DEV_KEYS}
VALIDATOR_KEY = bytes(keccak(b"baychain chain-differential validator"))
VALIDATOR_PUBLIC_KEY = SUITE.public_key(VALIDATOR_KEY)
VALIDATOR = SUITE.address(VALIDATOR_PUBLIC_KEY)
"""The only validator, hence every block's proposer and the EVM's COINBASE."""

GENESIS_TIME_MS = 1_750_000_000_000
BLOCK_SPACING_MS = 1_500
MAP_SIZE_BYTES = 2**28
PROBE, TOKEN = load_artifact("Probe"), load_artifact("Token")


# ---- a hand-assembled CREATE2 factory ------------------------------------------

_OPCODES = {
    "STOP": 0x00, "ISZERO": 0x15, "CALLER": 0x33, "CALLVALUE": 0x34, "CALLDATALOAD": 0x35,
    "CODECOPY": 0x39, "POP": 0x50, "MSTORE": 0x52, "SSTORE": 0x55, "JUMPI": 0x57,
    "GAS": 0x5A, "JUMPDEST": 0x5B, "DUP6": 0x85, "LOG0": 0xA0, "CALL": 0xF1,
    "RETURN": 0xF3, "CREATE2": 0xF5, "SELFDESTRUCT": 0xFF,
}


def assemble(program: Sequence[str | int]) -> bytes:
    """EVM bytecode for ``program``.

    An int is pushed (PUSH1 or PUSH2), ``"name:"`` marks a label, ``"@name"`` pushes
    the label's offset (PUSH1), any other string is an opcode.
    """

    def size(item: str | int) -> int:
        if isinstance(item, int):
            return 2 if item < 256 else 3
        return 0 if item.endswith(":") else 2 if item.startswith("@") else 1

    labels, offset = {}, 0
    for item in program:
        if isinstance(item, str) and item.endswith(":"):
            labels[item[:-1]] = offset
        offset += size(item)
    code = bytearray()
    for item in program:
        if isinstance(item, int):
            code += bytes([0x60 if item < 256 else 0x61]) + item.to_bytes(size(item) - 1, "big")
        elif item.startswith("@"):
            code += bytes([0x60, labels[item[1:]]])
        elif not item.endswith(":"):
            code.append(_OPCODES[item])
    return bytes(code)


CHILD_RUNTIME = assemble(["CALLER", "SELFDESTRUCT"])
CHILD_INIT = assemble([
    "CALLVALUE", 0, "SSTORE",  # slot 0 = value received
    1, "CALLVALUE", "SSTORE",  # slot[value received] = 1
    int.from_bytes(CHILD_RUNTIME, "big"), 0, "MSTORE",
    len(CHILD_RUNTIME), 32 - len(CHILD_RUNTIME), "RETURN",
])
"""A child that stores what it was paid and, when called, self-destructs to its caller."""

FACTORY_CODE = assemble([
    len(CHILD_INIT), "@init", 0, "CODECOPY",
    0, "CALLDATALOAD", len(CHILD_INIT), 0, "CALLVALUE", "CREATE2",  # salt = calldata[0:32]
    32, "CALLDATALOAD", "ISZERO", "@keep", "JUMPI",  # flag = calldata[32:64]
    0, 0, 0, 0, 0, "DUP6", "GAS", "CALL", "POP",  # flag set: the child destroys itself now
    "keep:", "JUMPDEST",
    0, "MSTORE", 32, 0, "LOG0", 32, 0, "RETURN",  # log and return the child's address
    "init:",
]) + CHILD_INIT
"""``call(salt, flag)``: CREATE2 a child with the value sent; if ``flag``, call it at once.

A child created and destroyed in the same transaction is deleted (EIP-6780), so the
same salt can create it again afterwards; CREATE2 into a live child fails (returns 0).
"""

FACTORY = bytes.fromhex("000000000000000000000000000000000000fac7")
GHOST = bytes.fromhex("0000000000000000000000000000000000006405")
"""A genesis account that is empty (EIP-161) yet has storage: touching it removes both."""
HOLLOW = bytes.fromhex("00000000000000000000000000000000000000e0")
"""An empty genesis account without storage."""
FRESH = bytes.fromhex("000000000000000000000000000000000000f3e5")
SALT_A, SALT_B, SALT_C = b"\x11" * 32, b"\x22" * 32, b"\x33" * 32


def factory_call(salt: bytes, destroy: bool) -> bytes:
    return salt + int(destroy).to_bytes(32, "big")


def child_of(salt: bytes) -> bytes:
    return create2_address(FACTORY, salt, CHILD_INIT)


HAUNTED = child_of(SALT_C)
"""Like GHOST (empty, with storage at genesis), and the factory's CREATE2 address for SALT_C."""


# ---- the chain under test and the oracle's world --------------------------------


def make_genesis(alloc: Alloc, *, gas_limit: int, base_fee: int) -> Genesis:
    """An ``ecdsa`` genesis whose alloc is ``alloc``, checked to be a valid genesis.json."""
    genesis = Genesis(
        chain_id=CHAIN_ID,
        crypto="ecdsa",
        hardfork="cancun",
        block_gas_limit=gas_limit,
        base_fee_per_gas=base_fee,
        block_interval_ms=1_000,
        validators=(Validator("node0", VALIDATOR_PUBLIC_KEY, 1, VALIDATOR),),
        alloc=tuple(sorted(
            (Address(address), GenesisAccount(
                balance, nonce, code, tuple(sorted((s, v) for s, v in storage.items() if v))))
            for address, (balance, nonce, code, storage) in alloc.items()
        )),
        timestamp_ms=GENESIS_TIME_MS,
    )
    assert parse_genesis(genesis.to_json()) == genesis
    return genesis


def sign(tx: Any) -> Transaction:
    """The real signed transaction for an engine ``TxInput`` built by ``test_differential``."""
    price_only = tx.tx_type in (0, 1)  # one gas price, carried in max_fee_per_gas
    unsigned = UnsignedTransaction(
        tx_type=tx.tx_type,
        chain_id=tx.chain_id,
        nonce=tx.nonce,
        max_priority_fee_per_gas=tx.max_fee_per_gas if price_only else tx.max_priority_fee_per_gas,
        max_fee_per_gas=tx.max_fee_per_gas,
        gas_limit=tx.gas_limit,
        to=tx.to,
        value=tx.value,
        data=tx.data,
        access_list=tuple(
            (Address(bytes(a)), tuple(Hash32(bytes(k)) for k in keys)) for a, keys in tx.access_list
        ),
    )
    signed = sign_transaction(unsigned, KEY_OF[bytes(tx.caller)], SUITE)
    assert signed.sender == bytes(tx.caller)
    return signed


def signable(block: Block) -> Block:
    """``block`` with pre-EIP-155 legacy transactions given the chain id (a chain refuses them)."""
    block.txs = [tx if tx.chain_id is not None else replace(tx, chain_id=CHAIN_ID)
                 for tx in block.txs]
    return block


def as_post(entry: tuple[int, int, bytes, Any]) -> PostAccount:
    balance, nonce, code, storage = entry
    return PostAccount(balance, nonce, code, {s: v for s, v in storage.items() if v})


def committed_state(chain: Chain) -> dict[bytes, PostAccount]:
    """The whole committed world state, from prefix scans of the store's tables."""
    state: dict[bytes, PostAccount] = {}
    with chain.store.read() as reader:
        slots: dict[bytes, dict[int, int]] = {}
        for key, value in reader.prefix(b"storage", b""):
            assert len(key) == 52 and len(value) == 32 and any(value), key.hex()
            slots.setdefault(key[:20], {})[int.from_bytes(key[20:], "big")] = int.from_bytes(
                value, "big")
        for address, raw in reader.prefix(b"accounts", b""):
            account = decode_account(raw)
            code = b""
            if account.code_hash != EMPTY_CODE_HASH:
                stored = reader.get(b"code", account.code_hash)
                assert stored is not None, f"no code for 0x{address.hex()}"
                assert bytes(keccak(stored)) == account.code_hash
                code = stored
            state[address] = PostAccount(account.balance, account.nonce, code,
                                         slots.pop(address, {}))
    orphans = {"0x" + a.hex(): s for a, s in slots.items()}
    assert not orphans, f"storage left behind by accounts that no longer exist: {orphans}"
    return state


def store_tables(chain: Chain) -> dict[bytes, list[tuple[bytes, bytes]]]:
    with chain.store.read() as reader:
        return {t: list(reader.prefix(t, b"")) for t in (b"accounts", b"storage", b"code")}


def recompute_lthash(chain: Chain) -> int:
    """The LtHash of everything in the store, from scratch (as tests/state/test_commitment.py)."""
    total = 0
    with chain.store.read() as reader:
        for key, value in reader.prefix(b"accounts", b""):
            total = lthash.add(total, account_element(key, value))
        for key, value in reader.prefix(b"storage", b""):
            total = lthash.add(total, storage_element(key[:20], key[20:], value))
    return total


def check_reported_accounts(chain: Chain, post: dict[bytes, PostAccount]) -> None:
    """Every account the oracle reports reads back through ``chain.state()`` as it says."""
    with chain.state() as view, chain.store.read() as reader:
        for address, want in post.items():
            where = f"account 0x{address.hex()} at height {chain.height}"
            stored_slots = {int.from_bytes(k[20:], "big"): int.from_bytes(v, "big")
                            for k, v in reader.prefix(b"storage", address)}
            if want == EMPTY_ACCOUNT:
                assert view.get_account(Address(address)) is None, f"{where} should be absent"
                assert stored_slots == {}, f"{where} is absent but kept storage"
                continue
            found = view.account(address)
            assert found is not None, f"{where} is missing"
            balance, nonce, code_hash = found
            assert (balance, nonce) == (want.balance, want.nonce), where
            assert code_hash == bytes(keccak(want.code)), f"{where}: code hash"
            assert view.code(code_hash) == want.code or not want.code, f"{where}: code"
            assert stored_slots == want.storage, f"{where}: storage"
            for slot, value in want.storage.items():
                assert view.storage(address, slot) == value, f"{where}: slot {slot:#x}"


def check_receipts(
    receipts: Sequence[Receipt], txs: Sequence[Transaction], outcomes: Sequence[OracleOutcome]
) -> None:
    cumulative = 0
    assert len(receipts) == len(txs) == len(outcomes)
    for index, (receipt, tx, want) in enumerate(zip(receipts, txs, outcomes, strict=True)):
        cumulative += want.gas_used
        got = (receipt.tx_type, receipt.status, receipt.gas_used, receipt.cumulative_gas_used,
               [(log.address, log.topics, log.data) for log in receipt.logs],
               receipt.contract_address, receipt.output)
        expected = (tx.tx_type, int(want.success), want.gas_used, cumulative,
                    [(log.address, log.topics, log.data) for log in want.logs],
                    want.created_address, want.output)
        assert got == expected, f"receipt {index}: {receipt!r} / oracle {want!r}"
        # The engine wrote this receipt's encoding; a copy is encoded by the Python reference.
        reference = encode_receipt(replace(receipt))
        assert encode_receipt(receipt) == reference, f"receipt {index}: encoding"


@dataclass
class Run:
    """A chain, its replica and the oracle's world state, advanced block by block."""

    chain: Chain
    replica: Chain
    world: Alloc
    genesis: Genesis

    def env(self, timestamp_ms: int) -> OracleEnv:
        """The block environment ``Chain`` derives for its next block."""
        return OracleEnv(
            number=self.chain.height + 1,
            timestamp=timestamp_ms // 1000,
            coinbase=VALIDATOR,
            gas_limit=self.genesis.block_gas_limit,
            base_fee=self.genesis.base_fee_per_gas,
            prevrandao=self.chain.head_hash,
            chain_id=self.genesis.chain_id,
        )

    def step(
        self, block: Block, split_every: int = 0
    ) -> tuple[list[OracleOutcome], dict[bytes, PostAccount]]:
        """Build, commit and replay ``block``; check everything against the oracle.

        With ``split_every`` = k > 0 the proposer also gets a :func:`splitter` after
        every k transactions; the replica re-executes the block without them.
        """
        chain, height = self.chain, self.chain.height + 1
        timestamp_ms = GENESIS_TIME_MS + height * BLOCK_SPACING_MS + 250
        env = self.env(timestamp_ms)
        hashes = [chain.block_hash_at(n) for n in range(height)]
        outcomes, post = run_block_pyevm(env, block.txs, self.world,
                                         block_hash=lambda n: hashes[n])
        intended = [None if want is None else intent_of(o)
                    for o, want in zip(outcomes, block.intents, strict=True)]
        assert intended == block.intents, [o.error for o in outcomes]

        offered: list[Transaction] = []
        signed: dict[int, Transaction] = {}
        splitters = 0
        for index, (tx, outcome) in enumerate(zip(block.txs, outcomes, strict=True)):
            if split_every and index % split_every == 0 and index:
                offered.append(splitter(index, self.genesis.base_fee_per_gas))
                splitters += 1
            try:
                signed[index] = sign(tx)
            except InvalidTransaction:  # e.g. tip above fee cap: no node decodes it
                assert not outcome.valid
                continue
            offered.append(signed[index])
        engine = mock.patch.object(
            execution_block, "run_transactions", wraps=execution_block.run_transactions
        )
        with engine as engine_calls:
            proposed = chain.build_block(offered, timestamp_ms, VALIDATOR)
        assert engine_calls.call_count >= 1 + splitters  # each splitter ended an engine run
        header = proposed.block.header
        assert (header.height, header.timestamp_ms, header.proposer) == (
            height, timestamp_ms, VALIDATOR)

        valid = [o for o in outcomes if o.valid]
        valid_hashes = [signed[index].hash for index, o in enumerate(outcomes) if o.valid]
        assert [tx.hash for tx in proposed.block.transactions] == valid_hashes
        assert {tx.hash for tx, _ in proposed.rejected} == (
            {tx.hash for tx in offered} - set(valid_hashes))
        check_receipts(proposed.receipts, proposed.block.transactions, valid)
        assert header.gas_used == sum(o.gas_used for o in valid)

        chain.commit(proposed)
        assert chain.head_hash == proposed.block_hash and chain.height == height
        committed = chain.block_at(height)
        assert chain.block_hash_at(height) == proposed.block_hash
        check_receipts(chain.receipts_at(height), committed.transactions, valid)
        for index, tx in enumerate(committed.transactions):
            assert chain.transaction_location(tx.hash) == (height, index)

        replayed = self.replica.validate_block(committed)
        assert replayed.block_hash == proposed.block_hash
        assert replayed.receipts == proposed.receipts
        self.replica.commit(replayed)

        for address, account in post.items():
            if account == EMPTY_ACCOUNT:
                self.world.pop(address, None)
            else:
                self.world[address] = (account.balance, account.nonce, account.code,
                                       dict(account.storage))
        check_reported_accounts(chain, post)
        self.check_state()
        return outcomes, post

    def check_state(self) -> None:
        """The committed state is the oracle's world, its LtHash is right, the replica agrees."""
        state = committed_state(self.chain)
        expected = {address: as_post(entry) for address, entry in self.world.items()}
        for address in sorted(set(state) | set(expected)):
            assert state.get(address) == expected.get(address), (
                f"account 0x{address.hex()} at height {self.chain.height}")
        with self.chain.store.read() as reader:
            stored = chain_store.read_lthash(reader)
        assert stored == recompute_lthash(self.chain)
        assert state_root(stored, SUITE) == self.chain.head.state_root
        assert store_tables(self.replica) == store_tables(self.chain)
        assert self.replica.head_hash == self.chain.head_hash


def genesis_world(chain: Chain, alloc: Alloc) -> Alloc:
    """The oracle's world at genesis: ``alloc`` plus the accounts genesis adds beside it.

    Those extra accounts are the system contracts' (Python code at fixed addresses,
    which no scenario calls); the oracle just carries them along. Every ``alloc``
    entry must be committed exactly as given.
    """
    world: Alloc = {a: (b, n, c, dict(s)) for a, (b, n, c, s) in alloc.items()}
    for address, account in committed_state(chain).items():
        if address in alloc:
            assert account == as_post(alloc[address]), f"genesis account 0x{address.hex()}"
        else:
            world[address] = (account.balance, account.nonce, account.code, account.storage)
    return world


@contextmanager
def open_run(directory: Path, alloc: Alloc, *, gas_limit: int, base_fee: int) -> Iterator[Run]:
    """A chain and a replica in ``directory`` from one genesis; on exit, reopen the chain."""
    genesis = make_genesis(alloc, gas_limit=gas_limit, base_fee=base_fee)
    chain = Chain.open(directory / "chain", genesis, map_size=MAP_SIZE_BYTES)
    replica = Chain.open(directory / "replica", genesis, map_size=MAP_SIZE_BYTES)
    try:
        run = Run(chain, replica, genesis_world(chain, alloc), genesis)
        run.check_state()  # genesis itself
        yield run
        head_hash = chain.head_hash
    finally:
        chain.close()
        replica.close()
    reopened = Chain.open(directory / "chain", genesis, map_size=MAP_SIZE_BYTES)
    assert reopened.head_hash == head_hash  # and its consistency check on opening passed
    reopened.close()


SYSTEM_ADDRESS = next(iter(default_system_contracts())).address
STALE_NONCE = 2**40


def splitter(index: int, base_fee: int) -> Transaction:
    """A transaction to a system contract that the chain must refuse (its nonce is far ahead).

    It changes nothing, so the oracle never sees it, but ``execute_block`` runs
    system transactions in Python between engine calls: each splitter ends one engine
    run, and the next run reads the block's earlier writes through the overlay.
    """
    unsigned = UnsignedTransaction(
        tx_type=2, chain_id=CHAIN_ID, nonce=STALE_NONCE + index, max_priority_fee_per_gas=2,
        max_fee_per_gas=base_fee + 3, gas_limit=60_000, to=Address(SYSTEM_ADDRESS), value=0,
    )
    return sign_transaction(unsigned, KEY_OF[ALICE], SUITE)


def fees(base_fee: int) -> dict[str, int]:
    """EIP-1559 fees that pay the proposer a tip of 2 at any base fee."""
    return {"max_fee_per_gas": base_fee + 3, "max_priority_fee_per_gas": 2}


# ---- the scenarios of test_differential.py, then a block reading BLOCKHASH --------


def follow_up(world: Alloc, base_fee: int) -> tuple[Block, bytes]:
    """Deploy a Probe, record and report the block context, move value."""
    b = Block(None, world)
    probe = b.next_create_address(ALICE)
    b.send(ALICE, None, PROBE.deploy_data(False), gas=3_000_000, **fees(base_fee))
    b.send(ALICE, probe, PROBE.call_data("recordBlock"), **fees(base_fee))
    b.send(ALICE, probe, PROBE.call_data("blockInfo"), mark="blockInfo", **fees(base_fee))
    b.send(BOB, ALICE, value=3, gas=21_000, **fees(base_fee))
    b.send(ALICE, FRESH, value=4, gas=21_000, **fees(base_fee))
    return b, probe


def check_block_info(run: Run, block: Block, outcomes: list[OracleOutcome],
                     recorded: PostAccount) -> None:
    """The EVM saw the environment the brief prescribes, taken from the committed header.

    ``recorded`` is the Probe after its ``recordBlock`` in this block.
    """
    head = run.chain.head
    parent_hash = run.chain.block_hash_at(head.height - 1)
    info = PROBE.decode_output("blockInfo", outcomes[block.marks["blockInfo"]].output)
    assert info == (head.height, head.timestamp_ms // 1000, CHAIN_ID, VALIDATOR, parent_hash,
                    head.base_fee_per_gas, int.from_bytes(head.parent_hash, "big"),
                    head.gas_limit)
    assert recorded.storage[probe_slot(0xB4)] == int.from_bytes(parent_hash, "big")


@pytest.mark.parametrize("split_every", [0, 3], ids=["one_engine_run", "split_runs"])
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_chain_commits_what_the_oracle_computes(
    name: str, split_every: int, tmp_path: Path
) -> None:
    scenario = signable(SCENARIOS[name]())
    env = scenario.env
    with open_run(tmp_path, scenario.alloc, gas_limit=env.gas_limit,
                  base_fee=env.base_fee) as run:
        run.step(scenario, split_every)
        block, probe = follow_up(run.world, env.base_fee)
        outcomes, post = run.step(block, split_every)
        check_block_info(run, block, outcomes, post[probe])


# ---- a lifecycle over three blocks ----------------------------------------------


def lifecycle_alloc() -> Alloc:
    return funded(
        (FACTORY, (0, 1, FACTORY_CODE, {})),
        (GHOST, (0, 0, b"", {1: 7, 2: 8})),
        (HOLLOW, (0, 0, b"", {})),
        (HAUNTED, (0, 0, b"", {0: 55, 9: 99})),
    )


def lifecycle_block_1(world: Alloc, base_fee: int) -> tuple[Block, bytes]:
    """Destroy-at-birth then re-create one address; storage set then cleared; new accounts."""
    fee = fees(base_fee)
    b = Block(None, world)
    x = child_of(SALT_A)
    b.send(ALICE, x, value=1, gas=21_000, **fee)  # x starts as a balance-only account
    b.send(ALICE, FACTORY, factory_call(SALT_A, True), value=5, **fee)  # born and destroyed
    b.send(BOB, FACTORY, factory_call(SALT_A, False), value=7, **fee)  # born again, same address
    probe = b.next_create_address(ALICE)
    b.send(ALICE, None, PROBE.deploy_data(False), value=2, gas=3_000_000, **fee)
    for key, value in ((1, 11), (2, 22), (3, 33)):
        b.send(BOB, probe, PROBE.call_data("set", key, value), **fee)
    b.send(CAROL, probe, PROBE.call_data("clear", 3), **fee)  # set then cleared, one block
    b.send(ALICE, FRESH, value=ETHER, gas=21_000, **fee)  # value to a new account
    b.send(ALICE, probe, PROBE.call_data("recordBlock"), **fee)
    b.send(ALICE, CAROL, value=1, gas=21_000, nonce=99, intent=INVALID, **fee)
    b.send(BOB, probe, PROBE.call_data("failWithReason"), intent=REVERT, **fee)
    return b, probe


def lifecycle_block_2(world: Alloc, base_fee: int, probe: bytes) -> Block:
    """Clear a slot set in the previous block, destroy later, CREATE2 collision, EIP-161.

    HAUNTED is removed (EIP-161) with its storage, then created by CREATE2 in the same
    block: its constructor's SSTORE to slot 0 costs what it costs on a zero slot only if
    the removal's storage wipe is visible to later transactions.
    """
    fee = fees(base_fee)
    b = Block(None, world)
    b.send(ALICE, HAUNTED, gas=21_000, **fee)  # touched and empty: removed with its storage
    b.send(BOB, probe, PROBE.call_data("clear", 1), **fee)  # set in block 1, cleared now
    b.send(BOB, probe, PROBE.call_data("set", 2, 23), **fee)
    b.send(CAROL, child_of(SALT_A), **fee)  # destroyed later: only its balance moves
    b.send(ALICE, FACTORY, factory_call(SALT_A, False), **fee)  # collision: CREATE2 gives 0
    b.send(ALICE, GHOST, gas=21_000, **fee)  # touched and empty: removed with its storage
    b.send(ALICE, HOLLOW, gas=21_000, **fee)
    b.send(ALICE, probe, PROBE.call_data("spawnAndDestroy", 3), value=10, **fee)
    b.send(ALICE, probe, PROBE.call_data("recordBlock"), **fee)
    b.send(BOB, FACTORY, factory_call(SALT_C, False), value=6, **fee)  # HAUNTED, created afresh
    return b


def lifecycle_block_3(world: Alloc, base_fee: int, probe: bytes) -> Block:
    """Destroy at birth then revive as a plain account; Probe destroyed later; logs."""
    fee = fees(base_fee)
    b = Block(None, world)
    b.send(ALICE, FACTORY, factory_call(SALT_B, True), value=3, **fee)
    b.send(BOB, child_of(SALT_B), value=2, gas=21_000, **fee)  # same address, now an EOA
    b.send(ALICE, probe, PROBE.call_data("destroy"), **fee)
    b.send(BOB, probe, PROBE.call_data("set", 4, 44), **fee)  # still runs after SELFDESTRUCT
    b.send(ALICE, probe, PROBE.call_data("blockInfo"), mark="blockInfo", **fee)
    b.send(ALICE, probe, PROBE.call_data("recordBlock"), **fee)  # BLOCKHASH of block 2
    b.send(BOB, None, PROBE.deploy_data(True), value=1, gas=3_000_000, **fee)  # dies at birth
    token = b.next_create_address(BOB)
    b.send(BOB, None, TOKEN.deploy_data("Lifecycle", "LC", 1_000), gas=1_500_000, **fee)
    b.send(BOB, token, TOKEN.call_data("transfer", DAVE, 10), **fee)
    b.send(BOB, token, TOKEN.call_data("transfer", DAVE, 10**9), intent=REVERT, **fee)
    return b


@pytest.mark.parametrize("split_every", [0, 1, 2], ids=["one_run", "split_1", "split_2"])
@pytest.mark.parametrize("base_fee", [0, 7])
def test_lifecycle_across_blocks(base_fee: int, split_every: int, tmp_path: Path) -> None:
    with open_run(tmp_path, lifecycle_alloc(), gas_limit=30_000_000, base_fee=base_fee) as run:
        block, probe = lifecycle_block_1(run.world, base_fee)
        outcomes, post = run.step(block, split_every)
        x = child_of(SALT_A)
        assert post[x] == PostAccount(7, 1, CHILD_RUNTIME, {0: 7, 7: 1}), post[x]
        slots = post[probe].storage
        assert (slots[probe_slot(1)], slots[probe_slot(2)], slots[0]) == (11, 22, 3)
        assert probe_slot(3) not in slots  # set then cleared within the block

        outcomes, post = run.step(lifecycle_block_2(run.world, base_fee, probe), split_every)
        assert post[GHOST] == EMPTY_ACCOUNT and post[HOLLOW] == EMPTY_ACCOUNT
        assert post[HAUNTED] == PostAccount(6, 1, CHILD_RUNTIME, {0: 6, 6: 1})
        assert post[x] == PostAccount(0, 1, CHILD_RUNTIME, {0: 7, 7: 1})
        assert outcomes[4].logs[0].data == bytes(32)  # the colliding CREATE2 returned 0

        block = lifecycle_block_3(run.world, base_fee, probe)
        outcomes, post = run.step(block, split_every)
        assert post[child_of(SALT_B)] == PostAccount(2, 0, b"", {})
        assert post[probe].code == PROBE.deployed_bytecode and post[probe].balance == 0
        check_block_info(run, block, outcomes, post[probe])
        if base_fee:
            assert run.world[VALIDATOR][0] > 0  # tips reached the proposer


# ---- random blocks ----------------------------------------------------------------


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    operations=st.lists(operation_st, min_size=1, max_size=10),
    gas_cut=st.lists(st.booleans(), max_size=10),
    split_every=st.sampled_from([0, 1, 4]),
)
def test_chain_commits_random_blocks(
    operations: list[tuple[str, bytes, Any, Any]], gas_cut: list[bool], split_every: int
) -> None:
    block = random_block(operations, gas_cut + [False] * len(operations))
    with tempfile.TemporaryDirectory() as directory, open_run(
        Path(directory), block.alloc, gas_limit=block.env.gas_limit, base_fee=block.env.base_fee
    ) as run:
        run.step(block, split_every)


# ---- a contract created over genesis storage must not inherit it --------------------


def test_a_created_contract_never_inherits_storage(tmp_path: Path) -> None:
    """CREATE2 into HAUNTED while it still has its genesis storage.

    Acceptable outcomes: the creation wipes the old storage (py-evm 0.12, the Cancun
    ``process_create_message``), the creation collides (EIP-7610: storage counts as an
    occupied address), or genesis refuses storage on an account without code or nonce.
    Keeping slot 9 under the new code is none of them.
    """
    alloc = funded((FACTORY, (0, 1, FACTORY_CODE, {})), (HAUNTED, (0, 0, b"", {0: 55, 9: 99})))
    try:
        with open_run(tmp_path, alloc, gas_limit=30_000_000, base_fee=0) as run:
            b = Block(None, run.world)
            b.send(ALICE, FACTORY, factory_call(SALT_C, False), value=4)
            timestamp_ms = GENESIS_TIME_MS + BLOCK_SPACING_MS
            _, oracle_post = run_block_pyevm(
                run.env(timestamp_ms), b.txs, run.world,
                block_hash=lambda n: run.chain.block_hash_at(n))
            proposed = run.chain.build_block([sign(tx) for tx in b.txs], timestamp_ms, VALIDATOR)
            run.chain.commit(proposed)
            found = committed_state(run.chain).get(HAUNTED)
    except GenesisError:
        return  # refusing such an allocation also fixes it
    wiped = oracle_post[HAUNTED]
    assert wiped == PostAccount(4, 1, CHILD_RUNTIME, {0: 4, 4: 1})
    collided = PostAccount(0, 0, b"", {0: 55, 9: 99})
    assert found in (wiped, collided), found

"""Tests of the transaction pool: admission rules, per-sender ordering, packing and commits.

Two kinds of transactions are used. Signed ones (both suites) go through
``add_raw`` and exercise every rejection with real decoding. Hand-built
``Transaction`` values with fake hashes and senders go through ``add`` (which
trusts its caller's decoding) to drive the pool's bookkeeping quickly: ordering,
bounds, commits, the property tests and the timing tests.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from baychain.codec import rlp
from baychain.crypto import dev_private_keys, get_suite
from baychain.crypto.ecdsa import SECP256K1_N
from baychain.crypto.suite import CryptoSuite
from baychain.errors import (
    AlreadyKnown,
    ConfigError,
    DecodingError,
    FeeTooLow,
    GasLimitExceeded,
    InsufficientFunds,
    IntrinsicGasTooLow,
    InvalidSignature,
    InvalidTransactionSignature,
    MalformedTransaction,
    NonceTooHigh,
    NonceTooLow,
    PoolBytesFull,
    PoolFull,
    ReplacementUnderpriced,
    SenderPoolFull,
    TransactionRejected,
    TransactionTooLarge,
    UnsupportedTransactionType,
    WrongChainId,
)
from baychain.ledger.signing import UnsignedTransaction, sign_transaction
from baychain.ledger.transactions import DYNAMIC_FEE_TX_TYPE, SM2_TX_TYPE, Transaction
from baychain.node.pool.mempool import MIN_TX_GAS, Mempool, MempoolConfig, transaction_cost
from baychain.primitives import Address, Hash32

CHAIN_ID = 1337
BLOCK_GAS = 30_000_000
RICH = 10**30


class Accounts:
    """An in-memory :class:`~baychain.node.pool.mempool.AccountReader`."""

    def __init__(self) -> None:
        self.nonces: dict[Address, int] = {}
        self.balances: dict[Address, int] = {}

    def nonce(self, address: Address) -> int:
        return self.nonces.get(address, 0)

    def balance(self, address: Address) -> int:
        return self.balances.get(address, 0)

    def fund(self, *addresses: Address, amount: int = RICH) -> Accounts:
        for address in addresses:
            self.balances[address] = amount
        return self

    def apply(self, block: list[Transaction]) -> None:
        """Execute ``block`` crudely: bump nonces, charge each transaction its full cost."""
        for tx in block:
            assert self.nonces.get(tx.sender, 0) == tx.nonce
            self.nonces[tx.sender] = tx.nonce + 1
            self.balances[tx.sender] -= transaction_cost(tx)


def addr(i: int) -> Address:
    return Address((0x1000 + i).to_bytes(20, "big"))


def fake_tx(
    sender: Address,
    nonce: int,
    *,
    gas: int = 21_000,
    fee: int = 10,
    tip: int | None = None,
    value: int = 0,
    size: int = 100,
    salt: int = 0,
) -> Transaction:
    """A Transaction as decoding would build it, with a made-up hash and raw encoding."""
    tip = fee if tip is None else tip
    seed = hashlib.sha256(repr((sender, nonce, gas, fee, tip, value, salt)).encode()).digest()
    raw = (seed * (size // 32 + 1))[:size]
    return Transaction(
        tx_type=DYNAMIC_FEE_TX_TYPE,
        chain_id=CHAIN_ID,
        nonce=nonce,
        max_priority_fee_per_gas=tip,
        max_fee_per_gas=fee,
        gas_limit=gas,
        to=addr(0xDEAD),
        value=value,
        data=b"",
        access_list=(),
        v=0,
        r=1,
        s=1,
        public_key=b"\x00" * 64,
        sender=sender,
        hash=Hash32(hashlib.sha256(raw).digest()),
        raw=raw,
    )


ECDSA = get_suite("ecdsa")


def make_pool(
    config: MempoolConfig | None = None,
    *,
    suite: CryptoSuite = ECDSA,
    base_fee: int = 0,
    block_gas: int = BLOCK_GAS,
) -> Mempool:
    return Mempool(config or MempoolConfig(), CHAIN_ID, suite, block_gas, base_fee)


def hashes(txs: list[Transaction]) -> list[Hash32]:
    return [tx.hash for tx in txs]


A, B, C = addr(1), addr(2), addr(3)


# -- real signed transactions, both suites --------------------------------------------

SUITES = ["ecdsa", "sm"]
BASE_FEE = 5
SMALL_BLOCK_GAS = 1_000_000
TO = addr(0xBEEF)


@cache
def keys(suite_name: str) -> list[bytes]:
    return dev_private_keys(suite_name, 3)


def sender_of(suite_name: str, index: int) -> Address:
    suite = get_suite(suite_name)
    return suite.address(suite.public_key(keys(suite_name)[index]))


def signed(
    suite_name: str,
    nonce: int,
    *,
    key: int = 0,
    gas: int = 21_000,
    fee: int = 10,
    tip: int = 1,
    value: int = 0,
    data: bytes = b"",
    chain_id: int = CHAIN_ID,
) -> Transaction:
    """A transaction of the suite's native type, signed with dev key ``key``."""
    tx_type = SM2_TX_TYPE if suite_name == "sm" else DYNAMIC_FEE_TX_TYPE
    unsigned = UnsignedTransaction(tx_type, chain_id, nonce, tip, fee, gas, TO, value, data)
    return sign_transaction(unsigned, keys(suite_name)[key], get_suite(suite_name))


def break_signature(tx: Transaction, suite_name: str) -> bytes:
    """``tx.raw`` with a signature that cannot be valid.

    SM2: flip a bit of ``s`` (the envelope's last byte), so verification fails.
    secp256k1: replace ``s`` by ``n - s``, the high-s twin EIP-2 forbids (flipping a
    bit would merely recover some other signer).
    """
    if suite_name == "sm":
        return tx.raw[:-1] + bytes((tx.raw[-1] ^ 1,))
    fields = cast(list[bytes], rlp.decode(tx.raw[1:]))
    fields[-1] = rlp.encode_uint(SECP256K1_N - tx.s)
    return tx.raw[:1] + rlp.encode(list(fields))


def signed_setup(
    suite_name: str, config: MempoolConfig | None = None
) -> tuple[Mempool, Accounts, Address]:
    """A pool for ``suite_name`` with base fee 5 and a 1M gas block, and a funded dev sender."""
    pool = make_pool(
        config, suite=get_suite(suite_name), base_fee=BASE_FEE, block_gas=SMALL_BLOCK_GAS
    )
    sender = sender_of(suite_name, 0)
    return pool, Accounts().fund(sender, sender_of(suite_name, 1)), sender


@pytest.mark.parametrize("suite_name", SUITES)
def test_signed_transactions_are_accepted_and_selected(suite_name: str) -> None:
    pool, accounts, sender = signed_setup(suite_name)
    txs = [signed(suite_name, 0), signed(suite_name, 0, key=1), signed(suite_name, 1)]
    for tx in txs:
        added = pool.add_raw(tx.raw, accounts)
        assert added == tx
    assert txs[0].sender == sender and txs[1].sender == sender_of(suite_name, 1)
    assert txs[0].hash in pool and pool.get(txs[0].hash) == txs[0]
    assert pool.byte_size == sum(len(tx.raw) for tx in txs)
    assert pool.select_for_block(SMALL_BLOCK_GAS) == txs
    assert pool.pending_nonce(sender, accounts) == 2


@pytest.mark.parametrize("suite_name", SUITES)
def test_a_broken_signature_is_refused(suite_name: str) -> None:
    pool, accounts, _ = signed_setup(suite_name)
    with pytest.raises(InvalidSignature) as caught:
        pool.add_raw(break_signature(signed(suite_name, 0), suite_name), accounts)
    assert isinstance(caught.value, InvalidTransactionSignature)
    assert len(pool) == 0


@pytest.mark.parametrize("suite_name", SUITES)
def test_decoding_failures_are_refused(suite_name: str) -> None:
    pool, accounts, _ = signed_setup(suite_name)
    tx = signed(suite_name, 0)
    with pytest.raises(DecodingError):
        pool.add_raw(tx.raw[:-1], accounts)
    with pytest.raises(MalformedTransaction):
        pool.add_raw(b"", accounts)
    with pytest.raises(WrongChainId) as wrong:
        pool.add_raw(signed(suite_name, 0, chain_id=CHAIN_ID + 1).raw, accounts)
    assert (wrong.value.expected, wrong.value.got) == (CHAIN_ID, CHAIN_ID + 1)
    other = "sm" if suite_name == "ecdsa" else "ecdsa"
    with pytest.raises(UnsupportedTransactionType):
        pool.add_raw(signed(other, 0).raw, accounts)
    assert len(pool) == 0


@pytest.mark.parametrize("suite_name", SUITES)
def test_size_is_checked_before_decoding(suite_name: str) -> None:
    pool, accounts, _ = signed_setup(suite_name, MempoolConfig(max_tx_bytes=300))
    big = signed(suite_name, 0, gas=100_000, data=b"\x01" * 300)
    with pytest.raises(TransactionTooLarge) as caught:
        pool.add_raw(big.raw, accounts)
    assert (caught.value.size, caught.value.limit) == (len(big.raw), 300)
    with pytest.raises(TransactionTooLarge):  # garbage is not even decoded
        pool.add_raw(b"\x80" * 301, accounts)
    with pytest.raises(TransactionTooLarge):
        pool.add(big, accounts)
    with pytest.raises(MalformedTransaction):
        pool.add_raw(b"\x80" * 300, accounts)
    small = signed(suite_name, 0, gas=100_000, data=b"\x01" * 10)
    assert pool.add_raw(small.raw, accounts) == small


@pytest.mark.parametrize("suite_name", SUITES)
def test_stateless_rules_on_signed_transactions(suite_name: str) -> None:
    pool, accounts, _ = signed_setup(suite_name)
    with pytest.raises(IntrinsicGasTooLow) as low:
        pool.add_raw(signed(suite_name, 0, data=b"\x01\x00").raw, accounts)
    assert (low.value.required, low.value.got) == (21_000 + 16 + 4, 21_000)
    with pytest.raises(GasLimitExceeded) as over:
        pool.add_raw(signed(suite_name, 0, gas=SMALL_BLOCK_GAS + 1).raw, accounts)
    assert (over.value.gas_limit, over.value.block_gas_limit) == (
        SMALL_BLOCK_GAS + 1,
        SMALL_BLOCK_GAS,
    )
    with pytest.raises(FeeTooLow) as cheap:
        pool.add_raw(signed(suite_name, 0, fee=BASE_FEE - 1, tip=0).raw, accounts)
    assert (cheap.value.required, cheap.value.got) == (BASE_FEE, BASE_FEE - 1)
    assert len(pool) == 0
    pool.add_raw(signed(suite_name, 0, gas=SMALL_BLOCK_GAS, fee=BASE_FEE, tip=0).raw, accounts)
    assert len(pool) == 1


@pytest.mark.parametrize("suite_name", SUITES)
def test_stateful_rules_on_signed_transactions(suite_name: str) -> None:
    pool, accounts, sender = signed_setup(suite_name, MempoolConfig(max_nonce_gap=4))
    accounts.nonces[sender] = 3
    first = signed(suite_name, 3)
    pool.add_raw(first.raw, accounts)
    with pytest.raises(AlreadyKnown) as known:
        pool.add_raw(first.raw, accounts)
    assert known.value.tx_hash == first.hash
    with pytest.raises(NonceTooLow) as low:
        pool.add_raw(signed(suite_name, 2).raw, accounts)
    assert (low.value.expected, low.value.got) == (3, 2)
    with pytest.raises(NonceTooHigh) as high:
        pool.add_raw(signed(suite_name, 9).raw, accounts)
    assert (high.value.expected, high.value.got, high.value.max_gap) == (4, 9, 4)
    pool.add_raw(signed(suite_name, 8).raw, accounts)  # queued, 4 past the pending nonce
    assert (pool.pending_count, pool.queued_count) == (1, 1)


@pytest.mark.parametrize("suite_name", SUITES)
def test_funds_and_replacement_with_signed_transactions(suite_name: str) -> None:
    pool, accounts, sender = signed_setup(suite_name)
    accounts.balances[sender] = 3 * 21_000 * 10 + 99
    pool.add_raw(signed(suite_name, 0).raw, accounts)
    pool.add_raw(signed(suite_name, 1).raw, accounts)
    with pytest.raises(InsufficientFunds) as poor:
        pool.add_raw(signed(suite_name, 2, value=100).raw, accounts)
    assert (poor.value.required, poor.value.balance) == (3 * 210_000 + 100, 3 * 210_000 + 99)
    with pytest.raises(ReplacementUnderpriced):
        pool.add_raw(signed(suite_name, 1, value=1).raw, accounts)  # a new hash, same fees
    with pytest.raises(ReplacementUnderpriced):
        pool.add_raw(signed(suite_name, 1, fee=11, tip=1).raw, accounts)  # tip not bumped
    better = signed(suite_name, 1, fee=11, tip=2)
    pool.add_raw(better.raw, accounts)
    assert [tx.hash for tx in pool.select_for_block(SMALL_BLOCK_GAS)][1] == better.hash
    assert len(pool) == 2


@pytest.mark.parametrize("suite_name", SUITES)
def test_bounds_with_signed_transactions(suite_name: str) -> None:
    config = MempoolConfig(max_pool_txs=3, max_per_sender=2)
    pool, accounts, _ = signed_setup(suite_name, config)
    pool.add_raw(signed(suite_name, 0).raw, accounts)
    pool.add_raw(signed(suite_name, 1).raw, accounts)
    with pytest.raises(SenderPoolFull):
        pool.add_raw(signed(suite_name, 2).raw, accounts)
    pool.add_raw(signed(suite_name, 0, key=1).raw, accounts)
    with pytest.raises(PoolFull) as full:
        pool.add_raw(signed(suite_name, 1, key=1).raw, accounts)
    assert full.value.limit == 3
    size = signed(suite_name, 0).raw
    bytes_pool, accounts, _ = signed_setup(suite_name, MempoolConfig(max_pool_bytes=len(size)))
    bytes_pool.add_raw(size, accounts)
    with pytest.raises(PoolBytesFull):
        bytes_pool.add_raw(signed(suite_name, 0, key=1).raw, accounts)


@pytest.mark.parametrize(
    ("build", "error"),
    [
        # each transaction breaks two rules; the one checked first wins
        (lambda: b"\xff" * 2_000, TransactionTooLarge),
        (lambda: signed("ecdsa", 0, chain_id=9, data=b"\x01").raw, WrongChainId),
        (lambda: signed("ecdsa", 0, data=b"\x01", fee=1).raw, IntrinsicGasTooLow),
        (lambda: signed("ecdsa", 0, gas=SMALL_BLOCK_GAS + 1, fee=1, tip=0).raw, GasLimitExceeded),
        (lambda: signed("ecdsa", 0, fee=1, tip=0, value=10**40).raw, FeeTooLow),
        (lambda: signed("ecdsa", 4).raw, NonceTooLow),  # and known: see below
        (lambda: signed("ecdsa", 2, value=10**40).raw, NonceTooLow),
        (lambda: signed("ecdsa", 1_000, value=10**40).raw, NonceTooHigh),
        (lambda: signed("ecdsa", 5, value=10**40).raw, InsufficientFunds),
        (lambda: signed("ecdsa", 5, key=1, value=1).raw, ReplacementUnderpriced),
    ],
)
def test_check_order(build: Callable[[], bytes], error: type[Exception]) -> None:
    pool, accounts, sender = signed_setup(
        "ecdsa", MempoolConfig(max_tx_bytes=1_000, max_pool_txs=2)
    )
    other = sender_of("ecdsa", 1)
    accounts.nonces[sender] = 5
    accounts.nonces[other] = 5
    pool.add_raw(signed("ecdsa", 5).raw, accounts)
    pool.add_raw(signed("ecdsa", 5, key=1).raw, accounts)  # the pool is now full
    with pytest.raises(error):
        pool.add_raw(build(), accounts)


def test_a_known_transaction_is_already_known_before_its_nonce_is_checked() -> None:
    pool, accounts, sender = signed_setup("ecdsa")
    tx = signed("ecdsa", 0)
    pool.add_raw(tx.raw, accounts)
    accounts.nonces[sender] = 1  # committed, but the pool was not told
    with pytest.raises(AlreadyKnown):
        pool.add_raw(tx.raw, accounts)


# -- configuration ---------------------------------------------------------------


def test_config_defaults() -> None:
    config = MempoolConfig()
    assert config.max_tx_bytes == 128 * 1024
    assert config.max_pool_txs == 50_000
    assert config.max_pool_bytes == 64 * 1024 * 1024
    assert config.max_per_sender == 1_024
    assert config.max_nonce_gap == 256
    assert config.price_bump_percent == 10
    assert config.max_queued_per_sender == 64
    assert config.max_queued_bytes_per_sender == 2 * 1024 * 1024
    assert config.queued_lifetime_blocks == 600
    assert config.queued_min_gas_price_wei == 1


@pytest.mark.parametrize(
    "field",
    ["max_tx_bytes", "max_pool_txs", "max_pool_bytes", "max_per_sender", "queued_lifetime_blocks"],
)
def test_config_rejects_empty_bounds(field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        MempoolConfig(**{field: 0})


@pytest.mark.parametrize(
    "field",
    [
        "max_nonce_gap",
        "price_bump_percent",
        "max_queued_per_sender",
        "max_queued_bytes_per_sender",
        "queued_min_gas_price_wei",
    ],
)
def test_config_rejects_negative_bounds(field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        MempoolConfig(**{field: -1})


# -- per-sender ordering, queue and promotion --------------------------------------


def test_pending_runs_from_the_account_nonce_and_gaps_queue() -> None:
    pool, accounts = make_pool(), Accounts().fund(A)
    accounts.nonces[A] = 5
    t5, t7, t8 = fake_tx(A, 5), fake_tx(A, 7), fake_tx(A, 8)
    for tx in (t7, t5, t8):
        pool.add(tx, accounts)
    assert (pool.pending_count, pool.queued_count, len(pool)) == (1, 2, 3)
    assert pool.pending_nonce(A, accounts) == 6
    assert hashes(pool.select_for_block(BLOCK_GAS)) == [t5.hash]

    t6 = fake_tx(A, 6)
    pool.add(t6, accounts)  # fills the gap: 7 and 8 are promoted
    assert (pool.pending_count, pool.queued_count) == (4, 0)
    assert pool.pending_nonce(A, accounts) == 9
    assert hashes(pool.select_for_block(BLOCK_GAS)) == [t5.hash, t6.hash, t7.hash, t8.hash]


def test_pending_nonce_of_unknown_sender_is_the_account_nonce() -> None:
    pool, accounts = make_pool(), Accounts()
    accounts.nonces[B] = 3
    assert pool.pending_nonce(B, accounts) == 3


def test_selection_is_first_ready_first_served_across_senders() -> None:
    pool, accounts = make_pool(), Accounts().fund(A, B, C)
    c0, a0, b0, a1, b1 = fake_tx(C, 0), fake_tx(A, 0), fake_tx(B, 0), fake_tx(A, 1), fake_tx(B, 1)
    for tx in (c0, a0, b0, a1, b1):
        pool.add(tx, accounts)
    expected = [c0.hash, a0.hash, b0.hash, a1.hash, b1.hash]
    assert hashes(pool.select_for_block(BLOCK_GAS)) == expected
    assert hashes(list(pool.pending_transactions())) == expected


def test_promoted_run_joins_the_line_when_its_gap_fills() -> None:
    pool, accounts = make_pool(), Accounts().fund(A, B)
    a1, b0, a0 = fake_tx(A, 1), fake_tx(B, 0), fake_tx(A, 0)
    for tx in (a1, b0, a0):
        pool.add(tx, accounts)
    # a1 arrived first but became executable only when a0 arrived, after b0
    assert hashes(pool.select_for_block(BLOCK_GAS)) == [b0.hash, a0.hash, a1.hash]


def test_select_does_not_change_the_pool() -> None:
    pool, accounts = make_pool(), Accounts().fund(A)
    for nonce in range(3):
        pool.add(fake_tx(A, nonce), accounts)
    first = pool.select_for_block(BLOCK_GAS)
    assert pool.select_for_block(BLOCK_GAS) == first
    assert len(pool) == 3


# -- gas-limit packing ---------------------------------------------------------------


def test_packing_skips_a_sender_whose_next_transaction_does_not_fit() -> None:
    pool, accounts = make_pool(), Accounts().fund(A, B, C)
    a0 = fake_tx(A, 0, gas=50_000)
    a1 = fake_tx(A, 1, gas=500_000)
    a2 = fake_tx(A, 2, gas=21_000)
    b0 = fake_tx(B, 0, gas=30_000)
    c0 = fake_tx(C, 0, gas=21_000)
    for tx in (a0, a1, a2, b0, c0):
        pool.add(tx, accounts)
    # a1 does not fit, so a2 must not jump ahead of it; b0 and c0 still go in
    block = pool.select_for_block(110_000)
    assert hashes(block) == [a0.hash, b0.hash, c0.hash]
    assert sum(tx.gas_limit for tx in block) <= 110_000


def test_packing_fills_the_gas_limit_exactly() -> None:
    pool, accounts = make_pool(), Accounts().fund(A)
    for nonce in range(5):
        pool.add(fake_tx(A, nonce), accounts)
    assert len(pool.select_for_block(3 * 21_000)) == 3
    assert len(pool.select_for_block(3 * 21_000 - 1)) == 2
    assert pool.select_for_block(MIN_TX_GAS - 1) == []


def test_packing_respects_max_txs() -> None:
    pool, accounts = make_pool(), Accounts().fund(A, B)
    txs = [fake_tx(A, 0), fake_tx(B, 0), fake_tx(A, 1)]
    for tx in txs:
        pool.add(tx, accounts)
    assert hashes(pool.select_for_block(BLOCK_GAS, max_txs=2)) == hashes(txs[:2])
    assert pool.select_for_block(BLOCK_GAS, max_txs=0) == []
    assert len(pool.select_for_block(BLOCK_GAS, max_txs=None)) == 3


# -- replacement ---------------------------------------------------------------------


def test_replacement_needs_a_bump_of_both_fees() -> None:
    pool, accounts = make_pool(), Accounts().fund(A)
    old = fake_tx(A, 0, fee=100, tip=10)
    pool.add(old, accounts)
    for fee, tip in ((100, 10), (109, 11), (110, 10), (200, 10), (99, 20)):
        with pytest.raises(ReplacementUnderpriced) as caught:
            pool.add(fake_tx(A, 0, fee=fee, tip=tip, salt=1), accounts)
        assert caught.value.tx_hash == old.hash
    zero_tip = fake_tx(B, 0, fee=100, tip=0)
    pool.add(zero_tip, accounts.fund(B))
    with pytest.raises(ReplacementUnderpriced):  # a zero tip must rise too
        pool.add(fake_tx(B, 0, fee=200, tip=0), accounts)
    pool.add(fake_tx(B, 0, fee=200, tip=1), accounts)
    assert pool.get(old.hash) == old
    new = fake_tx(A, 0, fee=110, tip=11)
    pool.add(new, accounts)
    assert old.hash not in pool
    assert pool.get(new.hash) == new
    assert (len(pool), pool.pending_count) == (2, 2)
    assert pool.byte_size == len(new.raw) + 100


def test_zero_fees_cannot_be_replaced() -> None:
    pool, accounts = make_pool(), Accounts().fund(A)
    pool.add(fake_tx(A, 0, fee=0), accounts)
    with pytest.raises(ReplacementUnderpriced):
        pool.add(fake_tx(A, 0, fee=0, value=1), accounts)


def test_replacement_keeps_its_place_in_line() -> None:
    pool, accounts = make_pool(), Accounts().fund(A, B)
    a0, b0, a1 = fake_tx(A, 0), fake_tx(B, 0), fake_tx(A, 1)
    for tx in (a0, b0, a1):
        pool.add(tx, accounts)
    a0_new = fake_tx(A, 0, fee=20)
    pool.add(a0_new, accounts)
    assert hashes(pool.select_for_block(BLOCK_GAS)) == [a0_new.hash, b0.hash, a1.hash]


def test_replacing_a_queued_transaction_keeps_it_queued() -> None:
    pool, accounts = make_pool(), Accounts().fund(A)
    pool.add(fake_tx(A, 2), accounts)
    new = fake_tx(A, 2, fee=20)
    pool.add(new, accounts)
    assert (pool.pending_count, pool.queued_count) == (0, 1)
    pool.add(fake_tx(A, 0), accounts)
    pool.add(fake_tx(A, 1), accounts)
    assert pool.select_for_block(BLOCK_GAS)[-1] == new


# -- funds, nonces, duplicates -------------------------------------------------------


def test_funds_cover_everything_the_sender_pooled() -> None:
    pool, accounts = make_pool(), Accounts()
    cost = transaction_cost(fake_tx(A, 0))
    balance = 2 * cost + 2 * 21_000
    accounts.fund(A, amount=balance)
    pool.add(fake_tx(A, 0), accounts)
    pool.add(fake_tx(A, 5), accounts)  # queued transactions count too
    with pytest.raises(InsufficientFunds) as caught:
        pool.add(fake_tx(A, 1), accounts)
    assert (caught.value.required, caught.value.balance) == (3 * cost, balance)
    # a replacement is charged instead of, not on top of, the one it replaces
    pool.add(fake_tx(A, 5, fee=11), accounts)
    with pytest.raises(InsufficientFunds):
        pool.add(fake_tx(A, 5, fee=13, value=cost), accounts)


def test_value_counts_toward_cost() -> None:
    pool, accounts = make_pool(), Accounts().fund(A, amount=21_000 * 10 + 5)
    with pytest.raises(InsufficientFunds):
        pool.add(fake_tx(A, 0, value=6), accounts)
    pool.add(fake_tx(A, 0, value=5), accounts)


def test_nonce_gap_is_measured_from_the_pending_nonce() -> None:
    pool, accounts = make_pool(MempoolConfig(max_nonce_gap=2)), Accounts().fund(A)
    accounts.nonces[A] = 10
    with pytest.raises(NonceTooHigh) as caught:
        pool.add(fake_tx(A, 13), accounts)
    assert (caught.value.expected, caught.value.got, caught.value.max_gap) == (10, 13, 2)
    pool.add(fake_tx(A, 12), accounts)
    pool.add(fake_tx(A, 10), accounts)
    pool.add(fake_tx(A, 13), accounts)  # now 2 past the pending nonce 11
    assert (pool.pending_count, pool.queued_count) == (1, 2)


def test_nonce_too_low_and_duplicates() -> None:
    pool, accounts = make_pool(), Accounts().fund(A)
    accounts.nonces[A] = 4
    with pytest.raises(NonceTooLow) as caught:
        pool.add(fake_tx(A, 3), accounts)
    assert (caught.value.expected, caught.value.got) == (4, 3)
    tx = fake_tx(A, 4)
    pool.add(tx, accounts)
    with pytest.raises(AlreadyKnown) as known:
        pool.add(tx, accounts)
    assert known.value.tx_hash == tx.hash
    assert len(pool) == 1


def test_stateless_checks_on_decoded_transactions() -> None:
    pool, accounts = make_pool(base_fee=7, block_gas=100_000), Accounts().fund(A)
    with pytest.raises(IntrinsicGasTooLow) as low:
        pool.add(fake_tx(A, 0, gas=20_999), accounts)
    assert (low.value.required, low.value.got) == (21_000, 20_999)
    with pytest.raises(GasLimitExceeded):
        pool.add(fake_tx(A, 0, gas=100_001), accounts)
    with pytest.raises(FeeTooLow) as fee:
        pool.add(fake_tx(A, 0, fee=6), accounts)
    assert (fee.value.required, fee.value.got) == (7, 6)
    with pytest.raises(TransactionTooLarge):
        make_pool(MempoolConfig(max_tx_bytes=99)).add(fake_tx(A, 0, size=100), accounts)
    other_chain = fake_tx(A, 0)
    object.__setattr__(other_chain, "chain_id", CHAIN_ID + 1)
    with pytest.raises(WrongChainId):
        pool.add(other_chain, accounts)
    pool.add(fake_tx(A, 0, gas=100_000, fee=7), accounts)
    assert len(pool) == 1


# -- bounds ----------------------------------------------------------------------------


def test_pool_count_bound() -> None:
    pool, accounts = make_pool(MempoolConfig(max_pool_txs=3)), Accounts().fund(A, B)
    for nonce in range(3):
        pool.add(fake_tx(A, nonce), accounts)
    with pytest.raises(PoolFull) as caught:
        pool.add(fake_tx(B, 0), accounts)
    assert caught.value.limit == 3
    assert type(caught.value) is PoolFull
    pool.add(fake_tx(A, 1, fee=20), accounts)  # a replacement needs no room
    assert len(pool) == 3


def test_pool_bytes_bound() -> None:
    pool, accounts = make_pool(MempoolConfig(max_pool_bytes=250)), Accounts().fund(A, B)
    pool.add(fake_tx(A, 0, size=100), accounts)
    pool.add(fake_tx(B, 0, size=100), accounts)
    assert pool.byte_size == 200
    with pytest.raises(PoolBytesFull) as caught:
        pool.add(fake_tx(A, 1, size=51), accounts)
    assert caught.value.limit == 250
    assert isinstance(caught.value, PoolFull)
    with pytest.raises(PoolBytesFull):  # a bigger replacement must fit too
        pool.add(fake_tx(A, 0, size=151, fee=20), accounts)
    pool.add(fake_tx(A, 1, size=50), accounts)
    assert pool.byte_size == 250


def test_per_sender_bound() -> None:
    pool, accounts = make_pool(MempoolConfig(max_per_sender=2)), Accounts().fund(A, B)
    pool.add(fake_tx(A, 0), accounts)
    pool.add(fake_tx(A, 3), accounts)
    with pytest.raises(SenderPoolFull) as caught:
        pool.add(fake_tx(A, 1), accounts)
    assert (caught.value.sender, caught.value.limit) == (A, 2)
    assert isinstance(caught.value, PoolFull)
    pool.add(fake_tx(B, 0), accounts)
    pool.add(fake_tx(A, 0, fee=20), accounts)  # replacing is still allowed
    assert len(pool) == 3


# -- commits -----------------------------------------------------------------------


def commit(pool: Mempool, accounts: Accounts, gas_limit: int = BLOCK_GAS) -> list[Transaction]:
    block = pool.select_for_block(gas_limit)
    accounts.apply(block)
    pool.remove_committed(block, accounts)
    return block


def test_remove_committed_drops_included_and_keeps_the_rest_in_line() -> None:
    pool, accounts = make_pool(), Accounts().fund(A, B)
    a0, a1, b0, a2 = fake_tx(A, 0), fake_tx(A, 1), fake_tx(B, 0), fake_tx(A, 2)
    for tx in (a0, a1, b0, a2):
        pool.add(tx, accounts)
    assert commit(pool, accounts, gas_limit=2 * 21_000) == [a0, a1]
    assert a0.hash not in pool and a1.hash not in pool
    assert hashes(pool.select_for_block(BLOCK_GAS)) == [b0.hash, a2.hash]
    assert pool.pending_nonce(A, accounts) == 3
    with pytest.raises(NonceTooLow):
        pool.add(a0, accounts)
    assert commit(pool, accounts) == [b0, a2]
    assert (len(pool), pool.byte_size) == (0, 0)


def test_remove_committed_promotes_what_a_foreign_block_unblocks() -> None:
    pool, accounts = make_pool(), Accounts().fund(A)
    a2, a3 = fake_tx(A, 2), fake_tx(A, 3)
    pool.add(a2, accounts)
    pool.add(a3, accounts)
    assert pool.pending_count == 0
    foreign = [fake_tx(A, 0, salt=9), fake_tx(A, 1, salt=9)]  # built by another node
    accounts.apply(foreign)
    pool.remove_committed(foreign, accounts)
    assert (pool.pending_count, pool.queued_count) == (2, 0)
    assert pool.select_for_block(BLOCK_GAS) == [a2, a3]


def test_remove_committed_drops_a_competing_transaction_for_a_used_nonce() -> None:
    pool, accounts = make_pool(), Accounts().fund(A)
    mine = fake_tx(A, 0)
    pool.add(mine, accounts)
    theirs = fake_tx(A, 0, salt=1)
    accounts.apply([theirs])
    pool.remove_committed([theirs], accounts)
    assert mine.hash not in pool and len(pool) == 0


def test_remove_committed_drops_what_the_new_balance_cannot_cover() -> None:
    pool, accounts = make_pool(), Accounts()
    cost = transaction_cost(fake_tx(A, 0))
    accounts.fund(A, amount=4 * cost)
    txs = [fake_tx(A, nonce) for nonce in range(4)]
    for tx in txs:
        pool.add(tx, accounts)
    block = [txs[0]]
    accounts.apply(block)
    accounts.balances[A] = cost + cost // 2  # the block also took funds some other way
    pool.remove_committed(block, accounts)
    assert [tx.hash in pool for tx in txs] == [False, True, False, False]
    assert (pool.pending_count, pool.queued_count) == (1, 0)
    assert pool.byte_size == len(txs[1].raw)
    assert pool.pending_nonce(A, accounts) == 2


def test_remove_committed_with_a_lagging_reader_queues_the_rest() -> None:
    pool, accounts = make_pool(), Accounts().fund(A)
    txs = [fake_tx(A, nonce) for nonce in range(3)]
    for tx in txs:
        pool.add(tx, accounts)
    pool.remove_committed([txs[0]], accounts)  # the reader still says nonce 0
    assert txs[0].hash not in pool
    assert (pool.pending_count, pool.queued_count) == (0, 2)
    accounts.nonces[A] = 1
    assert pool.pending_nonce(A, accounts) == 3
    pool.add(fake_tx(B, 0), accounts.fund(B))  # unrelated
    pool.add(fake_tx(A, 3), accounts)  # the sender's next add catches up
    assert (pool.pending_count, pool.queued_count) == (4, 0)


def test_add_catches_up_with_a_newer_account_nonce() -> None:
    pool, accounts = make_pool(), Accounts().fund(A)
    pool.add(fake_tx(A, 0), accounts)
    pool.add(fake_tx(A, 2), accounts)
    accounts.nonces[A] = 2  # nonces 0 and 1 were committed without remove_committed
    pool.add(fake_tx(A, 3), accounts)
    assert len(pool) == 2 and pool.pending_count == 2
    assert [tx.nonce for tx in pool.select_for_block(BLOCK_GAS)] == [2, 3]


def test_add_forgets_what_a_fallen_balance_no_longer_covers() -> None:
    pool, accounts = make_pool(), Accounts()
    cost = transaction_cost(fake_tx(A, 0))
    accounts.fund(A, B, amount=3 * cost)
    txs = [fake_tx(A, nonce) for nonce in range(3)]
    for tx in txs:
        pool.add(tx, accounts)
    accounts.balances[A] = cost + cost // 2
    pool.add(fake_tx(B, 0), accounts)  # another sender's add leaves A alone
    assert len(pool) == 4
    with pytest.raises(InsufficientFunds):
        pool.add(fake_tx(A, 3), accounts)
    assert [tx.hash in pool for tx in txs] == [True, False, False]
    assert pool.pending_nonce(A, accounts) == 1


# -- determinism: two pools fed the same calls agree ---------------------------------

Op = tuple[Any, ...]
"""("add", sender, nonce, gas, fee, salt) | ("commit", gas_limit) | ("drain", sender)"""

_op = st.one_of(
    st.tuples(
        st.just("add"),
        st.integers(0, 4),  # sender
        st.integers(0, 7),  # nonce
        st.sampled_from([21_000, 50_000, 200_000]),  # gas
        st.sampled_from([0, 10, 11, 20]),  # fee
        st.integers(0, 2),  # salt
    ),
    st.tuples(st.just("commit"), st.sampled_from([21_000, 100_000, 300_000, BLOCK_GAS])),
    st.tuples(st.just("drain"), st.integers(0, 4)),  # a sender loses funds some other way
)


def check_invariants(pool: Mempool, accounts: Accounts) -> None:
    """White-box consistency of the pool's indexes, plus the public counters."""
    entries = [e for s in pool._senders.values() for e in s.txs.values()]
    assert len(entries) == len(pool) == pool.pending_count + pool.queued_count
    assert sum(e.size for e in entries) == pool.byte_size
    tickets = list(pool._ready)
    assert tickets == sorted(tickets)
    for address, sender in pool._senders.items():
        assert sender.txs, "empty sender records are dropped"
        assert min(sender.txs) >= sender.base
        assert sender.base == accounts.nonce(address) or address not in accounts.nonces
        assert sender.base <= sender.end
        assert sender.end not in sender.txs
        assert all(n in sender.txs for n in range(sender.base, sender.end))
        assert sender.cost == sum(e.cost for e in sender.txs.values())
        assert sender.cost <= accounts.balance(address)
        for nonce, entry in sender.txs.items():
            assert (entry.ticket is not None) == (sender.base <= nonce < sender.end)
            assert entry.tx.nonce == nonce and entry.tx.sender == address
        pending = sorted(sender.txs[n].ticket or 0 for n in range(sender.base, sender.end))
        assert pending == [sender.txs[n].ticket for n in range(sender.base, sender.end)]
        queued = [e for e in sender.txs.values() if e.ticket is None]
        assert sender.queued_bytes == sum(e.size for e in queued)
        assert sender.queued_count == len(queued)
        assert sender.address == address
    # the queue index holds exactly the queued entries, oldest first
    queued_entries = [e for e in entries if e.ticket is None]
    assert sorted(id(e) for e in pool._queued.values()) == sorted(id(e) for e in queued_entries)
    assert all(pool._queued[e.tx.sender, e.tx.nonce] is e for e in queued_entries)
    ages = [e.queued_since for e in pool._queued.values()]
    assert ages == sorted(ages)
    assert pool._queued_bytes == sum(e.size for e in queued_entries)


def check_block(pool: Mempool, accounts: Accounts, block: list[Transaction], gas: int) -> None:
    """Laws of any selected block: valid nonce runs, gas bound, greedy maximality."""
    assert sum(tx.gas_limit for tx in block) <= gas
    next_nonce: dict[Address, int] = {}
    for tx in block:
        expected = next_nonce.get(tx.sender, accounts.nonce(tx.sender))
        assert tx.nonce == expected
        next_nonce[tx.sender] = expected + 1
    left = gas - sum(tx.gas_limit for tx in block)
    for tx in pool.pending_transactions():
        if tx.nonce == next_nonce.get(tx.sender, accounts.nonce(tx.sender)):
            assert tx.gas_limit > left, "a pending transaction that fits was left out"


def run_ops(ops: list[Op], balance: int = 2_000_000) -> list[Any]:
    """Drive one fresh pool with ``ops``; return everything observable, checking laws on the way."""
    config = MempoolConfig(
        max_pool_txs=12,
        max_per_sender=5,
        max_nonce_gap=3,
        max_queued_per_sender=2,
        queued_lifetime_blocks=4,
    )
    pool = make_pool(config)
    accounts = Accounts()
    senders = [addr(i) for i in range(5)]
    accounts.fund(*senders, amount=balance)
    seen: list[Any] = []
    for op in ops:
        if op[0] == "add":
            _, who, nonce, gas, fee, salt = op
            tx = fake_tx(senders[who], nonce, gas=gas, fee=fee, salt=salt)
            try:
                pool.add(tx, accounts)
                seen.append(("ok", tx.hash))
            except TransactionRejected as error:
                seen.append(("rejected", type(error).__name__))
        elif op[0] == "commit":
            gas = op[1]
            block = pool.select_for_block(gas)
            check_block(pool, accounts, block, gas)
            accounts.apply(block)
            pool.remove_committed(block, accounts)
            seen.append(("block", hashes(block)))
        else:  # another node's block spends most of a sender's funds
            victim = senders[op[1]]
            foreign = fake_tx(victim, accounts.nonce(victim), salt=99)
            accounts.nonces[victim] = accounts.nonce(victim) + 1
            accounts.balances[victim] //= 3
            pool.remove_committed([foreign], accounts)
            seen.append(("drained", len(pool)))
        check_invariants(pool, accounts)
    seen.append(("final", hashes(list(pool.pending_transactions())), len(pool)))
    return seen


@settings(max_examples=300, deadline=None)
@given(st.lists(_op, max_size=60))
def test_same_calls_give_the_same_pool_and_blocks(ops: list[Op]) -> None:
    assert run_ops(ops) == run_ops(ops)


def mixed_ops() -> list[Op]:
    """A fixed, busy call sequence: five senders, gaps, replacements, full pools, commits."""
    ops: list[Op] = []
    next_nonce = [0] * 5
    for step in range(400):
        who = step * 7 % 5
        nonce = next_nonce[who] + [0, 0, 1, -1, 2][step % 5]  # in order, gaps, repeats
        next_nonce[who] = max(next_nonce[who], nonce + 1)
        fee = [10, 10, 11, 20][step % 4]
        ops.append(("add", who, max(nonce, 0), [21_000, 50_000][step % 3 // 2], fee, 0))
        if step % 10 == 9:
            ops.append(("commit", [100_000, 300_000][step % 20 // 10]))
        if step % 97 == 96:
            ops.append(("drain", step % 5))
    return ops


def test_two_pools_fed_the_same_sequence_build_the_same_block() -> None:
    first, second = run_ops(mixed_ops(), 10**12), run_ops(mixed_ops(), 10**12)
    assert first == second
    blocks = [item for item in first if item[0] == "block" and item[1]]
    assert len(blocks) > 30
    assert len({item[1] for item in first if item[0] == "rejected"}) >= 3


_DIGEST_SCRIPT = """
import hashlib, sys
sys.path.insert(0, sys.argv[1])
import test_mempool
observed = test_mempool.run_ops(test_mempool.mixed_ops(), 10**12)
print(hashlib.sha256(repr(observed).encode()).hexdigest())
"""


def test_the_outcome_does_not_depend_on_the_hash_seed() -> None:
    here = Path(__file__).resolve().parent
    src = here.parents[1] / "src"
    digests = set()
    for seed in ("0", "1", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONPATH=str(src))
        done = subprocess.run(
            [sys.executable, "-c", _DIGEST_SCRIPT, str(here)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        digests.add(done.stdout.strip())
    assert len(digests) == 1


# -- speed ---------------------------------------------------------------------------


def best_of(runs: int, action: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - start)
    return best


def test_fifty_thousand_transactions_add_and_select_fast() -> None:
    pool, accounts = make_pool(), Accounts()
    senders = [addr(i) for i in range(10_000)]
    accounts.fund(*senders)
    txs = [fake_tx(sender, nonce) for nonce in range(5) for sender in senders]
    start = time.perf_counter()
    for tx in txs:
        pool.add(tx, accounts)
    added = time.perf_counter() - start
    assert len(pool) == 50_000
    assert added < 5.0, f"adding 50k transactions took {added:.2f} s"

    seconds = best_of(3, lambda: pool.select_for_block(5_000 * 21_000))
    assert len(pool.select_for_block(5_000 * 21_000)) == 5_000
    assert seconds < 0.05, f"selecting a 5,000-transaction block took {seconds * 1000:.1f} ms"

    block = pool.select_for_block(5_000 * 21_000)
    accounts.apply(block)
    start = time.perf_counter()
    pool.remove_committed(block, accounts)
    removed = time.perf_counter() - start
    assert len(pool) == 45_000
    assert removed < 0.5, f"removing a 5,000-transaction block took {removed:.2f} s"

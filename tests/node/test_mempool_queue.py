"""Tests of the pool's queue: what waits behind a nonce gap may not crowd out executable work.

A transaction behind a gap (queued) holds room in the pool that no block can use yet.
These tests pin the rules that keep that room bounded: queued transactions need funds
even at gas price 0, are bounded per sender, expire after a number of committed blocks,
and give way to pending ones when the pool is full.
"""

from __future__ import annotations

import pytest
from test_mempool import Accounts, addr, fake_tx, make_pool

from baychain.errors import (
    InsufficientFunds,
    PoolBytesFull,
    PoolFull,
    SenderQueueFull,
    TransactionRejected,
)
from baychain.ledger.transactions import Transaction
from baychain.node.pool.config import (
    MAX_POOL_BYTES,
    MAX_QUEUED_PER_SENDER,
    QUEUED_LIFETIME_BLOCKS,
)
from baychain.node.pool.mempool import MempoolConfig

HONEST = addr(0x600D)
FLOOD_TX_BYTES = 126 * 1024


def flood(pool_add: object, senders: list[int], per_sender: int, size: int) -> int:
    """Send ``per_sender`` gapped transactions from each of ``senders``; count the admitted."""
    add = pool_add
    admitted = 0
    for who in senders:
        for nonce in range(1, per_sender + 1):  # nonce 0 never comes: all of them wait
            try:
                add(fake_tx(addr(who), nonce, fee=0, size=size))  # type: ignore[operator]
            except TransactionRejected:
                continue
            admitted += 1
    return admitted


def test_zero_balance_senders_cannot_fill_a_zero_fee_pool_with_gapped_transactions() -> None:
    """The reported attack: three fresh keys, 519 gapped 126 KiB zero-price transactions."""
    pool, accounts = make_pool(base_fee=0), Accounts().fund(HONEST)
    flood(lambda tx: pool.add(tx, accounts), [0xA1, 0xA2, 0xA3], 173, FLOOD_TX_BYTES)
    # an honest funded sender still has (nearly) the whole pool for executable work
    room = MAX_POOL_BYTES // FLOOD_TX_BYTES - 8
    for nonce in range(room):
        pool.add(fake_tx(HONEST, nonce, fee=0, size=FLOOD_TX_BYTES), accounts)
    assert pool.pending_count >= room


def test_a_zero_balance_sender_may_queue_nothing_at_gas_price_zero() -> None:
    pool, accounts = make_pool(base_fee=0), Accounts()
    with pytest.raises(InsufficientFunds) as caught:
        pool.add(fake_tx(addr(0xA1), 1, fee=0), accounts)
    assert (caught.value.required, caught.value.balance) == (21_000, 0)  # gas at 1 wei
    assert len(pool) == 0
    # what it holds while queued counts against the balance, with the queued ones' price
    accounts.fund(addr(0xA1), amount=21_000 + 5)
    pool.add(fake_tx(addr(0xA1), 1, fee=0, value=5), accounts)
    with pytest.raises(InsufficientFunds):
        pool.add(fake_tx(addr(0xA1), 2, fee=0), accounts)
    pool.add(fake_tx(addr(0xA1), 0, fee=0), accounts)  # pending: its own price, zero
    assert (pool.pending_count, pool.queued_count) == (2, 0)


def test_zero_price_transactions_that_can_run_now_need_no_funds() -> None:
    """A consortium chain's fresh account (balance 0, gas price 0) can still transact."""
    pool, accounts = make_pool(base_fee=0), Accounts()
    fresh = addr(0xF2E5)
    for nonce in range(3):
        pool.add(fake_tx(fresh, nonce, fee=0), accounts)
    assert (pool.pending_count, pool.queued_count) == (3, 0)


def test_funded_senders_queue_zero_price_transactions() -> None:
    pool, accounts = make_pool(base_fee=0), Accounts().fund(HONEST)
    pool.add(fake_tx(HONEST, 2, fee=0), accounts)
    pool.add(fake_tx(HONEST, 1, fee=0), accounts)
    assert (pool.pending_count, pool.queued_count) == (0, 2)
    pool.add(fake_tx(HONEST, 0, fee=0), accounts)
    assert (pool.pending_count, pool.queued_count) == (3, 0)


def test_a_full_pool_makes_room_for_pending_transactions_by_evicting_queued_ones() -> None:
    """Funded senders fill the pool with queued transactions; pending ones still get in."""
    pool = make_pool(MempoolConfig(max_pool_bytes=1_000))
    squatters = [addr(0x50 + i) for i in range(4)]
    accounts = Accounts().fund(HONEST, *squatters)
    sizes = [[100, 100], [100, 100, 100], [200], [100, 100, 100]]
    for who, tx_sizes in zip(squatters, sizes, strict=True):
        for nonce, size in enumerate(tx_sizes, start=1):
            pool.add(fake_tx(who, nonce, size=size), accounts)
    assert (pool.byte_size, pool.queued_count) == (1_000, 9)

    def pooled(who: int, nonce: int, size: int = 100) -> bool:
        return fake_tx(squatters[who], nonce, size=size).hash in pool

    # squatters 1 and 3 hold the most queued bytes; the first of them to appear loses its newest
    pool.add(fake_tx(HONEST, 0, size=100), accounts)
    assert (pool.pending_count, pool.byte_size) == (1, 1_000)
    assert not pooled(1, 3) and pooled(1, 2) and pooled(3, 3)

    # 150 bytes: squatter 3's newest goes (300 queued), then squatter 0's (the first of the 200s)
    pool.add(fake_tx(HONEST, 1, size=150), accounts)
    assert not pooled(3, 3) and not pooled(0, 2)
    assert pooled(0, 1) and pooled(1, 2) and pooled(2, 1, 200) and pooled(3, 2)
    assert (pool.pending_count, pool.byte_size) == (2, 950)

    # a queued newcomer never pushes anything out
    with pytest.raises(PoolFull):
        pool.add(fake_tx(HONEST, 9, size=100), accounts)
    assert pool.byte_size == 950


def test_a_pool_full_of_pending_work_refuses_and_evicts_nothing_in_vain() -> None:
    pool = make_pool(MempoolConfig(max_pool_txs=3))
    accounts = Accounts().fund(HONEST, addr(0x51), addr(0x52), addr(0x53))
    pool.add(fake_tx(HONEST, 0), accounts)
    pool.add(fake_tx(HONEST, 1), accounts)
    pool.add(fake_tx(addr(0x51), 5), accounts)  # queued
    pool.add(fake_tx(addr(0x52), 0), accounts)  # pending: the queued one makes way
    assert (len(pool), pool.queued_count) == (3, 0)
    with pytest.raises(PoolFull):
        pool.add(fake_tx(addr(0x53), 0), accounts)
    assert len(pool) == 3

    pool = make_pool(MempoolConfig(max_pool_bytes=300))
    pool.add(fake_tx(HONEST, 0, size=100), accounts)
    pool.add(fake_tx(addr(0x51), 5, size=100), accounts)
    pool.add(fake_tx(addr(0x52), 5, size=100), accounts)
    with pytest.raises(PoolFull):  # even without the queued ones there is no room
        pool.add(fake_tx(addr(0x53), 0, size=250), accounts)
    assert (pool.queued_count, pool.byte_size) == (2, 300)


def test_queued_transactions_do_not_stay_forever() -> None:
    pool, accounts = make_pool(), Accounts().fund(HONEST, addr(0x51))
    pool.add(fake_tx(HONEST, 1), accounts)
    for _ in range(10_000):
        if len(pool) == 0:
            break
        pool.remove_committed([], accounts)  # one call per committed block
    assert len(pool) == 0


def test_one_sender_queues_a_bounded_number_of_transactions() -> None:
    pool, accounts = make_pool(), Accounts().fund(HONEST)
    with pytest.raises(PoolFull):
        for nonce in range(1, 257):
            pool.add(fake_tx(HONEST, nonce), accounts)
    assert pool.queued_count < 256


def test_the_queue_bounds_count_and_bytes_per_sender() -> None:
    pool, accounts = make_pool(), Accounts().fund(HONEST)
    for nonce in range(1, MAX_QUEUED_PER_SENDER + 1):
        pool.add(fake_tx(HONEST, nonce), accounts)
    with pytest.raises(SenderQueueFull) as caught:
        pool.add(fake_tx(HONEST, MAX_QUEUED_PER_SENDER + 1), accounts)
    assert (caught.value.sender, caught.value.limit, caught.value.unit) == (
        HONEST,
        MAX_QUEUED_PER_SENDER,
        "transactions",
    )
    assert isinstance(caught.value, PoolFull)
    pool.add(fake_tx(HONEST, 0), accounts)  # pending work is not bounded by the queue
    assert (pool.pending_count, pool.queued_count) == (MAX_QUEUED_PER_SENDER + 1, 0)

    pool = make_pool(MempoolConfig(max_queued_bytes_per_sender=250))
    pool.add(fake_tx(HONEST, 1, size=100), accounts)
    pool.add(fake_tx(HONEST, 2, size=150), accounts)
    with pytest.raises(SenderQueueFull) as caught:
        pool.add(fake_tx(HONEST, 3, size=1), accounts)
    assert (caught.value.limit, caught.value.unit) == (250, "bytes")
    with pytest.raises(SenderQueueFull):  # a bigger replacement must fit too
        pool.add(fake_tx(HONEST, 1, size=101, fee=20), accounts)
    pool.add(fake_tx(HONEST, 1, size=100, fee=20), accounts)
    pool.add(fake_tx(addr(0x51), 1, size=250), accounts.fund(addr(0x51)))  # another's own bound


def test_queued_transactions_expire_after_the_lifetime_in_blocks() -> None:
    pool = make_pool(MempoolConfig(queued_lifetime_blocks=3))
    accounts = Accounts().fund(HONEST, addr(0x51))
    old = fake_tx(HONEST, 2)
    pool.add(old, accounts)
    pool.remove_committed([], accounts)
    later = fake_tx(addr(0x51), 1)
    pool.add(later, accounts)
    pool.add(fake_tx(HONEST, 2, fee=20), accounts)  # a replacement keeps the age it replaces
    pool.remove_committed([], accounts)
    assert pool.queued_count == 2
    pool.remove_committed([], accounts)  # the third block since HONEST's nonce 2 queued
    assert pool.queued_count == 1 and later.hash in pool
    pool.add(fake_tx(addr(0x51), 0), accounts)  # later becomes pending: it no longer ages
    for _ in range(QUEUED_LIFETIME_BLOCKS):
        pool.remove_committed([], accounts)
    assert (pool.pending_count, pool.queued_count) == (2, 0)


def test_the_default_lifetime_is_counted_in_committed_blocks() -> None:
    pool, accounts = make_pool(), Accounts().fund(HONEST)
    pool.add(fake_tx(HONEST, 1), accounts)
    for _ in range(QUEUED_LIFETIME_BLOCKS - 1):
        pool.remove_committed([], accounts)
    assert pool.queued_count == 1
    pool.remove_committed([], accounts)
    assert len(pool) == 0


def test_promotion_listeners_hear_of_queued_transactions_becoming_pending() -> None:
    pool, accounts = make_pool(), Accounts().fund(HONEST)
    heard: list[Transaction] = []
    pool.promotion_listeners.append(heard.append)
    t0, t1, t2, t3 = (fake_tx(HONEST, n) for n in range(4))
    pool.add(t1, accounts)
    pool.add(t3, accounts)
    assert heard == []
    pool.add(t0, accounts)  # t0 arrives pending (not a promotion); t1 is promoted
    assert heard == [t1]
    accounts.nonces[HONEST] = 3  # another node's block used nonces 0 to 2
    pool.remove_committed([t0, t1, t2], accounts)
    assert heard == [t1, t3]
    assert pool.is_pending(t3.hash) and not pool.is_pending(t0.hash)


def test_a_replacement_may_make_room_only_if_it_is_pending() -> None:
    pool = make_pool(MempoolConfig(max_pool_bytes=300))
    accounts = Accounts().fund(HONEST, addr(0x51))
    pool.add(fake_tx(HONEST, 0, size=100), accounts)
    pool.add(fake_tx(HONEST, 5, size=100), accounts)
    pool.add(fake_tx(addr(0x51), 5, size=100), accounts)
    with pytest.raises(PoolBytesFull):  # a queued replacement pushes nothing out
        pool.add(fake_tx(HONEST, 5, size=150, fee=20), accounts)
    pool.add(fake_tx(HONEST, 0, size=150, fee=20), accounts)  # a pending one does
    assert (pool.pending_count, pool.queued_count, pool.byte_size) == (1, 1, 250)

"""The state root is a function of the whole state, updated in work proportional to the writes."""

from __future__ import annotations

import tempfile
from pathlib import Path
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from baychain.crypto import get_suite
from baychain.primitives import Address, Hash32
from baychain.state import commitment, lthash
from baychain.state.account import Account, decode_account
from baychain.state.commitment import (
    account_element,
    apply_ops,
    plan_state_update,
    state_root,
    storage_element,
)
from baychain.state.store import Store
from baychain.state.writeset import WriteSet

SUITE = get_suite("ecdsa")
ADDRESSES = [Address(bytes([i]) * 20) for i in range(1, 4)]

account_writes = st.tuples(
    st.sampled_from(ADDRESSES),
    st.one_of(st.none(), st.builds(Account, st.integers(0, 3), st.integers(0, 10**20))),
)
slot_writes = st.tuples(st.sampled_from(ADDRESSES), st.integers(0, 3), st.integers(0, 2))
blocks = st.lists(
    st.tuples(
        st.lists(account_writes, max_size=3),
        st.lists(slot_writes, max_size=5),
        st.lists(st.sampled_from(ADDRESSES), max_size=1),
    ),
    min_size=1,
    max_size=5,
)


def recompute(store: Store) -> int:
    """The LtHash of everything in the store, from scratch."""
    total = 0
    with store.read() as reader:
        for key, value in reader.prefix(b"accounts", b""):
            total = lthash.add(total, account_element(key, value))
        for key, value in reader.prefix(b"storage", b""):
            total = lthash.add(total, storage_element(key[:20], key[20:], value))
    return total


def writes_of(
    accounts: list[tuple[Address, Account | None]],
    slots: list[tuple[Address, int, int]],
    destroyed: list[Address],
) -> WriteSet:
    """The write set of one drawn block: destructions, then accounts, then slots."""
    writes = WriteSet()
    for address in destroyed:
        writes.destroy_account(address)
    for address, account in accounts:
        if account is None:
            writes.destroy_account(address)
        else:
            writes.set_account(address, account)
    for address, slot, value in slots:
        writes.set_storage(address, slot, value)
    return writes


def apply(store: Store, total: int, writes: WriteSet) -> int:
    with store.read() as reader:
        update = plan_state_update(reader, total, writes)
    with store.write() as writer:
        apply_ops(writer, update.ops)
    return update.lthash


@settings(max_examples=60, deadline=None)
@given(blocks)
def test_incremental_root_equals_root_recomputed_from_scratch(
    history: list[tuple[list, list, list]],  # type: ignore[type-arg]
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        store = Store(Path(directory), map_size=2**24)
        total = 0
        for accounts, slots, destroyed in history:
            writes = writes_of(accounts, slots, destroyed)
            total = apply(store, total, writes)
            assert total == recompute(store)
        store.close()


def test_any_difference_in_the_state_changes_the_root(tmp_path: Path) -> None:
    base = Account(nonce=1, balance=100)
    variants = {
        "nonce": Account(nonce=2, balance=100),
        "balance": Account(nonce=1, balance=101),
        "code": Account(nonce=1, balance=100, code_hash=Hash32(b"\x01" * 32)),
    }
    roots = set()
    for name, account in [("base", base), *variants.items()]:
        store = Store(tmp_path / name, map_size=2**24)
        writes = WriteSet()
        writes.set_account(ADDRESSES[0], account)
        roots.add(state_root(apply(store, 0, writes), SUITE))
        store.close()
    for name, slot, value in [("slot", 1, 5), ("value", 0, 6)]:
        store = Store(tmp_path / name, map_size=2**24)
        writes = WriteSet()
        writes.set_account(ADDRESSES[0], base)
        writes.set_storage(ADDRESSES[0], slot, value)
        roots.add(state_root(apply(store, 0, writes), SUITE))
        store.close()
    assert len(roots) == 6


def test_destroying_an_account_removes_its_storage(tmp_path: Path) -> None:
    store = Store(tmp_path, map_size=2**24)
    writes = WriteSet()
    writes.set_account(ADDRESSES[0], Account(nonce=1))
    writes.set_storage(ADDRESSES[0], 7, 9)
    total = apply(store, 0, writes)
    gone = WriteSet()
    gone.destroy_account(ADDRESSES[0])
    assert apply(store, total, gone) == 0
    with store.read() as reader:
        assert list(reader.prefix(b"storage", ADDRESSES[0])) == []
        assert reader.get(b"accounts", ADDRESSES[0]) is None
    store.close()


def test_account_encoding_round_trips() -> None:
    account = Account(nonce=2**64 - 1, balance=2**256 - 1, code_hash=Hash32(b"\xab" * 32))
    from baychain.state.account import encode_account

    assert decode_account(encode_account(account)) == account


store_ops = st.lists(
    st.tuples(
        st.sampled_from([b"storage", b"code"]),
        st.sampled_from([b"k1", b"k2", b"k3"]),
        st.none() | st.sampled_from([b"v1", b"v2"]),
    ),
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(store_ops)
def test_apply_ops_equals_applying_each_operation_in_order(
    ops: list[tuple[bytes, bytes, bytes | None]],
) -> None:
    expected: dict[tuple[bytes, bytes], bytes] = {}
    for table, key, value in ops:
        if value is None:
            expected.pop((table, key), None)
        else:
            expected[(table, key)] = value
    with tempfile.TemporaryDirectory() as directory:
        store = Store(Path(directory), map_size=2**24)
        with store.write() as writer:
            apply_ops(writer, tuple(ops))
        with store.read() as reader:
            stored = {
                (table, key): value
                for table in (b"storage", b"code")
                for key, value in reader.prefix(table, b"")
            }
        store.close()
    assert stored == expected


@settings(max_examples=60, deadline=None)
@given(blocks)
def test_known_vectors_only_save_work(
    history: list[tuple[list, list, list]],  # type: ignore[type-arg]
) -> None:
    """Plans fed the previous (or an older) update's vectors equal plans made without."""
    with tempfile.TemporaryDirectory() as directory:
        store = Store(Path(directory), map_size=2**24)
        total = 0
        older: dict[bytes, tuple[bytes, bytes]] = {}
        previous: dict[bytes, tuple[bytes, bytes]] = {}
        for accounts, slots, destroyed in history:
            writes = writes_of(accounts, slots, destroyed)
            with store.read() as reader:
                plain = plan_state_update(reader, total, writes)
                for known in (previous, older, {**older, **previous}):
                    planned = plan_state_update(reader, total, writes, known)
                    assert (planned.lthash, planned.ops) == (plain.lthash, plain.ops)
                bare = plan_state_update(reader, total, writes, previous, keep_vectors=False)
                assert (bare.lthash, bare.ops, bare.written) == (plain.lthash, plain.ops, {})
                with mock.patch.object(commitment, "SUM_CHUNK_ENTRIES", 2):
                    chunked = plan_state_update(reader, total, writes, keep_vectors=False)
                assert chunked.lthash == plain.lthash
            for key, (value, vector) in plain.written.items():
                assert lthash.from_bytes(vector) == lthash.element(key, value)
            with store.write() as writer:
                apply_ops(writer, plain.ops)
            total = plain.lthash
            older, previous = previous, dict(plain.written)
        store.close()

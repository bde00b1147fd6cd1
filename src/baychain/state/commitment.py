"""The state commitment: turning a write set into store operations and a new state root.

``plan_state_update`` reads the values a block overwrites, moves the LtHash
accordingly (subtract the old entry, add the new one) and returns the exact
store operations to apply. It touches only what the block changed, plus the
storage of accounts that self-destructed, so its cost is proportional to the
block, not to the size of the state.

Expanding an entry to its lane vector (:func:`lthash.element`, a 2 KiB SHAKE-128
output) is the costly step; the plan collects the block's entries and has the
extension expand and sum them in a few calls (:func:`lthash.elements`). The
vectors of the entries a block writes are kept in its :class:`StateUpdate`;
passed to the next block's plan as ``known``, they spare recomputing the vector
of every value that block overwrites again (a busy account's nonce, a token's
hot balances). A vector is reused only for the same key and the same value
bytes, so the result never depends on what ``known`` holds.

Committed entries (keys are fixed width, so no two entries share a preimage):

- account ``b"a" || address`` -> ``encode_account(account)``
- storage slot ``b"s" || address || slot (32, big-endian)`` -> value (32, big-endian),
  present only when non-zero
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from baychain.crypto.suite import CryptoSuite
from baychain.primitives import Address, Hash32
from baychain.state import lthash
from baychain.state.account import encode_account
from baychain.state.store import Txn
from baychain.state.writeset import WriteSet

STATE_ROOT_DOMAIN = b"baychain/state-root/v1"
ACCOUNT_PREFIX = b"a"
STORAGE_PREFIX = b"s"

StoreOp = tuple[bytes, bytes, bytes | None]
"""(table, key, value) to put, or (table, key, None) to delete."""

EntryVectors = Mapping[bytes, tuple[bytes, bytes]]
"""Committed entry key (``b"a" || address`` or ``b"s" || address || slot``) -> (value,
its lane vector in canonical bytes, ``lthash.to_bytes(lthash.element(key, value))``)."""

SUM_CHUNK_ENTRIES = 4096
"""Without kept vectors, entries are summed in chunks of this many (bounds the memory)."""


@dataclass(frozen=True, slots=True)
class StateUpdate:
    """The result of planning a block's state writes."""

    lthash: int
    ops: tuple[StoreOp, ...]
    written: EntryVectors = field(default_factory=dict)
    """The lane vector of every entry the update writes (pass it to the next plan)."""


def state_root(total: int, suite: CryptoSuite) -> Hash32:
    """Return the published state root of an LtHash value."""
    return suite.hash(STATE_ROOT_DOMAIN + lthash.to_bytes(total))


def account_element(address: bytes, encoded: bytes) -> int:
    """Lane vector of an account entry."""
    return lthash.element(ACCOUNT_PREFIX + address, encoded)


def storage_element(address: bytes, slot_key: bytes, value: bytes) -> int:
    """Lane vector of a non-zero storage entry (``slot_key`` is the 32-byte slot)."""
    return lthash.element(STORAGE_PREFIX + address + slot_key, value)


def plan_state_update(
    reader: Txn,
    total: int,
    writes: WriteSet,
    known: EntryVectors | None = None,
    *,
    keep_vectors: bool = True,
) -> StateUpdate:
    """Return the new LtHash and store operations that apply ``writes`` to ``reader``'s state.

    ``known`` may hold lane vectors of entries as they are in ``reader``'s state (the
    previous update's :attr:`StateUpdate.written`); it only saves work. With
    ``keep_vectors=False`` the update's ``written`` stays empty: a genesis of a
    million accounts would otherwise hold 2 KiB per entry (gigabytes) for nothing.
    """
    plan = _Plan(known or {}, keep_vectors)
    for address in sorted(writes.cleared):
        for key, value in reader.prefix(b"storage", address):
            plan.remove(STORAGE_PREFIX + key, value)
            plan.ops.append((b"storage", key, None))

    for address in sorted(writes.accounts):
        account = writes.accounts[address]
        old = reader.get(b"accounts", address)
        if old is not None:
            plan.remove(ACCOUNT_PREFIX + address, old)
        if account is None:
            if old is not None:
                plan.ops.append((b"accounts", address, None))
            continue
        encoded = encode_account(account)
        plan.add(ACCOUNT_PREFIX + address, encoded)
        plan.ops.append((b"accounts", address, encoded))

    for address in sorted(writes.storage):
        was_cleared = address in writes.cleared
        slots = writes.storage[address]
        for slot in sorted(slots):
            _update_slot(reader, plan, address, slot, slots[slot], was_cleared)

    for code_hash in sorted(writes.code):
        plan.ops.append((b"code", code_hash, writes.code[code_hash]))
    new_total = plan.new_total(total)
    return StateUpdate(lthash=new_total, ops=tuple(plan.ops), written=plan.written)


class _Plan:
    """The operations and LtHash movements of one block, accumulated as they are planned."""

    __slots__ = (
        "added",
        "added_sums",
        "keep_vectors",
        "known",
        "ops",
        "removed",
        "unknown",
        "written",
    )

    def __init__(self, known: EntryVectors, keep_vectors: bool) -> None:
        self.known = known
        self.keep_vectors = keep_vectors
        self.ops: list[StoreOp] = []
        self.added: list[tuple[bytes, bytes]] = []
        """Entries written and not yet summed into ``added_sums``."""
        self.added_sums: list[bytes] = []
        """Sums of chunks of written entries (only without kept vectors)."""
        self.removed: list[bytes] = []
        """Known vectors of entries overwritten or deleted."""
        self.unknown: list[tuple[bytes, bytes]] = []
        """Entries overwritten or deleted whose vector is not known."""
        self.written: dict[bytes, tuple[bytes, bytes]] = {}

    def remove(self, entry_key: bytes, value: bytes) -> None:
        """Take the committed entry ``entry_key`` -> ``value`` out of the state."""
        cached = self.known.get(entry_key)
        if cached is not None and cached[0] == value:
            self.removed.append(cached[1])
        else:
            self.unknown.append((entry_key, value))

    def add(self, entry_key: bytes, value: bytes) -> None:
        """Put the entry ``entry_key`` -> ``value`` into the state."""
        self.added.append((entry_key, value))
        if not self.keep_vectors and len(self.added) >= SUM_CHUNK_ENTRIES:
            self.added_sums.append(lthash.sum_elements(self.added))
            self.added = []

    def new_total(self, total: int) -> int:
        """Return ``total`` moved by every entry added and removed (fills ``written``)."""
        if self.keep_vectors:
            added = lthash.elements(self.added)
            pairs = zip(self.added, added, strict=True)
            self.written = {key: (value, vector) for (key, value), vector in pairs}
        else:
            added = [*self.added_sums, lthash.sum_elements(self.added)]
        removed = [*self.removed, lthash.sum_elements(self.unknown)]
        # Lane-wise sums form a group, so (total + added) - removed is the same as applying
        # every subtraction and addition in turn.
        return lthash.combine(total, added, removed)


def _update_slot(
    reader: Txn, plan: _Plan, address: Address, slot: int, value: int, was_cleared: bool
) -> None:
    key = address + slot.to_bytes(32, "big")
    old = None if was_cleared else reader.get(b"storage", key)
    if old is not None:
        plan.remove(STORAGE_PREFIX + key, old)
    if value == 0:
        if old is not None:
            plan.ops.append((b"storage", key, None))
        return
    encoded = value.to_bytes(32, "big")
    plan.add(STORAGE_PREFIX + key, encoded)
    plan.ops.append((b"storage", key, encoded))


def apply_ops(writer: Txn, ops: tuple[StoreOp, ...]) -> None:
    """Apply planned operations inside a write transaction, in order.

    Consecutive puts to one table are written in one batch.
    """
    run_table = b""
    run: list[tuple[bytes, bytes]] = []
    for table, key, value in ops:
        if run and (value is None or table != run_table):
            writer.put_many(run_table, run)
            run = []
        if value is None:
            writer.delete(table, key)
        else:
            run_table = table
            run.append((key, value))
    if run:
        writer.put_many(run_table, run)

"""The state commitment: turning a write set into store operations and a new state root.

``plan_state_update`` reads the values a block overwrites, moves the LtHash
accordingly (subtract the old entry, add the new one) and returns the exact
store operations to apply. It touches only what the block changed, plus the
storage of accounts that self-destructed, so its cost is proportional to the
block, not to the size of the state.

Committed entries (keys are fixed width, so no two entries share a preimage):

- account ``b"a" || address`` -> ``encode_account(account)``
- storage slot ``b"s" || address || slot (32, big-endian)`` -> value (32, big-endian),
  present only when non-zero
"""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True, slots=True)
class StateUpdate:
    """The result of planning a block's state writes."""

    lthash: int
    ops: tuple[StoreOp, ...]


def state_root(total: int, suite: CryptoSuite) -> Hash32:
    """Return the published state root of an LtHash value."""
    return suite.hash(STATE_ROOT_DOMAIN + lthash.to_bytes(total))


def account_element(address: bytes, encoded: bytes) -> int:
    """Lane vector of an account entry."""
    return lthash.element(ACCOUNT_PREFIX + address, encoded)


def storage_element(address: bytes, slot_key: bytes, value: bytes) -> int:
    """Lane vector of a non-zero storage entry (``slot_key`` is the 32-byte slot)."""
    return lthash.element(STORAGE_PREFIX + address + slot_key, value)


def plan_state_update(reader: Txn, total: int, writes: WriteSet) -> StateUpdate:
    """Return the new LtHash and store operations that apply ``writes`` to ``reader``'s state."""
    ops: list[StoreOp] = []
    for address in sorted(writes.cleared):
        for key, value in reader.prefix(b"storage", address):
            total = lthash.subtract(total, storage_element(address, key[20:], value))
            ops.append((b"storage", key, None))

    for address in sorted(writes.accounts):
        account = writes.accounts[address]
        old = reader.get(b"accounts", address)
        if old is not None:
            total = lthash.subtract(total, account_element(address, old))
        if account is None:
            if old is not None:
                ops.append((b"accounts", address, None))
            continue
        encoded = encode_account(account)
        total = lthash.add(total, account_element(address, encoded))
        ops.append((b"accounts", address, encoded))

    for address in sorted(writes.storage):
        was_cleared = address in writes.cleared
        slots = writes.storage[address]
        for slot in sorted(slots):
            total = _update_slot(reader, total, ops, address, slot, slots[slot], was_cleared)

    for code_hash in sorted(writes.code):
        ops.append((b"code", code_hash, writes.code[code_hash]))
    return StateUpdate(lthash=total, ops=tuple(ops))


def _update_slot(
    reader: Txn,
    total: int,
    ops: list[StoreOp],
    address: Address,
    slot: int,
    value: int,
    was_cleared: bool,
) -> int:
    slot_key = slot.to_bytes(32, "big")
    key = address + slot_key
    old = None if was_cleared else reader.get(b"storage", key)
    if old is not None:
        total = lthash.subtract(total, storage_element(address, slot_key, old))
    if value == 0:
        if old is not None:
            ops.append((b"storage", key, None))
        return total
    encoded = value.to_bytes(32, "big")
    total = lthash.add(total, storage_element(address, slot_key, encoded))
    ops.append((b"storage", key, encoded))
    return total


def apply_ops(writer: Txn, ops: tuple[StoreOp, ...]) -> None:
    """Apply planned operations inside a write transaction, in order."""
    for table, key, value in ops:
        if value is None:
            writer.delete(table, key)
        else:
            writer.put(table, key, value)

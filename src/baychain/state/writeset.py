"""The state writes of a block, merged from the per-transaction diffs of execution.

Within a block later writes win. An account that self-destructs (EIP-6780) or is
removed as empty (EIP-161) is recorded in ``cleared``: all its storage in the
pre-block state is wiped *before* the block's remaining storage writes apply,
so an address re-created later in the same block keeps only its new slots.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from baychain.primitives import Address, Hash32
from baychain.state.account import Account


@dataclass(slots=True)
class WriteSet:
    """Everything a block changes in the world state."""

    accounts: dict[Address, Account | None] = field(default_factory=dict)
    """New account values; None deletes the account."""
    storage: dict[Address, dict[int, int]] = field(default_factory=dict)
    """New slot values per address; 0 deletes the slot."""
    cleared: set[Address] = field(default_factory=set)
    """Addresses whose pre-block storage is wiped before ``storage`` applies."""
    code: dict[Hash32, bytes] = field(default_factory=dict)
    """Code introduced by the block, by keccak-256 code hash."""

    def set_account(self, address: Address, account: Account) -> None:
        """Record the new value of ``address``."""
        self.accounts[address] = account

    def destroy_account(self, address: Address) -> None:
        """Delete ``address`` and every storage slot it had so far."""
        self.accounts[address] = None
        self.cleared.add(address)
        self.storage.pop(address, None)

    def set_storage(self, address: Address, slot: int, value: int) -> None:
        """Record the new value of one slot (0 removes it)."""
        slots = self.storage.get(address)
        if slots is None:
            self.storage[address] = {slot: value}
        else:
            slots[slot] = value

    def __len__(self) -> int:
        return len(self.accounts) + sum(len(slots) for slots in self.storage.values())

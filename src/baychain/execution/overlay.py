"""The state as seen in the middle of a block: committed state plus the block's writes so far."""

from __future__ import annotations

from baychain.execution.evm import StateReader
from baychain.primitives import Address, Hash32
from baychain.state.writeset import WriteSet


class OverlayReader:
    """A :class:`StateReader` answering from ``writes`` first and ``base`` otherwise."""

    __slots__ = ("_base", "_writes")

    def __init__(self, base: StateReader, writes: WriteSet) -> None:
        self._base = base
        self._writes = writes

    def account(self, address: bytes) -> tuple[int, int, bytes] | None:
        """(balance, nonce, code_hash) or None."""
        if address in self._writes.accounts:
            account = self._writes.accounts[Address(address)]
            if account is None:
                return None
            return account.balance, account.nonce, account.code_hash
        return self._base.account(address)

    def code(self, code_hash: bytes) -> bytes:
        """Code by keccak-256 hash."""
        code = self._writes.code.get(Hash32(code_hash))
        return code if code is not None else self._base.code(code_hash)

    def storage(self, address: bytes, slot: int) -> int:
        """A slot's value (0 if unset or wiped by a self-destruct earlier in the block)."""
        slots = self._writes.storage.get(Address(address))
        if slots is not None and slot in slots:
            return slots[slot]
        if address in self._writes.cleared:
            return 0
        return self._base.storage(address, slot)

    def block_hash(self, number: int) -> bytes:
        """Hash of a committed block."""
        return self._base.block_hash(number)

"""Read access to the committed world state, in the shapes execution and the pool ask for."""

from __future__ import annotations

from baychain.primitives import Address
from baychain.state.account import Account, decode_account
from baychain.state.store import Txn

_ZERO_HASH = b"\x00" * 32


class StateView:
    """The world state as of one store snapshot.

    It serves the execution engine's on-demand reads (``account``, ``code``,
    ``storage``, ``block_hash``) and the pool's (``nonce``, ``balance``).
    It must not outlive the read transaction it wraps.
    """

    __slots__ = ("_txn",)

    def __init__(self, txn: Txn) -> None:
        self._txn = txn

    def get_account(self, address: Address) -> Account | None:
        """Return the account at ``address`` or None if it does not exist."""
        raw = self._txn.get(b"accounts", address)
        return None if raw is None else decode_account(raw)

    def account(self, address: bytes) -> tuple[int, int, bytes] | None:
        """Engine read: (balance, nonce, code_hash) or None."""
        raw = self._txn.get(b"accounts", address)
        if raw is None:
            return None
        return int.from_bytes(raw[8:40], "big"), int.from_bytes(raw[:8], "big"), raw[40:72]

    def code(self, code_hash: bytes) -> bytes:
        """Engine read: the code with this keccak-256 hash (empty if unknown)."""
        return self._txn.get(b"code", code_hash) or b""

    def storage(self, address: bytes, slot: int) -> int:
        """Engine read: the value of a storage slot (0 if unset)."""
        raw = self._txn.get(b"storage", address + slot.to_bytes(32, "big"))
        return 0 if raw is None else int.from_bytes(raw, "big")

    def block_hash(self, number: int) -> bytes:
        """Engine read: the hash of the committed block at ``number`` (zeros if none)."""
        if number < 0:
            return _ZERO_HASH
        return self._txn.get(b"canonical", number.to_bytes(8, "big")) or _ZERO_HASH

    def nonce(self, address: Address) -> int:
        """Pool read: the account's next nonce."""
        raw = self._txn.get(b"accounts", address)
        return 0 if raw is None else int.from_bytes(raw[:8], "big")

    def balance(self, address: Address) -> int:
        """Pool read: the account's balance in wei."""
        raw = self._txn.get(b"accounts", address)
        return 0 if raw is None else int.from_bytes(raw[8:40], "big")

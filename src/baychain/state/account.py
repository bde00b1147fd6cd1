"""Accounts of the world state and their canonical fixed-width encoding.

An account is stored and committed as ``nonce (8 bytes) || balance (32 bytes)
|| code_hash (32 bytes)``, all big-endian: fixed width makes the encoding
canonical and cheap. ``code_hash`` is keccak-256 of the code on every suite,
because the EVM's EXTCODEHASH exposes it to contracts.
"""

from __future__ import annotations

from dataclasses import dataclass

from baychain.errors import CorruptStore
from baychain.primitives import Hash32

EMPTY_CODE_HASH = Hash32(
    bytes.fromhex("c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470")
)
"""keccak-256 of the empty byte string: the code hash of an account without code."""

ACCOUNT_BYTES = 72


@dataclass(frozen=True, slots=True)
class Account:
    """The nonce, balance and code hash of one address."""

    nonce: int = 0
    balance: int = 0
    code_hash: Hash32 = EMPTY_CODE_HASH

    @property
    def is_empty(self) -> bool:
        """EIP-161 emptiness: no nonce, no balance, no code."""
        return self.nonce == 0 and self.balance == 0 and self.code_hash == EMPTY_CODE_HASH


def encode_account(account: Account) -> bytes:
    """Return the 72-byte canonical encoding of ``account``."""
    return (
        account.nonce.to_bytes(8, "big") + account.balance.to_bytes(32, "big") + account.code_hash
    )


def decode_account(data: bytes) -> Account:
    """Parse the encoding written by :func:`encode_account`."""
    if len(data) != ACCOUNT_BYTES:
        raise CorruptStore(f"an account record is {ACCOUNT_BYTES} bytes, found {len(data)}")
    return Account(
        nonce=int.from_bytes(data[:8], "big"),
        balance=int.from_bytes(data[8:40], "big"),
        code_hash=Hash32(data[40:72]),
    )

"""Domain types shared by every layer: addresses, hashes, heights and amounts.

They are ``NewType`` wrappers, free at run time, so that a signature such as
``def get_account(address: Address) -> Account`` documents what it takes and
mypy catches a hash passed where an address belongs. Constructors validate
lengths and ranges and raise :class:`~baychain.errors.DecodingError`.
"""

from __future__ import annotations

from typing import NewType

from baychain.errors import DecodingError

Address = NewType("Address", bytes)
"""A 20-byte account address (how it is derived depends on the crypto suite)."""

Hash32 = NewType("Hash32", bytes)
"""A 32-byte digest made with the chain's hash function."""

Height = NewType("Height", int)
"""A block number; genesis is height 0."""

Wei = NewType("Wei", int)
"""An amount of the native coin in its smallest unit (10**-18 of a coin)."""

Gas = NewType("Gas", int)
"""An amount of EVM gas."""

UINT256_MAX = 2**256 - 1
UINT64_MAX = 2**64 - 1
ZERO_ADDRESS = Address(b"\x00" * 20)
ZERO_HASH = Hash32(b"\x00" * 32)


def to_address(value: bytes) -> Address:
    """Return ``value`` as an :data:`Address`; raise if it is not exactly 20 bytes."""
    if len(value) != 20:
        raise DecodingError(f"an address is 20 bytes, got {len(value)}")
    return Address(bytes(value))


def to_hash32(value: bytes) -> Hash32:
    """Return ``value`` as a :data:`Hash32`; raise if it is not exactly 32 bytes."""
    if len(value) != 32:
        raise DecodingError(f"a hash is 32 bytes, got {len(value)}")
    return Hash32(bytes(value))


def parse_hex(text: str, *, name: str = "value") -> bytes:
    """Decode ``0x``-prefixed (or bare) hex; raise naming ``name`` if it is not hex."""
    body = text[2:] if text[:2] in ("0x", "0X") else text
    if len(body) % 2:
        body = "0" + body
    try:
        return bytes.fromhex(body)
    except ValueError:
        raise DecodingError(f"{name} is not valid hex: {text!r}") from None


def parse_address(text: str, *, name: str = "address") -> Address:
    """Decode a hex address (checksum case is accepted and not enforced)."""
    raw = parse_hex(text, name=name)
    if len(raw) != 20:
        raise DecodingError(f"{name} must be 20 bytes of hex, got {len(raw)} bytes: {text!r}")
    return Address(raw)

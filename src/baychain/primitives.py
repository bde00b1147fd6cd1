"""Domain types shared by every layer: addresses, hashes, heights and peer names.

They are ``NewType`` wrappers, free at run time, so that a signature such as
``def get_account(address: Address) -> Account`` documents what it takes and
mypy catches a hash passed where an address belongs. The parsers below validate
what they decode and raise :class:`~baychain.errors.DecodingError`.
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

PeerId = NewType("PeerId", str)
"""The transport's name for a connected node (validators and followers alike).

Defined here, below both, because consensus events and the network transport both
name peers with it and neither layer may import the other for it.
"""

UINT256_MAX = 2**256 - 1
UINT64_MAX = 2**64 - 1
ZERO_ADDRESS = Address(b"\x00" * 20)
ZERO_HASH = Hash32(b"\x00" * 32)


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

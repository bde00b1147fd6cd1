"""Fuzz target ``rlp``: :func:`baychain.codec.rlp.decode` and its helpers.

Properties of an accepted input: re-encoding gives it back byte for byte (one
encoding per item); ``decode_list_with_offsets`` agrees with ``decode`` and its
offsets re-encode each item by slicing; a decoded string read as an integer
re-encodes to the same bytes.
"""

from __future__ import annotations

from baychain.codec import rlp
from baychain.errors import DecodingError
from fuzz.harness import PROPERTY_CHECK_MAX_BYTES, PropertyViolation, Target
from fuzz.seeds import blocks, consensus_messages, handshake_messages, sync_payloads, transactions


def check(data: bytes) -> None:
    """Decode ``data`` as one RLP item and check the canonical-encoding properties."""
    item = rlp.decode(data)
    if rlp.encode(item) != data:
        raise PropertyViolation("encode(decode(data)) != data")
    if len(data) > PROPERTY_CHECK_MAX_BYTES:
        return
    if isinstance(item, bytes):
        try:
            value = rlp.decode_uint(item)
        except DecodingError:
            return
        if rlp.encode_uint(value) != item:
            raise PropertyViolation("encode_uint(decode_uint(item)) != item")
        return
    items, offsets = rlp.decode_list_with_offsets(data)
    if items != item or len(offsets) != len(items) + 1:
        raise PropertyViolation("decode_list_with_offsets disagrees with decode")
    for index, child in enumerate(items):
        if data[offsets[index] : offsets[index + 1]] != rlp.encode(child):
            raise PropertyViolation(f"offset of item {index} does not slice its encoding")


def seeds() -> list[bytes]:
    """Every other target's seeds (all RLP), minus transaction type bytes, plus edge items."""
    found = [raw[1:] if raw[0] < 0x80 else raw for raw in transactions("ecdsa")]
    found += [raw[1:] for raw in transactions("sm")]
    found += list(blocks("ecdsa")) + consensus_messages() + handshake_messages() + sync_payloads()
    found += [b"\x00", b"\x7f", b"\x80", b"\x81\x80", b"\xb8\x38" + b"a" * 56, b"\xc0",
              b"\xc3\x80\xc1\xc0", b"\xf8\x38" + b"\x01" * 56]  # fmt: skip
    return found


TARGETS = [Target("rlp", check, seeds)]

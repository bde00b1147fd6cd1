"""Block headers: the part of a block that is hashed, voted on and proved against.

Encoding: ``rlp([parent_hash, height, timestamp_ms, proposer, transactions_root,
receipts_root, state_root, gas_used, gas_limit, base_fee_per_gas, extra_data])``
with integers as minimal big-endian strings. A header's hash is the suite's hash
of that encoding (:func:`header_hash`); the commit certificate that finalises a
block is carried beside the header, not inside it, so it does not change the hash.

Decoding checks widths: 32-byte hashes, a 20-byte proposer, 64-bit height,
timestamp and gas, a 256-bit base fee and at most :data:`MAX_EXTRA_DATA_BYTES`
of extra data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from baychain.codec import rlp
from baychain.crypto.suite import CryptoSuite
from baychain.errors import DecodingError
from baychain.primitives import Address, Hash32, Height

__all__ = [
    "MAX_EXTRA_DATA_BYTES",
    "Header",
    "decode_header",
    "encode_header",
    "header_from_item",
    "header_hash",
    "header_to_item",
]

MAX_EXTRA_DATA_BYTES = 32
"""Largest ``extra_data`` a header may carry (Ethereum's limit)."""


@dataclass(frozen=True, slots=True)
class Header:
    """A block header. The genesis header has height 0 and an all-zero parent hash."""

    parent_hash: Hash32
    height: Height
    timestamp_ms: int
    """The proposer's clock when it built the block, in milliseconds since the Unix epoch."""
    proposer: Address
    transactions_root: Hash32
    receipts_root: Hash32
    state_root: Hash32
    gas_used: int
    gas_limit: int
    base_fee_per_gas: int
    extra_data: bytes
    _hashes: dict[str, Hash32] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )
    """Hash per suite name, filled by :func:`header_hash` (headers are immutable)."""


HEADER_FIELDS = (
    "parent_hash",
    "height",
    "timestamp_ms",
    "proposer",
    "transactions_root",
    "receipts_root",
    "state_root",
    "gas_used",
    "gas_limit",
    "base_fee_per_gas",
    "extra_data",
)
"""The header's fields in encoding order."""


def header_differences(claimed: Header, actual: Header) -> list[str]:
    """The names of the fields in which ``claimed`` differs from ``actual`` (empty if none)."""
    return [name for name in HEADER_FIELDS if getattr(claimed, name) != getattr(actual, name)]


def header_to_item(header: Header) -> list[rlp.Encodable]:
    """Return ``header`` as RLP-ready fields (for embedding in a block)."""
    uint = rlp.encode_uint
    return [
        header.parent_hash,
        uint(header.height),
        uint(header.timestamp_ms),
        header.proposer,
        header.transactions_root,
        header.receipts_root,
        header.state_root,
        uint(header.gas_used),
        uint(header.gas_limit),
        uint(header.base_fee_per_gas),
        header.extra_data,
    ]


def encode_header(header: Header) -> bytes:
    """Return the canonical encoding of ``header`` (what :func:`header_hash` hashes)."""
    return rlp.encode(header_to_item(header))


def header_hash(header: Header, suite: CryptoSuite) -> Hash32:
    """Return ``suite.hash(encode_header(header))``, computed once per header and suite."""
    cached = header._hashes.get(suite.name)
    if cached is None:
        cached = header._hashes[suite.name] = suite.hash(encode_header(header))
    return cached


def header_from_item(item: rlp.Item) -> Header:
    """Parse a decoded RLP item as a :class:`Header`; raise DecodingError naming the field."""
    fields = rlp.decode_list(item, 11, name="header")
    extra_data = rlp.decode_bytes(fields[10], name="header extra_data")
    if len(extra_data) > MAX_EXTRA_DATA_BYTES:
        raise DecodingError(
            f"header extra_data is {len(extra_data)} bytes, at most {MAX_EXTRA_DATA_BYTES}"
        )
    return Header(
        parent_hash=Hash32(rlp.decode_fixed(fields[0], 32, name="header parent_hash")),
        height=Height(rlp.decode_uint(fields[1], name="header height", max_bytes=8)),
        timestamp_ms=rlp.decode_uint(fields[2], name="header timestamp_ms", max_bytes=8),
        proposer=Address(rlp.decode_fixed(fields[3], 20, name="header proposer")),
        transactions_root=Hash32(rlp.decode_fixed(fields[4], 32, name="transactions_root")),
        receipts_root=Hash32(rlp.decode_fixed(fields[5], 32, name="receipts_root")),
        state_root=Hash32(rlp.decode_fixed(fields[6], 32, name="state_root")),
        gas_used=rlp.decode_uint(fields[7], name="header gas_used", max_bytes=8),
        gas_limit=rlp.decode_uint(fields[8], name="header gas_limit", max_bytes=8),
        base_fee_per_gas=rlp.decode_uint(fields[9], name="header base_fee_per_gas"),
        extra_data=extra_data,
    )


def decode_header(data: bytes) -> Header:
    """Decode a header made by :func:`encode_header`; raise DecodingError otherwise."""
    return header_from_item(rlp.decode(data))

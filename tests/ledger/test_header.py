"""Headers: canonical encoding, width checks and the cached hash."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from baychain.codec import rlp
from baychain.crypto import get_suite, keccak256
from baychain.errors import DecodingError
from baychain.ledger.header import (
    MAX_EXTRA_DATA_BYTES,
    Header,
    decode_header,
    encode_header,
    header_hash,
)
from baychain.primitives import ZERO_HASH, Address, Hash32, Height

ECDSA = get_suite("ecdsa")
SM = get_suite("sm")

hashes = st.binary(min_size=32, max_size=32).map(Hash32)
u64 = st.integers(0, 2**64 - 1)
headers = st.builds(
    Header,
    parent_hash=hashes,
    height=u64.map(Height),
    timestamp_ms=u64,
    proposer=st.binary(min_size=20, max_size=20).map(Address),
    transactions_root=hashes,
    receipts_root=hashes,
    state_root=hashes,
    gas_used=u64,
    gas_limit=u64,
    base_fee_per_gas=st.integers(0, 2**256 - 1),
    extra_data=st.binary(max_size=MAX_EXTRA_DATA_BYTES),
)

HEADER = Header(
    parent_hash=ZERO_HASH,
    height=Height(7),
    timestamp_ms=1_700_000_000_123,
    proposer=Address(b"\x01" * 20),
    transactions_root=Hash32(b"\x02" * 32),
    receipts_root=Hash32(b"\x03" * 32),
    state_root=Hash32(b"\x04" * 32),
    gas_used=21_000,
    gas_limit=30_000_000,
    base_fee_per_gas=0,
    extra_data=b"baychain",
)


@given(headers)
def test_round_trip(header: Header) -> None:
    encoded = encode_header(header)
    assert decode_header(encoded) == header
    assert rlp.encode(rlp.decode(encoded)) == encoded


def test_layout_and_hash() -> None:
    fields = rlp.decode(encode_header(HEADER))
    assert fields == [
        bytes(32), b"\x07", rlp.encode_uint(1_700_000_000_123), b"\x01" * 20,
        b"\x02" * 32, b"\x03" * 32, b"\x04" * 32, rlp.encode_uint(21_000),
        rlp.encode_uint(30_000_000), b"", b"baychain",
    ]  # fmt: skip
    assert header_hash(HEADER, ECDSA) == keccak256(encode_header(HEADER))
    assert header_hash(HEADER, SM) == SM.hash(encode_header(HEADER))
    assert header_hash(HEADER, SM) != header_hash(HEADER, ECDSA)


def test_cached_hash_does_not_leak_into_equality_or_copies() -> None:
    first = header_hash(HEADER, ECDSA)
    assert header_hash(HEADER, ECDSA) is first
    twin = decode_header(encode_header(HEADER))
    assert twin == HEADER and hash(twin) == hash(HEADER)
    later = dataclasses.replace(HEADER, height=Height(8))
    assert header_hash(later, ECDSA) == keccak256(encode_header(later)) != first


def _with(index: int, value: bytes) -> bytes:
    fields = rlp.decode_list(rlp.decode(encode_header(HEADER)))
    fields[index] = value
    return rlp.encode(fields)


@pytest.mark.parametrize(
    ("data", "phrase"),
    [
        (_with(0, b"\x00" * 31), "parent_hash must be 32 bytes"),
        (_with(1, b"\x01" * 9), "height is 9 bytes"),
        (_with(1, b"\x00\x07"), "leading zero"),
        (_with(3, b"\x01" * 21), "proposer must be 20 bytes"),
        (_with(6, b""), "state_root must be 32 bytes"),
        (_with(9, b"\x01" * 33), "base_fee_per_gas is 33 bytes"),
        (_with(10, b"x" * 33), "extra_data is 33 bytes"),
        (rlp.encode([b""] * 12), "11 items"),
        (encode_header(HEADER)[:-1], "truncated"),
    ],
)
def test_rejects(data: bytes, phrase: str) -> None:
    with pytest.raises(DecodingError, match=phrase):
        decode_header(data)

"""RLP: published vectors, strictness, and the round-trip laws."""

from __future__ import annotations

from typing import Any

import pytest
import rlp as pyrlp  # the reference implementation, used as an oracle only
from hypothesis import given, settings
from hypothesis import strategies as st

from baychain.codec import rlp
from baychain.errors import DecodingError

_LOREM = b"Lorem ipsum dolor sit amet, consectetur adipisicing elit"

# Vectors from ethereum/tests RLPTests/rlptest.json (integers given as their RLP bytes).
VALID_VECTORS: list[tuple[Any, str]] = [
    (b"", "80"),
    (b"d", "64"),
    (b"dog", "83646f67"),
    (b"\x00", "00"),
    (b"\x7f", "7f"),
    (b"\x80", "8180"),
    (_LOREM[:-1], "b7" + _LOREM[:-1].hex()),  # 55 bytes: the last short string
    (_LOREM, "b838" + _LOREM.hex()),  # 56 bytes: the first long string
    ([], "c0"),
    ([b"cat", b"dog"], "c88363617483646f67"),
    ([[], [[]], [[], [[]]]], "c7c0c1c0c3c0c1c0"),
    ([b"zw", [b"\x04"], b"\x01"], "c6827a77c10401"),
    ([[b"asdf", b"qwer", b"zxcv"]] * 4, "f840" + "cf84617364668471776572847a786376" * 4),
]

UINT_VECTORS = [
    (0, "80"),
    (1, "01"),
    (16, "10"),
    (79, "4f"),
    (127, "7f"),
    (128, "8180"),
    (1000, "8203e8"),
    (100000, "830186a0"),
    (
        0x102030405060708090A0B0C0D0E0F2,
        "8f102030405060708090a0b0c0d0e0f2",
    ),
    (
        0x0100020003000400050006000700080009000A000B000C000D000E01,
        "9c0100020003000400050006000700080009000a000b000c000d000e01",
    ),
    (2**256 - 1, "a0" + "ff" * 32),
]


@pytest.mark.parametrize(("value", "encoded"), VALID_VECTORS)
def test_published_vectors(value: Any, encoded: str) -> None:
    assert rlp.encode(value).hex() == encoded
    assert rlp.decode(bytes.fromhex(encoded)) == value


@pytest.mark.parametrize(("value", "encoded"), UINT_VECTORS)
def test_uint_vectors(value: int, encoded: str) -> None:
    assert rlp.encode(rlp.encode_uint(value)).hex() == encoded
    assert rlp.decode_uint(rlp.decode(bytes.fromhex(encoded))) == value


def test_long_list_prefix() -> None:
    payload = [b"x" * 100] * 3
    encoded = rlp.encode(payload)
    assert encoded[:3] == bytes.fromhex("f90132")
    assert rlp.decode(encoded) == payload


# (input hex, a phrase the message must contain); ethereum/tests invalidRLPTest.json plus ours.
INVALID = [
    ("", "truncated"),
    ("8100", "single byte 0x00"),
    ("8101", "single byte 0x01"),
    ("817f", "single byte 0x7f"),
    ("b800", "leading zero"),
    ("b90040" + "00" * 64, "leading zero"),
    ("b810" + "00" * 16, "long form for a length of 16"),
    ("b837" + "00" * 55, "long form for a length of 55"),
    ("f800", "leading zero"),
    ("f803c0c0c0", "long form for a length of 3"),
    ("83646f", "truncated"),
    ("b8", "truncated"),
    ("b9ff", "truncated"),
    ("c883636174", "truncated"),
    ("c0c0", "trailing"),
    ("8364 6f6700".replace(" ", ""), "trailing"),
    ("c28364", "truncated"),
    ("c3c2836400", "enclosing list"),
    ("bf0f000000000000021111", "truncated"),
    ("ff0f000000000000021111", "truncated"),
]


@pytest.mark.parametrize(("hex_input", "phrase"), INVALID)
def test_rejects_non_canonical_or_malformed(hex_input: str, phrase: str) -> None:
    with pytest.raises(DecodingError, match=phrase):
        rlp.decode(bytes.fromhex(hex_input))


def test_error_names_the_offset() -> None:
    with pytest.raises(DecodingError, match="offset 3"):
        rlp.decode(bytes.fromhex("c4c0c08100"))


def test_depth_limit() -> None:
    nested: rlp.Encodable = []
    for _ in range(rlp.MAX_DEPTH - 1):  # MAX_DEPTH lists, counting the innermost
        nested = [nested]
    assert rlp.decode(rlp.encode(nested)) == nested
    with pytest.raises(DecodingError, match="nested deeper"):
        rlp.decode(rlp.encode([nested]))


def test_hostile_nesting_does_not_exhaust_the_stack() -> None:
    prefixes = []
    size = 0
    for _ in range(10_000):  # well-formed lists nested far beyond the Python stack
        prefix = _list_prefix(size)
        prefixes.append(prefix)
        size += len(prefix)
    with pytest.raises(DecodingError, match="nested deeper"):
        rlp.decode(b"".join(reversed(prefixes)))


def _list_prefix(payload_size: int) -> bytes:
    if payload_size < 56:
        return bytes([0xC0 + payload_size])
    size = payload_size.to_bytes((payload_size.bit_length() + 7) // 8, "big")
    return bytes([0xF7 + len(size)]) + size


@pytest.mark.parametrize("bad", [b"\x00", b"\x00\x01", b"\x00" * 32])
def test_decode_uint_rejects_leading_zeros(bad: bytes) -> None:
    with pytest.raises(DecodingError, match="leading zero"):
        rlp.decode_uint(bad)


def test_decode_uint_width_and_type() -> None:
    assert rlp.decode_uint(b"\xff" * 8, max_bytes=8) == 2**64 - 1
    with pytest.raises(DecodingError, match="9 bytes wide"):
        rlp.decode_uint(b"\x01" + b"\x00" * 8, max_bytes=8, name="nonce")
    with pytest.raises(DecodingError, match="nonce must be an RLP integer"):
        rlp.decode_uint([], name="nonce")


def test_field_helpers() -> None:
    assert rlp.decode_address(b"") is None
    assert rlp.decode_address(b"\x11" * 20) == b"\x11" * 20
    with pytest.raises(DecodingError, match="20 bytes or empty"):
        rlp.decode_address(b"\x11" * 19)
    with pytest.raises(DecodingError, match="must be 32 bytes"):
        rlp.decode_fixed(b"\x11" * 31, 32)
    with pytest.raises(DecodingError, match="at most 32 bytes"):
        rlp.decode_bytes(b"\x11" * 33, max_len=32)
    with pytest.raises(DecodingError, match="3 items"):
        rlp.decode_list([b""], 3)
    with pytest.raises(DecodingError, match="must be an RLP list"):
        rlp.decode_list(b"ab")


def test_encode_rejects_other_types() -> None:
    with pytest.raises(TypeError):
        rlp.encode(5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        rlp.encode("text")
    with pytest.raises(ValueError, match="unsigned"):
        rlp.encode_uint(-1)
    with pytest.raises(TypeError):
        rlp.encode(bytearray(b"dog"))  # type: ignore[arg-type]


items = st.recursive(
    st.binary(max_size=80) | st.binary(min_size=1, max_size=1),
    lambda children: st.lists(children, max_size=6),
    max_leaves=40,
)


@given(items)
def test_round_trip(item: rlp.Item) -> None:
    encoded = rlp.encode(item)
    assert rlp.decode(encoded) == item
    assert encoded == pyrlp.encode(item)


@given(st.integers(min_value=0, max_value=2**256 - 1))
def test_uint_round_trip(value: int) -> None:
    assert rlp.decode_uint(rlp.encode_uint(value)) == value
    assert rlp.encode(rlp.encode_uint(value)) == pyrlp.encode(value)


@st.composite
def mutated_encodings(draw: st.DrawFn) -> bytes:
    data = bytearray(rlp.encode(draw(items)))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        kind = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "append"]))
        at = draw(st.integers(min_value=0, max_value=max(len(data) - 1, 0)))
        byte = draw(st.integers(min_value=0, max_value=255))
        if kind == "flip" and data:
            data[at] = byte
        elif kind == "insert":
            data.insert(at, byte)
        elif kind == "delete" and data:
            del data[at]
        elif kind == "truncate":
            del data[at:]
        else:
            data.append(byte)
    return bytes(data)


@settings(max_examples=500)
@given(mutated_encodings())
def test_mutations_fail_cleanly_or_are_canonical(data: bytes) -> None:
    try:
        item = rlp.decode(data)
    except DecodingError:
        with pytest.raises(pyrlp.exceptions.DecodingError):
            pyrlp.decode(data, strict=True)
        return
    assert rlp.encode(item) == data
    assert pyrlp.decode(data, strict=True) == item


@given(st.binary(max_size=64))
def test_arbitrary_bytes_fail_cleanly_or_are_canonical(data: bytes) -> None:
    try:
        item = rlp.decode(data)
    except DecodingError:
        return
    assert rlp.encode(item) == data


@given(st.lists(items, max_size=12))
def test_offsets_slice_out_each_items_encoding(values: list[rlp.Item]) -> None:
    encoded = rlp.encode(values)
    decoded, offsets = rlp.decode_list_with_offsets(encoded)
    assert decoded == values
    assert offsets[0] == len(encoded) - len(b"".join(rlp.encode(v) for v in values))
    assert offsets[-1] == len(encoded)
    for i in range(len(values) + 1):
        for j in range(i, len(values) + 1):
            assert rlp.wrap_list(encoded[offsets[i] : offsets[j]]) == rlp.encode(values[i:j])


def _outcome(call: Any) -> tuple[str, Any]:
    try:
        return "ok", call()
    except DecodingError as error:
        return "error", str(error)


@settings(max_examples=500)
@given(mutated_encodings(), st.none() | st.integers(min_value=0, max_value=4))
def test_offsets_decoder_agrees_with_decode_list(data: bytes, length: int | None) -> None:
    expected = _outcome(lambda: rlp.decode_list(rlp.decode(data), length, name="thing"))
    got = _outcome(lambda: rlp.decode_list_with_offsets(data, length, name="thing"))
    if expected[0] == "ok":
        assert got[0] == "ok" and got[1][0] == expected[1]
    else:
        assert got == expected


@given(st.lists(st.binary(max_size=80), max_size=8))
def test_wrap_list_of_concatenated_encodings_is_the_list_encoding(values: list[bytes]) -> None:
    assert rlp.wrap_list(b"".join(rlp.encode(v) for v in values)) == pyrlp.encode(values)


def _count_items(item: object) -> int:
    if isinstance(item, list):
        return 1 + sum(_count_items(child) for child in item)
    return 1


@given(items)
def test_max_items_admits_exactly_the_items_a_value_holds(value: rlp.Encodable) -> None:
    encoded = rlp.encode(value)
    count = _count_items(value)
    assert rlp.decode(encoded, max_items=count) == value
    with pytest.raises(DecodingError, match="items"):
        rlp.decode(encoded, max_items=count - 1)


def test_a_flood_of_empty_lists_is_refused_after_max_items() -> None:
    # Found by the fuzz campaign: one 16 MiB frame of 0xc0 bytes (empty lists) cost a node
    # 10 s of CPU and 1.2 GB before its shape could be refused; 1 MiB shows the same path.
    flood = bytes([0xFA, 0x0F, 0xFF, 0xFC]) + b"\xc0" * 0x0FFFFC
    with pytest.raises(DecodingError, match="more items than the message may hold"):
        rlp.decode(flood, max_items=1_000)

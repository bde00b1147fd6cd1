"""LtHash16 lane arithmetic agrees with per-lane modular arithmetic, and updates are order-free."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from baychain.state import lthash

# A seed expanded to a full vector keeps hypothesis' examples small; the edge
# lanes (0x0000, 0xffff, 0x8000, 0x7fff) are mixed in explicitly.
_EDGES = [b"\x00\x00", b"\xff\xff", b"\x00\x80", b"\xff\x7f"]
vectors = st.tuples(st.binary(max_size=8), st.lists(st.sampled_from(_EDGES), max_size=8)).map(
    lambda seed_edges: lthash.from_bytes(
        (b"".join(seed_edges[1]) + lthash.to_bytes(lthash.element(seed_edges[0], b"")))[
            : lthash.LTHASH_BYTES
        ]
    )
)


def lanes(value: int) -> list[int]:
    return [(value >> (16 * i)) & 0xFFFF for i in range(lthash.LANES)]


@given(vectors, vectors)
def test_add_and_subtract_are_lane_wise_modulo_2_16(a: int, b: int) -> None:
    pairs = list(zip(lanes(a), lanes(b), strict=True))
    assert lanes(lthash.add(a, b)) == [(x + y) & 0xFFFF for x, y in pairs]
    assert lanes(lthash.subtract(a, b)) == [(x - y) & 0xFFFF for x, y in pairs]


def test_extreme_lanes_wrap_without_leaking_carries() -> None:
    full = lthash.from_bytes(b"\xff\xff" * lthash.LANES)
    one = lthash.from_bytes(b"\x01\x00" * lthash.LANES)
    assert lthash.add(full, one) == 0
    assert lthash.subtract(0, one) == full


@given(st.lists(st.tuples(st.binary(max_size=8), st.binary(max_size=8)), max_size=12), st.randoms())
def test_a_set_of_entries_hashes_the_same_in_any_order(
    entries: list[tuple[bytes, bytes]], rng: object
) -> None:
    forward = 0
    for key, value in entries:
        forward = lthash.add(forward, lthash.element(key, value))
    shuffled = list(entries)
    rng.shuffle(shuffled)  # type: ignore[attr-defined]
    backward = 0
    for key, value in shuffled:
        backward = lthash.add(backward, lthash.element(key, value))
    assert forward == backward
    for key, value in entries:
        backward = lthash.subtract(backward, lthash.element(key, value))
    assert backward == 0


def test_serialisation_round_trip_and_length_check() -> None:
    value = lthash.element(b"k", b"v")
    assert lthash.from_bytes(lthash.to_bytes(value)) == value
    try:
        lthash.from_bytes(b"\x00" * 10)
    except ValueError as error:
        assert "2048" in str(error)
    else:
        raise AssertionError("a short LtHash value was accepted")


entry_lists = st.lists(st.tuples(st.binary(max_size=80), st.binary(max_size=80)), max_size=12)


@given(entry_lists)
def test_native_vectors_are_the_reference_vectors(entries: list[tuple[bytes, bytes]]) -> None:
    reference = [lthash.element(key, value) for key, value in entries]
    assert lthash.elements(entries) == [lthash.to_bytes(vector) for vector in reference]
    total = 0
    for vector in reference:
        total = lthash.add(total, vector)
    assert lthash.sum_elements(entries) == lthash.to_bytes(total)


@given(vectors, st.lists(vectors, max_size=4), st.lists(vectors, max_size=4))
def test_native_combine_is_adding_then_subtracting(
    total: int, added: list[int], removed: list[int]
) -> None:
    expected = total
    for vector in added:
        expected = lthash.add(expected, vector)
    for vector in removed:
        expected = lthash.subtract(expected, vector)
    added_bytes = [lthash.to_bytes(vector) for vector in added]
    removed_bytes = [lthash.to_bytes(vector) for vector in removed]
    assert lthash.combine(total, added_bytes, removed_bytes) == expected


def test_native_combine_refuses_a_short_vector() -> None:
    with pytest.raises(ValueError, match="2048-byte LtHash16 vector"):
        lthash.combine(0, [b"\x01" * 2047], [])
    with pytest.raises(ValueError, match="removed vector"):
        lthash.combine(0, [], [b""])

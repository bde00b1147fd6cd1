"""Frames: the wire layout, the size cap, and the decoder's independence from how bytes
are split (a hypothesis law)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from baychain.errors import DecodingError, FrameError, FrameTooLarge
from baychain.network.frames import (
    APPLICATION_KINDS,
    CONTROL_KINDS,
    MAX_FRAME_BYTES,
    PROTOCOL_VERSION,
    Frame,
    FrameDecoder,
    MessageKind,
    encode_frame,
)


def test_layout_is_length_version_kind_payload() -> None:
    header = b"\x00\x00\x00\x05" + bytes([PROTOCOL_VERSION, 0x10])
    assert encode_frame(0x10, b"abc") == header + b"abc"
    assert encode_frame(0x03, b"", version=7) == b"\x00\x00\x00\x02\x07\x03"


def test_default_cap_is_16_mib() -> None:
    assert MAX_FRAME_BYTES == 16 * 1024 * 1024


def test_control_and_application_kinds_partition_the_kinds() -> None:
    assert set(MessageKind) == CONTROL_KINDS | APPLICATION_KINDS
    assert not CONTROL_KINDS & APPLICATION_KINDS
    assert all(kind < 0x10 for kind in CONTROL_KINDS)
    assert all(kind >= 0x10 for kind in APPLICATION_KINDS)


def test_encoder_refuses_bodies_above_its_cap() -> None:
    encode_frame(0x10, b"x" * 98, max_frame_bytes=100)
    with pytest.raises(FrameTooLarge) as caught:
        encode_frame(0x10, b"x" * 99, max_frame_bytes=100)
    assert (caught.value.size, caught.value.limit) == (101, 100)


@pytest.mark.parametrize(("version", "kind"), [(256, 1), (1, 256), (-1, 1)])
def test_encoder_refuses_non_byte_headers(version: int, kind: int) -> None:
    with pytest.raises(ValueError):
        encode_frame(kind, b"", version=version)


def test_decoder_waits_for_a_whole_frame() -> None:
    wire = encode_frame(0x11, b"payload")
    decoder = FrameDecoder()
    decoder.feed(wire[:-1])
    assert decoder.next_frame() is None
    decoder.feed(wire[-1:])
    assert decoder.next_frame() == Frame(PROTOCOL_VERSION, 0x11, b"payload")
    assert decoder.next_frame() is None
    assert decoder.buffered == 0


def test_oversized_prefix_is_refused_before_the_body_arrives() -> None:
    decoder = FrameDecoder(max_frame_bytes=1000)
    decoder.feed((1001).to_bytes(4, "big"))  # no body at all yet
    with pytest.raises(FrameTooLarge) as caught:
        decoder.next_frame()
    assert (caught.value.size, caught.value.limit) == (1001, 1000)
    assert isinstance(caught.value, DecodingError)
    decoder.feed(encode_frame(0x10, b"ok"))
    with pytest.raises(FrameTooLarge):  # poisoned: no frame boundaries after it
        decoder.next_frame()


@pytest.mark.parametrize("length", [0, 1])
def test_length_below_the_header_is_malformed(length: int) -> None:
    decoder = FrameDecoder()
    decoder.feed(length.to_bytes(4, "big") + b"\x01\x10")
    with pytest.raises(FrameError) as caught:
        decoder.next_frame()
    assert not isinstance(caught.value, FrameTooLarge)


def test_cap_can_be_raised_after_the_handshake() -> None:
    decoder = FrameDecoder(max_frame_bytes=10)
    decoder.feed(encode_frame(0x01, b"hi") + encode_frame(0x10, b"x" * 50))
    assert decoder.next_frame() == Frame(PROTOCOL_VERSION, 0x01, b"hi")
    decoder.max_frame_bytes = 100
    assert decoder.next_frame() == Frame(PROTOCOL_VERSION, 0x10, b"x" * 50)


def test_unknown_kinds_and_versions_still_decode_as_frames() -> None:
    decoder = FrameDecoder()
    decoder.feed(encode_frame(0xEE, b"?", version=9))
    assert decoder.frames() == [Frame(9, 0xEE, b"?")]


frames_strategy = st.lists(
    st.builds(
        Frame,
        version=st.integers(0, 255),
        kind=st.integers(0, 255),
        payload=st.binary(max_size=300),
    ),
    max_size=12,
)


@given(frames=frames_strategy, cuts=st.lists(st.integers(0, 5000), max_size=20))
def test_any_split_of_a_stream_decodes_to_the_same_frames(
    frames: list[Frame], cuts: list[int]
) -> None:
    wire = b"".join(encode_frame(f.kind, f.payload, version=f.version) for f in frames)
    points = sorted({c % (len(wire) + 1) for c in cuts} | {0, len(wire)})
    decoder = FrameDecoder()
    out: list[Frame] = []
    for start, end in itertools.pairwise(points):
        decoder.feed(wire[start:end])
        out.extend(decoder.frames())
    assert out == frames
    assert decoder.buffered == 0


@given(frames=frames_strategy, garbage=st.binary(min_size=4, max_size=64))
def test_garbage_after_frames_never_hides_them_nor_escapes_as_another_error(
    frames: list[Frame], garbage: bytes
) -> None:
    wire = b"".join(encode_frame(f.kind, f.payload, version=f.version) for f in frames)
    decoder = FrameDecoder(max_frame_bytes=1024)
    decoder.feed(wire + garbage)
    assert [decoder.next_frame() for _ in frames] == frames
    try:
        extra = decoder.frames()
    except FrameError:
        return  # the garbage announced an impossible length
    consumed = sum(4 + 2 + len(f.payload) for f in extra) + decoder.buffered
    assert consumed == len(garbage)

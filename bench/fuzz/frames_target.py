"""Fuzz target ``frames``: :class:`baychain.network.frames.FrameDecoder` on a byte stream.

The input's first byte picks the frame cap (bit 0: the handshake cap or the default)
and seeds how the rest, the stream, is cut into the pieces fed to the decoder. The
decoder returns frames or raises :class:`~baychain.errors.FrameError`; after an error
it must raise again (poisoned). Frames returned must re-encode to exactly the bytes
they consumed, each within the cap, and ``buffered`` must count the rest.
"""

from __future__ import annotations

import random

from baychain.errors import FrameError
from baychain.network.frames import (
    FRAME_HEADER_BYTES,
    MAX_FRAME_BYTES,
    MAX_HANDSHAKE_FRAME_BYTES,
    Frame,
    FrameDecoder,
    encode_frame,
)
from fuzz.harness import PropertyViolation, Target
from fuzz.seeds import frame_streams


def _pieces(control: int, stream: bytes) -> list[bytes]:
    rng = random.Random(control)
    pieces = []
    at = 0
    while at < len(stream):
        size = len(stream) if rng.random() < 0.2 else rng.randint(1, 64)
        pieces.append(stream[at : at + size])
        at += size
    return pieces


def check(data: bytes) -> None:
    """Feed the stream in pieces and check the frames cut out of it."""
    if not data:
        return
    cap = MAX_HANDSHAKE_FRAME_BYTES if data[0] & 1 else MAX_FRAME_BYTES
    stream = data[1:]
    decoder = FrameDecoder(cap)
    frames: list[Frame] = []
    try:
        for piece in _pieces(data[0], stream):
            decoder.feed(piece)
            frames.extend(decoder.frames())
    except FrameError as error:
        try:
            decoder.next_frame()
        except FrameError as again:
            if again is not error:
                raise PropertyViolation("a poisoned decoder raised another error") from None
        else:
            raise PropertyViolation("a decoder returned a frame after an error") from None
    consumed = b"".join(
        encode_frame(f.kind, f.payload, version=f.version, max_frame_bytes=cap) for f in frames
    )
    if stream[: len(consumed)] != consumed:
        raise PropertyViolation("the frames do not re-encode to the bytes they came from")
    if any(len(f.payload) + FRAME_HEADER_BYTES > cap for f in frames):
        raise PropertyViolation("a frame is longer than the cap")
    if decoder.buffered > len(stream) - len(consumed):
        raise PropertyViolation("the decoder buffers more bytes than it was fed")


def seeds() -> list[bytes]:
    """Streams of real frames, each behind a control byte of either cap."""
    return [bytes((control,)) + s for s in frame_streams() for control in (0, 1, 6, 7)]


TARGETS = [Target("frames", check, seeds, dictionary=(b"\x00\x00\x00\x02", b"\xff\xff\xff\xff"))]

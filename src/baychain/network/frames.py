"""Frames: how messages are cut out of a peer's TLS byte stream.

Every message between two nodes travels as one frame::

    frame  = length (4 bytes, big-endian) || body
    body   = version (1 byte) || kind (1 byte) || payload (length - 2 bytes)

``length`` counts the body, so it is at least 2 (:data:`FRAME_HEADER_BYTES`) and at
most the receiver's cap (:data:`MAX_FRAME_BYTES` unless configured otherwise). The
cap is checked as soon as the 4-byte prefix arrives, before any of the body is
buffered, so a peer cannot make a node allocate more than the cap.

``version`` is the protocol version agreed in the handshake (:data:`PROTOCOL_VERSION`);
``kind`` says what the payload is (:class:`MessageKind`). The framing layer does not
interpret either: a frame with an unknown kind or version is still a frame (the stream
stays in sync, so the connection decides what to do with it), while a length below 2
or above the cap is a :class:`~baychain.errors.FrameError`, after which the stream
cannot be trusted and the connection is closed.

:class:`FrameDecoder` is sans-I/O: feed it bytes as they arrive, in any split, and
take frames out.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

from baychain.errors import FrameError, FrameTooLarge

__all__ = [
    "APPLICATION_KINDS",
    "CONTROL_KINDS",
    "FRAME_HEADER_BYTES",
    "LENGTH_PREFIX_BYTES",
    "MAX_FRAME_BYTES",
    "MAX_HANDSHAKE_FRAME_BYTES",
    "PROTOCOL_VERSION",
    "SUPPORTED_VERSIONS",
    "Frame",
    "FrameDecoder",
    "MessageKind",
    "encode_frame",
]

PROTOCOL_VERSION = 1
"""The peer protocol version this node speaks (the frame's first body byte)."""

SUPPORTED_VERSIONS: frozenset[int] = frozenset({1})
"""Versions a node accepts from a peer's Hello; the highest common one is used."""

LENGTH_PREFIX_BYTES = 4
"""Width of the big-endian length prefix."""

FRAME_HEADER_BYTES = 2
"""Version byte plus kind byte: the smallest possible body."""

MAX_FRAME_BYTES = 16 * 1024 * 1024
"""Default cap on a frame body, in bytes (16 MiB: a full block with room to spare)."""

MAX_HANDSHAKE_FRAME_BYTES = 4096
"""Cap on a frame body before the peer is authenticated (Hello and proof are small)."""

_PREFIX = struct.Struct(">I")


class MessageKind(IntEnum):
    """What a frame's payload is.

    ``0x01``-``0x0f`` are the transport's own control messages (never passed to the
    node's handler); ``0x10`` and up are carried for the node, which defines their
    payloads. A kind not listed here is unknown: the frame is dropped and the peer
    scored.
    """

    HELLO = 0x01
    """Handshake: protocol version, chain id, genesis hash, consensus key, challenge."""
    PROOF = 0x02
    """Handshake: the signature binding the consensus key to this TLS session."""
    KEEPALIVE = 0x03
    """Empty; sent when a connection has been idle, so dead peers are noticed."""
    GOODBYE = 0x04
    """A reason code and text, sent before closing (refused, duplicate, banned, bye)."""

    CONSENSUS = 0x10
    """A consensus message (``baychain.consensus.messages.encode_message``)."""
    TRANSACTIONS = 0x11
    """Transaction gossip: an RLP list of signed transactions (:mod:`.gossip`)."""
    STATUS = 0x12
    """The sender's chain status (head height and hash), for block sync."""
    BLOCK_REQUEST = 0x13
    """A request for committed blocks, for block sync."""
    BLOCK_RESPONSE = 0x14
    """Committed blocks with their certificates, answering a request."""


CONTROL_KINDS: frozenset[MessageKind] = frozenset(
    {MessageKind.HELLO, MessageKind.PROOF, MessageKind.KEEPALIVE, MessageKind.GOODBYE}
)
"""Kinds the transport handles itself."""

APPLICATION_KINDS: frozenset[MessageKind] = frozenset(set(MessageKind) - CONTROL_KINDS)
"""Kinds passed to the node's message handler."""


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded frame: its version and kind bytes (not yet checked) and payload."""

    version: int
    kind: int
    payload: bytes


def encode_frame(
    kind: int,
    payload: bytes,
    *,
    version: int = PROTOCOL_VERSION,
    max_frame_bytes: int = MAX_FRAME_BYTES,
) -> bytes:
    """Return the frame carrying ``payload`` as ``kind``.

    Raise :class:`~baychain.errors.FrameTooLarge` when the body would exceed
    ``max_frame_bytes`` (the sender's cap; a peer enforces its own) and ``ValueError``
    when ``version`` or ``kind`` is not a byte.
    """
    if not 0 <= version <= 0xFF or not 0 <= kind <= 0xFF:
        raise ValueError(f"version and kind are single bytes, got {version} and {kind}")
    length = FRAME_HEADER_BYTES + len(payload)
    if length > max_frame_bytes:
        raise FrameTooLarge(length, max_frame_bytes)
    return _PREFIX.pack(length) + bytes((version, kind)) + payload


class FrameDecoder:
    """Cut frames out of a byte stream fed in arbitrary pieces (sans-I/O).

    ``feed`` buffers bytes; ``next_frame`` returns the next complete frame or ``None``
    when more bytes are needed. A length prefix above :attr:`max_frame_bytes` raises
    :class:`~baychain.errors.FrameTooLarge` and one below the header size raises
    :class:`~baychain.errors.FrameError`, as soon as the prefix is complete; after
    that the decoder is poisoned and raises the same error again, because the rest
    of the stream has no known frame boundaries.
    """

    __slots__ = ("_buffer", "_error", "_start", "max_frame_bytes")

    def __init__(self, max_frame_bytes: int = MAX_FRAME_BYTES) -> None:
        if max_frame_bytes < FRAME_HEADER_BYTES:
            raise ValueError(f"a frame cap below {FRAME_HEADER_BYTES} bytes admits no frame")
        self.max_frame_bytes = max_frame_bytes
        """Largest body accepted; may be raised after the handshake."""
        self._buffer = bytearray()
        self._start = 0
        self._error: FrameError | None = None

    @property
    def buffered(self) -> int:
        """Bytes received and not yet returned as frames."""
        return len(self._buffer) - self._start

    def feed(self, data: bytes) -> None:
        """Append bytes received from the stream."""
        if self._start and self._start * 2 >= len(self._buffer):
            # Drop consumed bytes once they are most of the buffer: amortised O(n).
            del self._buffer[: self._start]
            self._start = 0
        self._buffer += data

    def next_frame(self) -> Frame | None:
        """Return the next complete frame, or ``None`` until more bytes are fed."""
        if self._error is not None:
            raise self._error
        if self.buffered < LENGTH_PREFIX_BYTES:
            return None
        (length,) = _PREFIX.unpack_from(self._buffer, self._start)
        if length > self.max_frame_bytes:
            self._error = FrameTooLarge(length, self.max_frame_bytes)
            raise self._error
        if length < FRAME_HEADER_BYTES:
            self._error = FrameError(
                f"frame length {length} is below the {FRAME_HEADER_BYTES}-byte header"
            )
            raise self._error
        end = self._start + LENGTH_PREFIX_BYTES + length
        if len(self._buffer) < end:
            return None
        body = self._start + LENGTH_PREFIX_BYTES
        frame = Frame(
            version=self._buffer[body],
            kind=self._buffer[body + 1],
            payload=bytes(self._buffer[body + FRAME_HEADER_BYTES : end]),
        )
        self._start = end
        return frame

    def frames(self) -> list[Frame]:
        """Return every complete frame buffered so far (raising as :meth:`next_frame`)."""
        out = []
        while (frame := self.next_frame()) is not None:
            out.append(frame)
        return out

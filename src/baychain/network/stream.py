"""A framed stream: an asyncio TLS connection read and written as frames.

The thin I/O shell around :class:`~baychain.network.frames.FrameDecoder`. The same
decoder serves the handshake (with the small pre-authentication cap) and the rest
of the connection (with the configured cap), so bytes a peer sends right after its
proof are never lost between the two phases.
"""

from __future__ import annotations

import asyncio
import ssl

from baychain.network.frames import (
    MAX_HANDSHAKE_FRAME_BYTES,
    PROTOCOL_VERSION,
    Frame,
    FrameDecoder,
    encode_frame,
)

__all__ = ["READ_CHUNK_BYTES", "FramedStream", "PeerClosed"]

READ_CHUNK_BYTES = 64 * 1024
"""Bytes asked of the socket per read."""


class PeerClosed(ConnectionError):
    """The peer closed the connection (end of stream): a socket event, not a BayChain
    error, so it is a :class:`ConnectionError` like the socket's own."""


class FramedStream:
    """Frames over one asyncio stream pair; starts with the handshake's frame cap."""

    __slots__ = ("bytes_read", "decoder", "reader", "writer")

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        max_frame_bytes: int = MAX_HANDSHAKE_FRAME_BYTES,
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.decoder = FrameDecoder(max_frame_bytes)
        self.bytes_read = 0
        """Bytes received so far (the transport watches it to tell idle from busy)."""

    async def read_frame(self) -> Frame:
        """Return the next frame; raise :class:`PeerClosed` at end of stream and
        :class:`~baychain.errors.FrameError` for a stream that is not frames."""
        while (frame := self.decoder.next_frame()) is None:
            data = await self.reader.read(READ_CHUNK_BYTES)
            if not data:
                raise PeerClosed
            self.bytes_read += len(data)
            self.decoder.feed(data)
        return frame

    def write_frame(self, kind: int, payload: bytes, version: int = PROTOCOL_VERSION) -> None:
        """Queue one frame on the socket (the caller drains)."""
        self.writer.write(encode_frame(kind, payload, version=version))

    def ssl_object(self) -> ssl.SSLObject | None:
        """The TLS session of this stream, if it is one."""
        obj = self.writer.get_extra_info("ssl_object")
        return obj if isinstance(obj, ssl.SSLObject) else None

    def remote(self) -> str:
        """``host:port`` of the other end, for logs."""
        peer = self.writer.get_extra_info("peername")
        if isinstance(peer, tuple) and len(peer) >= 2:
            return f"{peer[0]}:{peer[1]}"
        return "?"

    async def close(self, flush_seconds: float = 1.0) -> None:
        """Close the connection: flush what is written for up to ``flush_seconds``
        (a peer that does not read is not waited for), then drop the socket."""
        if not self.writer.is_closing():
            self.writer.close()
        try:
            await asyncio.wait_for(self.writer.wait_closed(), flush_seconds)
        except TimeoutError:
            self.writer.transport.abort()
        except OSError:
            pass  # the socket was already broken: nothing left to flush

"""One authenticated connection to a peer: a reader, a bounded writer and a keepalive.

Three tasks share a connection once its handshake is done:

- the *reader* takes frames off the socket and hands each to the transport's
  dispatcher, one at a time (a slow consumer slows this peer's reading only);
- the *writer* empties a bounded queue onto the socket; :meth:`Connection.enqueue`
  never blocks, it refuses a frame when the queue is full, so a slow peer can
  never hold up the node or its other peers; a socket that does not take what
  was written within ``write_timeout_seconds`` closes the connection as slow;
- the *keepalive* sends an empty frame when nothing was sent for
  ``keepalive_seconds`` and closes a connection on which the reader waited
  ``idle_timeout_seconds`` without receiving a byte.

Policy (what a frame means, scores, bans) belongs to :mod:`.transport`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from baychain.errors import FrameError
from baychain.network.config import TransportConfig
from baychain.network.frames import Frame, MessageKind, encode_frame
from baychain.network.handshake import AuthenticatedPeer, Refusal, encode_goodbye
from baychain.network.metrics import Metrics
from baychain.network.stream import FramedStream
from baychain.primitives import PeerId

__all__ = ["Connection", "PeerInfo"]

_log = logging.getLogger("baychain.network")


@dataclass(frozen=True, slots=True)
class PeerInfo:
    """What the node may know about a connected peer."""

    peer_id: PeerId
    public_key: bytes
    """The peer's consensus public key (64 bytes)."""
    outbound: bool
    """True when this node dialed the connection."""
    remote: str
    """``host:port`` of the other end."""
    certificate_name: str
    """Common name of the peer's TLS certificate."""
    version: int
    """Protocol version spoken on the connection."""


class Connection:
    """A live, authenticated connection (created by the transport after the handshake)."""

    def __init__(
        self,
        stream: FramedStream,
        peer: AuthenticatedPeer,
        *,
        outbound: bool,
        config: TransportConfig,
        metrics: Metrics,
    ) -> None:
        self.stream = stream
        self.info = PeerInfo(
            peer_id=peer.peer_id,
            public_key=peer.public_key,
            outbound=outbound,
            remote=stream.remote(),
            certificate_name=peer.certificate_name,
            version=peer.version,
        )
        self._config = config
        self._metrics = metrics
        self._queue: asyncio.Queue[bytes] = asyncio.Queue(config.send_queue_frames)
        self._queued_bytes = 0
        self._closing = asyncio.Event()
        self.closed = asyncio.Event()
        """Set once the connection is fully closed."""
        self.close_reason: str | None = None
        """Why the connection closed (a :class:`~.handshake.Refusal` value or ``"eof"``)."""
        self._sent_at = 0.0
        self._reading = False

    @property
    def peer_id(self) -> PeerId:
        """The peer's identity."""
        return self.info.peer_id

    @property
    def is_open(self) -> bool:
        """True until :meth:`close` is called or the socket fails."""
        return not self._closing.is_set()

    def enqueue(self, frame: bytes) -> bool:
        """Queue an encoded frame; return False (and count it) if the queue is full."""
        if self._closing.is_set():
            return False
        if self._queued_bytes + len(frame) > self._config.send_queue_bytes:
            self._metrics.inc("send_dropped.queue_full")
            return False
        try:
            self._queue.put_nowait(frame)
        except asyncio.QueueFull:
            self._metrics.inc("send_dropped.queue_full")
            return False
        self._queued_bytes += len(frame)
        return True

    def close(self, reason: str, detail: str = "", *, tell_peer: bool = True) -> None:
        """Start closing (idempotent): send a GOODBYE naming ``reason`` unless told not to,
        then stop the tasks; :attr:`closed` is set when done."""
        if self._closing.is_set():
            return
        self.close_reason = reason
        if tell_peer:
            with contextlib.suppress(OSError, RuntimeError):
                # Straight onto the socket, past the queue: the queue may be full.
                self.stream.writer.write(
                    encode_frame(
                        MessageKind.GOODBYE,
                        encode_goodbye(reason, detail),
                        version=self.info.version,
                    )
                )
        self._closing.set()

    async def run(
        self,
        dispatch: Callable[[Connection, Frame], Awaitable[None]],
        stream_error: Callable[[Connection, FrameError], None],
    ) -> None:
        """Serve the connection until it closes; never raises for peer or socket trouble."""
        loop = asyncio.get_running_loop()
        self._sent_at = loop.time()
        tasks = [
            asyncio.create_task(self._read_loop(dispatch, stream_error)),
            asyncio.create_task(self._write_loop()),
            asyncio.create_task(self._keepalive_loop()),
            asyncio.create_task(self._closing.wait()),
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            for outcome in await asyncio.gather(*tasks, return_exceptions=True):
                if isinstance(outcome, BaseException) and not isinstance(
                    outcome, asyncio.CancelledError
                ):  # a transport bug: say so, still close
                    _log.error("connection to %s failed", self.peer_id, exc_info=outcome)
            if self.close_reason is None:
                self.close_reason = "eof"
            self._closing.set()
            await self.stream.close()
            self.closed.set()

    async def _read_loop(
        self,
        dispatch: Callable[[Connection, Frame], Awaitable[None]],
        stream_error: Callable[[Connection, FrameError], None],
    ) -> None:
        while True:
            self._reading = True
            try:
                frame = await self.stream.read_frame()
            except FrameError as exc:
                stream_error(self, exc)
                return
            except OSError:  # end of stream, reset, TLS failure: the peer is gone
                return
            finally:
                self._reading = False
            self._metrics.inc("frames_received")
            self._metrics.inc("bytes_received", len(frame.payload) + 6)
            try:
                await dispatch(self, frame)
            except BaseException as exc:
                # The dispatcher survives the handler's faults; this is the last line, so
                # that nothing (a Rust panic is a BaseException) ends the reader silently.
                if isinstance(exc, (KeyboardInterrupt, SystemExit, asyncio.CancelledError)):
                    raise
                self._metrics.inc("handler_errors")
                _log.error("dropped a frame from %s: dispatch failed", self.peer_id, exc_info=exc)

    async def _write_loop(self) -> None:
        loop = asyncio.get_running_loop()
        writer = self.stream.writer
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty():
                batch.append(self._queue.get_nowait())
            size = sum(len(frame) for frame in batch)
            self._queued_bytes -= size
            try:
                writer.writelines(batch)
                await asyncio.wait_for(writer.drain(), self._config.write_timeout_seconds)
            except TimeoutError:
                self._metrics.inc("disconnected.slow")
                self.close(Refusal.SLOW, "did not read in time", tell_peer=False)
                return
            except OSError:
                return
            self._sent_at = loop.time()
            self._metrics.inc("frames_sent", len(batch))
            self._metrics.inc("bytes_sent", size)

    async def _keepalive_loop(self) -> None:
        loop = asyncio.get_running_loop()
        period = self._config.keepalive_seconds
        tick = min(period, self._config.idle_timeout_seconds) / 2
        seen = self.stream.bytes_read
        progress_at = loop.time()
        while True:
            await asyncio.sleep(tick)
            now = loop.time()
            if self.stream.bytes_read != seen or not self._reading:
                seen = self.stream.bytes_read
                progress_at = now
            elif now - progress_at > self._config.idle_timeout_seconds:
                self._metrics.inc("disconnected.idle")
                self.close(Refusal.IDLE, "nothing received in time")
                return
            if now - self._sent_at >= period and self._queue.empty():
                self.enqueue(encode_frame(MessageKind.KEEPALIVE, b"", version=self.info.version))

"""The peer manager: listen, dial, authenticate, keep one connection per peer, and police.

:class:`PeerManager` is the node's whole view of the network. It

- listens for peers (TCP, then TLS 1.3 with the consortium CA, then the identity
  handshake of :mod:`.handshake`) and dials the configured ones, redialing with
  jittered exponential backoff (:mod:`.backoff`) for as long as it runs;
- keeps at most one connection per peer identity. When two nodes dial each other
  at once, both keep the connection dialed by the node with the smaller peer id
  (and the newer of two connections in the same direction), so both ends settle
  on the same one without talking about it;
- carries opaque payloads of the application kinds (:data:`.frames.APPLICATION_KINDS`):
  :meth:`~PeerManager.send`, :meth:`~PeerManager.broadcast`, and the node's handler
  for what arrives;
- drops and counts bad input, naming the peer in a log line and a metric, and bans a
  peer whose misbehaviour score crosses the threshold (:mod:`.scoring`). Nothing a
  peer sends can raise out of the manager. Scores that have leaked to zero and bans
  that have expired are forgotten whenever a connection is established or an offence
  recorded, so the table holds only peers that misbehaved lately.

Delivery is best effort: a frame to a peer that is not connected, or whose send queue
is full, is dropped (``send`` returns False). Consumers that need delivery re-send
(consensus re-gossips its latest messages; block sync retries requests).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import ipaddress
import logging
import random
import ssl
from collections.abc import Awaitable, Callable, Collection, Set
from typing import Any, TypeAlias

from baychain.errors import (
    CryptoError,
    DecodingError,
    FrameError,
    FrameTooLarge,
    HandshakeFailed,
    InvalidPeerMessage,
)
from baychain.network.config import PeerAddress, TransportConfig
from baychain.network.connection import Connection, PeerInfo
from baychain.network.frames import APPLICATION_KINDS, Frame, MessageKind, encode_frame
from baychain.network.handshake import (
    AuthenticatedPeer,
    NodeIdentity,
    Refusal,
    decode_goodbye,
    encode_goodbye,
    run_handshake,
)
from baychain.network.metrics import Metrics
from baychain.network.pki import TlsCredentials
from baychain.network.scoring import MisbehaviourTracker, Offence
from baychain.network.stream import FramedStream
from baychain.primitives import PeerId

__all__ = ["AllowedPeers", "MessageHandler", "PeerManager"]

MessageHandler: TypeAlias = Callable[[PeerId, MessageKind, bytes], Awaitable[None] | None]
"""The node's handler of inbound messages: ``(peer, kind, payload)``, sync or async.

Raising :class:`~baychain.errors.InvalidPeerMessage`, a
:class:`~baychain.errors.DecodingError` or a :class:`~baychain.errors.CryptoError`
marks the message invalid: it is counted against the peer. Any other exception is
a fault of the node, logged and counted, never blamed on the peer.
"""

AllowedPeers: TypeAlias = Callable[[bytes], bool] | Set[bytes]
"""Which consensus public keys may connect: a predicate, or a set (consulted live, so
the node may update it in place; call :meth:`PeerManager.revalidate` afterwards)."""

_log = logging.getLogger("baychain.network")


class PeerManager:
    """This node's peer-to-peer transport (see the module docstring)."""

    def __init__(
        self,
        identity: NodeIdentity,
        tls: TlsCredentials,
        config: TransportConfig,
        *,
        allowed: AllowedPeers,
        handler: MessageHandler,
        on_connect: Callable[[PeerInfo], None] | None = None,
        on_disconnect: Callable[[PeerInfo], None] | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], float] | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self.identity = identity
        self.config = config
        self.metrics = Metrics()
        """Counters (see :mod:`.metrics`)."""
        self.scores = MisbehaviourTracker(config.scores)
        """Misbehaviour scores and bans, by peer id."""
        self._tls = tls
        self._allowed: Callable[[bytes], bool] = (
            allowed.__contains__ if isinstance(allowed, Set) else allowed
        )
        self._handler = handler
        self._on_connect = on_connect
        self._on_disconnect = on_disconnect
        self._rng = rng or random.Random()
        self._clock = clock
        self._log = logger or _log
        self._peers: dict[PeerId, Connection] = {}
        self._address_ids: dict[PeerAddress, PeerId] = {}
        self._dialers: dict[PeerAddress, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._handshaking: set[asyncio.Task[Any]] = set()
        self._server: asyncio.Server | None = None
        self._pending_handshakes = 0
        self._pending_by_source: dict[str, int] = {}
        self._changed = asyncio.Event()
        self._running = False

    # ----- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on ``config.listen_host:listen_port`` and start dialing the configured peers."""
        if self._running:
            return
        self._running = True
        self._server = await asyncio.start_server(
            self._accept, self.config.listen_host, self.config.listen_port
        )
        self._log.info(
            "peer transport of %s listening on %s:%d",
            self.peer_id,
            self.config.listen_host,
            self.listen_port,
        )
        for address in self.config.peers:
            self.add_peer(address)

    async def close(self) -> None:
        """Stop listening and dialing, say goodbye to every peer and wait for it all."""
        if not self._running:
            return
        self._running = False
        if self._server is not None:
            self._server.close()
        for task in [*self._dialers.values(), *self._handshaking]:
            task.cancel()
        for connection in list(self._peers.values()):
            connection.close(Refusal.SHUTDOWN, "node is stopping")
        await asyncio.gather(
            *self._dialers.values(), *self._handshaking, *self._tasks, return_exceptions=True
        )
        self._dialers.clear()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> PeerManager:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    @property
    def peer_id(self) -> PeerId:
        """This node's own peer id."""
        return self.identity.peer_id

    @property
    def listen_port(self) -> int:
        """The port actually listened on (useful with ``listen_port=0``)."""
        if self._server is None or not self._server.sockets:
            raise RuntimeError("the peer manager is not listening; call start() first")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    # ----- the node's API --------------------------------------------------------------

    @property
    def pending_handshakes(self) -> int:
        """Inbound connections in TLS or the identity handshake right now."""
        return self._pending_handshakes

    def connected_peers(self) -> tuple[PeerInfo, ...]:
        """The peers connected now (connections being closed excluded), by peer id."""
        return tuple(self._peers[p].info for p in sorted(self._peers) if self._peers[p].is_open)

    def is_connected(self, peer: PeerId) -> bool:
        """True when ``peer`` has an open connection (not one being closed)."""
        connection = self._peers.get(peer)
        return connection is not None and connection.is_open

    def send(self, peer: PeerId, kind: MessageKind, payload: bytes) -> bool:
        """Queue ``payload`` as ``kind`` for ``peer``; return False if it was dropped
        (not connected, or its send queue full). Never blocks.

        Raise ``ValueError`` for a transport-control kind and
        :class:`~baychain.errors.FrameTooLarge` for a payload above the frame cap.
        """
        frame = self._frame(kind, payload)
        connection = self._peers.get(peer)
        if connection is None:
            self.metrics.inc("send_dropped.not_connected")
            return False
        return self._enqueue(connection, frame)

    def broadcast(
        self, kind: MessageKind, payload: bytes, *, exclude: Collection[PeerId] = ()
    ) -> int:
        """Queue ``payload`` as ``kind`` for every connected peer not in ``exclude``;
        return how many took it. Raises as :meth:`send`."""
        frame = self._frame(kind, payload)
        return sum(
            self._enqueue(connection, frame)
            for peer, connection in list(self._peers.items())
            if peer not in exclude
        )

    def report_invalid(self, peer: PeerId, reason: str, *, points: int | None = None) -> None:
        """Count an invalid message from ``peer`` found after its handler returned (say,
        a consensus signature checked later); ``points`` overrides the offence's default."""
        self._offence(peer, Offence.INVALID_MESSAGE, reason, points=points)

    def revalidate(self) -> int:
        """Disconnect every peer whose key is no longer allowed; return how many."""
        dropped = 0
        for connection in list(self._peers.values()):
            if not self._allowed(connection.info.public_key):
                self._log.warning(
                    "peer %s is no longer in the consortium's peer set; disconnecting",
                    connection.peer_id,
                )
                connection.close(Refusal.NOT_ALLOWED, "no longer in the consortium's peer set")
                dropped += 1
        return dropped

    def is_banned(self, peer: PeerId) -> bool:
        """True while ``peer`` is banned for misbehaving."""
        return self.scores.is_banned(peer, self._now())

    def unban(self, peer: PeerId) -> None:
        """Lift a ban (an operator's decision)."""
        self.scores.unban(peer)
        self._notify()

    def score(self, peer: PeerId) -> float:
        """``peer``'s current misbehaviour score."""
        return self.scores.score(peer, self._now())

    def add_peer(self, address: PeerAddress) -> None:
        """Start keeping a connection to ``address`` (idempotent; needs :meth:`start`)."""
        if not self._running or address in self._dialers:
            return
        self._dialers[address] = asyncio.create_task(self._dial_loop(address))

    # ----- sending ---------------------------------------------------------------------

    def _frame(self, kind: MessageKind, payload: bytes) -> bytes:
        if kind not in APPLICATION_KINDS:
            raise ValueError(f"{kind!r} is the transport's own message kind")
        return encode_frame(kind, payload, max_frame_bytes=self.config.max_frame_bytes)

    def _enqueue(self, connection: Connection, frame: bytes) -> bool:
        if connection.enqueue(frame):
            return True
        self._log.debug("send queue of peer %s is full; frame dropped", connection.peer_id)
        return False

    # ----- inbound ---------------------------------------------------------------------

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # A plain callback that starts a task of our own: the manager tracks (and on
        # close cancels) every handshake in progress.
        task = asyncio.create_task(self._admit(FramedStream(reader, writer)))
        self._handshaking.add(task)
        task.add_done_callback(self._handshaking.discard)

    async def _admit(self, stream: FramedStream) -> None:
        """TLS and handshake of an inbound connection; establish it or hang up.

        Anyone who reaches the port can open a connection, so the slots are bounded in
        number, per source address, and in time: TLS within ``tls_timeout_seconds``,
        all of it within ``handshake_timeout_seconds``; a slot is freed however the
        attempt ends.
        """
        config = self.config
        source = _source_of(stream)
        if not self._running or self._pending_handshakes >= config.max_pending_handshakes:
            self.metrics.inc("inbound_refused.busy")
            await stream.close(0)
            return
        if self._pending_by_source.get(source, 0) >= config.max_pending_handshakes_per_address:
            self.metrics.inc("inbound_refused.per_address")
            self._log.debug("too many handshakes from %s at once; connection closed", source)
            await stream.close(0)
            return
        self._pending_handshakes += 1
        self._pending_by_source[source] = self._pending_by_source.get(source, 0) + 1
        peer: AuthenticatedPeer | None = None
        try:
            async with asyncio.timeout(config.handshake_timeout_seconds):
                try:
                    async with asyncio.timeout(config.tls_timeout_seconds):
                        await stream.writer.start_tls(self._tls.server)
                except TimeoutError:
                    raise HandshakeFailed(
                        Refusal.TIMEOUT, f"no TLS within {config.tls_timeout_seconds:g} s"
                    ) from None
                peer = await self._handshake(stream, expected=None)
        except TimeoutError:
            self._refused(stream, None, HandshakeFailed(Refusal.TIMEOUT, "no handshake in time"))
        except HandshakeFailed as failure:
            self._refused(stream, None, failure)
        except OSError as exc:  # ssl.SSLError included: no or foreign certificate
            self._refused(stream, None, HandshakeFailed(Refusal.TLS, str(exc) or repr(exc)))
        except asyncio.CancelledError:
            stream.writer.transport.abort()
            raise
        finally:
            self._pending_handshakes -= 1
            left = self._pending_by_source.pop(source) - 1
            if left:
                self._pending_by_source[source] = left
        if peer is None:
            await stream.close(0.2)
            return
        self._establish(stream, peer, outbound=False)

    # ----- outbound --------------------------------------------------------------------

    async def _dial_loop(self, address: PeerAddress) -> None:
        attempt = 0
        while self._running:
            peer = address.peer_id or self._address_ids.get(address)
            if peer is not None and peer in self._peers:
                await self._peers[peer].closed.wait()
                attempt = 0
            elif peer is not None and self.is_banned(peer):
                until = self.scores.banned_until(peer) or self._now()
                with contextlib.suppress(TimeoutError):  # woken early by an unban
                    await asyncio.wait_for(self._changed.wait(), max(0.0, until - self._now()))
                continue
            else:
                try:
                    connection = await self._dial(address)
                except HandshakeFailed as failure:
                    if failure.reason == Refusal.SELF:
                        self._log.info("peer address %s is this node itself; not dialed", address)
                        return
                    attempt += 1
                else:
                    attempt = 0
                    if connection is not None:
                        await connection.closed.wait()
            await asyncio.sleep(self.config.backoff.delay(attempt, self._rng))

    async def _dial(self, address: PeerAddress) -> Connection | None:
        """Dial ``address`` once; return the connection kept (None if a duplicate lost)."""
        self.metrics.inc("dials")
        stream: FramedStream | None = None
        try:
            async with asyncio.timeout(self.config.handshake_timeout_seconds):
                reader, writer = await asyncio.open_connection(
                    address.host, address.port, ssl=self._tls.client
                )
                stream = FramedStream(reader, writer)
                peer = await self._handshake(stream, expected=address.peer_id)
        except HandshakeFailed as failure:
            self._refused(stream, address, failure)
            if stream is not None:
                await stream.close(0.2)
            raise
        except TimeoutError:
            timed_out = HandshakeFailed(Refusal.TIMEOUT, f"no connection to {address} in time")
            self._refused(stream, address, timed_out)
            if stream is not None:
                await stream.close(0)
            raise timed_out from None
        except ssl.SSLError as exc:
            tls_failed = HandshakeFailed(Refusal.TLS, str(exc) or repr(exc))
            self._refused(stream, address, tls_failed)
            if stream is not None:
                await stream.close(0)
            raise tls_failed from None
        except OSError as exc:  # refused, unreachable: the peer is probably down
            self.metrics.inc("dial_failed")
            self._log.debug("dial %s failed: %s", address, exc)
            if stream is not None:
                await stream.close(0)
            raise HandshakeFailed(Refusal.CLOSED, str(exc)) from None
        except asyncio.CancelledError:
            if stream is not None:
                stream.writer.transport.abort()
            raise
        self._address_ids[address] = peer.peer_id
        return self._establish(stream, peer, outbound=True)

    # ----- both directions -------------------------------------------------------------

    async def _handshake(self, stream: FramedStream, expected: PeerId | None) -> AuthenticatedPeer:
        return await run_handshake(
            stream,
            self.identity,
            self._tls.certificate_der,
            allowed=self._allowed,
            banned=self.is_banned,
            expected_peer=expected,
        )

    def _refused(
        self, stream: FramedStream | None, address: PeerAddress | None, failure: HandshakeFailed
    ) -> None:
        self.metrics.inc(f"handshake_failed.{failure.reason}")
        remote = stream.remote() if stream is not None else str(address)
        direction = f"dialing {address}" if address is not None else f"from {remote}"
        self._log.warning("peer connection %s refused: %s", direction, failure)

    def _establish(
        self, stream: FramedStream, peer: AuthenticatedPeer, *, outbound: bool
    ) -> Connection | None:
        stream.decoder.max_frame_bytes = self.config.max_frame_bytes
        connection = Connection(
            stream, peer, outbound=outbound, config=self.config, metrics=self.metrics
        )
        existing = self._peers.get(peer.peer_id)
        if existing is not None:
            if self._prefer(connection, existing):
                self.metrics.inc("duplicates_closed")
                existing.close(Refusal.DUPLICATE, "another connection to this node is kept")
            else:
                self.metrics.inc("duplicates_closed")
                self._track(asyncio.create_task(self._drop_duplicate(stream)))
                return None
        self._peers[peer.peer_id] = connection
        self.metrics.inc("connections")
        self.scores.forget_idle(self._now())
        self._log.info(
            "peer %s (%s) connected, %s %s",
            peer.peer_id,
            peer.certificate_name,
            "dialed at" if outbound else "from",
            connection.info.remote,
        )
        self._track(asyncio.create_task(self._serve(connection)))
        self._notify()
        if self._on_connect is not None:
            self._callback(self._on_connect, connection.info)
        return connection

    def _prefer(self, new: Connection, old: Connection) -> bool:
        """Whether ``new`` replaces ``old`` (two connections to one peer); both ends agree."""
        if not old.is_open:
            return True  # already on its way out
        if new.info.outbound == old.info.outbound:
            return True  # same direction: the old one is stale (the peer redialed)
        dialer_of_new = self.peer_id if new.info.outbound else new.peer_id
        return dialer_of_new == min(self.peer_id, new.peer_id)

    async def _drop_duplicate(self, stream: FramedStream) -> None:
        with contextlib.suppress(OSError, RuntimeError):
            stream.write_frame(
                MessageKind.GOODBYE,
                encode_goodbye(Refusal.DUPLICATE, "another connection to this node is kept"),
            )
        await stream.close(0.5)

    async def _serve(self, connection: Connection) -> None:
        try:
            await connection.run(self._dispatch, self._stream_error)
        finally:
            if self._peers.get(connection.peer_id) is connection:
                del self._peers[connection.peer_id]
                self._log.info(
                    "peer %s disconnected (%s)", connection.peer_id, connection.close_reason
                )
                self._notify()
                if self._on_disconnect is not None:
                    self._callback(self._on_disconnect, connection.info)

    async def _dispatch(self, connection: Connection, frame: Frame) -> None:
        peer = connection.peer_id
        if frame.version != connection.info.version:
            self._offence(peer, Offence.UNSUPPORTED_VERSION, f"frame version {frame.version}")
            return
        try:
            kind = MessageKind(frame.kind)
        except ValueError:
            self._offence(peer, Offence.UNKNOWN_KIND, f"unknown message kind 0x{frame.kind:02x}")
            return
        if kind in APPLICATION_KINDS:
            await self._deliver(peer, kind, frame.payload)
        elif kind is MessageKind.GOODBYE:
            self._goodbye(connection, frame.payload)
        elif kind is not MessageKind.KEEPALIVE:
            self._offence(peer, Offence.UNEXPECTED_MESSAGE, f"{kind.name} after the handshake")

    async def _deliver(self, peer: PeerId, kind: MessageKind, payload: bytes) -> None:
        self.metrics.inc(f"received.{kind.name.lower()}")
        try:
            result = self._handler(peer, kind, payload)
            if inspect.isawaitable(result):
                await result
        except (InvalidPeerMessage, DecodingError, CryptoError) as exc:
            self._offence(peer, Offence.INVALID_MESSAGE, f"{kind.name}: {exc}")
        except BaseException as exc:
            if is_fatal(exc):
                raise
            # The handler is the node's code: its bug must not end this connection or be
            # blamed on the peer. Log it loudly and go on with the next frame. That
            # includes BaseExceptions other than the fatal ones: a Rust panic in an
            # extension (pyo3's PanicException) is one. A frame that makes the node
            # panic is not scored either: an honest peer may relay it unknowingly.
            self.metrics.inc("handler_errors")
            self._log.error(
                "handler failed on a %s message from %s; frame dropped",
                kind.name,
                peer,
                exc_info=exc,
            )

    def _goodbye(self, connection: Connection, payload: bytes) -> None:
        try:
            reason, detail = decode_goodbye(payload)
        except DecodingError:
            self._offence(connection.peer_id, Offence.UNEXPECTED_MESSAGE, "undecodable goodbye")
            reason, detail = "?", ""
        self._log.info("peer %s said goodbye: %s %s", connection.peer_id, reason, detail)
        connection.close(f"peer:{reason}", tell_peer=False)

    def _stream_error(self, connection: Connection, error: FrameError) -> None:
        offence = (
            Offence.OVERSIZED_FRAME if isinstance(error, FrameTooLarge) else Offence.MALFORMED_FRAME
        )
        self._offence(connection.peer_id, offence, str(error))
        connection.close(Refusal.MALFORMED, str(error))

    def _offence(
        self, peer: PeerId, offence: Offence, detail: str, *, points: int | None = None
    ) -> None:
        now = self._now()
        self.metrics.inc(f"offence.{offence}")
        self.scores.forget_idle(now)
        banned = self.scores.record(peer, offence, now, points)
        connection = self._peers.get(peer)
        name = connection.info.certificate_name if connection else "?"
        self._log.warning(
            "dropped bad input from peer %s (%s): %s: %s; score %.0f of %d",
            peer,
            name,
            offence,
            detail,
            self.scores.config.threshold if banned else self.scores.score(peer, now),
            self.scores.config.threshold,
        )
        if banned:
            self.metrics.inc("peers_banned")
            self._log.warning(
                "banning peer %s (%s) for %.0f s for repeated misbehaviour",
                peer,
                name,
                self.scores.config.ban_seconds,
            )
            if connection is not None:
                connection.close(Refusal.MISBEHAVIOUR, "banned for repeated misbehaviour")

    # ----- helpers ---------------------------------------------------------------------

    def _now(self) -> float:
        return self._clock() if self._clock is not None else asyncio.get_running_loop().time()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _track(self, task: asyncio.Task[None]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _callback(self, callback: Callable[[PeerInfo], None], info: PeerInfo) -> None:
        try:
            callback(info)
        except BaseException as exc:  # the node's code: log its bug, keep the transport running
            if is_fatal(exc):
                raise
            self.metrics.inc("callback_errors")
            self._log.error("peer callback failed for %s", info.peer_id, exc_info=exc)


def is_fatal(exc: BaseException) -> bool:
    """Whether ``exc`` must propagate: interrupts, exits and task cancellation. Every
    other exception from the node's code (a Rust panic included) is logged and survived."""
    return isinstance(exc, (KeyboardInterrupt, SystemExit, asyncio.CancelledError))


def _source_of(stream: FramedStream) -> str:
    """The source address a handshake slot is counted against: the IPv4 address, or the
    /64 of an IPv6 one (a single host commonly holds a whole /64)."""
    peer = stream.writer.get_extra_info("peername")
    host = str(peer[0]) if isinstance(peer, tuple) and peer else "?"
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)

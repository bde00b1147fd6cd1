"""The JSON-RPC transports (aiohttp): HTTP POST and WebSocket on one port, one path.

``POST /`` answers a request or a batch. ``GET /`` with a WebSocket handshake
opens a connection that takes the same requests and also receives
subscription notifications; a ``GET`` without a handshake gets 405.

Bounds (``rpc/limits.py``), each answered without disturbing block production:

- a body over ``max_body_bytes`` gets HTTP 413, refused from its
  ``Content-Length`` before it is read (or as soon as a chunked body passes the
  limit); a WebSocket message over it closes the socket with 1009;
- more than ``max_connections`` requests in progress plus open WebSockets get 503;
- a WebSocket client that lets ``max_queued_messages`` answers and notifications
  pile up is disconnected at once; pings every 30 s close dead peers.

Access rules (:class:`RpcAccess`, node.toml ``[rpc]``), checked before anything else:

- **Origin.** A browser names the page that makes a request in ``Origin``; a
  request carrying one that ``allowed_origins`` does not list gets 403, so a web
  page in an operator's browser cannot use the node (POST or WebSocket). Tools
  (curl, web3.py, ethers in node) send no ``Origin`` and pass. ``["*"]`` opens
  the node to every page. No CORS headers are sent (yet).
- **Host.** A ``Host`` header naming neither an IP address, nor the listen
  address, nor a name in ``allowed_hosts`` gets 403: this stops DNS rebinding,
  where a page's own domain is made to resolve to 127.0.0.1.
- **Slow and idle clients.** A client has ``read_timeout_ms`` to send its
  request's headers (the connection is closed after) and as long again for its
  body (HTTP 408); a keep-alive connection idle that long is closed. A WebSocket
  holding no subscription that sends nothing for ``ws_idle_timeout_ms`` is
  closed (1000). One client address holds at most ``connections_per_address``
  requests in progress plus open WebSockets (503 above), so a few hundred slow
  connections from one host cannot take every slot.
- **HTTP filters** count against their client address (``filters_per_client``).

The server listens on 127.0.0.1 unless the configuration (``[rpc] host``) or
``baychain node --rpc-host`` opens it. Stopping closes open WebSockets (1001)
and waits at most ``SHUTDOWN_TIMEOUT_S`` for requests in progress.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, cast

from aiohttp import WSCloseCode, WSMsgType, hdrs, web

from baychain.errors import ConfigError
from baychain.node.host.settings import RPC_ACCESS_DEFAULTS, NodeConfig
from baychain.node.node import Node
from baychain.rpc.limits import RpcLimits
from baychain.rpc.service import RpcService
from baychain.rpc.session import HttpClients, Session

__all__ = ["HEARTBEAT_S", "SHUTDOWN_TIMEOUT_S", "RpcAccess", "RpcServer", "make_app"]

log = logging.getLogger("baychain.rpc")

HEARTBEAT_S = 30.0
"""Seconds between WebSocket pings; a peer that does not answer one is dropped."""

SHUTDOWN_TIMEOUT_S = 5.0
"""How long stopping waits for requests in progress (open WebSockets are closed with 1001)."""

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_ANY = "*"
"""In ``allowed_origins`` or ``allowed_hosts``: every value is allowed."""


def _default_strings(key: str) -> tuple[str, ...]:
    return cast(tuple[str, ...], RPC_ACCESS_DEFAULTS[key])


def _default_int(key: str) -> int:
    return cast(int, RPC_ACCESS_DEFAULTS[key])


@dataclass(frozen=True, slots=True)
class RpcAccess:
    """Who may use the transport and how long a client may hold a connection (``[rpc]``).

    The defaults come from the node settings table (``node/host/settings.py``).
    """

    allowed_origins: tuple[str, ...] = _default_strings("allowed_origins")
    """Browser origins (``https://app.example``) whose pages may call; ``"*"``: any."""
    allowed_hosts: tuple[str, ...] = _default_strings("allowed_hosts")
    """Host names a request may address, besides IP addresses and the listen host; ``"*"``: any."""
    read_timeout_ms: int = _default_int("read_timeout_ms")
    """Time to send a request's headers, and again its body (408 after)."""
    ws_idle_timeout_ms: int = _default_int("ws_idle_timeout_ms")
    """A WebSocket without subscriptions that sends nothing this long is closed."""
    connections_per_address: int = _default_int("connections_per_address")
    """Requests in progress plus open WebSockets of one client address (503 above)."""
    filters_per_client: int = _default_int("filters_per_client")
    """HTTP filters one client address may hold (-32005 above)."""

    @classmethod
    def from_config(cls, values: Iterable[tuple[str, Any]]) -> RpcAccess:
        """From NodeConfig.rpc_access pairs (lists as tuples)."""
        fields: dict[str, Any] = {
            key: tuple(value) if isinstance(value, list) else value for key, value in values
        }
        return cls(**fields)

    def origin_allowed(self, origin: str) -> bool:
        """May a page of ``origin`` (an ``Origin`` header) call?"""
        allowed = {entry.lower().rstrip("/") for entry in self.allowed_origins}
        return _ANY in allowed or origin.lower().rstrip("/") in allowed

    def host_allowed(self, host: str, listen_host: str) -> bool:
        """May a request name ``host`` (a ``Host`` header) on a node listening on ``listen_host``?

        IP addresses always may: DNS rebinding needs a name that the attacker's
        DNS server points at this node.
        """
        name = _host_name(host)
        if _ANY in self.allowed_hosts or _is_ip_address(name):
            return True
        allowed = {_host_name(entry) for entry in (*self.allowed_hosts, listen_host)}
        return name in allowed


def _host_name(host: str) -> str:
    """The name in a Host header: no port, no brackets, lower case, no final dot."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host[1:]
    if host.count(":") == 1:
        host = host.rsplit(":", 1)[0]
    return host.rstrip(".")


def _is_ip_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def make_app(
    service: RpcService, access: RpcAccess | None = None, listen_host: str = "127.0.0.1"
) -> web.Application:
    """An aiohttp application serving ``service`` over HTTP and WebSocket on ``/``."""
    limits = service.limits
    access = access or RpcAccess()
    read_timeout_s = access.read_timeout_ms / 1_000
    active = 0
    per_address: Counter[str] = Counter()
    open_sockets: set[web.WebSocketResponse] = set()
    http_clients = HttpClients(
        max_filters_per_client=access.filters_per_client, max_filters=limits.max_filters
    )

    @web.middleware
    async def guard(request: web.Request, handler: _Handler) -> web.StreamResponse:
        nonlocal active
        origin = request.headers.get(hdrs.ORIGIN)
        if origin is not None and not access.origin_allowed(origin):
            return _refused(403, f"origin {origin} is not allowed ([rpc] allowed_origins)")
        host = request.headers.get(hdrs.HOST)
        if host is not None and not access.host_allowed(host, listen_host):
            return _refused(403, f"host {host} is not allowed ([rpc] allowed_hosts)")
        if active >= limits.max_connections:
            return _refused(503, f"too many connections ({limits.max_connections}); retry later")
        address = request.remote or ""
        if per_address[address] >= access.connections_per_address:
            return _refused(
                503,
                f"too many connections from {address} ({access.connections_per_address}); "
                "retry later",
            )
        active += 1
        per_address[address] += 1
        try:
            return await handler(request)
        finally:
            active -= 1
            per_address[address] -= 1
            if per_address[address] <= 0:
                del per_address[address]

    async def handle_post(request: web.Request) -> web.Response:
        length = request.content_length
        if length is not None and length > limits.max_body_bytes:
            return _too_large(limits.max_body_bytes)
        try:
            async with asyncio.timeout(read_timeout_s):
                body = await request.read()
        except TimeoutError:
            return _refused(408, f"request body not received within {access.read_timeout_ms} ms")
        except web.HTTPRequestEntityTooLarge:
            return _too_large(limits.max_body_bytes)
        except ConnectionError:  # the client left before sending its whole body
            return web.Response(status=400, text="incomplete request body")
        address = request.remote or ""
        try:
            answer = await service.handle(
                body, http_clients.session_for(address), client=address
            )
        finally:
            http_clients.release(address)
        if answer is None:
            return web.Response(status=204)
        return web.Response(text=answer, content_type="application/json")

    async def handle_get(request: web.Request) -> web.StreamResponse:
        socket = web.WebSocketResponse(max_msg_size=limits.max_body_bytes, heartbeat=HEARTBEAT_S)
        if not socket.can_prepare(request).ok:
            return web.Response(
                status=405,
                headers={"Allow": "POST"},
                text="JSON-RPC: POST a request, or open a WebSocket on this URL",
            )
        await socket.prepare(request)
        open_sockets.add(socket)
        try:
            await _serve_socket(service, request, socket, access.ws_idle_timeout_ms / 1_000)
        finally:
            open_sockets.discard(socket)
        return socket

    async def close_sockets(_: web.Application) -> None:
        for socket in list(open_sockets):
            await socket.close(code=WSCloseCode.GOING_AWAY, message=b"node shutting down")

    app = web.Application(client_max_size=limits.max_body_bytes, middlewares=[guard])
    app.router.add_post("/", handle_post)
    app.router.add_get("/", handle_get)
    app.on_shutdown.append(close_sockets)
    return app


def _too_large(limit: int) -> web.Response:
    # the connection ends with the answer: the rest of an oversized body is never read
    return _refused(413, f"request body larger than {limit} bytes")


def _refused(status: int, text: str) -> web.Response:
    """A refusal that also ends the connection (its body, if any, is never read)."""
    response = web.Response(status=status, text=text)
    response.force_close()
    return response


async def _serve_socket(
    service: RpcService, request: web.Request, socket: web.WebSocketResponse, idle_s: float
) -> None:
    transport = request.transport
    loop = asyncio.get_running_loop()

    def cut_off() -> None:
        log.warning("closing a WebSocket client that fell too far behind")
        if transport is not None:
            transport.abort()

    session = service.open_session(on_overflow=cut_off)
    writer = asyncio.create_task(_write(socket, session))
    last_heard = loop.time()
    try:
        while True:
            try:
                # Our own timer: aiohttp's restarts at each ping and pong.
                async with asyncio.timeout(max(0.0, last_heard + idle_s - loop.time())):
                    message = await socket.receive()
            except TimeoutError:
                if session.subscriptions:  # a subscriber may well listen in silence
                    last_heard = loop.time()
                    continue
                await socket.close(code=WSCloseCode.OK, message=b"idle without a subscription")
                break
            last_heard = loop.time()
            if message.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                answer = await service.handle(message.data, session, client=request.remote)
                if answer is not None:
                    session.send(answer)
            elif message.type in (
                WSMsgType.ERROR,
                WSMsgType.CLOSE,
                WSMsgType.CLOSING,
                WSMsgType.CLOSED,
            ):
                break
    finally:
        service.close_session(session)
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer
        await socket.close()


async def _write(socket: web.WebSocketResponse, session: Session) -> None:
    """Send the session's queued messages until it closes or the peer goes away."""
    try:
        while (batch := await session.drain()) is not None:
            for text in batch:
                await socket.send_str(text)
    except (ConnectionError, RuntimeError):
        session.close()  # the peer went away; the reader loop ends on its own


class RpcServer:
    """A running JSON-RPC listener (HTTP and WebSocket on one port)."""

    def __init__(
        self, service: RpcService, host: str, port: int, access: RpcAccess | None = None
    ) -> None:
        self.service = service
        self.access = access = access or RpcAccess()
        self._runner = web.AppRunner(
            make_app(service, access, host),
            access_log=None,
            shutdown_timeout=SHUTDOWN_TIMEOUT_S,
            # a client that hangs up cancels its request: a batch of expensive calls
            # stops at the call in progress instead of running on for minutes
            handler_cancellation=True,
            # nor does a refused body get drained after the answer (aiohttp's "lingering"
            # read would take in the rest of an oversized body, gigabytes if announced)
            lingering_time=0,
            # aiohttp closes a connection that sends no complete request headers
            # within the keep-alive timeout, from its first byte on (slowloris).
            keepalive_timeout=access.read_timeout_ms / 1_000,
        )
        self.host = host
        self.port = port

    async def start(self) -> None:
        """Bind and start serving (port 0 picks a free port, then :attr:`port` tells it)."""
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        if self.port == 0:
            self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        """Stop serving and close connections."""
        await self._runner.cleanup()

    @property
    def url(self) -> str:
        """The HTTP URL clients use."""
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        """The WebSocket URL clients use."""
        return f"ws://{self.host}:{self.port}"


class RpcEndpoint:
    """The JSON-RPC server as a service of the node process
    (:class:`baychain.node.host.assemble.Service`): ``[rpc]`` settings, limits and all."""

    def __init__(self, node: Node, config: NodeConfig) -> None:
        self.service = RpcService(node, RpcLimits(**dict(config.rpc_limits)))
        self.server = RpcServer(
            self.service,
            config.rpc_host,
            config.rpc_port,
            RpcAccess.from_config(config.rpc_access),
        )

    @property
    def description(self) -> str:
        """Where it listens, for the node's "ready" log line."""
        return f"JSON-RPC on {self.server.url}"

    async def start(self) -> None:
        """Listen; raise ConfigError naming the address when it cannot."""
        try:
            await self.server.start()
        except OSError as error:
            self.service.close()
            raise ConfigError(
                f"cannot listen on {self.server.host}:{self.server.port} ({error.strerror}); "
                "change [rpc] port in node.toml"
            ) from None

    async def stop(self) -> None:
        """Close the connections and the RPC's worker threads."""
        await self.server.stop()
        self.service.close()

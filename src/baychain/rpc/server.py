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

The server listens on 127.0.0.1 unless the configuration (``[rpc] host``) or
``baychain node --rpc-host`` opens it. Stopping closes open WebSockets (1001)
and waits at most ``SHUTDOWN_TIMEOUT_S`` for requests in progress.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from aiohttp import WSCloseCode, WSMsgType, web

from baychain.errors import ConfigError
from baychain.node.host.settings import NodeConfig
from baychain.node.node import Node
from baychain.rpc.limits import RpcLimits
from baychain.rpc.service import RpcService
from baychain.rpc.session import Session

__all__ = ["HEARTBEAT_S", "SHUTDOWN_TIMEOUT_S", "RpcServer", "make_app"]

log = logging.getLogger("baychain.rpc")

HEARTBEAT_S = 30.0
"""Seconds between WebSocket pings; a peer that does not answer one is dropped."""

SHUTDOWN_TIMEOUT_S = 5.0
"""How long stopping waits for requests in progress (open WebSockets are closed with 1001)."""

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def make_app(service: RpcService) -> web.Application:
    """An aiohttp application serving ``service`` over HTTP and WebSocket on ``/``."""
    limits = service.limits
    active = 0
    open_sockets: set[web.WebSocketResponse] = set()

    @web.middleware
    async def bound_connections(request: web.Request, handler: _Handler) -> web.StreamResponse:
        nonlocal active
        if active >= limits.max_connections:
            return web.Response(
                status=503, text=f"too many connections ({limits.max_connections}); retry later"
            )
        active += 1
        try:
            return await handler(request)
        finally:
            active -= 1

    async def handle_post(request: web.Request) -> web.Response:
        length = request.content_length
        if length is not None and length > limits.max_body_bytes:
            return _too_large(limits.max_body_bytes)
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _too_large(limits.max_body_bytes)
        except ConnectionError:  # the client left before sending its whole body
            return web.Response(status=400, text="incomplete request body")
        answer = await service.handle(body)
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
            await _serve_socket(service, request, socket)
        finally:
            open_sockets.discard(socket)
        return socket

    async def close_sockets(_: web.Application) -> None:
        for socket in list(open_sockets):
            await socket.close(code=WSCloseCode.GOING_AWAY, message=b"node shutting down")

    app = web.Application(client_max_size=limits.max_body_bytes, middlewares=[bound_connections])
    app.router.add_post("/", handle_post)
    app.router.add_get("/", handle_get)
    app.on_shutdown.append(close_sockets)
    return app


def _too_large(limit: int) -> web.Response:
    return web.Response(status=413, text=f"request body larger than {limit} bytes")


async def _serve_socket(
    service: RpcService, request: web.Request, socket: web.WebSocketResponse
) -> None:
    transport = request.transport

    def cut_off() -> None:
        log.warning("closing a WebSocket client that fell too far behind")
        if transport is not None:
            transport.abort()

    session = service.open_session(on_overflow=cut_off)
    writer = asyncio.create_task(_write(socket, session))
    try:
        async for message in socket:
            if message.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                answer = await service.handle(message.data, session)
                if answer is not None:
                    session.send(answer)
            elif message.type == WSMsgType.ERROR:
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

    def __init__(self, service: RpcService, host: str, port: int) -> None:
        self.service = service
        self._runner = web.AppRunner(
            make_app(service), access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT_S
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
        self.server = RpcServer(self.service, config.rpc_host, config.rpc_port)

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

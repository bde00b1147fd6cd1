"""The JSON-RPC HTTP transport (aiohttp): POST bodies in, JSON answers out.

Bounds protect the node: request bodies above ``MAX_BODY_BYTES`` are refused
with HTTP 413 before they are read, batches are bounded by the dispatcher, and
the server listens on 127.0.0.1 unless the configuration opens it.
"""

from __future__ import annotations

from aiohttp import web

from baychain.rpc.jsonrpc import Dispatcher

MAX_BODY_BYTES = 5 * 2**20


def make_app(dispatcher: Dispatcher) -> web.Application:
    """An aiohttp application answering JSON-RPC on POST /."""

    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        answer = await dispatcher.handle_text(body)
        if answer is None:
            return web.Response(status=204)
        return web.Response(text=answer, content_type="application/json")

    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app.router.add_post("/", handle)
    return app


class RpcServer:
    """A running JSON-RPC HTTP listener."""

    def __init__(self, dispatcher: Dispatcher, host: str, port: int) -> None:
        self._runner = web.AppRunner(make_app(dispatcher), access_log=None)
        self.host = host
        self.port = port

    async def start(self) -> None:
        """Bind and start serving."""
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()

    async def stop(self) -> None:
        """Stop serving and close connections."""
        await self._runner.cleanup()

    @property
    def url(self) -> str:
        """The URL clients use."""
        return f"http://{self.host}:{self.port}"

"""A TCP proxy between the nodes that the harness can cut and heal, link by link.

Node ``i`` reaches node ``j`` only through the proxy port of the ordered pair
``(i, j)`` (its ``[p2p] peers`` were rewritten, see :mod:`faultkit.localnet`), and the
peer transport keeps one connection per pair, dialed by either side. So the link
``{i, j}`` is both ordered pairs, and cutting it cuts whichever connection the two
nodes use.

- **reset** (default): cutting closes the link's connections and refuses new ones
  at once (accept, then close), as a firewall that rejects would;
- **blackhole**: cutting stops forwarding: bytes are read and dropped, new
  connections are accepted and never answered, as a cable pulled out; the nodes
  notice through their keepalive and handshake timeouts. Healing closes the
  link's old connections (their TLS streams lost bytes) so the nodes redial.

The proxy runs its own asyncio loop on a thread; :meth:`LinkProxy.cut`,
:meth:`~LinkProxy.heal` and :meth:`~LinkProxy.partition` may be called from any
thread and return once the change is in force.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any

HOST = "127.0.0.1"
CHUNK_BYTES = 64 * 1024


@dataclass
class LinkStats:
    """What went through one ordered pair's proxy port."""

    connections: int = 0
    refused: int = 0
    bytes_forwarded: int = 0
    bytes_dropped: int = 0


@dataclass
class _Link:
    listen_port: int
    target_port: int
    cut: bool = False
    writers: set[asyncio.StreamWriter] = field(default_factory=set)
    stats: LinkStats = field(default_factory=LinkStats)


class LinkProxy:
    """Forwards ``127.0.0.1:listen_port`` to ``127.0.0.1:target_port`` for each ordered
    pair; see the module docstring."""

    def __init__(self, routes: dict[tuple[int, int], tuple[int, int]], mode: str = "reset"):
        """``routes``: (dialer, target) -> (proxy listen port, target's real p2p port)."""
        if mode not in ("reset", "blackhole"):
            raise ValueError(f"unknown cut mode {mode!r}")
        self.mode = mode
        self._links = {pair: _Link(*ports) for pair, ports in routes.items()}
        self._loop = asyncio.new_event_loop()
        self._servers: list[asyncio.Server] = []
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="link-proxy", daemon=True
        )

    # ----- lifecycle -----------------------------------------------------------------

    def start(self) -> None:
        """Listen on every proxy port."""
        self._thread.start()
        self._call(self._start())

    def close(self) -> None:
        """Stop listening, close every connection, stop the loop."""
        if not self._thread.is_alive():
            return
        self._call(self._close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    # ----- faults --------------------------------------------------------------------

    def cut(self, a: int, b: int) -> None:
        """Cut the link between nodes ``a`` and ``b`` (both directions)."""
        self._call(self._set((a, b), cut=True))

    def heal(self, a: int, b: int) -> None:
        """Restore the link between ``a`` and ``b``."""
        self._call(self._set((a, b), cut=False))

    def partition(self, *groups: Iterable[int]) -> None:
        """Cut every link between different groups and heal every link inside one."""
        side = {node: g for g, members in enumerate(groups) for node in members}
        for a, b in list(self._links):
            if a < b and a in side and b in side:
                self._call(self._set((a, b), cut=side[a] != side[b]))

    def heal_all(self) -> None:
        """Restore every link."""
        for a, b in list(self._links):
            if a < b:
                self._call(self._set((a, b), cut=False))

    def stats(self) -> dict[str, dict[str, int]]:
        """Per ordered pair ``"i->j"``: connections, refused, bytes forwarded / dropped."""
        return {f"{a}->{b}": vars(link.stats).copy() for (a, b), link in self._links.items()}

    # ----- on the loop ---------------------------------------------------------------

    def _call(self, coroutine: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=30)

    async def _start(self) -> None:
        for pair, link in self._links.items():
            server = await asyncio.start_server(
                functools.partial(self._accept, pair), HOST, link.listen_port
            )
            self._servers.append(server)

    async def _close(self) -> None:
        for server in self._servers:
            server.close()
        for link in self._links.values():
            for writer in list(link.writers):
                writer.close()
        for server in self._servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 5)

    async def _set(self, pair: tuple[int, int], *, cut: bool) -> None:
        for ordered in (pair, (pair[1], pair[0])):
            link = self._links.get(ordered)
            if link is None or link.cut == cut:
                continue
            link.cut = cut
            if cut and self.mode == "blackhole":
                continue  # connections stay, bytes are dropped
            for writer in list(link.writers):
                writer.close()  # reset: cut now; blackhole heal: make them redial

    async def _accept(
        self, pair: tuple[int, int], reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        link = self._links[pair]
        if link.cut:
            link.stats.refused += 1
            if self.mode == "reset":
                writer.close()
                return
            link.writers.add(writer)
            await self._drain_forever(link, reader)
            link.writers.discard(writer)
            writer.close()
            return
        try:
            target_reader, target_writer = await asyncio.open_connection(HOST, link.target_port)
        except OSError:
            link.stats.refused += 1
            writer.close()
            return
        link.stats.connections += 1
        link.writers.update((writer, target_writer))
        try:
            await asyncio.gather(
                self._pipe(link, reader, target_writer),
                self._pipe(link, target_reader, writer),
            )
        finally:
            link.writers.discard(writer)
            link.writers.discard(target_writer)
            writer.close()
            target_writer.close()

    async def _pipe(
        self, link: _Link, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            while True:
                data = await reader.read(CHUNK_BYTES)
                if not data:
                    break
                if link.cut:
                    link.stats.bytes_dropped += len(data)
                    continue
                writer.write(data)
                link.stats.bytes_forwarded += len(data)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def _drain_forever(self, link: _Link, reader: asyncio.StreamReader) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(CHUNK_BYTES):
                link.stats.bytes_dropped += len(data)

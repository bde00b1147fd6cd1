"""A client connection's server-side state: its filters, subscriptions and outbox.

Every WebSocket connection is one :class:`Session`. HTTP has no lasting
connection: the server gives each client *address* one session
(:class:`HttpClients`), so that one client cannot take every HTTP filter; the
filters themselves stay node-wide (any client holding an id may poll it) and
expire when nobody polls them. In-process callers share one HTTP session.

A WebSocket session has an *outbox*: answers and notifications wait there
until the connection's writer sends them, so the node never waits on a client.
:meth:`Session.send` never blocks; a client that lets more than ``max_queued``
messages pile up is cut off (``on_overflow``).
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections import deque
from collections.abc import Callable

__all__ = ["HttpClients", "Session"]

_ids = itertools.count(1)


class Session:
    """One connection (or all of HTTP): what it installed, and where its messages wait."""

    def __init__(
        self,
        *,
        can_push: bool,
        max_filters: int,
        max_subscriptions: int,
        max_queued: int = 10_000,
        on_overflow: Callable[[], None] | None = None,
    ) -> None:
        self.number = next(_ids)
        self.can_push = can_push
        self.max_filters = max_filters
        self.max_subscriptions = max_subscriptions
        self.filters: set[str] = set()
        self.subscriptions: set[str] = set()
        self.closed = False
        self._max_queued = max_queued
        self._on_overflow = on_overflow
        self._outbox: deque[str] = deque()
        self._ready = asyncio.Event() if can_push else None
        self._loop = _running_loop() if can_push else None
        self._loop_thread = threading.get_ident()

    def send(self, text: str) -> None:
        """Queue ``text`` for the client (from any thread); drop it if the session is closed."""
        if self._loop is not None and threading.get_ident() != self._loop_thread:
            self._loop.call_soon_threadsafe(self._append, text)
        else:
            self._append(text)

    def _append(self, text: str) -> None:
        if self.closed or not self.can_push:
            return
        if len(self._outbox) >= self._max_queued:
            self.close()
            if self._on_overflow is not None:
                self._on_overflow()
            return
        self._outbox.append(text)
        if self._ready is not None:
            self._ready.set()

    async def drain(self) -> list[str] | None:
        """Wait for queued messages and take them all; None once the session is closed."""
        if self._ready is None:
            return None
        while not self._outbox:
            if self.closed:
                return None
            self._ready.clear()
            await self._ready.wait()
        messages = list(self._outbox)
        self._outbox.clear()
        return messages

    @property
    def queued(self) -> int:
        """Messages waiting to be sent."""
        return len(self._outbox)

    def close(self) -> None:
        """Stop accepting messages and wake the writer so that it finishes."""
        self.closed = True
        self._outbox.clear()
        if self._ready is not None:
            self._ready.set()


class HttpClients:
    """One HTTP :class:`Session` per client address, kept while it holds filters.

    A session that holds nothing is forgotten (at the latest once more sessions
    exist than ``max_filters`` could fill), so the table stays bounded however
    many addresses call: each kept session holds at least one of the node's
    HTTP filters.
    """

    def __init__(self, *, max_filters_per_client: int, max_filters: int) -> None:
        self.max_filters_per_client = max_filters_per_client
        self.max_filters = max_filters
        self._sessions: dict[str, Session] = {}

    def session_for(self, address: str) -> Session:
        """The session of the client at ``address`` (made on first use)."""
        session = self._sessions.get(address)
        if session is None:
            if len(self._sessions) > self.max_filters:
                self.forget_idle()
            session = Session(
                can_push=False, max_filters=self.max_filters_per_client, max_subscriptions=0
            )
            self._sessions[address] = session
        return session

    def release(self, address: str) -> None:
        """Forget ``address``'s session after a request, unless it holds filters."""
        session = self._sessions.get(address)
        if session is not None and not session.filters:
            del self._sessions[address]

    def forget_idle(self) -> None:
        """Forget every session whose filters are all gone (uninstalled or expired)."""
        for address, session in list(self._sessions.items()):
            if not session.filters:
                del self._sessions[address]

    def __len__(self) -> int:
        return len(self._sessions)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None

"""Threads for the heavy requests, and the slots that bound how many each client may run.

The event loop thread also drives block production and every client socket;
a request that executes contract code or scans thousands of blocks runs on a
worker thread instead, so that it delays neither. A bound on the work waiting
there turns a flood into quick -32005 answers instead of an unbounded queue.

EVM calls (``eth_call``, ``eth_estimateGas``) get their own :class:`Workers`,
so a flood of them cannot delay log queries and block reads, and pass through
:class:`CallSlots` first: at most ``max_calls`` running or waiting node-wide and
``max_calls_per_client`` per client. A *client* is the key the transport gives
the request (``RpcService.handle(..., client=...)``: the remote address), read
here from :data:`current_client`; without one, the request's session stands for it.
"""

from __future__ import annotations

import asyncio
import functools
from collections import Counter
from collections.abc import Callable, Hashable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from typing import ParamSpec, TypeVar

from baychain.rpc.jsonrpc import LimitExceeded

__all__ = ["CallSlots", "Workers", "current_client"]

_P = ParamSpec("_P")
_T = TypeVar("_T")

current_client: ContextVar[Hashable | None] = ContextVar("current_client", default=None)
"""The client whose request is being answered (set by ``RpcService.handle``)."""


class Workers:
    """Runs blocking functions on ``threads`` threads, at most ``max_queued`` at once."""

    def __init__(self, threads: int, max_queued: int, name: str = "rpc") -> None:
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=name)
        self._max_queued = max_queued
        self._busy = 0

    async def run(self, function: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
        """Run ``function(*args, **kwargs)`` on a worker thread and return its result."""
        if self._busy >= self._max_queued:
            raise LimitExceeded(
                f"the node is busy: {self._busy} heavy requests are running or waiting; "
                "try again shortly"
            )
        self._busy += 1
        try:
            loop = asyncio.get_running_loop()
            call = functools.partial(function, *args, **kwargs)
            return await loop.run_in_executor(self._executor, call)
        finally:
            self._busy -= 1

    def close(self) -> None:
        """Stop the threads after the work in progress."""
        self._executor.shutdown(wait=True, cancel_futures=True)


class CallSlots:
    """Admits at most ``max_total`` calls at once, at most ``max_per_client`` per client.

    Used on the event loop only (no lock): :meth:`hold` raises
    :class:`~baychain.rpc.jsonrpc.LimitExceeded` (-32005) when a bound is reached,
    otherwise holds one slot of the client until the block it guards ends.
    """

    def __init__(self, max_total: int, max_per_client: int) -> None:
        self.max_total = max_total
        self.max_per_client = max_per_client
        self._held: Counter[Hashable] = Counter()
        self._total = 0

    @contextmanager
    def hold(self, client: Hashable) -> Iterator[None]:
        """Hold a slot for ``client`` for the duration of the ``with`` block."""
        # one client may not take the node's share of calls from the others
        if self._held[client] >= self.max_per_client:
            raise LimitExceeded(
                f"too many calls at once: {self.max_per_client} calls of this client are "
                "running or waiting ([rpc] max_calls_per_client); wait for their answers"
            )
        # all clients together may not queue calls without end
        if self._total >= self.max_total:
            raise LimitExceeded(
                f"the node is busy: {self._total} calls are running or waiting "
                "([rpc] max_calls); try again shortly"
            )
        self._held[client] += 1
        self._total += 1
        try:
            yield
        finally:
            self._total -= 1
            self._held[client] -= 1
            if self._held[client] <= 0:
                del self._held[client]

    def held(self, client: Hashable) -> int:
        """Slots ``client`` holds now."""
        return self._held[client]

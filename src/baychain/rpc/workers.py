"""A few threads for the heavy reads (EVM calls, log queries, block decoding).

The event loop thread also drives block production and every client socket;
a request that executes contract code or scans thousands of blocks runs here
instead, so that it delays neither. A bound on the work waiting here turns a
flood into quick -32005 answers instead of an unbounded queue.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from baychain.rpc.jsonrpc import LimitExceeded

__all__ = ["Workers"]

_P = ParamSpec("_P")
_T = TypeVar("_T")


class Workers:
    """Runs blocking functions on ``threads`` threads, at most ``max_queued`` at once."""

    def __init__(self, threads: int, max_queued: int) -> None:
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="rpc")
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

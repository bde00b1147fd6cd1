"""The asyncio driver of a solo node: reads the clock, asks the policy, seals and reports blocks.

All I/O of block production lives here: the wall clock (the proposer's block
timestamp) and the worker thread that executes and commits a block so that the
event loop keeps serving clients meanwhile. Pool access stays on the event-loop
thread (``Node.select_candidates``, ``Node.after_commit``); only
``Node.build_and_commit`` runs on the worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from baychain.consensus.solo import SoloPolicy
from baychain.node.node import Node

log = logging.getLogger("baychain.node")

POLL_INTERVAL_MS = 20
"""How often the driver re-checks the pool while waiting for the block interval."""


def wall_clock_ms() -> int:
    """Milliseconds since the Unix epoch: the proposer's clock for block timestamps."""
    return time.time_ns() // 1_000_000


class SoloDriver:
    """Seals blocks for a solo node until :meth:`stop` is called."""

    def __init__(
        self,
        node: Node,
        policy: SoloPolicy,
        *,
        clock_ms: Callable[[], int] = wall_clock_ms,
    ) -> None:
        self.node = node
        self.policy = policy
        self.clock_ms = clock_ms
        self._stopping = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="block")

    def stop(self) -> None:
        """Ask the loop to finish after the block in progress, if any."""
        self._stopping.set()

    async def run(self) -> None:
        """Seal blocks whenever the policy says one is due, until stopped."""
        loop = asyncio.get_running_loop()
        last_block_ms = self.node.chain.head.timestamp_ms
        try:
            while not self._stopping.is_set():
                now = self.clock_ms()
                pending = self.node.mempool.pending_count
                if not self.policy.is_due(now, last_block_ms, pending):
                    wait = min(self.policy.wait_ms(now, last_block_ms), POLL_INTERVAL_MS)
                    await self._sleep(max(wait, 1) / 1000)
                    continue
                candidates = self.node.select_candidates()
                proposed = await loop.run_in_executor(
                    self._executor, self.node.build_and_commit, candidates, now
                )
                last_block_ms = proposed.block.header.timestamp_ms
                self.node.after_commit(proposed)
        finally:
            self._executor.shutdown(wait=True)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

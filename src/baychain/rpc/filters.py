"""Polling filters: ``eth_newFilter``, ``eth_newBlockFilter``, ``eth_newPendingTransactionFilter``,
``eth_getFilterChanges``, ``eth_getFilterLogs``, ``eth_uninstallFilter``.

A filter remembers where its last poll stopped, not what happened since:

- a *log filter* keeps the next height to scan; a poll returns the matching logs
  of the blocks committed since (at most ``max_log_block_range`` blocks and about
  ``max_log_results`` logs per poll: the rest comes with the next poll, never
  split inside a block);
- a *block filter* keeps the next height; a poll returns the new blocks' hashes;
- a *pending-transaction filter* buffers the hashes of transactions the pool
  accepts (the newest ``max_pending_filter_hashes``) until the next poll.

So a filter costs the node a few bytes however long its client sleeps. Filters
made over HTTP are node-wide: any client holding the id may poll it. They count
against their client's session (one per source address, ``[rpc]
filters_per_client``, see ``rpc/session.py``) and all together against
``max_filters``, so one client cannot take them all. Those made over a
WebSocket count against that connection (``max_filters_per_connection``) and
end with it. A filter not polled for ``filter_timeout_s`` (geth's five minutes,
on the node's monotonic clock: RPC state, not consensus) is uninstalled.
Filters live on the event-loop thread; log scans run on the worker threads.
"""

from __future__ import annotations

import enum
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from baychain.ledger.transactions import Transaction
from baychain.node.reads import LocatedLog
from baychain.primitives import Hash32
from baychain.rpc import params
from baychain.rpc.formatting import data, format_log
from baychain.rpc.jsonrpc import SERVER_ERROR, Dispatcher, InvalidParams, LimitExceeded, RpcError
from baychain.rpc.limits import RpcLimits
from baychain.rpc.logs import LogQuery
from baychain.rpc.session import Session
from baychain.rpc.workers import Workers

__all__ = ["FilterKind", "Filters", "new_id"]


def new_id() -> str:
    """A fresh 128-bit filter or subscription id, as a QUANTITY (no leading zeros)."""
    return hex(secrets.randbits(128) | 1 << 127)


class FilterKind(enum.Enum):
    """What a filter reports."""

    LOGS = "logs"
    BLOCKS = "blocks"
    PENDING = "pendingTransactions"


@dataclass(eq=False)
class _Filter:
    kind: FilterKind
    session: Session
    last_used: float
    cursor: int = 0
    spec: params.FilterSpec | None = None
    hashes: deque[Hash32] = field(default_factory=deque)
    polling: bool = False


class Filters:
    """The installed filters of a node, and the six filter methods."""

    def __init__(
        self,
        log_query: LogQuery,
        workers: Workers,
        limits: RpcLimits,
        http_session: Session,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.log_query = log_query
        self.queries = log_query.queries
        self.workers = workers
        self.limits = limits
        self.http_session = http_session
        self.clock = clock
        self._filters: dict[str, _Filter] = {}

    def register(self, dispatcher: Dispatcher) -> None:
        """Register the filter methods (each receives the caller's session)."""
        for name in (
            "eth_newFilter",
            "eth_newBlockFilter",
            "eth_newPendingTransactionFilter",
            "eth_getFilterChanges",
            "eth_getFilterLogs",
            "eth_uninstallFilter",
        ):
            dispatcher.register(name, getattr(self, name), with_session=True)

    def __len__(self) -> int:
        return len(self._filters)

    def http_filters(self) -> int:
        """Filters installed over HTTP (by every client)."""
        return sum(1 for entry in self._filters.values() if not entry.session.can_push)

    # -- the methods ---------------------------------------------------------

    async def eth_newFilter(self, session: Session | None, log_filter: Any) -> str:
        spec = params.filter_spec(log_filter)
        if spec.block_hash is None:
            self.log_query.range_of(spec)  # refuse a reversed range now, not at each poll
        return self._install(session, FilterKind.LOGS, spec)

    async def eth_newBlockFilter(self, session: Session | None) -> str:
        return self._install(session, FilterKind.BLOCKS, None)

    async def eth_newPendingTransactionFilter(self, session: Session | None) -> str:
        return self._install(session, FilterKind.PENDING, None)

    async def eth_uninstallFilter(self, session: Session | None, filter_id: Any) -> bool:
        self.expire()
        found = self._filters.pop(self._id(filter_id), None)
        if found is None:
            return False
        found.session.filters.discard(self._id(filter_id))
        return True

    async def eth_getFilterChanges(self, session: Session | None, filter_id: Any) -> list[Any]:
        entry = self._get(filter_id)
        if entry.kind is FilterKind.PENDING:
            hashes = [data(tx_hash) for tx_hash in entry.hashes]
            entry.hashes.clear()
            return hashes
        if entry.kind is FilterKind.BLOCKS:
            return await self._block_changes(entry)
        return await self._log_changes(entry)

    async def eth_getFilterLogs(self, session: Session | None, filter_id: Any) -> list[Any]:
        entry = self._get(filter_id)
        if entry.spec is None:
            raise InvalidParams(f"filter {filter_id} is not a log filter")
        return await self.workers.run(self.log_query.logs, entry.spec)

    # -- events ----------------------------------------------------------------

    def on_pending(self, tx: Transaction) -> None:
        """Record an accepted transaction in every pending-transaction filter."""
        for entry in self._filters.values():
            if entry.kind is FilterKind.PENDING:
                entry.hashes.append(tx.hash)
                while len(entry.hashes) > self.limits.max_pending_filter_hashes:
                    entry.hashes.popleft()

    def expire(self) -> None:
        """Uninstall the filters nobody polled for ``filter_timeout_s``."""
        deadline = self.clock() - self.limits.filter_timeout_s
        for filter_id, entry in list(self._filters.items()):
            if entry.last_used < deadline:
                del self._filters[filter_id]
                entry.session.filters.discard(filter_id)

    def drop_session(self, session: Session) -> None:
        """Uninstall every filter a closed connection made."""
        for filter_id in list(session.filters):
            self._filters.pop(filter_id, None)
        session.filters.clear()

    # -- internals -------------------------------------------------------------

    def _install(self, session: Session | None, kind: FilterKind, spec: Any) -> str:
        self.expire()
        owner = session if session is not None else self.http_session
        advice = "; uninstall some (eth_uninstallFilter) or let them expire"
        # A WebSocket's filters are bounded per connection.
        if owner.can_push and len(owner.filters) >= owner.max_filters:
            raise LimitExceeded(
                f"too many filters: {owner.max_filters} are installed on this connection" + advice
            )
        # HTTP filters are bounded node-wide ...
        if not owner.can_push and self.http_filters() >= self.limits.max_filters:
            raise LimitExceeded(
                f"too many filters: {self.limits.max_filters} are installed over HTTP, "
                "node-wide" + advice
            )
        # ... and per client, so that one client cannot take them all.
        if not owner.can_push and len(owner.filters) >= owner.max_filters:
            raise LimitExceeded(
                f"too many filters: this client has {owner.max_filters} installed over HTTP"
                + advice
            )
        filter_id = new_id()
        self._filters[filter_id] = _Filter(
            kind, owner, self.clock(), cursor=self.queries.height + 1, spec=spec
        )
        owner.filters.add(filter_id)
        return filter_id

    @staticmethod
    def _id(value: Any) -> str:
        return hex(params.quantity(value, "filter id"))

    def _get(self, value: Any) -> _Filter:
        self.expire()
        entry = self._filters.get(self._id(value))
        if entry is None:
            raise RpcError(SERVER_ERROR, "filter not found")
        entry.last_used = self.clock()
        return entry

    async def _block_changes(self, entry: _Filter) -> list[str]:
        head = self.queries.height
        last = min(head, entry.cursor + self.limits.max_log_block_range - 1)
        first = entry.cursor
        hashes = await self.workers.run(
            lambda: [self.queries.block_hash(h) for h in range(first, last + 1)]
        )
        entry.cursor = max(entry.cursor, last + 1)
        return [data(block_hash) for block_hash in hashes if block_hash is not None]

    async def _log_changes(self, entry: _Filter) -> list[dict[str, Any]]:
        spec = entry.spec
        if spec is None:  # pragma: no cover - log filters always have a spec
            return []
        if entry.polling:
            raise LimitExceeded("this filter is being polled already; wait for that answer")
        first, last = entry.cursor, self.queries.height
        if spec.block_hash is not None:
            height = self.queries.height_of(spec.block_hash)
            first, last = (max(first, height), height) if height is not None else (1, 0)
        else:
            if spec.from_block.number is not None:
                first = max(first, spec.from_block.number)
            if spec.to_block.number is not None:
                last = min(last, spec.to_block.number)
        if first > last:
            entry.cursor = max(entry.cursor, self.queries.height + 1)
            return []
        last = min(last, first + self.limits.max_log_block_range - 1)
        entry.polling = True
        try:
            found, next_height = await self.workers.run(self._scan, spec, first, last)
        finally:
            entry.polling = False
        entry.cursor = next_height
        return [format_log(log) for log in found]

    def _scan(self, spec: params.FilterSpec, first: int, last: int) -> tuple[list[LocatedLog], int]:
        """Matching logs from ``first`` on, whole blocks only, about the result limit at most."""
        limit = self.limits.max_log_results
        found = self.queries.find_logs(spec.criteria, first, last, limit)
        if len(found) <= limit:
            return found, last + 1
        stop = found[limit].height
        kept = [entry for entry in found if entry.height < stop]
        if kept:
            return kept, stop
        whole = [e for e in self.queries.block_logs(stop) if spec.criteria.matches(e.log)]
        return whole, stop + 1

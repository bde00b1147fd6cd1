"""``eth_getLogs``: logs by block range (or block hash), address and topics, within limits.

The range is ``fromBlock..toBlock`` (both default to ``latest``); a ``toBlock``
past the head is read as the head, a ``fromBlock`` number after a ``toBlock``
number is refused (-32602), a ``fromBlock`` past the head matches nothing.
A query may span at most ``max_log_block_range`` blocks and return at most
``max_log_results`` logs; beyond either it answers -32005 with the limit, so
the client narrows the range. Matching blocks are found through the log
indexes (``node/reads.py``); the query runs on a worker thread.
"""

from __future__ import annotations

from typing import Any

from baychain.errors import NotFound
from baychain.node.reads import ChainReads, LocatedLog, LogFilter
from baychain.rpc import params
from baychain.rpc.formatting import format_log
from baychain.rpc.jsonrpc import Dispatcher, InvalidParams, LimitExceeded
from baychain.rpc.limits import RpcLimits
from baychain.rpc.resolve import height_of
from baychain.rpc.workers import Workers

__all__ = ["LogApi", "LogQuery"]


class LogQuery:
    """Log queries with the node's limits applied (shared by ``eth_getLogs`` and filters)."""

    def __init__(self, queries: ChainReads, limits: RpcLimits) -> None:
        self.queries = queries
        self.limits = limits

    def range_of(self, spec: params.FilterSpec) -> tuple[int, int]:
        """The heights a filter spans now (``first > last`` when it spans none)."""
        head = self.queries.height
        if spec.block_hash is not None:
            height = self.queries.height_of(spec.block_hash)
            if height is None:
                raise NotFound(f"no block with hash 0x{spec.block_hash.hex()}")
            return height, height
        first = height_of(self.queries, spec.from_block)
        last = height_of(self.queries, spec.to_block)
        if first is None or last is None:  # pragma: no cover - ranges take no hashes
            raise InvalidParams("fromBlock and toBlock must be numbers or tags")
        if first > last and spec.from_block.number is not None and spec.to_block.number is not None:
            raise InvalidParams(f"fromBlock {first} is after toBlock {last}")
        return first, min(last, head)

    def logs(self, spec: params.FilterSpec) -> list[dict[str, Any]]:
        """The formatted logs a filter matches now; raise LimitExceeded past a limit."""
        first, last = self.range_of(spec)
        return [format_log(entry) for entry in self.between(spec.criteria, first, last)]

    def between(self, criteria: LogFilter, first: int, last: int) -> list[LocatedLog]:
        """Matching logs in ``first..last``; raise LimitExceeded past a limit."""
        if first > last:
            return []
        span = last - first + 1
        if span > self.limits.max_log_block_range:
            raise LimitExceeded(
                f"query spans {span} blocks; at most {self.limits.max_log_block_range} "
                "are allowed: narrow fromBlock..toBlock"
            )
        found = self.queries.find_logs(criteria, first, last, self.limits.max_log_results)
        if len(found) > self.limits.max_log_results:
            raise LimitExceeded(
                f"query returns more than {self.limits.max_log_results} logs: narrow the "
                f"block range (the first {self.limits.max_log_results} end in block "
                f"{found[-2].height}) or the addresses and topics"
            )
        return found


class LogApi:
    """The ``eth_getLogs`` handler."""

    def __init__(self, query: LogQuery, workers: Workers) -> None:
        self.query = query
        self.workers = workers

    def register(self, dispatcher: Dispatcher) -> None:
        """Register ``eth_getLogs``."""
        dispatcher.register("eth_getLogs", self.eth_getLogs)

    async def eth_getLogs(self, log_filter: Any) -> list[dict[str, Any]]:
        spec = params.filter_spec(log_filter)
        return await self.workers.run(self.query.logs, spec)

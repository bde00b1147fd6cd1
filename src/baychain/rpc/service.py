"""Everything a node's JSON-RPC serves, wired to one node: the seam between API and transport.

:class:`RpcService` builds the dispatcher with every namespace, the shared
state (block cache, worker threads, filters, subscriptions) and subscribes to
the node's events, so filters and subscriptions learn each committed block and
each transaction the pool accepts. Transports (``rpc/server.py``, or a test
calling :meth:`RpcService.handle` directly) only move text and open and close
sessions.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable

from baychain.ledger.transactions import Transaction
from baychain.node.chain import ProposedBlock
from baychain.node.node import Node
from baychain.node.reads import ChainReads
from baychain.rpc.calls import CallApi
from baychain.rpc.eth import EthApi
from baychain.rpc.filters import Filters
from baychain.rpc.jsonrpc import Dispatcher
from baychain.rpc.limits import RpcLimits
from baychain.rpc.logs import LogApi, LogQuery
from baychain.rpc.native import NativeApi
from baychain.rpc.session import Session
from baychain.rpc.subscriptions import Subscriptions
from baychain.rpc.workers import CallSlots, Workers, current_client

__all__ = ["RpcService"]


class RpcService:
    """The JSON-RPC API of one node (transport-free)."""

    def __init__(
        self,
        node: Node,
        limits: RpcLimits | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.node = node
        self.limits = limits = limits or RpcLimits()
        self.queries = ChainReads(node.chain)
        self.workers = Workers(limits.call_threads, limits.max_queued_calls)
        # EVM calls have threads of their own, so that they cannot hold up log and block reads
        self.call_workers = Workers(limits.evm_threads, limits.max_calls, name="rpc-evm")
        self.call_slots = CallSlots(limits.max_calls, limits.max_calls_per_client)
        self.http_session = Session(
            can_push=False, max_filters=limits.max_filters, max_subscriptions=0
        )
        self.dispatcher = Dispatcher(max_batch_length=limits.max_batch_length)
        log_query = LogQuery(self.queries, limits)
        self.filters = Filters(log_query, self.workers, limits, self.http_session, clock=clock)
        self.subscriptions = Subscriptions(node.genesis.base_fee_per_gas)
        EthApi(node, self.queries, self.workers, limits).register(self.dispatcher)
        CallApi(node, self.queries, self.call_workers, limits, self.call_slots).register(
            self.dispatcher
        )
        LogApi(log_query, self.workers).register(self.dispatcher)
        self.filters.register(self.dispatcher)
        self.subscriptions.register(self.dispatcher)
        NativeApi(node, self.queries, self.workers).register(self.dispatcher)
        node.commit_listeners.append(self._on_commit)
        node.pending_listeners.append(self._on_pending)

    async def handle(
        self, text: str | bytes, session: Session | None = None, *, client: Hashable = None
    ) -> str | None:
        """Answer one HTTP body or WebSocket message (HTTP's shared session by default).

        ``client`` names who sent it (the transport passes the remote address), for the
        per-client bounds; without it the session stands for the client.
        """
        token = current_client.set(client)
        try:
            return await self.dispatcher.handle_text(text, session or self.http_session)
        finally:
            current_client.reset(token)

    def open_session(self, on_overflow: Callable[[], None] | None = None) -> Session:
        """A session for a new WebSocket connection (call on the event loop)."""
        return Session(
            can_push=True,
            max_filters=self.limits.max_filters_per_connection,
            max_subscriptions=self.limits.max_subscriptions_per_connection,
            max_queued=self.limits.max_queued_messages,
            on_overflow=on_overflow,
        )

    def close_session(self, session: Session) -> None:
        """Forget a closed connection's filters and subscriptions."""
        session.close()
        self.filters.drop_session(session)
        self.subscriptions.drop_session(session)

    def close(self) -> None:
        """Stop listening to the node and stop the worker threads."""
        if self._on_commit in self.node.commit_listeners:
            self.node.commit_listeners.remove(self._on_commit)
        if self._on_pending in self.node.pending_listeners:
            self.node.pending_listeners.remove(self._on_pending)
        self.workers.close()
        self.call_workers.close()

    def _on_commit(self, proposed: ProposedBlock) -> None:
        self.queries.remember(proposed)
        self.filters.expire()
        self.subscriptions.on_commit(proposed)

    def _on_pending(self, tx: Transaction) -> None:
        self.filters.on_pending(tx)
        self.subscriptions.on_pending(tx)

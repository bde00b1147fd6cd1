"""The bounds that protect a node from its JSON-RPC clients.

Every bound has a default that serves a laptop; in-process users pass their
own :class:`RpcLimits` to :class:`~baychain.rpc.service.RpcService`. What
happens at each bound is documented in ``docs/json-rpc.md``. The bounds a
node.toml may set ([rpc] ``max_*``) take their defaults from the node settings
table (:data:`~baychain.node.host.settings.RPC_LIMIT_DEFAULTS`), so each default
is written once; the others are defined here.
"""

from __future__ import annotations

from dataclasses import dataclass

from baychain.node.host.settings import RPC_LIMIT_DEFAULTS

__all__ = ["RpcLimits"]


@dataclass(frozen=True, slots=True)
class RpcLimits:
    """Bounds on requests, queries, filters, subscriptions and connections."""

    max_body_bytes: int = RPC_LIMIT_DEFAULTS["max_body_bytes"]
    """Largest HTTP body or WebSocket message; bigger bodies get HTTP 413 (WS: close 1009)."""
    max_batch_length: int = RPC_LIMIT_DEFAULTS["max_batch_length"]
    """Most requests in one batch (-32600 above)."""
    max_log_block_range: int = RPC_LIMIT_DEFAULTS["max_log_block_range"]
    """Most blocks one eth_getLogs / eth_getFilterLogs query may span (-32005 above)."""
    max_log_results: int = RPC_LIMIT_DEFAULTS["max_log_results"]
    """Most logs one query may return (-32005 above)."""
    max_filters: int = RPC_LIMIT_DEFAULTS["max_filters"]
    """Filters installed over HTTP, node-wide (-32005 above)."""
    max_filters_per_connection: int = 100
    """Filters one WebSocket connection may hold (-32005 above)."""
    max_subscriptions_per_connection: int = RPC_LIMIT_DEFAULTS["max_subscriptions_per_connection"]
    """Subscriptions one WebSocket connection may hold (-32005 above)."""
    filter_timeout_s: float = 300.0
    """A filter not polled for this long is uninstalled (geth's five minutes)."""
    max_pending_filter_hashes: int = 10_000
    """Transaction hashes a pending-transaction filter buffers between polls (oldest dropped)."""
    max_connections: int = RPC_LIMIT_DEFAULTS["max_connections"]
    """Concurrent HTTP requests plus open WebSockets; more get HTTP 503."""
    max_queued_messages: int = 10_000
    """Answers and notifications queued for one WebSocket; a client that falls this far
    behind is disconnected (close 1008) so that it cannot make the node buffer without end."""
    max_fee_history_blocks: int = 1_024
    """Most blocks one eth_feeHistory call covers (larger counts are clamped, as geth does)."""
    call_threads: int = 2
    """Threads that run log queries and block reads."""
    max_queued_calls: int = 64
    """Such requests running or waiting at once; more get -32005 (the node is busy)."""
    max_call_gas: int = RPC_LIMIT_DEFAULTS["max_call_gas"]
    """Gas cap of one eth_call / eth_estimateGas (geth's RPCGasCap): a call's gas is the
    least of what it asks (default: all), this and the block gas limit."""
    max_call_time_ms: int = RPC_LIMIT_DEFAULTS["max_call_time_ms"]
    """Wall-clock budget of one eth_call, or of one eth_estimateGas's whole search (geth's
    RPCEVMTimeout); past it the EVM stops and the call answers -32000 ``execution timeout``."""
    max_calls: int = RPC_LIMIT_DEFAULTS["max_calls"]
    """eth_call / eth_estimateGas running or waiting at once, node-wide (-32005 above)."""
    max_calls_per_client: int = RPC_LIMIT_DEFAULTS["max_calls_per_client"]
    """eth_call / eth_estimateGas of one client (its address; in-process: its session)
    running or waiting at once (-32005 above)."""
    evm_threads: int = 2
    """Threads that run eth_call and eth_estimateGas (the EVM runs on them without the GIL)."""

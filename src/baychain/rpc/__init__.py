"""The node's JSON-RPC: Ethereum's ``eth_``/``net_``/``web3_`` methods and BayChain's own.

The parts, from the wire in:

- :mod:`.server`: the transports (aiohttp): HTTP POST and WebSocket on one port.
- :mod:`.service`: :class:`~.service.RpcService`, every namespace wired to one node; the
  seam between the API and its transports.
- :mod:`.jsonrpc`: JSON-RPC 2.0 framing and dispatch, and :func:`~.jsonrpc.error_for`,
  the one place where BayChain errors become JSON-RPC error codes.
- :mod:`.limits`: :class:`~.limits.RpcLimits`, the bounds that protect a node from its
  clients.
- :mod:`.session`: one client connection's filters, subscriptions and outbox.
- :mod:`.workers`: the threads that run heavy reads off the event loop.
- The namespaces: :mod:`.eth` (chain, blocks, transactions, state), :mod:`.calls`
  (``eth_call``, ``eth_estimateGas``), :mod:`.fees`, :mod:`.logs`, :mod:`.filters`,
  :mod:`.subscriptions` and :mod:`.native` (``baychain_``).
- Their helpers: :mod:`.params` (parameters into domain values), :mod:`.resolve` (block
  parameters into heights), :mod:`.formatting` (answers in the execution-apis shapes).

This face re-exports nothing: its ``__all__`` names the submodules. A package
``__init__`` runs on every submodule import, and the framing (:mod:`.jsonrpc`) needs
nothing but :mod:`baychain.errors` and is used on its own, while :mod:`.server` loads
aiohttp and :mod:`.service` the whole node; re-exporting here would make importing the
framing load all of that. Import the names from their modules.
"""

from __future__ import annotations

__all__ = [
    "calls",
    "eth",
    "fees",
    "filters",
    "formatting",
    "jsonrpc",
    "limits",
    "logs",
    "native",
    "params",
    "resolve",
    "server",
    "service",
    "session",
    "subscriptions",
    "workers",
]

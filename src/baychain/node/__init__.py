"""The node: the protocol parts wired into a chain, a pool, a process and a local network.

The parts, bottom to top; each builds only on the ones above it in this list
(``scripts/check_layers.py`` checks the order):

- :mod:`.genesis`: genesis.json, the parameters every node of a chain shares, and the
  state and block they fix at height 0.
- :mod:`.chain`: :class:`Chain`, the committed chain: build, validate and commit blocks,
  each in one store transaction.
- :mod:`.reads`: :class:`ChainReads`, the read-only queries the APIs ask of a chain
  (blocks, receipts, logs, inclusion proofs), safe on worker threads.
- :mod:`.pool`: the transaction pool (:class:`Mempool`, :class:`MempoolConfig`), its
  multi-threaded intake and the cache of verified signatures.
- :mod:`.node`: :class:`Node`, a chain plus its pool: the native interface in-process
  users (RPC, the benchmark, tests) talk to. Synchronous, no timers or sockets.
- :mod:`.solo`, :mod:`.bft`: the asyncio drivers that decide when blocks are built and
  committed, for a one-validator chain and for BFT consensus over the peer network
  (with block sync and transaction gossip).
- :mod:`.host`: the node process: its data directory, node.toml settings, status and
  the assembly of a running node from a directory.
- :mod:`.localnet`: several node processes on one machine (``baychain up``).

This face re-exports the core names, from :mod:`.genesis` to :mod:`.node`. Drivers,
host and localnet are imported from their subpackages, so that ``import baychain.node``
never starts the network stack. No module inside the package imports this face (it
would import itself half-built).
"""

from __future__ import annotations

from baychain.node.chain import Chain, ProposedBlock
from baychain.node.genesis import Genesis, GenesisAccount, load_genesis
from baychain.node.node import Node
from baychain.node.pool.config import MempoolConfig
from baychain.node.pool.mempool import Mempool
from baychain.node.reads import ChainReads

__all__ = [
    "Chain",
    "ChainReads",
    "Genesis",
    "GenesisAccount",
    "Mempool",
    "MempoolConfig",
    "Node",
    "ProposedBlock",
    "load_genesis",
]

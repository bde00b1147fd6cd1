"""A whole consortium on one machine: ``baychain up`` and ``baychain down``.

- :mod:`.network_dir`: the network directory: one genesis, the consortium CA and one
  complete node directory per validator (ports, peers, TLS certificates).
- :mod:`.launcher`: starts each node as its own ``baychain node`` process, waits for the
  first commits, supervises, stops; ``network.json`` for scripts and tools.
- :mod:`.processes`: free ports and log tails, shared with ``baychain bench``.
"""

__all__ = ["launcher", "network_dir", "processes"]

"""One node process on this machine: its settings, its directory, its start-up.

- :mod:`.settings`: node.toml, one table of settings (type, default, bounds, doc) from
  which the file is validated, rendered and documented.
- :mod:`.datadir`: the chain directory: ``baychain init``, the genesis it writes, the
  validator key (SM4 keystore) and the development accounts.
- :mod:`.status`: what ``baychain status`` reads from a stopped or running node's store.
- :mod:`.assemble`: :func:`~.assemble.run_node`, the whole start-up sequence from a
  directory to a running node (chain, pool, consensus driver and services such as the
  JSON-RPC server).
"""

__all__ = ["assemble", "datadir", "settings", "status"]

"""The world state and the ledger's store: LMDB tables, accounts, the state commitment.

The parts, by module:

- :mod:`.store`: :class:`~.store.Store`, one LMDB environment with named tables; read
  snapshots and the one write transaction (:class:`~.store.Txn`).
- :mod:`.account`: :class:`~.account.Account` and its canonical fixed-width encoding.
- :mod:`.writeset`: :class:`~.writeset.WriteSet`, a block's state writes merged from its
  transactions' diffs.
- :mod:`.lthash`: LtHash16, the homomorphic set hash behind the state root.
- :mod:`.commitment`: a write set turned into store operations and the new state root.
- :mod:`.view`: :class:`~.view.StateView`, read access to the committed state in the
  shapes execution and the pool ask for.
- :mod:`.chain_store`: a committed block (body, receipts, state writes, indexes, head)
  written in one transaction, and the reads that follow from it.

This face re-exports nothing: its ``__all__`` names the submodules. Their weights differ
widely: :mod:`.store` needs only LMDB and is imported by node settings for its default
map size, while :mod:`.chain_store` pulls in the ledger and the crypto suites. A package
``__init__`` runs on every submodule import, so re-exporting here would make
``import baychain.state.store`` load all of that. Import the names from their modules.
"""

from __future__ import annotations

__all__ = ["account", "chain_store", "commitment", "lthash", "store", "view", "writeset"]

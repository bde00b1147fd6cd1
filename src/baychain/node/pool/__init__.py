"""The transaction pool: signed transactions waiting for a block.

- :mod:`.config`: :class:`~.config.MempoolConfig`, the pool's bounds.
- :mod:`.mempool`: :class:`~.mempool.Mempool`, admission (the rules of
  :mod:`baychain.ledger.validity`), the ready order and block selection.
- :mod:`.intake`: :class:`~.intake.ParallelIntake`, a batch's signatures checked on
  several threads before the pool admits it in order.
- :mod:`.verified`: :class:`~.verified.VerifiedTransactions`, so that each signature
  is checked once per node whether a transaction arrives by gossip or in a proposal.

Import the names from their modules; this face re-exports nothing, so that importing
one module does not load the others.
"""

__all__ = ["config", "intake", "mempool", "verified"]

"""The verified-signature cache: transactions this node has decoded and checked, by hash.

A transaction reaches a validator twice: gossiped to its pool and inside a proposal, in
either order. Whichever path decodes it first records it in :class:`VerifiedTransactions`
and the other takes it from there (``ledger.block.decode_block(known=...)``), so each
signature is checked once per node, not once more per proposal.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable

from baychain.ledger.transactions import Transaction
from baychain.primitives import Hash32

__all__ = ["VERIFIED_CAPACITY", "VerifiedTransactions"]

VERIFIED_CAPACITY = 65_536
"""Decoded transactions :class:`VerifiedTransactions` keeps (about two pools' worth of
blocks in flight); the oldest are forgotten first."""


class VerifiedTransactions:
    """Decoded, signature-checked transactions by hash; bounded, oldest forgotten first.

    Safe to share between the gossip intake thread and the block worker thread.
    """

    def __init__(self, capacity: int = VERIFIED_CAPACITY) -> None:
        self.capacity = capacity
        self._by_hash: dict[Hash32, Transaction] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._by_hash)

    def get(self, tx_hash: Hash32) -> Transaction | None:
        """The recorded transaction with this hash, or None."""
        return self._by_hash.get(tx_hash)

    def add_all(self, transactions: Iterable[Transaction]) -> None:
        """Record decoded transactions, forgetting the oldest beyond the capacity."""
        with self._lock:
            by_hash = self._by_hash
            for tx in transactions:
                by_hash[tx.hash] = tx
            excess = len(by_hash) - self.capacity
            if excess > 0:
                for stale in list(itertools.islice(by_hash, excess)):
                    del by_hash[stale]

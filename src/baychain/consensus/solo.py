"""Solo consensus: one validator seals blocks on its own, on a timer or when a block is full.

This is the consensus of a one-node chain (development, testing, and the
in-process benchmark). Like the BFT engine it is a pure decision: the driver
feeds it the clock and the pool size; it answers when the next block is due.
Finality is immediate: the only validator commits what it seals.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SoloPolicy:
    """When a solo validator seals the next block.

    A block is due when ``interval_ms`` has passed since the last block and
    either transactions wait or ``empty_blocks`` is set, or at once when a full
    block's worth (``full_block_txs``) of transactions waits.
    """

    interval_ms: int
    full_block_txs: int
    empty_blocks: bool = True

    def is_due(self, now_ms: int, last_block_ms: int, pending: int) -> bool:
        """True when the next block should be sealed now."""
        if pending >= self.full_block_txs:
            return True
        if now_ms - last_block_ms < self.interval_ms:
            return False
        return pending > 0 or self.empty_blocks

    def wait_ms(self, now_ms: int, last_block_ms: int) -> int:
        """Milliseconds until the interval since the last block has passed (0 if it has)."""
        return max(0, last_block_ms + self.interval_ms - now_ms)

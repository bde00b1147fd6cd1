"""The bounds of the transaction pool: how much it holds and what it asks of a replacement.

Every bound is configuration (a deployment may change it in ``node.toml``, whose
``[mempool]`` keys take their defaults from the constants below); the defaults
suit a laptop-sized node and follow the magnitudes go-ethereum's
``legacypool`` uses for the same knobs (``PriceBump``, ``AccountSlots``,
``GlobalSlots``; ``txMaxSize``).
"""

from __future__ import annotations

from dataclasses import dataclass

from baychain.errors import ConfigError

MAX_TX_BYTES = 128 * 1024
"""Largest raw transaction the pool accepts, in bytes (go-ethereum ``txMaxSize``)."""

MAX_POOL_TXS = 50_000
"""Most transactions (pending and queued together) the pool holds."""

MAX_POOL_BYTES = 64 * 1024 * 1024
"""Most bytes of raw transaction encodings the pool holds."""

MAX_PER_SENDER = 1_024
"""Most transactions (pending and queued together) one sender may have in the pool."""

MAX_NONCE_GAP = 256
"""How far past a sender's next pending nonce a queued nonce may be."""

MAX_QUEUED_PER_SENDER = 64
"""Most queued transactions (behind a nonce gap) one sender may have in the pool
(go-ethereum ``AccountQueue``)."""

MAX_QUEUED_BYTES_PER_SENDER = 2 * 1024 * 1024
"""Most bytes of queued transactions one sender may have in the pool: go-ethereum's
``AccountQueue`` (64) slots of ``txSlotSize`` (32 KiB)."""

QUEUED_LIFETIME_BLOCKS = 600
"""Committed blocks a queued transaction may wait without becoming pending before the
pool drops it: about ten minutes at the default 1 s block interval (go-ethereum drops
queued transactions after ``Lifetime``, 3 hours of wall-clock time; the pool has no
clock, so it counts blocks)."""

QUEUED_MIN_GAS_PRICE_WEI = 1
"""The gas price, in wei per gas, at which a queued transaction's gas limit is charged
against its sender's balance when its own fee cap is lower (a zero-fee chain): a sender
with no funds can send only transactions a block could include now."""

PRICE_BUMP_PERCENT = 10
"""Minimum fee increase, in percent, for a transaction replacing one with the same nonce
(go-ethereum ``PriceBump``)."""


@dataclass(frozen=True, slots=True)
class MempoolConfig:
    """The bounds of one node's transaction pool; see the module constants for each default."""

    max_tx_bytes: int = MAX_TX_BYTES
    max_pool_txs: int = MAX_POOL_TXS
    max_pool_bytes: int = MAX_POOL_BYTES
    max_per_sender: int = MAX_PER_SENDER
    max_nonce_gap: int = MAX_NONCE_GAP
    price_bump_percent: int = PRICE_BUMP_PERCENT
    max_queued_per_sender: int = MAX_QUEUED_PER_SENDER
    max_queued_bytes_per_sender: int = MAX_QUEUED_BYTES_PER_SENDER
    queued_lifetime_blocks: int = QUEUED_LIFETIME_BLOCKS
    queued_min_gas_price_wei: int = QUEUED_MIN_GAS_PRICE_WEI

    def __post_init__(self) -> None:
        """Raise :class:`~baychain.errors.ConfigError` for a bound that makes no sense."""
        for name in (
            "max_tx_bytes",
            "max_pool_txs",
            "max_pool_bytes",
            "max_per_sender",
            "queued_lifetime_blocks",
        ):
            if getattr(self, name) < 1:
                raise ConfigError(f"mempool {name} must be at least 1, got {getattr(self, name)}")
        for name in (
            "max_nonce_gap",
            "price_bump_percent",
            "max_queued_per_sender",
            "max_queued_bytes_per_sender",
            "queued_min_gas_price_wei",
        ):
            if getattr(self, name) < 0:
                raise ConfigError(f"mempool {name} must not be negative, got {getattr(self, name)}")

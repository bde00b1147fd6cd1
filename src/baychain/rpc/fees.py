"""Fee suggestions and history: ``eth_gasPrice``, ``eth_maxPriorityFeePerGas``, ``eth_feeHistory``.

A BayChain base fee is fixed by genesis (0 by default), so the only signal is
the priority fee ("tip") that recent transactions paid. The suggested tip is
the 60th percentile of the tips in the last :data:`TIP_SAMPLE_BLOCKS` blocks, 0
when they hold no transactions; on a consortium chain that transacts for free
that is 0, and a zero-fee transaction is accepted.

``eth_feeHistory`` follows EIP-1559's reference behaviour (geth's): per block,
the base fee and the gas used ratio, and for each requested percentile the tip
at which that share of the block's gas, ordered by tip, was paid.
"""

from __future__ import annotations

from collections.abc import Sequence

from baychain.ledger.block import Block
from baychain.ledger.receipt import Receipt

__all__ = ["TIP_PERCENTILE", "TIP_SAMPLE_BLOCKS", "block_rewards", "suggested_tip", "tip"]

TIP_SAMPLE_BLOCKS = 20
"""How many recent blocks the tip suggestion looks at."""

TIP_PERCENTILE = 60
"""Which percentile of recent tips is suggested (geth's gas price oracle default)."""


def tip(max_fee: int, max_priority_fee: int, base_fee: int) -> int:
    """The priority fee per gas a transaction pays at ``base_fee`` (EIP-1559)."""
    return max(0, min(max_priority_fee, max_fee - base_fee))


def suggested_tip(blocks: Sequence[Block]) -> int:
    """The :data:`TIP_PERCENTILE` th percentile of the tips paid in ``blocks`` (0 if none)."""
    tips = sorted(
        tip(tx.max_fee_per_gas, tx.max_priority_fee_per_gas, block.header.base_fee_per_gas)
        for block in blocks
        for tx in block.transactions
    )
    if not tips:
        return 0
    return tips[(len(tips) - 1) * TIP_PERCENTILE // 100]


def block_rewards(
    block: Block, receipts: Sequence[Receipt], percentiles: Sequence[float]
) -> list[int]:
    """The tip at each percentile of the block's gas, transactions ordered by tip."""
    if not percentiles:
        return []
    base_fee = block.header.base_fee_per_gas
    paid = sorted(
        (tip(tx.max_fee_per_gas, tx.max_priority_fee_per_gas, base_fee), receipt.gas_used)
        for tx, receipt in zip(block.transactions, receipts, strict=True)
    )
    if not paid:
        return [0 for _ in percentiles]
    total = sum(gas for _, gas in paid)
    rewards = []
    index, used = 0, paid[0][1]
    for percentile in percentiles:
        threshold = total * percentile / 100
        while used < threshold and index < len(paid) - 1:
            index += 1
            used += paid[index][1]
        rewards.append(paid[index][0])
    return rewards

"""Turning block parameters into heights, and the rule for state queries.

Block and receipt queries work at every height. World state is kept at the head
only (``docs/json-rpc.md``): a state query names the head (a tag, the head's
number or hash) or it gets ``-32000 historical state is not available``.
"""

from __future__ import annotations

from baychain.errors import HistoricalStateUnavailable, NotFound
from baychain.node.reads import ChainReads
from baychain.rpc.params import BlockRef

__all__ = ["height_of", "require_head_state"]


def height_of(queries: ChainReads, ref: BlockRef) -> int | None:
    """The height ``ref`` names; None for an unknown hash. Numbers are not checked."""
    if ref.tag is not None:
        return 0 if ref.tag == "earliest" else queries.height
    if ref.number is not None:
        return ref.number
    if ref.block_hash is None:  # pragma: no cover - a BlockRef always names one of the three
        raise ValueError("empty block reference")
    return queries.height_of(ref.block_hash)


def require_head_state(queries: ChainReads, ref: BlockRef) -> None:
    """Return if the state at ``ref`` is the head state; raise otherwise.

    Raises :class:`HistoricalStateUnavailable` for an earlier block and
    :class:`NotFound` for a block that does not exist (yet).
    """
    head = queries.height
    if ref.tag is not None and ref.tag != "earliest":
        return
    height = height_of(queries, ref)
    if height is None:
        raise NotFound(f"no block with hash 0x{ref.block_hash.hex() if ref.block_hash else ''}")
    if height > head:
        raise NotFound(f"block {height} does not exist yet (the head is {head})")
    if height < head:
        raise HistoricalStateUnavailable(height, head)

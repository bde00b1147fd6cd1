"""Block sync: how a node that was down, or is new, fetches the blocks it lacks.

Consensus catch-up (``DecisionRequest`` / ``Decision``) moves a node one height at a
time, at most one per gossip period; a node many heights behind uses block sync
instead, over the peer network's ``STATUS``, ``BLOCK_REQUEST`` and ``BLOCK_RESPONSE``
kinds:

1. every node sends ``STATUS [height, head_hash]`` to a peer when it connects, and
   to all peers every :data:`STATUS_INTERVAL_MS`;
2. a node whose best peer is at least :data:`SYNC_LAG_HEIGHTS` ahead sends that peer
   ``BLOCK_REQUEST [start, count]`` (``count`` at most :data:`MAX_BLOCKS_PER_RESPONSE`),
   one request at a time, retried elsewhere after :data:`REQUEST_TIMEOUT_MS`;
3. the peer answers ``BLOCK_RESPONSE [block, ...]``: consecutive committed blocks from
   ``start``, each with its commit certificate in ``Block.certificate``, within
   :data:`MAX_RESPONSE_BYTES`;
4. for each block, in order, the node verifies the certificate against the validator
   set of that height (``verify_certificate``), re-executes the block (its header must
   match, state root included) and commits it; then it asks for more, and when it is
   within one height of its peers the consensus engine takes over at ``head + 1``.

A peer that sends a malformed payload or a block that fails those checks is scored
by the transport. This module holds the encodings and the bookkeeping (:class:`SyncState`:
whom to ask for what); the driver (``node/bft/driver.py``) does the I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from baychain.codec import rlp
from baychain.errors import DecodingError
from baychain.primitives import Hash32, PeerId

__all__ = [
    "MAX_BLOCKS_PER_RESPONSE",
    "MAX_RESPONSE_BYTES",
    "REQUEST_TIMEOUT_MS",
    "STATUS_INTERVAL_MS",
    "SYNC_LAG_HEIGHTS",
    "BlockRequest",
    "ChainStatus",
    "SyncState",
    "decode_block_request",
    "decode_block_response",
    "decode_status",
    "encode_block_request",
    "encode_block_response",
    "encode_status",
]

MAX_BLOCKS_PER_RESPONSE = 64
"""Blocks per BLOCK_RESPONSE (and the largest ``count`` a request may ask for)."""

MAX_RESPONSE_BYTES = 8 * 2**20
"""Encoded blocks per response, in bytes (half the default frame cap); at least one
block is always sent."""

REQUEST_TIMEOUT_MS = 5_000
"""A request unanswered this long is given up, and the next one may go to another peer."""

STATUS_INTERVAL_MS = 1_000
"""How often a node tells its peers its head."""

SYNC_LAG_HEIGHTS = 2
"""Sync when a peer's head is at least this far ahead; one height behind is normal while
consensus pipelines (the engine's own catch-up covers it)."""


@dataclass(frozen=True, slots=True)
class ChainStatus:
    """A node's head, as told in STATUS."""

    height: int
    head_hash: Hash32


@dataclass(frozen=True, slots=True)
class BlockRequest:
    """Ask for ``count`` committed blocks from height ``start`` on."""

    start: int
    count: int


def encode_status(status: ChainStatus) -> bytes:
    """``rlp([height, head_hash])``."""
    return rlp.encode([rlp.encode_uint(status.height), status.head_hash])


def decode_status(payload: bytes) -> ChainStatus:
    """Inverse of :func:`encode_status`; DecodingError if malformed."""
    fields = rlp.decode_list(rlp.decode(payload), 2, name="status")
    height = rlp.decode_uint(fields[0], name="status height", max_bytes=8)
    return ChainStatus(height, Hash32(rlp.decode_fixed(fields[1], 32, name="status head hash")))


def encode_block_request(request: BlockRequest) -> bytes:
    """``rlp([start, count])``."""
    return rlp.encode([rlp.encode_uint(request.start), rlp.encode_uint(request.count)])


def decode_block_request(payload: bytes) -> BlockRequest:
    """Inverse of :func:`encode_block_request`; DecodingError if malformed or out of range."""
    fields = rlp.decode_list(rlp.decode(payload), 2, name="block request")
    start = rlp.decode_uint(fields[0], name="request start", max_bytes=8)
    count = rlp.decode_uint(fields[1], name="request count", max_bytes=8)
    if start < 1 or not 1 <= count <= MAX_BLOCKS_PER_RESPONSE:
        raise DecodingError(
            f"block request needs start >= 1 and 1 <= count <= {MAX_BLOCKS_PER_RESPONSE}"
        )
    return BlockRequest(start, count)


def encode_block_response(blocks: list[bytes]) -> bytes:
    """``rlp([encoded block, ...])`` (``ledger.block.encode_block`` of each)."""
    return rlp.encode(list(blocks))


def decode_block_response(payload: bytes) -> list[bytes]:
    """Inverse of :func:`encode_block_response`; DecodingError if malformed or too long."""
    items = rlp.decode_list(rlp.decode(payload), name="block response")
    if len(items) > MAX_BLOCKS_PER_RESPONSE:
        raise DecodingError(f"a block response holds at most {MAX_BLOCKS_PER_RESPONSE} blocks")
    return [rlp.decode_bytes(item, name="response block") for item in items]


class SyncState:
    """Whom to ask for which blocks: peers' heads and the one request in flight.

    Pure bookkeeping: the driver passes its head height and a monotonic time in ms.
    """

    def __init__(self) -> None:
        self.peer_heights: dict[PeerId, int] = {}
        self._in_flight: tuple[PeerId, int] | None = None  # (peer, deadline ms)

    def note_status(self, peer: PeerId, status: ChainStatus) -> None:
        """Remember ``peer``'s head."""
        self.peer_heights[peer] = status.height

    def forget(self, peer: PeerId) -> None:
        """``peer`` disconnected: drop its head and any request to it."""
        self.peer_heights.pop(peer, None)
        if self._in_flight is not None and self._in_flight[0] == peer:
            self._in_flight = None

    def best_height(self) -> int:
        """The highest head any peer reported (0 if none)."""
        return max(self.peer_heights.values(), default=0)

    def is_behind(self, height: int) -> bool:
        """True when some peer is at least :data:`SYNC_LAG_HEIGHTS` ahead of ``height``."""
        return self.best_height() >= height + SYNC_LAG_HEIGHTS

    def awaiting(self, peer: PeerId) -> bool:
        """True when a request to ``peer`` is in flight (its response is expected)."""
        return self._in_flight is not None and self._in_flight[0] == peer

    def next_request(self, height: int, now_ms: int) -> tuple[PeerId, BlockRequest] | None:
        """The request to send now, if any (and mark it in flight): to the peer furthest
        ahead, for the blocks after ``height``."""
        if self._in_flight is not None and now_ms < self._in_flight[1]:
            return None
        self._in_flight = None
        if not self.is_behind(height):
            return None
        peer = max(self.peer_heights, key=lambda p: (self.peer_heights[p], p))
        count = min(self.peer_heights[peer] - height, MAX_BLOCKS_PER_RESPONSE)
        self._in_flight = (peer, now_ms + REQUEST_TIMEOUT_MS)
        return peer, BlockRequest(height + 1, count)

    def answered(self, peer: PeerId) -> None:
        """The response of ``peer`` was applied (or refused): the next request may go."""
        if self.awaiting(peer):
            self._in_flight = None

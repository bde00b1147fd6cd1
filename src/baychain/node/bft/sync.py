"""Block sync: how a node that was down, or is new, fetches the blocks it lacks.

Consensus catch-up (``DecisionRequest`` / ``Decision``) moves a node one height at a
time, at most one per gossip period; a node many heights behind uses block sync
instead, over the peer network's ``STATUS``, ``BLOCK_REQUEST`` and ``BLOCK_RESPONSE``
kinds:

1. every node sends ``STATUS [height, head_hash]`` to a peer when it connects, and
   to all peers every :data:`STATUS_INTERVAL_MS`;
2. a node at least :data:`SYNC_LAG_HEIGHTS` behind its *sync target* sends one peer
   ``BLOCK_REQUEST [start, count]`` (``count`` at most :data:`MAX_BLOCKS_PER_RESPONSE`),
   one request at a time, given up after :data:`REQUEST_TIMEOUT_MS`;
3. the peer answers ``BLOCK_RESPONSE [block, ...]``: consecutive committed blocks from
   ``start``, each with its commit certificate in ``Block.certificate``, within
   :data:`MAX_RESPONSE_BYTES`, read from its store as stored (nothing re-verified),
   off its event loop, within a per-peer budget (:class:`ServeBudget`);
4. for each block, in order, the node checks that it is the height asked for, verifies
   its certificate against the validator set of that height (header and certificate
   only), and only then decodes the transactions (their signatures), re-executes the
   block (its header must match, state root included) and commits it; then it asks for
   more, and when it is within one height of its target the consensus engine takes over
   at ``head + 1``.

Glossary:

- *claim*: a peer's height in STATUS. It is not signed: nothing proves it.
- *sync target*: the highest height that at least ``trusted_claims`` peers claim (the
  driver passes ``f + 1`` for ``n = 3f + 1`` validators, so a target is claimed by at
  least one honest peer). One lying peer cannot set it, so it cannot make the node sync
  toward a height nobody has.
- *failure*: a request unanswered in time, an empty response, a block that is not the
  one asked for or does not verify. The peer loses its claim, its claims are ignored for
  :data:`CLAIM_COOLDOWN_MS`, and the driver scores it through the transport.

The rules, in prose: the request goes to the peer with the fewest failures, preferring
claims at or below the target, for at most ``target - head`` blocks (and no more than
the peer claims); a response is accepted once, from the peer asked, while nothing else
is queued (:data:`MAX_QUEUED_SYNC_RESPONSES`); any other response is unsolicited and
costs the sender :data:`UNSOLICITED_RESPONSE_POINTS`.

Simplifications, honestly listed: the target counts peers, not voting power; a peer
that stays silent on purpose costs a request timeout before it is passed over; claims
are ignored for a fixed cool-off, not one that grows with repeated failures.

This module holds the encodings and the bookkeeping (:class:`SyncState`: whom to ask
for what; :class:`ServeBudget`: what to serve whom); the driver
(``node/bft/driver.py``) does the I/O and the scoring.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from baychain.codec import rlp
from baychain.errors import DecodingError
from baychain.primitives import Hash32, PeerId

__all__ = [
    "CLAIM_COOLDOWN_MS",
    "FAILED_RESPONSE_POINTS",
    "MAX_BLOCKS_PER_RESPONSE",
    "MAX_QUEUED_SYNC_RESPONSES",
    "MAX_RESPONSE_BYTES",
    "REQUEST_TIMEOUT_MS",
    "SERVE_OVER_BUDGET_POINTS",
    "SERVE_REQUESTS_PER_SECOND",
    "SERVE_REQUEST_BURST",
    "STATUS_INTERVAL_MS",
    "SYNC_LAG_HEIGHTS",
    "UNANSWERED_REQUEST_POINTS",
    "UNSOLICITED_RESPONSE_POINTS",
    "BlockRequest",
    "ChainStatus",
    "ServeBudget",
    "ServeVerdict",
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
"""Sync when the sync target is at least this far ahead; one height behind is normal while
consensus pipelines (the engine's own catch-up covers it)."""

CLAIM_COOLDOWN_MS = 30_000
"""After a failure, a peer's height claims are ignored this long."""

MAX_QUEUED_SYNC_RESPONSES = 1
"""BLOCK_RESPONSE payloads waiting to be applied (one request is in flight at a time)."""

SERVE_REQUESTS_PER_SECOND = 10.0
"""Block requests (BLOCK_REQUEST and DecisionRequest) served per peer per second, sustained.
An honest syncing node has one request in flight, so it stays far below."""

SERVE_REQUEST_BURST = 20
"""Block requests a peer may make at once before :data:`SERVE_REQUESTS_PER_SECOND` applies."""

SERVE_OVER_BUDGET_POINTS = 5
"""Misbehaviour points for a block request beyond the budget (transport threshold: 100)."""

UNSOLICITED_RESPONSE_POINTS = 5
"""Misbehaviour points for a BLOCK_RESPONSE that was not asked for (or came twice)."""

UNANSWERED_REQUEST_POINTS = 5
"""Misbehaviour points for a request unanswered within :data:`REQUEST_TIMEOUT_MS`; with the
transport's decay of one point a second, an occasional timeout is forgiven."""

FAILED_RESPONSE_POINTS = 10
"""Misbehaviour points for a response that does not advance the node: empty, not the
blocks asked for, or a block that fails its checks."""


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
    fields = rlp.decode_list(rlp.decode(payload, max_items=3), 2, name="status")
    height = rlp.decode_uint(fields[0], name="status height", max_bytes=8)
    return ChainStatus(height, Hash32(rlp.decode_fixed(fields[1], 32, name="status head hash")))


def encode_block_request(request: BlockRequest) -> bytes:
    """``rlp([start, count])``."""
    return rlp.encode([rlp.encode_uint(request.start), rlp.encode_uint(request.count)])


def decode_block_request(payload: bytes) -> BlockRequest:
    """Inverse of :func:`encode_block_request`; DecodingError if malformed or out of range."""
    fields = rlp.decode_list(rlp.decode(payload, max_items=3), 2, name="block request")
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
    items = rlp.decode_list(
        rlp.decode(payload, max_items=1 + MAX_BLOCKS_PER_RESPONSE), name="block response"
    )
    if len(items) > MAX_BLOCKS_PER_RESPONSE:
        raise DecodingError(f"a block response holds at most {MAX_BLOCKS_PER_RESPONSE} blocks")
    return [rlp.decode_bytes(item, name="response block") for item in items]


class ServeVerdict(StrEnum):
    """What :meth:`ServeBudget.admit` decides about a peer's block request."""

    SERVE = "serve"
    """Serve it (then call :meth:`ServeBudget.done`)."""
    DUPLICATE = "duplicate"
    """Drop it: the same request of this peer is still being served."""
    BUSY = "busy"
    """Drop it: another request of this peer is still being served."""
    OVER_BUDGET = "over_budget"
    """Drop it and score the peer: it asks faster than the budget allows."""


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class ServeBudget:
    """Per peer: a token bucket of block requests and at most one being served per *slot*.

    Every request takes a token (a duplicate too, so a flood of identical requests is
    scored like any other); tokens refill at ``rate_per_second`` up to ``burst``. A slot
    is a kind of request an honest peer makes one at a time: ``"blocks"`` (block sync)
    and ``"decision"`` (consensus catch-up, which may run alongside). Pure bookkeeping:
    the driver passes a monotonic time in seconds. Holds one entry per connected peer
    (the driver calls :meth:`forget` on disconnect).
    """

    def __init__(
        self,
        rate_per_second: float = SERVE_REQUESTS_PER_SECOND,
        burst: int = SERVE_REQUEST_BURST,
    ) -> None:
        self.rate_per_second = rate_per_second
        self.burst = burst
        self._buckets: dict[PeerId, _Bucket] = {}
        self._serving: dict[tuple[PeerId, str], object] = {}

    def __len__(self) -> int:
        """How many peers the budget holds state for."""
        return len(self._buckets.keys() | {peer for peer, _ in self._serving})

    def admit(
        self, peer: PeerId, request: object, now_s: float, slot: str = "blocks"
    ) -> ServeVerdict:
        """Decide about ``request`` (any value naming it) from ``peer`` at ``now_s``."""
        bucket = self._buckets.get(peer)
        if bucket is None:
            bucket = self._buckets[peer] = _Bucket(float(self.burst), now_s)
        refill = (now_s - bucket.at) * self.rate_per_second
        bucket.tokens = min(float(self.burst), bucket.tokens + max(0.0, refill))
        bucket.at = now_s
        # every request costs a token, whatever becomes of it
        if bucket.tokens < 1.0:
            return ServeVerdict.OVER_BUDGET
        bucket.tokens -= 1.0
        # one request per peer and slot at a time: an honest syncing node never has two
        key = (peer, slot)
        if key in self._serving:
            same = self._serving[key] == request
            return ServeVerdict.DUPLICATE if same else ServeVerdict.BUSY
        self._serving[key] = request
        return ServeVerdict.SERVE

    def done(self, peer: PeerId, request: object, slot: str = "blocks") -> None:
        """``request`` of ``peer`` was served (or failed): the next one may be."""
        if self._serving.get((peer, slot)) == request:
            del self._serving[(peer, slot)]

    def forget(self, peer: PeerId) -> None:
        """``peer`` disconnected: drop its bucket and what it had outstanding."""
        self._buckets.pop(peer, None)
        for key in [key for key in self._serving if key[0] == peer]:
            del self._serving[key]


@dataclass(slots=True)
class _InFlight:
    peer: PeerId
    request: BlockRequest
    deadline_ms: int
    received: bool = False


class SyncState:
    """Whom to ask for which blocks: peers' claims, their failures, the one request in flight.

    Pure bookkeeping: the driver passes its head height and a monotonic time in ms.
    ``trusted_claims``: how many peers must claim a height before it becomes the sync
    target (``f + 1``; 1 trusts any single peer).
    """

    def __init__(self, trusted_claims: int = 1) -> None:
        if trusted_claims < 1:
            raise ValueError("trusted_claims must be at least 1")
        self.trusted_claims = trusted_claims
        self.peer_heights: dict[PeerId, int] = {}
        """Claims of the connected peers not in their cool-off."""
        self._failures: dict[PeerId, int] = {}  # consortium members only, so bounded
        self._ignore_until_ms: dict[PeerId, int] = {}
        self._in_flight: _InFlight | None = None

    def note_status(self, peer: PeerId, status: ChainStatus, now_ms: int) -> None:
        """Remember ``peer``'s claim (ignored while the peer is in its cool-off)."""
        if now_ms < self._ignore_until_ms.get(peer, 0):
            return
        self._ignore_until_ms.pop(peer, None)
        self.peer_heights[peer] = status.height

    def forget(self, peer: PeerId) -> None:
        """``peer`` disconnected: drop its claim and any request to it (not its failures)."""
        self.peer_heights.pop(peer, None)
        if self._in_flight is not None and self._in_flight.peer == peer:
            self._in_flight = None

    def target_height(self) -> int:
        """The highest height claimed by at least ``trusted_claims`` peers (0 if none)."""
        claims = sorted(self.peer_heights.values(), reverse=True)
        if len(claims) < self.trusted_claims:
            return 0
        return claims[self.trusted_claims - 1]

    def is_behind(self, height: int) -> bool:
        """True when the sync target is at least :data:`SYNC_LAG_HEIGHTS` ahead of ``height``."""
        return self.target_height() >= height + SYNC_LAG_HEIGHTS

    def awaiting(self, peer: PeerId) -> bool:
        """True when a request to ``peer`` is in flight and its response not yet taken."""
        flight = self._in_flight
        return flight is not None and flight.peer == peer and not flight.received

    def busy(self) -> bool:
        """True while a request is in flight or its response is being applied."""
        return self._in_flight is not None

    def expire(self, now_ms: int) -> PeerId | None:
        """Give up a request unanswered past its deadline: its peer fails (returned, for
        the driver to score); None when nothing expired."""
        flight = self._in_flight
        if flight is None or flight.received or now_ms < flight.deadline_ms:
            return None
        self._in_flight = None
        self.failed(flight.peer, now_ms)
        return flight.peer

    def next_request(self, height: int, now_ms: int) -> tuple[PeerId, BlockRequest] | None:
        """The request to send now, if any (and mark it in flight): for the blocks after
        ``height`` up to the sync target, to the peer with the fewest failures, claims at
        or below the target first."""
        if self._in_flight is not None or not self.is_behind(height):
            return None
        target = self.target_height()
        candidates = [p for p, claim in self.peer_heights.items() if claim > height]
        peer = min(
            candidates,
            key=lambda p: (
                self._failures.get(p, 0),
                self.peer_heights[p] > target,  # a claim nobody else backs comes last
                -self.peer_heights[p],
                p,
            ),
        )
        count = min(target, self.peer_heights[peer]) - height
        request = BlockRequest(height + 1, min(count, MAX_BLOCKS_PER_RESPONSE))
        self._in_flight = _InFlight(peer, request, now_ms + REQUEST_TIMEOUT_MS)
        return peer, request

    def take_response(self, peer: PeerId) -> BlockRequest | None:
        """A BLOCK_RESPONSE from ``peer`` arrived: the request it answers, or None when
        nothing was asked of ``peer`` (or its answer was already taken)."""
        if not self.awaiting(peer) or self._in_flight is None:
            return None
        self._in_flight.received = True
        return self._in_flight.request

    def failed(self, peer: PeerId, now_ms: int) -> None:
        """``peer`` did not deliver what it claimed: it loses its claim for the cool-off."""
        self._failures[peer] = self._failures.get(peer, 0) + 1
        self.peer_heights.pop(peer, None)
        self._ignore_until_ms[peer] = now_ms + CLAIM_COOLDOWN_MS

    def delivered(self, peer: PeerId) -> None:
        """``peer``'s response advanced this node: its failures are forgiven."""
        self._failures.pop(peer, None)

    def failures(self, peer: PeerId) -> int:
        """How many times ``peer`` failed since it last delivered."""
        return self._failures.get(peer, 0)

    def answered(self, peer: PeerId) -> None:
        """The response of ``peer`` was applied (or refused): the next request may go."""
        if self._in_flight is not None and self._in_flight.peer == peer:
            self._in_flight = None

"""Transaction gossip: spread signed transactions to every node's pool.

A ``TRANSACTIONS`` message carries a batch of raw signed transactions (their
canonical encodings, exactly what ``eth_sendRawTransaction`` takes) and the peer ids
of the nodes that have the batch or are being sent it already (its *coverage*)::

    payload = rlp([[peer_id_1, ...], [raw_tx_1, raw_tx_2, ...]])
              0 to MAX_COVERED ids (UTF-8), 1 to MAX_GOSSIP_BATCH transactions

Rules (flooding with duplicate suppression):

- a node relays a transaction only after its own pool accepted it, and only to
  connected peers other than the one it came from and those in the coverage of the
  message that brought it; what it sends is covered by the sender, every peer it is
  connected to and the coverage it received. In a full mesh the publisher's message
  covers every node, so nothing is relayed; on a partial mesh a transaction still
  reaches every node connected to the publisher by some path. Coverage is a claim of
  the sender: a node that lies in it (or a send dropped on a full queue) can keep a
  transaction from some pools, which delays it (any pool that has it proposes it) but
  never changes what is committed;
- each node remembers the hashes it has seen (bounded, oldest forgotten first), so
  a transaction crosses each link at most about once; one its pool refused only for
  want of room (:class:`~baychain.errors.PoolFull`) is forgotten again, so the same
  transaction from another peer, once there is room, is taken;
- a transaction the pool rejects as *invalid* (bad signature, wrong chain, ...) was
  relayed by a peer that should have checked it, so the peer is scored; one that is
  merely *not admitted now* (nonce already used, pool full) is not.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Collection, Sequence
from typing import NamedTuple

from baychain.codec import rlp
from baychain.crypto.suite import CryptoSuite
from baychain.errors import (
    DecodingError,
    InvalidPeerMessage,
    InvalidTransaction,
    PoolFull,
    TransactionRejected,
)
from baychain.network.frames import MessageKind
from baychain.network.transport import PeerManager
from baychain.primitives import Hash32, PeerId

__all__ = [
    "MAX_COVERED",
    "MAX_GOSSIP_BATCH",
    "SEEN_CAPACITY",
    "GossipBatch",
    "SeenCache",
    "TransactionGossip",
    "decode_batch",
    "decode_transactions",
    "encode_transactions",
    "invalid_batch_reason",
    "split_batches",
]

MAX_GOSSIP_BATCH = 256
"""Most transactions in one gossip message."""

MAX_COVERED = 1024
"""Most peer ids in a gossip message's coverage."""

SEEN_CAPACITY = 65_536
"""Transaction hashes remembered for duplicate suppression."""


class GossipBatch(NamedTuple):
    """A decoded TRANSACTIONS message: its coverage and its raw transactions."""

    covered: frozenset[PeerId]
    raws: list[bytes]


def encode_transactions(
    raw_transactions: Sequence[bytes], covered: Collection[PeerId] = ()
) -> bytes:
    """The TRANSACTIONS payload for a batch of raw signed transactions that the nodes
    ``covered`` have or are being sent already."""
    if not 1 <= len(raw_transactions) <= MAX_GOSSIP_BATCH:
        raise ValueError(f"a gossip batch holds 1 to {MAX_GOSSIP_BATCH} transactions")
    if len(covered) > MAX_COVERED:
        raise ValueError(f"a gossip batch covers at most {MAX_COVERED} peers")
    ids = [peer.encode() for peer in sorted(covered)]
    return rlp.encode([ids, list(raw_transactions)])


def decode_batch(payload: bytes) -> GossipBatch:
    """Decode a TRANSACTIONS payload strictly; raise DecodingError otherwise."""
    # the batch, its two lists, the covered peer ids and the raw transactions
    max_items = 3 + MAX_COVERED + MAX_GOSSIP_BATCH
    fields = rlp.decode_list(rlp.decode(payload, max_items=max_items), name="transaction batch")
    if len(fields) != 2:
        raise DecodingError(f"a gossip batch has 2 fields, got {len(fields)}")
    ids = rlp.decode_list(fields[0], name="gossip coverage")
    if len(ids) > MAX_COVERED:
        raise DecodingError(f"a gossip batch covers at most {MAX_COVERED} peers, got {len(ids)}")
    covered: set[PeerId] = set()
    for item in ids:
        raw_id = rlp.decode_bytes(item, name="peer id")
        try:
            covered.add(PeerId(raw_id.decode()))
        except UnicodeDecodeError as exc:
            raise DecodingError("a covered peer id is not UTF-8") from exc
    items = rlp.decode_list(fields[1], name="transactions")
    if not 1 <= len(items) <= MAX_GOSSIP_BATCH:
        raise DecodingError(
            f"a gossip batch holds 1 to {MAX_GOSSIP_BATCH} transactions, got {len(items)}"
        )
    raws = [rlp.decode_bytes(item, name="transaction") for item in items]
    if not all(raws):
        raise DecodingError("a gossiped transaction is empty")
    return GossipBatch(frozenset(covered), raws)


def decode_transactions(payload: bytes) -> list[bytes]:
    """The raw transactions of a TRANSACTIONS payload (see :func:`decode_batch`)."""
    return decode_batch(payload).raws


class SeenCache:
    """A bounded set of hashes; the oldest are forgotten first."""

    def __init__(self, capacity: int = SEEN_CAPACITY) -> None:
        self.capacity = capacity
        self._hashes: OrderedDict[Hash32, None] = OrderedDict()

    def __contains__(self, tx_hash: object) -> bool:
        return tx_hash in self._hashes

    def __len__(self) -> int:
        return len(self._hashes)

    def add(self, tx_hash: Hash32) -> bool:
        """Remember ``tx_hash``; return False if it was already there."""
        if tx_hash in self._hashes:
            self._hashes.move_to_end(tx_hash)
            return False
        self._hashes[tx_hash] = None
        if len(self._hashes) > self.capacity:
            self._hashes.popitem(last=False)
        return True

    def discard(self, tx_hash: Hash32) -> None:
        """Forget ``tx_hash`` (if remembered), so that it counts as unseen again."""
        self._hashes.pop(tx_hash, None)


class TransactionGossip:
    """Relays transactions between the node's pool and its peers.

    ``admit`` is the node's pool intake (e.g. ``Node.submit_transaction``): it
    returns normally when the pool takes the transaction and raises
    :class:`~baychain.errors.InvalidTransaction` or
    :class:`~baychain.errors.TransactionRejected` when it does not.
    """

    def __init__(
        self,
        peers: PeerManager,
        suite: CryptoSuite,
        admit: Callable[[bytes], object],
        *,
        seen_capacity: int = SEEN_CAPACITY,
    ) -> None:
        self._peers = peers
        self._suite = suite
        self._admit = admit
        self.seen = SeenCache(seen_capacity)

    def publish(self, raw_transactions: Sequence[bytes], *, origin: PeerId | None = None) -> int:
        """Send transactions this node's pool accepted to every peer except ``origin``;
        those already seen are skipped. Return how many transactions were sent."""
        fresh = [raw for raw in raw_transactions if self.seen.add(self._suite.hash(raw))]
        self.relay(fresh, origin)
        return len(fresh)

    def handle(self, peer: PeerId, payload: bytes) -> None:
        """Process a TRANSACTIONS message from ``peer`` (call it from the node's handler).

        Unseen transactions go to the pool; those it accepts are relayed onwards; those it
        refuses as full are forgotten by the seen-cache (see the module docstring).
        Raise :class:`~baychain.errors.DecodingError` for a malformed payload and
        :class:`~baychain.errors.InvalidPeerMessage` when the batch held invalid
        transactions (after admitting the valid ones), so the transport scores ``peer``.
        """
        accepted: list[bytes] = []
        invalid: list[str] = []
        batch = self.take_fresh(payload)
        for raw in batch.raws:
            try:
                self._admit(raw)
            except InvalidTransaction as exc:
                invalid.append(str(exc))
            except PoolFull:
                self.seen.discard(self._suite.hash(raw))  # no room now: another copy may do
            except TransactionRejected:
                continue  # valid but not wanted now (known, nonce used, pool full)
            else:
                accepted.append(raw)
        self.relay(accepted, peer, batch.covered)
        if invalid:
            raise InvalidPeerMessage(invalid_batch_reason(invalid))

    def take_fresh(self, payload: bytes) -> GossipBatch:
        """The first half of :meth:`handle`: decode a TRANSACTIONS payload and return its
        coverage and the transactions not seen before, now marked seen. A driver that
        admits them itself (say, checking signatures off its event loop) then calls
        :meth:`relay` with those the pool accepted and the coverage, and ``seen.discard``
        with those it refused as full. Raise
        :class:`~baychain.errors.DecodingError` for a malformed payload."""
        batch = decode_batch(payload)
        hash_of = self._suite.hash
        return GossipBatch(
            batch.covered, [raw for raw in batch.raws if self.seen.add(hash_of(raw))]
        )

    def relay(
        self,
        raws: Sequence[bytes],
        origin: PeerId | None,
        covered: frozenset[PeerId] = frozenset(),
    ) -> None:
        """Send transactions the pool accepted to every connected peer except ``origin``
        and those ``covered``, in as few TRANSACTIONS messages as the batch and frame
        limits allow; nothing is sent when no peer is left."""
        exclude = covered if origin is None else covered | {origin}
        connected = {info.peer_id for info in self._peers.connected_peers()}
        if not raws or connected <= exclude:
            return
        coverage = exclude | connected | {self._peers.peer_id}
        if len(coverage) > MAX_COVERED:
            coverage = frozenset()  # too many to name: the receivers flood instead
        room = self._peers.config.max_frame_bytes - _BATCH_OVERHEAD_BYTES - _covered_bytes(coverage)
        for batch in split_batches(raws, room):
            self._peers.broadcast(
                MessageKind.TRANSACTIONS, encode_transactions(batch, coverage), exclude=exclude
            )


def _covered_bytes(covered: Collection[PeerId]) -> int:
    """An upper bound on the encoded size of a coverage list."""
    return _ITEM_OVERHEAD_BYTES + sum(len(peer.encode()) + _ITEM_OVERHEAD_BYTES for peer in covered)


def invalid_batch_reason(errors: Sequence[str]) -> str:
    """The offence text for a gossiped batch that held invalid transactions."""
    return f"{len(errors)} invalid gossiped transaction(s), first: {errors[0]}"


_BATCH_OVERHEAD_BYTES = 64
"""Room left in a frame for the frame header and the batch's RLP list prefix."""

_ITEM_OVERHEAD_BYTES = 9
"""Largest RLP string prefix."""


def split_batches(raws: Sequence[bytes], max_bytes: int) -> list[list[bytes]]:
    """Split ``raws`` into batches of at most MAX_GOSSIP_BATCH items and ``max_bytes``
    encoded bytes; a transaction too large for any frame is left out."""
    batches: list[list[bytes]] = []
    current: list[bytes] = []
    size = 0
    for raw in raws:
        cost = len(raw) + _ITEM_OVERHEAD_BYTES
        if cost > max_bytes:
            continue
        if current and (size + cost > max_bytes or len(current) == MAX_GOSSIP_BATCH):
            batches.append(current)
            current, size = [], 0
        current.append(raw)
        size += cost
    if current:
        batches.append(current)
    return batches

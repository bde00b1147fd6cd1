"""Transaction gossip: spread signed transactions to every node's pool.

A ``TRANSACTIONS`` message carries a batch of raw signed transactions (their
canonical encodings, exactly what ``eth_sendRawTransaction`` takes)::

    payload = rlp([raw_tx_1, raw_tx_2, ...])     1 to MAX_GOSSIP_BATCH items

Rules (flooding with duplicate suppression):

- a node relays a transaction only after its own pool accepted it, and only to
  peers other than the one it came from;
- each node remembers the hashes it has seen (bounded, oldest forgotten first), so
  a transaction crosses each link at most about once;
- a transaction the pool rejects as *invalid* (bad signature, wrong chain, ...) was
  relayed by a peer that should have checked it, so the peer is scored; one that is
  merely *not admitted now* (nonce already used, pool full) is not.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence

from baychain.codec import rlp
from baychain.consensus.events import PeerId
from baychain.crypto.suite import CryptoSuite
from baychain.errors import (
    DecodingError,
    InvalidPeerMessage,
    InvalidTransaction,
    TransactionRejected,
)
from baychain.network.frames import MessageKind
from baychain.network.transport import PeerManager
from baychain.primitives import Hash32

__all__ = [
    "MAX_GOSSIP_BATCH",
    "SEEN_CAPACITY",
    "SeenCache",
    "TransactionGossip",
    "decode_transactions",
    "encode_transactions",
    "invalid_batch_reason",
    "split_batches",
]

MAX_GOSSIP_BATCH = 256
"""Most transactions in one gossip message."""

SEEN_CAPACITY = 65_536
"""Transaction hashes remembered for duplicate suppression."""


def encode_transactions(raw_transactions: Sequence[bytes]) -> bytes:
    """The TRANSACTIONS payload for a batch of raw signed transactions."""
    if not 1 <= len(raw_transactions) <= MAX_GOSSIP_BATCH:
        raise ValueError(f"a gossip batch holds 1 to {MAX_GOSSIP_BATCH} transactions")
    return rlp.encode(list(raw_transactions))


def decode_transactions(payload: bytes) -> list[bytes]:
    """Decode a TRANSACTIONS payload strictly; raise DecodingError otherwise."""
    items = rlp.decode_list(rlp.decode(payload), name="transaction batch")
    if not 1 <= len(items) <= MAX_GOSSIP_BATCH:
        raise DecodingError(
            f"a gossip batch holds 1 to {MAX_GOSSIP_BATCH} transactions, got {len(items)}"
        )
    raws = [rlp.decode_bytes(item, name="transaction") for item in items]
    if not all(raws):
        raise DecodingError("a gossiped transaction is empty")
    return raws


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

        Unseen transactions go to the pool; those it accepts are relayed onwards.
        Raise :class:`~baychain.errors.DecodingError` for a malformed payload and
        :class:`~baychain.errors.InvalidPeerMessage` when the batch held invalid
        transactions (after admitting the valid ones), so the transport scores ``peer``.
        """
        accepted: list[bytes] = []
        invalid: list[str] = []
        for raw in self.take_fresh(payload):
            try:
                self._admit(raw)
            except InvalidTransaction as exc:
                invalid.append(str(exc))
            except TransactionRejected:
                continue  # valid but not wanted now (known, nonce used, pool full)
            else:
                accepted.append(raw)
        self.relay(accepted, peer)
        if invalid:
            raise InvalidPeerMessage(invalid_batch_reason(invalid))

    def take_fresh(self, payload: bytes) -> list[bytes]:
        """The first half of :meth:`handle`: decode a TRANSACTIONS payload and return the
        transactions not seen before, now marked seen. A driver that admits them itself
        (say, checking signatures off its event loop) then calls :meth:`relay` with those
        the pool accepted. Raise :class:`~baychain.errors.DecodingError` for a malformed
        payload."""
        hash_of = self._suite.hash
        return [raw for raw in decode_transactions(payload) if self.seen.add(hash_of(raw))]

    def relay(self, raws: Sequence[bytes], origin: PeerId | None) -> None:
        """Send transactions the pool accepted to every peer except ``origin``, in as few
        TRANSACTIONS messages as the batch and frame limits allow."""
        exclude = () if origin is None else (origin,)
        room = self._peers.config.max_frame_bytes - _BATCH_OVERHEAD_BYTES
        for batch in split_batches(raws, room):
            self._peers.broadcast(
                MessageKind.TRANSACTIONS, encode_transactions(batch), exclude=exclude
            )


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

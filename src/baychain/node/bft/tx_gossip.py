"""A validator's transaction traffic: gossip checked off the event loop, sent in batches.

:class:`GossipPipeline` sits between the peer transport, the pool and the BFT driver:

- **intake**: for a ``TRANSACTIONS`` frame, :class:`~baychain.network.TransactionGossip`
  drops what was seen before; the rest waits in a queue whose task checks signatures on
  the intake thread (the node's :class:`~baychain.node.pool.intake.ParallelIntake`),
  so the event loop stays free for consensus messages, then admits the transactions to
  the pool on the loop, in arrival order. What the pool accepts as pending is queued for
  relay; a peer that sent invalid ones is scored; one refused for a full pool is
  forgotten by the seen-cache, so another peer's copy is taken once there is room. A
  transaction a proposal already brought (see
  :class:`~baychain.node.pool.verified.VerifiedTransactions`) is not checked again, and what
  the intake checks is recorded there for the proposals to come;
- **backpressure**: over :data:`INTAKE_BACKLOG_TXS` transactions waiting, the frame
  handler returns an awaitable, so the transport reads no more from that peer until the
  backlog is below the bound again;
- **publication**: transactions the pool accepts (a ``Node.pending_listeners`` hook, from
  JSON-RPC or gossip), those to relay and those the pool promoted from queued to pending
  (its ``promotion_listeners``) are collected for :data:`GOSSIP_FLUSH_MS`, then sent in as
  few frames as the limits allow: this node's own to every peer, relayed ones to every
  peer but their sender and those the frame that brought them covered (see
  :mod:`baychain.network.gossip`), promoted ones to every peer. ``on_available`` is then
  called once.
- **only executable work travels**: a transaction behind a nonce gap (queued) is never
  sent, whether this node's own or a peer's: no block can use it yet, so spreading it
  would only spend every pool's room. It goes out when it becomes pending. (A peer's
  copy may still be queued at a receiver that lacks its predecessor.)

All methods but :meth:`GossipPipeline.on_pending` run on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor

from baychain.errors import InvalidTransaction, PoolFull, TransactionRejected
from baychain.ledger.transactions import Transaction
from baychain.network.gossip import TransactionGossip, invalid_batch_reason
from baychain.network.transport import PeerManager
from baychain.node.node import Node
from baychain.node.pool.verified import VerifiedTransactions
from baychain.primitives import PeerId

__all__ = ["GOSSIP_FLUSH_MS", "INTAKE_BACKLOG_TXS", "GossipPipeline"]

log = logging.getLogger("baychain.node")

GOSSIP_FLUSH_MS = 20
"""How long transactions to publish or relay are collected before they go out: a few ms
of latency buys fewer, fuller TRANSACTIONS frames (fewer TLS records, socket writes and
reads, and larger signature-check batches at the receivers)."""

INTAKE_BACKLOG_TXS = 20_000
"""Gossiped transactions waiting for their signature check beyond which a peer that
sends more is not read until the backlog is below it again (its frames then wait in
its connection instead of in this node's memory)."""

Checked = Transaction | InvalidTransaction

_Source = tuple[PeerId, frozenset[PeerId]]
"""Where gossiped transactions came from: the sending peer and the frame's coverage."""


class GossipPipeline:
    """Gossip intake and batched publication for one node (see the module docstring)."""

    def __init__(
        self,
        node: Node,
        peers: PeerManager,
        verified: VerifiedTransactions,
        on_available: Callable[[], None],
    ) -> None:
        self.node = node
        self.peers = peers
        self.verified = verified
        self.gossip = TransactionGossip(peers, node.suite, node.submit_transaction)
        self._on_available = on_available
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[tuple[_Source, list[bytes]]] | None = None
        self._backlog = 0
        self._room = asyncio.Event()
        self._outbox: list[Transaction] = []
        self._promoted: list[Transaction] = []
        self._relays: dict[_Source, list[bytes]] = {}
        self._flush_due = False
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bft-intake")

    @property
    def backlog(self) -> int:
        """Gossiped transactions waiting for their signature check."""
        return self._backlog

    def close(self) -> None:
        """Stop the intake thread (after :meth:`run` was cancelled)."""
        self._thread.shutdown(wait=True)

    # -- intake -----------------------------------------------------------------------

    def on_frame(self, peer: PeerId, payload: bytes) -> Awaitable[None] | None:
        """Take a TRANSACTIONS payload from ``peer``; an awaitable means "read no more from
        ``peer`` until it is done". Raise :class:`~baychain.errors.DecodingError` for a
        malformed payload."""
        covered, fresh = self.gossip.take_fresh(payload)
        if not fresh or self._queue is None:
            return None
        self._queue.put_nowait(((peer, covered), fresh))
        self._backlog += len(fresh)
        if self._backlog <= INTAKE_BACKLOG_TXS:
            return None
        self._room.clear()
        return self._wait_for_room()

    async def _wait_for_room(self) -> None:
        await self._room.wait()

    async def run(self) -> None:
        """The intake task: check and admit queued transactions, every batch waiting at
        once, in arrival order, until cancelled."""
        self._loop = asyncio.get_running_loop()
        queue = self._queue = asyncio.Queue()
        promotions = self.node.mempool.promotion_listeners
        promotions.append(self._on_promoted)
        try:
            await self._intake(self._loop, queue)
        finally:
            promotions.remove(self._on_promoted)

    async def _intake(
        self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[tuple[_Source, list[bytes]]]
    ) -> None:
        """The loop of :meth:`run`."""
        while True:
            batches = [await queue.get()]
            while not queue.empty():
                batches.append(queue.get_nowait())
            raws = [raw for _, batch in batches for raw in batch]
            try:
                checked = await loop.run_in_executor(self._thread, self._check, raws)
                outcomes = iter(checked)
                for source, batch in batches:
                    self._admit(source, batch, [next(outcomes) for _ in batch])
            except Exception:
                log.exception("admitting gossiped transactions failed")
            finally:
                self._backlog -= len(raws)
                if self._backlog <= INTAKE_BACKLOG_TXS:
                    self._room.set()

    def _check(self, raws: list[bytes]) -> list[Checked]:
        """Decode ``raws`` (intake thread), reusing those already verified."""
        hash_of, known = self.node.suite.hash, self.verified.get
        found = [known(hash_of(raw)) for raw in raws]
        unknown = [raw for raw, tx in zip(raws, found, strict=True) if tx is None or tx.raw != raw]
        fresh = iter(self.node.intake.check_all(unknown))
        checked = [
            tx if tx is not None and tx.raw == raw else next(fresh)
            for raw, tx in zip(raws, found, strict=True)
        ]
        self.verified.add_all(tx for tx in checked if isinstance(tx, Transaction))
        return checked

    def _admit(self, source: _Source, raws: list[bytes], checked: list[Checked]) -> None:
        accepted: list[bytes] = []
        invalid: list[str] = []
        pool = self.node.mempool
        for raw, outcome in zip(raws, checked, strict=True):
            if isinstance(outcome, InvalidTransaction):
                invalid.append(str(outcome))
                continue
            try:
                self.node.submit_decoded(outcome)
            except InvalidTransaction as exc:
                invalid.append(str(exc))
            except PoolFull:
                self.gossip.seen.discard(outcome.hash)  # no room now: another copy may do
            except TransactionRejected:
                continue  # valid but not wanted now (known, nonce used)
            else:
                if pool.is_pending(outcome.hash):  # a queued one waits for its promotion
                    accepted.append(raw)
        if accepted:
            self._relays.setdefault(source, []).extend(accepted)
            self._schedule_flush()
        if invalid:
            self.peers.report_invalid(source[0], f"TRANSACTIONS: {invalid_batch_reason(invalid)}")

    # -- publication ------------------------------------------------------------------

    def on_pending(self, tx: Transaction) -> None:
        """A pool listener (any thread): queue ``tx`` for the next publication (which
        sends it only if it is pending by then)."""
        self._outbox.append(tx)
        if not self._flush_due and self._loop is not None:
            self._loop.call_soon_threadsafe(self._schedule_flush)

    def _on_promoted(self, tx: Transaction) -> None:
        """A pool promotion listener (the pool's thread): ``tx`` was queued and is pending
        now, so it goes to every peer with the next publication."""
        self._promoted.append(tx)
        if not self._flush_due and self._loop is not None:
            self._loop.call_soon_threadsafe(self._schedule_flush)

    def _schedule_flush(self) -> None:
        if not self._flush_due and self._loop is not None:
            self._flush_due = True
            self._loop.call_later(GOSSIP_FLUSH_MS / 1000, self.flush)

    def flush(self) -> None:
        """Send what was collected since the last flush (see the module docstring)."""
        self._flush_due = False
        own, self._outbox = self._outbox, []
        promoted, self._promoted = self._promoted, []
        relays, self._relays = self._relays, {}
        is_pending = self.node.mempool.is_pending
        for (origin, covered), relayed in relays.items():
            self.gossip.relay(relayed, origin, covered)
        # promoted ones were marked seen when they arrived, queued: they go past the cache
        woken = {tx.hash: tx.raw for tx in promoted if is_pending(tx.hash)}
        raws = [tx.raw for tx in own if is_pending(tx.hash) and tx.hash not in woken]
        if raws:
            self.gossip.publish(raws)
        for tx_hash in woken:
            self.gossip.seen.add(tx_hash)
        if woken:
            self.gossip.relay(list(woken.values()), None)
        if raws or relays or woken:
            self._on_available()

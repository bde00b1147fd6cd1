"""The asyncio driver of a BFT validator: engine, timers, worker thread, peers, block sync.

Everything the sans-I/O :class:`~baychain.consensus.Engine` leaves to its driver
happens here, on one event loop:

- actions are performed in order (docs/consensus.md, "Driving the engine"):
  ``Broadcast``/``Send`` go to the :class:`~baychain.network.PeerManager` as
  ``CONSENSUS`` frames; ``ScheduleTimeout`` is a ``loop.call_later``;
  ``PersistSignerState`` is written by :class:`FileSignerStore` on its own thread and
  only then reported as ``Persisted``; ``ServeDecision`` reads the store;
- ``BuildProposal``, ``ValidateBlock``, ``Commit`` and block-sync commits run as jobs
  on ONE worker thread, in the order they were asked for, so ``Commit(h)`` is applied
  before anything of ``h + 1`` is built or validated; answers come back as events;
- inbound ``CONSENSUS`` frames are decoded (a ``DecodingError`` scores the peer) and
  fed as ``MessageReceived``;
- ``TRANSACTIONS`` go to the :class:`~baychain.node.bft.tx_gossip.GossipPipeline`, which
  checks them off the event loop, admits them to the pool, and publishes or relays
  what the pool accepts in batches; after each batch ``TransactionsAvailable`` tells
  the engine;
- block sync (:mod:`.block_sync`): when a peer is two or more heights ahead, blocks
  are fetched in batches, their certificates verified and re-executed, and the engine
  is restarted at the new ``head + 1``.

Every engine incarnation has a generation number; timers and answers of an older one
are dropped (its commits are not: a decided block is final whoever decided it).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from baychain.consensus.actions import (
    Action,
    Broadcast,
    BuildProposal,
    Commit,
    PersistSignerState,
    ReportEquivocation,
    ScheduleTimeout,
    Send,
    ServeDecision,
    ValidateBlock,
)
from baychain.consensus.config import EngineConfig, TimeoutConfig
from baychain.consensus.engine import Engine
from baychain.consensus.events import (
    BlockValidated,
    Event,
    MessageReceived,
    Persisted,
    ProposalBuilt,
    TimeoutFired,
    TransactionsAvailable,
)
from baychain.consensus.messages import Decision, decode_message, encode_message
from baychain.consensus.safety import PrivValidator, SignerState, SignerStore
from baychain.consensus.validators import ValidatorSchedule
from baychain.errors import BayChainError, InvalidBlock
from baychain.ledger.block import decode_block, encode_block
from baychain.network.config import TransportConfig
from baychain.network.connection import PeerInfo
from baychain.network.frames import MessageKind
from baychain.network.handshake import NodeIdentity
from baychain.network.pki import TlsCredentials
from baychain.network.transport import PeerManager
from baychain.node.bft.application import BftApplication, schedule_from_genesis
from baychain.node.bft.sync import (
    MAX_RESPONSE_BYTES,
    STATUS_INTERVAL_MS,
    BlockRequest,
    ChainStatus,
    SyncState,
    decode_block_request,
    decode_block_response,
    decode_status,
    encode_block_request,
    encode_block_response,
    encode_status,
)
from baychain.node.bft.tx_gossip import GossipPipeline
from baychain.node.chain import ProposedBlock
from baychain.node.node import Node
from baychain.node.solo.driver import wall_clock_ms
from baychain.primitives import Height, PeerId

__all__ = ["BftDriver"]

log = logging.getLogger("baychain.node")

_T = TypeVar("_T")

Job = Callable[[], Awaitable[None]]

SHUTDOWN_WAIT_SECONDS = 5.0
"""How long stop() waits for the driver's own tasks before closing the peers anyway."""


class BftDriver:
    """Runs one validator of a multi-validator chain until :meth:`stop` is called."""

    def __init__(
        self,
        node: Node,
        validator_key: bytes,
        tls: TlsCredentials,
        transport: TransportConfig,
        signer_store: SignerStore,
        *,
        timeouts: TimeoutConfig | None = None,
        empty_blocks: bool = True,
        schedule: ValidatorSchedule | None = None,
        clock_ms: Callable[[], int] = wall_clock_ms,
    ) -> None:
        self.node = node
        self.chain = node.chain
        self.suite = node.suite
        self.chain_id = node.genesis.chain_id
        self.app = BftApplication(node, schedule or schedule_from_genesis(node.genesis))
        self.timeouts = timeouts or TimeoutConfig()
        self.empty_blocks = empty_blocks
        self.clock_ms = clock_ms
        self._key = validator_key
        self._store = signer_store
        identity = NodeIdentity.from_private_key(
            self.suite, validator_key, self.chain_id, self.chain.block_hash_at(0)
        )
        self.peers = PeerManager(
            identity,
            tls,
            transport,
            allowed={v.public_key for v in node.genesis.validators},
            handler=self._on_frame,
            on_connect=self._on_connect,
            on_disconnect=self._on_disconnect,
        )
        """The peer transport (tests read ``peers.listen_port``)."""
        self.txs = GossipPipeline(node, self.peers, self.app.verified, self._transactions_available)
        """Transaction gossip: intake, relay and publication."""
        self.sync = SyncState()
        self.synced_blocks = 0
        """Blocks committed through block sync (rather than this node's consensus)."""
        self.engine: Engine | None = None
        self._signer_state: SignerState | None = None
        self._signer: PrivValidator | None = None
        self._generation = 0
        self._timers: set[asyncio.TimerHandle] = set()
        self._jobs: asyncio.Queue[Job] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = asyncio.Event()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bft-block")
        self._persister = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bft-signer")

    # -- lifecycle --------------------------------------------------------------------

    def stop(self) -> None:
        """Ask :meth:`run` to finish (after the job in progress)."""
        self._stopping.set()

    async def run(self) -> None:
        """Connect to peers, sync, take part in consensus; return after :meth:`stop`."""
        self._loop = asyncio.get_running_loop()
        self._jobs = asyncio.Queue()
        self._signer_state = self._store.load()
        self.node.pending_listeners.append(self.txs.on_pending)
        await self.peers.start()
        tasks = [
            asyncio.create_task(self._work(), name="bft-jobs"),
            asyncio.create_task(self._status_loop(), name="bft-status"),
            asyncio.create_task(self.txs.run(), name="bft-intake"),
        ]
        try:
            self._start_engine()
            await self._stopping.wait()
        finally:
            self.engine = None
            self._generation += 1
            for timer in self._timers:
                timer.cancel()
            self._timers.clear()
            for task in tasks:
                task.cancel()
            _, stuck = await asyncio.wait(tasks, timeout=SHUTDOWN_WAIT_SECONDS)
            for task in stuck:
                log.warning("task %s did not stop: %s", task.get_name(), task.get_stack())
            with contextlib.suppress(ValueError):
                self.node.pending_listeners.remove(self.txs.on_pending)
            try:
                await asyncio.wait_for(self.peers.close(), SHUTDOWN_WAIT_SECONDS)
            except TimeoutError:
                log.warning("the peer transport did not close within %.0f s", SHUTDOWN_WAIT_SECONDS)
            self._worker.shutdown(wait=True)
            self._persister.shutdown(wait=True)
            self.txs.close()

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise RuntimeError("BftDriver.run() has not started")
        return self._loop

    # -- the engine -------------------------------------------------------------------

    def _start_engine(self) -> None:
        """(Re)build the engine at ``head + 1`` from the latest signer state."""
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        self._generation += 1
        if self._signer is not None:
            self._signer_state = self._signer.state  # newest, even if not yet on disk
        self._signer = PrivValidator(self.suite, self._key, self.chain_id, self._signer_state)
        config = EngineConfig(self.chain_id, self.suite, self.timeouts, self.empty_blocks)
        self.engine = Engine(config, self.app, Height(self.chain.height + 1), signer=self._signer)
        log.info("consensus engine starting at height %d", self.chain.height + 1)
        self._perform(self.engine.start())

    def _handle(self, generation: int, event: Event) -> None:
        if generation != self._generation or self.engine is None:
            return
        self._perform(self.engine.handle(event))

    def _perform(self, actions: list[Action]) -> None:
        generation = self._generation
        for action in actions:
            if isinstance(action, Broadcast):
                self.peers.broadcast(MessageKind.CONSENSUS, encode_message(action.message))
            elif isinstance(action, Send):
                self.peers.send(action.peer, MessageKind.CONSENSUS, encode_message(action.message))
            elif isinstance(action, ScheduleTimeout):
                self._schedule(generation, action)
            elif isinstance(action, PersistSignerState):
                self._persist(generation, action)
            elif isinstance(action, BuildProposal):
                self._enqueue(functools.partial(self._build, generation, action))
            elif isinstance(action, ValidateBlock):
                self._enqueue(functools.partial(self._validate, generation, action))
            elif isinstance(action, Commit):
                self._enqueue(functools.partial(self._commit, action))
            elif isinstance(action, ServeDecision):
                decision = self.app.decision_at(action.height)
                if decision is not None:
                    message = Decision(action.height, *decision)
                    self.peers.send(action.peer, MessageKind.CONSENSUS, encode_message(message))
            elif isinstance(action, ReportEquivocation):
                log.warning("equivocation: %r and %r", action.first, action.second)

    def _schedule(self, generation: int, action: ScheduleTimeout) -> None:
        event = TimeoutFired(action.kind, action.height, action.round)
        handle: asyncio.TimerHandle | None = None

        def fire() -> None:
            if handle is not None:
                self._timers.discard(handle)
            self._handle(generation, event)

        handle = self._running_loop().call_later(action.delay_ms / 1000, fire)
        self._timers.add(handle)

    def _persist(self, generation: int, action: PersistSignerState) -> None:
        future = self._running_loop().run_in_executor(
            self._persister, self._store.save, action.state
        )

        def done(result: asyncio.Future[None]) -> None:
            if result.cancelled():
                return
            error = result.exception()
            if error is not None:
                # A validator that cannot record what it signed must not sign more.
                log.critical("cannot write the signer state: %s; stopping", error)
                self.stop()
                return
            self._handle(generation, Persisted(action.seq))

        future.add_done_callback(done)

    # -- jobs on the worker thread -------------------------------------------------------

    def _enqueue(self, job: Job) -> None:
        if self._jobs is not None:
            self._jobs.put_nowait(job)

    async def _work(self) -> None:
        jobs = self._jobs
        if jobs is None:
            raise RuntimeError("the job queue exists only while run() runs")
        while not self._stopping.is_set():
            job = await jobs.get()
            try:
                await job()
            except Exception:
                log.exception("a consensus job failed")

    async def _on_worker(self, function: Callable[[], _T]) -> _T:
        return await self._running_loop().run_in_executor(self._worker, function)

    async def _build(self, generation: int, action: BuildProposal) -> None:
        if generation != self._generation or action.height != self.chain.height + 1:
            return
        interval = self.node.genesis.block_interval_ms
        due = self.chain.head.timestamp_ms + interval
        wait_ms = min(due - self.clock_ms(), self.timeouts.propose(action.round) // 2)
        if wait_ms > 0:
            # a plain sleep: wait_for on the stop event can swallow the task's cancellation
            await asyncio.sleep(wait_ms / 1000)
        if generation != self._generation or self._stopping.is_set():
            return
        candidates = self.node.select_candidates()
        now = self.clock_ms()
        try:
            block_hash, block = await self._on_worker(
                lambda: self.app.build_proposal(action.height, action.round, candidates, now)
            )
        except InvalidBlock:
            return  # stale: the head moved
        self._handle(generation, ProposalBuilt(action.height, action.round, block_hash, block))

    async def _validate(self, generation: int, action: ValidateBlock) -> None:
        if generation != self._generation:
            return
        block_hash, valid = await self._on_worker(
            lambda: self.app.validate_block(action.height, action.block)
        )
        self._handle(generation, BlockValidated(action.request_id, block_hash, valid))

    async def _commit(self, action: Commit) -> None:
        certificate = action.certificate.encode()
        proposed = await self._on_worker(
            lambda: self.app.commit(action.height, action.block_hash, action.block, certificate)
        )
        if proposed is not None:
            self._report(proposed)

    async def _apply_synced(self, peer: PeerId, payload: bytes) -> None:
        committed: list[ProposedBlock] = []
        error: str | None = None

        def apply() -> None:
            nonlocal error
            try:
                for raw in decode_block_response(payload):
                    block = decode_block(raw, self.suite, self.chain_id)
                    proposed = self.app.commit_synced(block)
                    if proposed is not None:
                        committed.append(proposed)
            except BayChainError as exc:
                error = str(exc)

        await self._on_worker(apply)
        for proposed in committed:
            self._report(proposed)
        if error is not None:
            self.peers.report_invalid(peer, f"BLOCK_RESPONSE: {error}")
        self.sync.answered(peer)
        self.synced_blocks += len(committed)
        if committed:
            log.info("synced to height %d from %s", self.chain.height, peer)
        if self.engine is not None and self.chain.height >= self.engine.height:
            self._start_engine()
        self._request_blocks()

    def _report(self, proposed: ProposedBlock) -> None:
        self.node.after_commit(proposed)
        if self.node.mempool.pending_count:
            self._handle(self._generation, TransactionsAvailable())

    # -- the network ---------------------------------------------------------------------

    def _on_frame(self, peer: PeerId, kind: MessageKind, payload: bytes) -> Awaitable[None] | None:
        """The transport's handler; DecodingError / InvalidPeerMessage score ``peer``.

        Returns an awaitable (the transport then waits before reading ``peer`` again)
        only while the transaction intake is over its backlog bound.
        """
        if kind is MessageKind.CONSENSUS:
            message = decode_message(payload)
            self._handle(self._generation, MessageReceived(peer, message))
        elif kind is MessageKind.TRANSACTIONS:
            return self.txs.on_frame(peer, payload)
        elif kind is MessageKind.STATUS:
            self.sync.note_status(peer, decode_status(payload))
            self._request_blocks()
        elif kind is MessageKind.BLOCK_REQUEST:
            self._serve_blocks(peer, decode_block_request(payload))
        elif kind is MessageKind.BLOCK_RESPONSE and self.sync.awaiting(peer):
            # (a late or unsolicited response is ignored)
            self._enqueue(functools.partial(self._apply_synced, peer, payload))
        return None

    def _status(self) -> bytes:
        return encode_status(ChainStatus(self.chain.height, self.chain.head_hash))

    def _on_connect(self, info: PeerInfo) -> None:
        self.peers.send(info.peer_id, MessageKind.STATUS, self._status())

    def _on_disconnect(self, info: PeerInfo) -> None:
        self.sync.forget(info.peer_id)

    async def _status_loop(self) -> None:
        while True:
            await asyncio.sleep(STATUS_INTERVAL_MS / 1000)
            self.peers.broadcast(MessageKind.STATUS, self._status())
            self._request_blocks()

    def _request_blocks(self) -> None:
        now_ms = int(self._running_loop().time() * 1000)
        request = self.sync.next_request(self.chain.height, now_ms)
        if request is not None:
            peer, wanted = request
            log.info(
                "behind peer %s: asking for blocks %d..%d",
                peer,
                wanted.start,
                wanted.start + wanted.count - 1,
            )
            self.peers.send(peer, MessageKind.BLOCK_REQUEST, encode_block_request(wanted))

    def _serve_blocks(self, peer: PeerId, request: BlockRequest) -> None:
        blocks: list[bytes] = []
        size = 0
        last = min(self.chain.height, request.start + request.count - 1)
        for height in range(request.start, last + 1):
            encoded = encode_block(self.chain.block_at(height))
            if blocks and size + len(encoded) > MAX_RESPONSE_BYTES:
                break
            blocks.append(encoded)
            size += len(encoded)
        self.peers.send(peer, MessageKind.BLOCK_RESPONSE, encode_block_response(blocks))

    def _transactions_available(self) -> None:
        self._handle(self._generation, TransactionsAvailable())

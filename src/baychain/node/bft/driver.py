"""The asyncio driver of a BFT validator: engine, timers, worker thread, peers, block sync.

Everything the sans-I/O :class:`~baychain.consensus.Engine` leaves to its driver
happens here, on one event loop:

- actions are performed in order (docs/consensus.md, "Driving the engine"):
  ``Broadcast``/``Send`` go to the :class:`~baychain.network.PeerManager` as
  ``CONSENSUS`` frames; ``ScheduleTimeout`` is a ``loop.call_later``;
  ``PersistSignerState`` is written by :class:`FileSignerStore` on its own thread and
  only then reported as ``Persisted``; ``ServeDecision`` is served like a block request
  (below);
- ``BuildProposal``, ``ValidateBlock`` and ``Commit`` run as jobs on ONE worker thread,
  in the order they were asked for, so ``Commit(h)`` is applied before anything of
  ``h + 1`` is built or validated; answers come back as events. A job that raises
  anything but a cancellation (a Rust panic is a ``BaseException``) is logged and
  dropped; the worker goes on;
- inbound ``CONSENSUS`` frames are decoded (a ``DecodingError`` scores the peer) and
  fed as ``MessageReceived``;
- ``TRANSACTIONS`` go to the :class:`~baychain.node.bft.tx_gossip.GossipPipeline`, which
  checks them off the event loop, admits them to the pool, and publishes or relays
  what the pool accepts in batches; after each batch ``TransactionsAvailable`` tells
  the engine;
- block sync (:mod:`.sync`): when the sync target is two or more heights ahead, blocks
  are fetched in batches, their certificates verified and re-executed, and the engine
  is restarted at the new ``head + 1``. Responses wait in their own queue of
  :data:`~.sync.MAX_QUEUED_SYNC_RESPONSES` and are applied by their own task, one block
  per worker-thread call, so consensus jobs run between synced blocks; a response not
  asked for, or one that does not advance the node, costs its sender points;
- serving blocks (``BLOCK_REQUEST``, ``ServeDecision``): the stored bytes are read on a
  separate serving thread, never decoded or verified again, within a per-peer
  :class:`~.sync.ServeBudget` (beyond it, requests are dropped and the peer scored).

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
    ReportPeer,
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
from baychain.errors import BayChainError, InvalidBlock, NotFound
from baychain.network.config import TransportConfig
from baychain.network.connection import PeerInfo
from baychain.network.frames import MessageKind
from baychain.network.handshake import NodeIdentity
from baychain.network.pki import TlsCredentials
from baychain.network.transport import PeerManager
from baychain.node.bft.application import BftApplication, schedule_from_genesis
from baychain.node.bft.sync import (
    FAILED_RESPONSE_POINTS,
    MAX_QUEUED_SYNC_RESPONSES,
    MAX_RESPONSE_BYTES,
    SERVE_OVER_BUDGET_POINTS,
    STATUS_INTERVAL_MS,
    UNANSWERED_REQUEST_POINTS,
    UNSOLICITED_RESPONSE_POINTS,
    BlockRequest,
    ChainStatus,
    ServeBudget,
    ServeVerdict,
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


async def _survive(job: Awaitable[None], what: str) -> None:
    """Await ``job``; log its failure instead of raising, BaseExceptions included.

    A Rust panic in the extension surfaces as ``pyo3_runtime.PanicException``, a
    BaseException: were it to escape, the worker task would end and the validator would
    never commit again. A cancellation, Ctrl-C or exit still propagates.
    """
    try:
        await job
    except (asyncio.CancelledError, KeyboardInterrupt, SystemExit):
        raise
    except Exception:
        log.exception("%s failed", what)
    except BaseException:
        log.critical("%s died of a BaseException (a panic in the extension?)", what, exc_info=True)


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
        faulty = (len(node.genesis.validators) - 1) // 3
        self.sync = SyncState(trusted_claims=faulty + 1)
        """Block sync bookkeeping: a height becomes a target when ``f + 1`` peers claim it."""
        self.serving = ServeBudget()
        """What this node serves to whom (block requests and decisions)."""
        self.synced_blocks = 0
        """Blocks committed through block sync (rather than this node's consensus)."""
        self.engine: Engine | None = None
        self._signer_state: SignerState | None = None
        self._signer: PrivValidator | None = None
        self._generation = 0
        self._timers: set[asyncio.TimerHandle] = set()
        self._jobs: asyncio.Queue[Job] | None = None
        self._sync_jobs: asyncio.Queue[tuple[PeerId, BlockRequest, bytes]] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = asyncio.Event()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bft-block")
        self._persister = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bft-signer")
        self._server = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bft-serve")

    # -- lifecycle --------------------------------------------------------------------

    def stop(self) -> None:
        """Ask :meth:`run` to finish (after the job in progress)."""
        self._stopping.set()

    async def run(self) -> None:
        """Connect to peers, sync, take part in consensus; return after :meth:`stop`."""
        self._loop = asyncio.get_running_loop()
        self._jobs = asyncio.Queue()
        self._sync_jobs = asyncio.Queue(MAX_QUEUED_SYNC_RESPONSES)
        self._signer_state = self._store.load()
        self.node.pending_listeners.append(self.txs.on_pending)
        await self.peers.start()
        tasks = [
            asyncio.create_task(self._work(), name="bft-jobs"),
            asyncio.create_task(self._sync_work(), name="bft-sync"),
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
            self._server.shutdown(wait=True, cancel_futures=True)
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
        genesis = self.chain.block_hash_at(0)
        self._signer = PrivValidator(
            self.suite, self._key, self.chain_id, genesis, self._signer_state
        )
        config = EngineConfig(self.chain_id, genesis, self.suite, self.timeouts, self.empty_blocks)
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
                self._serve_decision(action.peer, action.height)
            elif isinstance(action, ReportEquivocation):
                log.warning("equivocation: %r and %r", action.first, action.second)
            elif isinstance(action, ReportPeer):
                self.peers.report_invalid(action.peer, f"CONSENSUS: {action.reason}")

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
            await _survive(job(), "a consensus job")

    async def _sync_work(self) -> None:
        """Apply block-sync responses, one at a time, apart from the consensus jobs."""
        responses = self._sync_jobs
        if responses is None:
            raise RuntimeError("the sync queue exists only while run() runs")
        while not self._stopping.is_set():
            peer, request, payload = await responses.get()
            try:
                await _survive(self._apply_synced(peer, request, payload), "a block-sync job")
            finally:
                self.sync.answered(peer)
            self._after_sync()

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

    async def _apply_synced(self, peer: PeerId, request: BlockRequest, payload: bytes) -> None:
        """Commit the blocks of ``payload`` (the answer to ``request``), certificate first,
        one worker-thread call per block; score ``peer`` when it does not advance us."""
        committed = 0
        try:
            blocks = await self._on_worker(lambda: decode_block_response(payload))
            if not blocks:
                raise InvalidBlock(f"no blocks from {request.start} though the peer claims them")
            if len(blocks) > request.count:
                raise InvalidBlock(f"{len(blocks)} blocks, {request.count} asked for")
            for offset, raw in enumerate(blocks):
                expected = Height(request.start + offset)
                proposed = await self._on_worker(
                    functools.partial(self.app.commit_synced, raw, expected)
                )
                if proposed is not None:
                    committed += 1
                    self.synced_blocks += 1
                    self._report(proposed)
        except BayChainError as exc:
            self.sync.failed(peer, self._now_ms())
            self.peers.report_invalid(
                peer, f"BLOCK_RESPONSE: {exc}", points=FAILED_RESPONSE_POINTS
            )
        else:
            self.sync.delivered(peer)
        if committed:
            log.info("synced to height %d from %s", self.chain.height, peer)

    def _after_sync(self) -> None:
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
            self.sync.note_status(peer, decode_status(payload), self._now_ms())
            self._request_blocks()
        elif kind is MessageKind.BLOCK_REQUEST:
            self._serve_blocks(peer, decode_block_request(payload))
        elif kind is MessageKind.BLOCK_RESPONSE:
            self._on_block_response(peer, payload)
        return None

    def _on_block_response(self, peer: PeerId, payload: bytes) -> None:
        """Queue the one response asked of ``peer``; anything else costs it points."""
        request = self.sync.take_response(peer)
        if request is None or self._sync_jobs is None:
            self.peers.report_invalid(
                peer, "a BLOCK_RESPONSE that was not asked for", points=UNSOLICITED_RESPONSE_POINTS
            )
            return
        try:
            self._sync_jobs.put_nowait((peer, request, payload))
        except asyncio.QueueFull:  # one request in flight: only a bug gets here
            log.error("the block-sync queue is full; a response of %s dropped", peer)
            self.sync.answered(peer)

    def _status(self) -> bytes:
        return encode_status(ChainStatus(self.chain.height, self.chain.head_hash))

    def _on_connect(self, info: PeerInfo) -> None:
        self.peers.send(info.peer_id, MessageKind.STATUS, self._status())

    def _on_disconnect(self, info: PeerInfo) -> None:
        self.sync.forget(info.peer_id)
        self.serving.forget(info.peer_id)

    async def _status_loop(self) -> None:
        while True:
            await asyncio.sleep(STATUS_INTERVAL_MS / 1000)
            self.peers.broadcast(MessageKind.STATUS, self._status())
            self._request_blocks()

    def _now_ms(self) -> int:
        return int(self._running_loop().time() * 1000)

    def _request_blocks(self) -> None:
        now_ms = self._now_ms()
        silent = self.sync.expire(now_ms)
        if silent is not None:
            self.peers.report_invalid(
                silent, "BLOCK_REQUEST unanswered in time", points=UNANSWERED_REQUEST_POINTS
            )
        request = self.sync.next_request(self.chain.height, now_ms)
        if request is not None:
            peer, wanted = request
            log.info(
                "behind (target %d): asking %s for blocks %d..%d",
                self.sync.target_height(),
                peer,
                wanted.start,
                wanted.start + wanted.count - 1,
            )
            self.peers.send(peer, MessageKind.BLOCK_REQUEST, encode_block_request(wanted))

    # -- serving blocks (the serving thread) -----------------------------------------------

    def _admit_serving(self, peer: PeerId, request: object, slot: str, what: str) -> bool:
        verdict = self.serving.admit(peer, request, self._running_loop().time(), slot)
        if verdict is ServeVerdict.OVER_BUDGET:
            self.peers.report_invalid(
                peer, f"{what} beyond the serving budget", points=SERVE_OVER_BUDGET_POINTS
            )
        return verdict is ServeVerdict.SERVE

    def _serve_blocks(self, peer: PeerId, request: BlockRequest) -> None:
        """Answer ``request`` from the store on the serving thread, within the budget."""
        if not self._admit_serving(peer, request, "blocks", "BLOCK_REQUEST"):
            return

        def send(payload: bytes) -> None:
            self.peers.send(peer, MessageKind.BLOCK_RESPONSE, payload)

        read = functools.partial(self._read_blocks, request)
        self._on_server(peer, request, "blocks", read, send)

    def _serve_decision(self, peer: PeerId, height: Height) -> None:
        """Answer a ``DecisionRequest`` (the engine's ``ServeDecision``) the same way."""
        if not self._admit_serving(peer, height, "decision", "DecisionRequest"):
            return

        def send(decision: tuple[bytes, bytes] | None) -> None:
            if decision is not None:
                message = encode_message(Decision(height, *decision))
                self.peers.send(peer, MessageKind.CONSENSUS, message)

        read = functools.partial(self.app.decision_at, height)
        self._on_server(peer, height, "decision", read, send)

    def _on_server(
        self,
        peer: PeerId,
        key: object,
        slot: str,
        read: Callable[[], _T],
        send: Callable[[_T], None],
    ) -> None:
        """Run ``read`` on the serving thread, then ``send`` its result on the loop."""
        future = self._running_loop().run_in_executor(self._server, read)

        def done(result: asyncio.Future[_T]) -> None:
            self.serving.done(peer, key, slot)
            if result.cancelled():
                return
            error = result.exception()
            if error is not None:
                log.error("serving %r to %s failed", key, peer, exc_info=error)
                return
            send(result.result())

        future.add_done_callback(done)

    def _read_blocks(self, request: BlockRequest) -> bytes:
        """The BLOCK_RESPONSE to ``request``: stored bytes, within MAX_RESPONSE_BYTES."""
        blocks: list[bytes] = []
        size = 0
        last = min(self.chain.height, request.start + request.count - 1)
        for height in range(request.start, last + 1):
            try:
                encoded = self.chain.encoded_block_at(height)
            except NotFound:
                break
            if blocks and size + len(encoded) > MAX_RESPONSE_BYTES:
                break
            blocks.append(encoded)
            size += len(encoded)
        return encode_block_response(blocks)

    def _transactions_available(self) -> None:
        self._handle(self._generation, TransactionsAvailable())

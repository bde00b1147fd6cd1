"""The load generator: send pre-signed transactions over JSON-RPC and watch them commit.

Batching. Senders are split into *groups* of at most ``batch`` senders; a
group's batch at level ``k`` holds each member's ``k``-th transaction, so a
batch never carries two transactions of one sender, and a group sends its
level ``k + 1`` only after the node answered its level ``k``. A sender's nonce
``n + 1`` therefore never reaches the node before ``n`` was accepted, which an
automining peer (Hardhat: "Nonce too high ... can't be queued when
automining") requires. Batch 1 sends plain (non-batch) requests. A group
always sends to the same node: with several ``submit_urls`` (a network's nodes)
group ``g`` uses ``submit_urls[g % n]``, as each organisation's clients use
their own node.

Modes (Hyperledger PSWG, "Blockchain Performance Metrics", 2018):

- closed loop: ``concurrency`` clients each own disjoint groups and keep one
  batch in flight, sending the next as soon as the last is answered;
- open loop: batches are released on a fixed schedule (``rate`` tx/s) whatever
  the answers; a batch whose group is still waiting for its previous answer is
  released late, and the lag is recorded (:class:`ScheduleStats`).

Commits. A :class:`BlockObserver` follows a WebSocket ``newHeads``
subscription (or polls ``eth_blockNumber`` every 50 ms when there is no
WebSocket or the subscription fails) and reads each new block's transaction
hashes with ``eth_getBlockByNumber``, several blocks per JSON-RPC batch so that
automining peers (one block per transaction) do not leave it behind. A
transaction is committed when the head announcing its block arrives; its
latency is that arrival minus the moment its batch was sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import aiohttp

from baychain.bench.errors import BenchError
from baychain.bench.target import Endpoint
from baychain.bench.workloads import PreparedLoad, SignedTx

__all__ = [
    "MODES",
    "Batch",
    "BlockObserver",
    "LoadResult",
    "Progress",
    "ScheduleStats",
    "drive_closed",
    "drive_open",
    "group_senders",
    "open_schedule",
    "plan_batches",
    "run_load",
]

MODES = ("closed", "open")
"""Load modes: ``closed`` (fixed concurrency) and ``open`` (fixed arrival rate)."""
MAX_BATCH = 1_000
"""Largest JSON-RPC batch the generator builds (BayChain's default ``max_batch_length``)."""
POLL_INTERVAL_S = 0.05
"""How often the observer asks ``eth_blockNumber`` when it cannot subscribe."""
FETCH_BLOCKS = 100
"""Most blocks the observer reads in one JSON-RPC batch."""
LATE_TOLERANCE_S = 0.01
"""An open-loop batch released later than this after its slot counts as late."""
PROGRESS_INTERVAL_S = 1.0
"""Seconds between progress reports."""
RECEIPT_BATCH = 100
"""Receipts per JSON-RPC batch in the check after the run."""
MAX_ERROR_KINDS = 20
"""Distinct failure messages counted one by one; the rest are counted as "other"."""
_SUBSCRIBE_TIMEOUT_S = 5.0

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Batch:
    """One JSON-RPC request's transactions: a group's transactions at one level."""

    group: int
    level: int
    senders: tuple[int, ...]
    txs: tuple[SignedTx, ...]


@dataclass(slots=True)
class ScheduleStats:
    """How well an open-loop run kept its schedule."""

    batches: int = 0
    late_batches: int = 0
    max_lag_s: float = 0.0
    total_lag_s: float = 0.0


@dataclass(frozen=True, slots=True)
class Progress:
    """A snapshot while the load runs (``tps``: committed per second since the first send)."""

    elapsed_s: float
    total: int
    sent: int
    committed: int
    failed: int
    tps: float


@dataclass(frozen=True)
class LoadResult:
    """What one run measured; :func:`baychain.bench.metrics.summarize` turns it into figures.

    Times are seconds on the generator's monotonic clock relative to the first
    send. ``latencies_s[i]`` and ``commit_times_s[i]`` belong to the same
    committed transaction.
    """

    workload: str
    mode: str
    total: int
    sent: int
    accepted: int
    committed: int
    reverted: int
    latencies_s: list[float]
    commit_times_s: list[float]
    send_times_s: list[float]
    send_duration_s: float
    blocks: int
    observer: str
    groups: int
    batch: int
    failures: dict[str, int] = field(default_factory=dict)
    first_errors: list[str] = field(default_factory=list)
    schedule: ScheduleStats | None = None


def group_senders(senders: int, *, batch: int, streams: int) -> list[list[int]]:
    """Split sender indices into groups of at most ``batch``.

    There are at least ``streams`` groups when there are that many senders, so
    ``streams`` clients all have work. Group ``g`` holds senders ``g, g + G,
    g + 2G, ...`` (``G`` groups), which spreads the longer lanes.
    """
    if senders < 1 or batch < 1 or streams < 1:
        raise BenchError("senders, batch and streams must each be at least 1")
    count = max(math.ceil(senders / batch), min(streams, senders))
    return [list(range(g, senders, count)) for g in range(count)]


def plan_batches(
    lanes: Sequence[Sequence[SignedTx]], *, batch: int, streams: int
) -> list[list[Batch]]:
    """Each group's batches, level by level (see the module docstring)."""
    plan: list[list[Batch]] = []
    for g, members in enumerate(group_senders(len(lanes), batch=batch, streams=streams)):
        levels = max(len(lanes[s]) for s in members)
        chain = []
        for level in range(levels):
            senders = tuple(s for s in members if level < len(lanes[s]))
            chain.append(Batch(g, level, senders, tuple(lanes[s][level] for s in senders)))
        plan.append([b for b in chain if b.txs])
    return [chain for chain in plan if chain]


def open_schedule(plan: Sequence[Sequence[Batch]], rate: float) -> list[list[float]]:
    """Release offsets (seconds from the start) of each batch at ``rate`` tx/s.

    Batches are taken level by level, group by group; a batch's offset is the
    number of transactions released before it divided by the rate.
    """
    if not rate > 0:
        raise BenchError(f"the open-loop rate must be positive, got {rate}")
    offsets = [[0.0] * len(chain) for chain in plan]
    released = 0
    for level in range(max((len(chain) for chain in plan), default=0)):
        for g, chain in enumerate(plan):
            if level < len(chain):
                offsets[g][level] = released / rate
                released += len(chain[level].txs)
    return offsets


SendBatch = Callable[[Batch], Awaitable[None]]


async def drive_closed(plan: Sequence[Sequence[Batch]], send: SendBatch, concurrency: int) -> None:
    """Closed loop: ``concurrency`` clients, each with one batch in flight.

    Client ``w`` owns groups ``w, w + C, ...`` and visits them level by level,
    awaiting each answer before its next send.
    """
    workers = min(concurrency, len(plan))

    async def client(chains: Sequence[Sequence[Batch]]) -> None:
        for level in range(max(len(chain) for chain in chains)):
            for chain in chains:
                if level < len(chain):
                    await send(chain[level])

    await asyncio.gather(*(client(plan[w::workers]) for w in range(workers)))


async def drive_open(
    plan: Sequence[Sequence[Batch]], send: SendBatch, rate: float
) -> ScheduleStats:
    """Open loop: release batches at ``rate`` tx/s; a group still awaiting an answer sends late."""
    offsets = open_schedule(plan, rate)
    stats = ScheduleStats()
    start = time.perf_counter()

    async def group(chain: Sequence[Batch], times: Sequence[float]) -> None:
        for batch, offset in zip(chain, times, strict=True):
            delay = start + offset - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            lag = time.perf_counter() - (start + offset)
            stats.batches += 1
            stats.max_lag_s = max(stats.max_lag_s, lag)
            if lag > LATE_TOLERANCE_S:
                stats.late_batches += 1
                stats.total_lag_s += lag
            await send(batch)

    await asyncio.gather(*(group(chain, times) for chain, times in zip(plan, offsets, strict=True)))
    return stats


class BlockObserver:
    """Follows new blocks and reports each one's transaction hashes and arrival time.

    ``on_block(height, arrival, tx_hashes)`` is called once per block after the
    height current at :meth:`start`, in height order. ``arrival`` is when the
    generator first learned the block existed (its ``newHeads`` notification, or
    the poll that saw the height), on ``time.perf_counter``.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        rpc_url: str,
        ws_url: str | None,
        on_block: Callable[[int, float, list[str]], None],
    ) -> None:
        self.session = session
        self.rpc_url = rpc_url
        self.ws_url = ws_url
        self.on_block = on_block
        self.mode = "poll"
        self.blocks = 0
        self._arrivals: dict[int, float] = {}
        self._known = 0
        self._next = 0
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._ws: aiohttp.ClientWebSocketResponse | None = None

    async def start(self) -> None:
        """Read the current height, subscribe (or start polling) and start reading blocks."""
        self._known = int(await rpc_call(self.session, self.rpc_url, "eth_blockNumber"), 16)
        self._next = self._known + 1
        if self.ws_url is not None:
            with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError, BenchError):
                self._ws = await asyncio.wait_for(
                    self._subscribe(self.ws_url), _SUBSCRIBE_TIMEOUT_S
                )
        if self._ws is not None:
            self.mode = "newHeads"
            self._tasks.append(asyncio.create_task(self._read_heads(self._ws)))
        else:
            self._tasks.append(asyncio.create_task(self._poll()))
        self._tasks.append(asyncio.create_task(self._fetch()))

    async def stop(self) -> None:
        """Stop following (blocks not yet read are not reported)."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._ws is not None:
            await self._ws.close()

    async def _subscribe(self, ws_url: str) -> aiohttp.ClientWebSocketResponse:
        ws = await self.session.ws_connect(ws_url, max_msg_size=0)
        request = {"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe", "params": ["newHeads"]}
        await ws.send_json(request)
        answer = await ws.receive_json()
        if "result" not in answer:
            await ws.close()
            raise BenchError(f"eth_subscribe newHeads refused: {answer.get('error')}")
        return ws

    def _announce(self, height: int, arrival: float) -> None:
        """Heights up to ``height`` exist as of ``arrival`` (gaps take the same time)."""
        for h in range(self._known + 1, height + 1):
            self._arrivals.setdefault(h, arrival)
        if height > self._known:
            self._known = height
            self._wake.set()

    async def _read_heads(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for message in ws:
            arrival = time.perf_counter()
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            params = json.loads(message.data).get("params")
            if params and isinstance(params.get("result"), dict):
                self._announce(int(params["result"]["number"], 16), arrival)
        # The subscription ended under us: keep following by polling.
        self.mode = "newHeads, then poll"
        await self._poll()

    async def _poll(self) -> None:
        while True:
            with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError, BenchError):
                height = int(await rpc_call(self.session, self.rpc_url, "eth_blockNumber"), 16)
                self._announce(height, time.perf_counter())
            await asyncio.sleep(POLL_INTERVAL_S)

    async def _fetch(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._next <= self._known:
                last = min(self._known, self._next + FETCH_BLOCKS - 1)
                calls = [
                    ("eth_getBlockByNumber", [hex(h), False]) for h in range(self._next, last + 1)
                ]
                try:
                    blocks = await rpc_batch(self.session, self.rpc_url, calls)
                except (aiohttp.ClientError, OSError, TimeoutError, BenchError):
                    await asyncio.sleep(POLL_INTERVAL_S)
                    continue
                for block in blocks:
                    if not isinstance(block, dict):  # announced but not served yet: ask again
                        await asyncio.sleep(POLL_INTERVAL_S)
                        break
                    height = self._next
                    self.blocks += 1
                    self.on_block(height, self._arrivals.pop(height), list(block["transactions"]))
                    self._next = height + 1


async def rpc_call(session: aiohttp.ClientSession, url: str, method: str, *params: Any) -> Any:
    """Call one JSON-RPC method; raise BenchError when the node answers an error."""
    (result,) = await rpc_batch(session, url, [(method, list(params))], plain=True)
    return result


async def rpc_batch(
    session: aiohttp.ClientSession,
    url: str,
    calls: Sequence[tuple[str, list[Any]]],
    *,
    plain: bool = False,
) -> list[Any]:
    """Call several methods in one JSON-RPC batch; results in order (BenchError on an error)."""
    body: Any = [
        {"jsonrpc": "2.0", "id": i, "method": method, "params": params}
        for i, (method, params) in enumerate(calls)
    ]
    if plain:
        body = body[0]
    async with session.post(url, json=body) as response:
        answer = await response.json(content_type=None)
    answers = [answer] if isinstance(answer, dict) else answer
    by_id = {a.get("id"): a for a in answers if isinstance(a, dict)}
    results = []
    for i, (method, _) in enumerate(calls):
        item = by_id.get(i) or {"error": {"message": f"no answer: {answer}"}}
        if "error" in item:
            raise BenchError(f"{method} failed: {item['error'].get('message', item['error'])}")
        results.append(item.get("result"))
    return results


class _Run:
    """The bookkeeping of one run: per transaction, when it was sent and committed."""

    def __init__(self, load: PreparedLoad) -> None:
        self.txs: list[SignedTx] = [tx for lane in load.lanes for tx in lane]
        self.index = {tx.tx_hash: i for i, tx in enumerate(self.txs)}
        self.sent_at: list[float | None] = [None] * len(self.txs)
        self.committed_at: list[float | None] = [None] * len(self.txs)
        self.accepted_flags = [False] * len(self.txs)
        self.errors: dict[int, str] = {}
        self.dead_senders: set[int] = set()
        self.first_send = 0.0
        self.sent = 0
        self.accepted = 0
        self.committed = 0
        self.outstanding = 0
        """Accepted transactions not committed yet."""
        self.our_blocks = 0

    def on_block(self, height: int, arrival: float, tx_hashes: list[str]) -> None:
        ours = 0
        for tx_hash in tx_hashes:
            i = self.index.get(tx_hash.lower())
            if i is not None and self.committed_at[i] is None:
                self.committed_at[i] = arrival
                self.committed += 1
                if self.accepted_flags[i]:
                    self.outstanding -= 1
                ours += 1
        if ours:
            self.our_blocks += 1

    def accept(self, i: int) -> None:
        """The node took transaction ``i`` (its commit may have been seen already)."""
        self.accepted_flags[i] = True
        self.accepted += 1
        if self.committed_at[i] is None:
            self.outstanding += 1

    def fail(self, tx: SignedTx, message: str) -> None:
        self.errors.setdefault(self.index[tx.tx_hash], message)


async def run_load(
    endpoint: Endpoint,
    load: PreparedLoad,
    *,
    mode: Literal["open", "closed"] | str,
    rate: float | None,
    concurrency: int,
    batch: int,
    timeout_s: float,
    progress: Callable[[Progress], None] | None = None,
    check_receipts: bool = True,
) -> LoadResult:
    """Send ``load`` to ``endpoint`` and measure commits (see the module docstring).

    Senders form at least ``concurrency`` groups (of at most ``batch``): in the
    closed loop that many clients each keep one batch in flight; in the open
    loop the groups are the independent streams the schedule releases into.

    ``timeout_s`` bounds each request and the wait for commits after the last
    send. With ``check_receipts`` the receipts of committed transactions are
    read after the clock stops, and reverted ones are counted as failures.
    Raises :class:`BenchError` for arguments out of range.
    """
    _check_arguments(mode, rate, concurrency, batch, timeout_s, load)
    run = _Run(load)
    plan = plan_batches(load.lanes, batch=batch, streams=concurrency)
    bodies = {(b.group, b.level): _body(b.txs) for chain in plan for b in chain}
    connector = aiohttp.TCPConnector(limit=len(plan) + 8)
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    schedule: ScheduleStats | None = None
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        observer = BlockObserver(session, endpoint.rpc_url, endpoint.ws_url, run.on_block)
        await observer.start()

        submit_urls = endpoint.submit_urls or (endpoint.rpc_url,)

        async def send(b: Batch) -> None:
            url = submit_urls[b.group % len(submit_urls)]
            await _send_batch(session, url, run, b, bodies[b.group, b.level])

        ticker = asyncio.create_task(_report(run, progress)) if progress else None
        run.first_send = time.perf_counter()
        try:
            if mode == "open" and rate is not None:
                schedule = await drive_open(plan, send, rate)
            else:
                await drive_closed(plan, send, concurrency)
            send_done = time.perf_counter()
            deadline = send_done + timeout_s
            while run.outstanding and time.perf_counter() < deadline:
                await asyncio.sleep(0.02)
        finally:
            await observer.stop()
            if ticker is not None:
                ticker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ticker
        if progress is not None:
            progress(_snapshot(run))
        reverted = await _check_receipts(session, endpoint.rpc_url, run) if check_receipts else 0
    return _result(run, load, mode, plan, observer, schedule, send_done, reverted)


def _check_arguments(
    mode: str,
    rate: float | None,
    concurrency: int,
    batch: int,
    timeout_s: float,
    load: PreparedLoad,
) -> None:
    if mode not in MODES:
        raise BenchError(f"unknown mode {mode!r}; choose closed or open")
    if mode == "open" and (rate is None or not rate > 0):
        raise BenchError("the open-loop mode needs a positive rate (transactions per second)")
    if not 1 <= batch <= MAX_BATCH:
        raise BenchError(f"the batch size must be between 1 and {MAX_BATCH}, got {batch}")
    if concurrency < 1:
        raise BenchError(f"the concurrency must be at least 1, got {concurrency}")
    if not timeout_s > 0:
        raise BenchError(f"the timeout must be positive, got {timeout_s}")
    if load.total == 0:
        raise BenchError("the load holds no transactions")


def _body(txs: Sequence[SignedTx]) -> bytes:
    """The request body, encoded before the clock: a batch, or one plain request."""
    requests = [
        {
            "jsonrpc": "2.0",
            "id": i,
            "method": "eth_sendRawTransaction",
            "params": ["0x" + tx.raw.hex()],
        }
        for i, tx in enumerate(txs)
    ]
    return json.dumps(requests if len(requests) > 1 else requests[0]).encode()


async def _send_batch(
    session: aiohttp.ClientSession, url: str, run: _Run, batch: Batch, body: bytes
) -> None:
    """Send one batch; record sends, acceptances and rejections.

    A sender whose transaction was rejected sends nothing more: its later nonces
    could only fail on a gap.
    """
    live = [
        (s, tx) for s, tx in zip(batch.senders, batch.txs, strict=True) if s not in run.dead_senders
    ]
    for s, tx in zip(batch.senders, batch.txs, strict=True):
        if s in run.dead_senders:
            run.fail(tx, "not sent: an earlier transaction of this sender was rejected")
    if not live:
        return
    if len(live) != len(batch.txs):
        body = _body([tx for _, tx in live])
    started = time.perf_counter()
    for _, tx in live:
        run.sent_at[run.index[tx.tx_hash]] = started
    run.sent += len(live)
    try:
        async with session.post(
            url, data=body, headers={"Content-Type": "application/json"}
        ) as response:
            text = await response.read()
            status = response.status
        answer = json.loads(text) if status == 200 else None
    except TimeoutError:
        answer, text, status = None, b"no answer within the timeout (--timeout)", 0
    except (aiohttp.ClientError, OSError, ValueError) as error:
        answer, text, status = None, f"{type(error).__name__}: {error}".encode(), 0
    if answer is None:
        reason = f"HTTP {status}" if status else "request failed"
        for s, tx in live:
            run.fail(tx, f"{reason}: {text[:200].decode(errors='replace')}")
            run.dead_senders.add(s)
        return
    answers = [answer] if isinstance(answer, dict) else answer
    by_id = {a.get("id"): a for a in answers if isinstance(a, dict)}
    for i, (s, tx) in enumerate(live):
        item = by_id.get(i, {"error": {"message": "no answer in the batch"}})
        result = item.get("result")
        if isinstance(result, str) and result.lower() == tx.tx_hash:
            run.accept(run.index[tx.tx_hash])
            continue
        if "error" in item:
            fault = item["error"]
            message = fault.get("message", str(fault)) if isinstance(fault, dict) else str(fault)
        else:
            message = f"the node named it {result}, expected {tx.tx_hash}"
        run.fail(tx, message)
        run.dead_senders.add(s)


async def _report(run: _Run, progress: Callable[[Progress], None]) -> None:
    while True:
        await asyncio.sleep(PROGRESS_INTERVAL_S)
        progress(_snapshot(run))


def _snapshot(run: _Run) -> Progress:
    elapsed = time.perf_counter() - run.first_send
    return Progress(
        elapsed_s=elapsed,
        total=len(run.txs),
        sent=run.sent,
        committed=run.committed,
        failed=len(run.errors),
        tps=run.committed / elapsed if elapsed > 0 else 0.0,
    )


async def _check_receipts(session: aiohttp.ClientSession, url: str, run: _Run) -> int:
    """Count committed transactions whose receipt says they reverted (status 0)."""
    # In commit order, so that one batch of lookups touches one or two blocks.
    committed = sorted(
        (i for i, t in enumerate(run.committed_at) if t is not None),
        key=lambda i: (run.committed_at[i], i),
    )
    chunks = [committed[k : k + RECEIPT_BATCH] for k in range(0, len(committed), RECEIPT_BATCH)]
    limit = asyncio.Semaphore(4)
    reverted = 0

    async def check(chunk: list[int]) -> None:
        nonlocal reverted
        calls = [("eth_getTransactionReceipt", [run.txs[i].tx_hash]) for i in chunk]
        async with limit:
            receipts = await rpc_batch(session, url, calls)
        for i, receipt in zip(chunk, receipts, strict=True):
            if isinstance(receipt, dict) and int(receipt.get("status", "0x1"), 16) == 0:
                run.errors[i] = "reverted"
                reverted += 1

    await asyncio.gather(*(check(chunk) for chunk in chunks))
    return reverted


def _result(
    run: _Run,
    load: PreparedLoad,
    mode: str,
    plan: Sequence[Sequence[Batch]],
    observer: BlockObserver,
    schedule: ScheduleStats | None,
    send_done: float,
    reverted: int,
) -> LoadResult:
    latencies, commits, sends = [], [], []
    for sent, committed in zip(run.sent_at, run.committed_at, strict=True):
        if sent is not None:
            sends.append(sent - run.first_send)
        if sent is not None and committed is not None:
            latencies.append(committed - sent)
            commits.append(committed - run.first_send)
    messages = dict(run.errors)
    for i, (sent, committed) in enumerate(zip(run.sent_at, run.committed_at, strict=True)):
        if committed is None and i not in messages:
            messages[i] = "not committed before the timeout" if sent is not None else "not sent"
    failures: dict[str, int] = {}
    first_errors: list[str] = []
    for i in sorted(messages):
        message = messages[i][:200]
        key = message if message in failures or len(failures) < MAX_ERROR_KINDS else "other"
        failures[key] = failures.get(key, 0) + 1
        if len(first_errors) < 5 and not any(e.endswith(message) for e in first_errors):
            first_errors.append(f"{run.txs[i].tx_hash}: {message}")
    largest = max((len(b.txs) for chain in plan for b in chain), default=0)
    return LoadResult(
        workload=load.workload,
        mode=mode,
        total=len(run.txs),
        sent=run.sent,
        accepted=run.accepted,
        committed=run.committed,
        reverted=reverted,
        latencies_s=latencies,
        commit_times_s=commits,
        send_times_s=sends,
        send_duration_s=send_done - run.first_send,
        blocks=run.our_blocks,
        observer=observer.mode,
        groups=len(plan),
        batch=largest,
        failures=failures,
        first_errors=first_errors,
        schedule=schedule,
    )

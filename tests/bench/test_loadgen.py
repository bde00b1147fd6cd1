"""The load generator's batching and scheduling, driven through an in-memory transport.

The drivers take the send function as their seam (as httpx takes a transport), so
these tests hand them one that records every send and answers after a random
delay, and check the rule an automining peer enforces: a sender's nonce ``n + 1``
is never sent before the answer for ``n`` arrived.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from baychain.bench.errors import BenchError
from baychain.bench.loadgen import (
    Batch,
    drive_closed,
    drive_open,
    group_senders,
    open_schedule,
    plan_batches,
    run_load,
)
from baychain.bench.target import Endpoint
from baychain.bench.workloads import PreparedLoad, SignedTx


def lanes_of(lengths: list[int]) -> list[list[SignedTx]]:
    """Lanes whose transactions name their sender and nonce: ``0x<sender>-<nonce>``."""
    return [
        [SignedTx(b"", f"0x{s}-{n}", "eth-transfer") for n in range(length)]
        for s, length in enumerate(lengths)
    ]


def nonce_of(tx: SignedTx) -> tuple[int, int]:
    sender, nonce = tx.tx_hash[2:].split("-")
    return int(sender), int(nonce)


@dataclass
class AutominingTransport:
    """Answers each batch after a random delay and checks the automining rule."""

    rng: random.Random
    max_delay_s: float = 0.004
    answered: dict[int, int] = field(default_factory=dict)  # sender -> highest answered nonce
    sent_order: list[tuple[int, int]] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    send_times: list[float] = field(default_factory=list)

    async def send(self, batch: Batch) -> None:
        self.send_times.append(time.perf_counter())
        senders = [nonce_of(tx)[0] for tx in batch.txs]
        if len(set(senders)) != len(senders):
            self.violations.append(f"batch {batch.group}/{batch.level} repeats a sender")
        for tx in batch.txs:
            sender, nonce = nonce_of(tx)
            if self.answered.get(sender, -1) != nonce - 1:
                self.violations.append(f"sender {sender} nonce {nonce} sent too early")
            self.sent_order.append((sender, nonce))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        await asyncio.sleep(self.rng.uniform(0, self.max_delay_s))
        self.in_flight -= 1
        for tx in batch.txs:
            sender, nonce = nonce_of(tx)
            self.answered[sender] = nonce


def test_group_senders_partitions_with_at_most_batch_per_group() -> None:
    for senders, batch, streams in [(10, 100, 4), (250, 100, 1), (7, 2, 3), (5, 100, 9), (1, 1, 1)]:
        groups = group_senders(senders, batch=batch, streams=streams)
        flat = sorted(s for group in groups for s in group)
        assert flat == list(range(senders))
        assert all(1 <= len(group) <= batch for group in groups)
        assert len(groups) >= min(streams, senders)


def test_group_senders_refuses_zero() -> None:
    with pytest.raises(BenchError):
        group_senders(0, batch=1, streams=1)


def test_plan_holds_every_transaction_once_and_one_per_sender_per_batch() -> None:
    lanes = lanes_of([5, 5, 4, 4, 4, 1, 0])
    plan = plan_batches(lanes, batch=3, streams=2)
    seen = [tx for chain in plan for batch in chain for tx in batch.txs]
    assert Counter(seen) == Counter(tx for lane in lanes for tx in lane)
    for chain in plan:
        for level, batch in enumerate(chain):
            assert batch.level == level
            assert len(batch.txs) <= 3
            assert [nonce_of(tx) for tx in batch.txs] == [(s, level) for s in batch.senders]


def test_batch_one_plans_single_transactions() -> None:
    plan = plan_batches(lanes_of([3, 3]), batch=1, streams=1)
    assert len(plan) == 2
    assert all(len(batch.txs) == 1 for chain in plan for batch in chain)


@pytest.mark.parametrize("seed", range(5))
def test_closed_loop_never_sends_a_nonce_before_its_predecessor_is_answered(seed: int) -> None:
    rng = random.Random(seed)
    lanes = lanes_of([rng.randint(1, 12) for _ in range(rng.randint(1, 30))])
    plan = plan_batches(lanes, batch=rng.randint(1, 8), streams=rng.randint(1, 6))
    transport = AutominingTransport(rng)
    concurrency = rng.randint(1, 6)
    asyncio.run(drive_closed(plan, transport.send, concurrency))
    assert transport.violations == []
    assert len(transport.sent_order) == sum(len(lane) for lane in lanes)
    assert transport.max_in_flight <= min(concurrency, len(plan))


def test_closed_loop_keeps_concurrency_batches_in_flight() -> None:
    plan = plan_batches(lanes_of([10] * 40), batch=5, streams=4)
    transport = AutominingTransport(random.Random(1), max_delay_s=0.005)
    asyncio.run(drive_closed(plan, transport.send, 4))
    assert transport.max_in_flight == 4


def test_open_schedule_spaces_batches_by_rate_level_by_level() -> None:
    plan = plan_batches(lanes_of([2, 2, 2, 1]), batch=2, streams=1)
    # groups: senders {0, 2} and {1, 3}; level 0 releases 2 + 2, level 1 releases 2 + 1
    assert [[len(b.txs) for b in chain] for chain in plan] == [[2, 2], [2, 1]]
    assert open_schedule(plan, rate=100.0) == [[0.0, 0.04], [0.02, 0.06]]


def test_open_schedule_refuses_a_non_positive_rate() -> None:
    with pytest.raises(BenchError, match="positive"):
        open_schedule([], rate=0.0)


def test_open_loop_releases_on_schedule_when_answers_are_fast() -> None:
    plan = plan_batches(lanes_of([3] * 20), batch=2, streams=1)  # 10 groups x 3 levels of 2
    transport = AutominingTransport(random.Random(2), max_delay_s=0.0)
    started = time.perf_counter()
    stats = asyncio.run(drive_open(plan, transport.send, rate=400.0))
    elapsed = time.perf_counter() - started
    assert transport.violations == []
    assert stats.batches == 30
    # 60 transactions at 400 tx/s: the last batch is due at 58/400 = 0.145 s
    assert 0.14 <= elapsed < 1.0
    assert stats.max_lag_s < 0.1
    offsets = sorted(t - started for t in transport.send_times)
    assert offsets[-1] >= 0.14


def test_open_loop_records_lag_when_a_group_waits_for_its_answer() -> None:
    plan = plan_batches(lanes_of([5]), batch=1, streams=1)  # one sender: each waits for the last
    transport = AutominingTransport(random.Random(3), max_delay_s=0.0)

    async def slow(batch: Batch) -> None:
        await transport.send(batch)
        await asyncio.sleep(0.05)

    stats = asyncio.run(drive_open(plan, slow, rate=1000.0))
    assert transport.violations == []
    assert stats.batches == 5
    assert stats.late_batches == 4  # every batch after the first is due 1 ms after the last
    assert stats.max_lag_s >= 0.15


def test_run_load_refuses_bad_arguments_before_any_request() -> None:
    endpoint = Endpoint("external", "http://127.0.0.1:9", None, (), {})
    load = PreparedLoad("eth-transfer", "ecdsa", 1, (tuple(lanes_of([1])[0]),))
    cases: list[tuple[dict[str, Any], str]] = [
        ({"mode": "sideways"}, "unknown mode"),
        ({"mode": "open", "rate": None}, "positive rate"),
        ({"batch": 0}, "batch size"),
        ({"batch": 1001}, "batch size"),
        ({"concurrency": 0}, "concurrency"),
        ({"timeout_s": 0}, "timeout"),
    ]
    for change, message in cases:
        arguments: dict[str, Any] = {
            "mode": "closed",
            "rate": None,
            "concurrency": 1,
            "batch": 1,
            "timeout_s": 1.0,
        }
        arguments.update(change)
        with pytest.raises(BenchError, match=message):
            asyncio.run(run_load(endpoint, load, **arguments))


def test_groups_are_spread_over_the_submit_urls_and_a_sender_keeps_its_node() -> None:
    """Every node of a network takes a share; one sender's transactions all go to one node."""
    seen: dict[int, list[str]] = {0: [], 1: []}

    def answering(node: int) -> web.Application:
        async def handle(request: web.Request) -> web.Response:
            body = await request.json()
            calls = body if isinstance(body, list) else [body]
            answers = []
            for call in calls:
                if call["method"] == "eth_sendRawTransaction":
                    tx_hash = call["params"][0].removeprefix("0x")
                    seen[node].append(tx_hash)
                    answers.append({"jsonrpc": "2.0", "id": call["id"], "result": tx_hash})
                else:  # eth_blockNumber, for the polling observer: nothing is ever committed
                    answers.append({"jsonrpc": "2.0", "id": call["id"], "result": "0x0"})
            return web.json_response(answers if isinstance(body, list) else answers[0])

        app = web.Application()
        app.router.add_post("/", handle)
        return app

    lanes = [
        tuple(
            SignedTx(f"{s:02x}{n:02x}".encode(), f"{s:02x}{n:02x}".encode().hex(), "eth-transfer")
            for n in range(3)
        )
        for s in range(8)
    ]
    load = PreparedLoad("eth-transfer", "ecdsa", 1, tuple(lanes))

    async def scenario() -> None:
        runners = [web.AppRunner(answering(i)) for i in (0, 1)]
        urls = []
        for runner in runners:
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            urls.append(f"http://127.0.0.1:{port}/")
        try:
            endpoint = Endpoint("external", urls[0], None, (), {}, tuple(urls))
            await run_load(
                endpoint,
                load,
                mode="closed",
                rate=None,
                concurrency=2,
                batch=4,
                timeout_s=0.2,
                check_receipts=False,
            )
        finally:
            for runner in runners:
                await runner.cleanup()

    asyncio.run(scenario())
    assert seen[0] and seen[1]
    assert len(seen[0]) + len(seen[1]) == 24
    senders = [{bytes.fromhex(h)[:2] for h in seen[node]} for node in (0, 1)]
    assert not senders[0] & senders[1]

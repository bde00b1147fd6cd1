"""The deterministic simulation: a seeded scheduler, a simulated clock and network.

One run is a loop over a priority queue of (time, sequence number, event); the
sequence number breaks ties in scheduling order, and the only source of chance is
one ``random.Random(seed)``, so a run is a pure function of (seed, suite). Events
are message deliveries, timer expiries, application answers, crashes, restarts and
partition changes. After every event the invariants of
:mod:`~baychain.consensus.sim.invariants` hold or the run stops with a violation;
after healing, every honest node must commit
:data:`~baychain.consensus.sim.scenario.LIVENESS_HEIGHTS` new heights within
:data:`~baychain.consensus.sim.scenario.LIVENESS_BOUND_MS`.
"""

from __future__ import annotations

import hashlib
import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from baychain.consensus.actions import PersistSignerState
from baychain.consensus.config import EngineConfig
from baychain.consensus.engine import Engine
from baychain.consensus.events import Event, MessageReceived
from baychain.consensus.messages import Message, decode_message, encode_message
from baychain.consensus.sim.invariants import Checker, InvariantViolation
from baychain.consensus.sim.node import SimNode
from baychain.consensus.sim.scenario import (
    CHAIN_ID,
    GENESIS_HASH,
    LIVENESS_BOUND_MS,
    LIVENESS_HEIGHTS,
    SIM_TIMEOUTS,
    TIMELY_DELAY_MS,
    Scenario,
)
from baychain.consensus.sim.trace import describe_event, describe_message
from baychain.consensus.validators import Validator, ValidatorSchedule, ValidatorSet
from baychain.consensus.verifier import CachingVerifier
from baychain.crypto import dev_private_keys, get_suite
from baychain.primitives import Hash32, Height, PeerId

__all__ = ["MAX_EVENTS", "SimResult", "Simulation", "replay_command", "run_seed"]

MAX_EVENTS = 2_000_000
"""Events after which a run is declared stuck (a liveness failure)."""


@dataclass(frozen=True, slots=True)
class _Delivery:
    target: str
    source: str
    data: bytes


@dataclass(frozen=True, slots=True)
class _NodeEvent:
    node: SimNode
    incarnation: int
    event: Event


@dataclass(frozen=True, slots=True)
class _Fault:
    """A crash, restart, partition start or end, or the heal."""

    kind: str
    node: SimNode | None = None
    partition: int = -1
    groups: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class _Write:
    node: SimNode
    incarnation: int
    action: PersistSignerState


_QueueItem = _Delivery | _NodeEvent | _Write | _Fault


@dataclass(frozen=True, slots=True)
class SimResult:
    """The outcome of one run."""

    seed: int
    suite: str
    ok: bool
    reason: str
    scenario: str
    events: int
    sim_time_ms: int
    heights: int
    """Fewest blocks any honest node committed."""
    liveness_ms: int
    """Simulated ms from healing until every honest node had its new heights (-1 if not)."""
    digest: str
    """Hash of every honest commit in order: equal for equal runs."""

    @property
    def replay(self) -> str:
        """The one-line command that replays this run exactly."""
        return replay_command(self.seed, self.suite)


def replay_command(seed: int, suite: str = "ecdsa") -> str:
    """The shell command that replays the run of ``seed`` with its trace."""
    return f"PYTHONPATH=src python3 -m baychain.consensus.sim --seed {seed} --suite {suite} --trace"


@lru_cache(maxsize=4)
def _keys(suite: str, count: int) -> tuple[bytes, ...]:
    return tuple(dev_private_keys(suite, count))


class Simulation:
    """One seeded run over real :class:`~baychain.consensus.engine.Engine` instances."""

    def __init__(
        self,
        scenario: Scenario,
        rng: random.Random,
        *,
        engine_class: type[Engine] = Engine,
        trace: Callable[[str], None] | None = None,
    ) -> None:
        self.scenario = scenario
        self.rng = rng
        self.engine_class = engine_class
        self.trace = trace
        self.suite = get_suite(scenario.suite)
        self.config = EngineConfig(
            CHAIN_ID, GENESIS_HASH, self.suite, SIM_TIMEOUTS, empty_blocks=True
        )
        self.verifier = CachingVerifier(self.suite)
        self.now = 0
        self.events = 0
        self._queue: list[tuple[int, int, _QueueItem]] = []
        self._seq = 0
        self._groups: dict[str, int] | None = None
        self._active_partition = -1
        self._healed = False
        self._target = -1
        self._reached: set[str] = set()
        self._decoded: dict[bytes, Message] = {}
        self._digest = hashlib.sha256()
        self._blocks_by_height: dict[int, list[Hash32]] = {}

        n = scenario.validators
        keys = _keys(scenario.suite, n + 1)
        members = [
            Validator(self.suite.address(pk), pk, 1)
            for pk in (self.suite.public_key(k) for k in keys)
        ]
        self.schedule = ValidatorSchedule(ValidatorSet(members[:n]))
        if scenario.change == "reweight":
            honest = next(i for i in range(n) if i != scenario.byzantine)
            heavier = [
                Validator(v.address, v.public_key, 3 if i == honest else 1)
                for i, v in enumerate(members[:n])
            ]
            self.schedule.schedule_change(Height(scenario.change_at), ValidatorSet(heavier))
        elif scenario.change == "add":
            self.schedule.schedule_change(Height(scenario.change_at), ValidatorSet(members))
        twins = scenario.twin_ids
        self.nodes: dict[str, SimNode] = {}
        for node_id in scenario.node_ids:
            index = int(node_id[1:].rstrip("ab"))
            self.nodes[node_id] = SimNode(
                self, node_id, index, keys[index], byzantine=node_id in twins
            )
        self.honest = [self.nodes[n] for n in scenario.honest_ids]
        byzantine_address = members[scenario.byzantine].address if scenario.byzantine >= 0 else None
        self.names = {m.address: f"v{i}" for i, m in enumerate(members)}
        self.checker = Checker(
            self.suite,
            CHAIN_ID,
            GENESIS_HASH,
            self.schedule,
            {m.address for m in members if m.address != byzantine_address},
            scenario.honest_ids,
        )

    # ------------------------------------------------------------------ the clock

    def _push(self, at: int, item: _QueueItem) -> None:
        self._seq += 1
        heapq.heappush(self._queue, (at, self._seq, item))

    def after(self, delay_ms: int, node: SimNode, event: Event) -> None:
        """Deliver ``event`` to ``node`` in ``delay_ms``, unless it crashes meanwhile."""
        self._push(self.now + delay_ms, _NodeEvent(node, node.incarnation, event))

    def persist_later(self, node: SimNode, action: PersistSignerState) -> None:
        """Start writing a signer state; it completes after the node's earlier writes."""
        done = max(node.disk_busy_until, self.now + self.rng.randint(0, 3))
        node.disk_busy_until = done
        self._push(done, _Write(node, node.incarnation, action))

    def execution_delay(self) -> int:
        """How long the application takes to build or validate a block (ms)."""
        return self.rng.randint(0, 5 if self._healed else 20)

    def payload(self) -> bytes:
        """Eight bytes of block content from the run's random stream."""
        return self.rng.getrandbits(64).to_bytes(8, "big")

    def some_block_hash(self, height: int) -> Hash32 | None:
        """A hash a mutating twin may vote for: a real block's, or made up."""
        rng = self.rng
        if rng.random() < 0.5:
            return Hash32(self.suite.hash(rng.getrandbits(64).to_bytes(8, "big")))
        blocks = sorted(b for b in self.checker.proposed if int.from_bytes(b[:8], "big") == height)
        return Hash32(self.suite.hash(rng.choice(blocks))) if blocks else None

    # ------------------------------------------------------------------ the network

    def broadcast(self, source: str, message: Message) -> None:
        """Send ``message`` from ``source`` to every other node."""
        data = encode_message(message)
        for node_id in self.nodes:
            if node_id != source:
                self._transmit(source, node_id, data)

    def broadcast_split(self, source: str, message: Message, variant: Message) -> None:
        """Send ``message`` to a random half of the other nodes, ``variant`` to the rest."""
        data, other = encode_message(message), encode_message(variant)
        for node_id in self.nodes:
            if node_id != source:
                self._transmit(source, node_id, other if self.rng.random() < 0.5 else data)

    def send(self, source: str, peer: PeerId, message: Message) -> None:
        """Send ``message`` from ``source`` to node ``peer``."""
        if peer in self.nodes:
            self._transmit(source, peer, encode_message(message))

    def _transmit(self, source: str, target: str, data: bytes) -> None:
        rng = self.rng
        if self._healed:
            self._push(self.now + rng.randint(1, TIMELY_DELAY_MS), _Delivery(target, source, data))
            return
        scenario = self.scenario
        if scenario.drop and rng.random() < scenario.drop:
            return
        copies = 2 if scenario.duplicate and rng.random() < scenario.duplicate else 1
        for _ in range(copies):
            delay = rng.randint(1, scenario.max_delay_ms)
            self._push(self.now + delay, _Delivery(target, source, data))

    def _deliver(self, target: str, source: str, data: bytes) -> None:
        node = self.nodes[target]
        groups = self._groups
        lost = not node.up or (groups is not None and groups[source] != groups[target])
        message = self._decoded.get(data)
        if message is None:
            message = self._decoded[data] = decode_message(data)
        if self.trace is not None:
            note = " (lost: down or partitioned)" if lost else ""
            self._log(f"{source} -> {target}: {describe_message(message, self.names)}{note}")
        if not lost:
            node.handle(MessageReceived(PeerId(source), message))

    # ------------------------------------------------------------------ faults

    def maybe_crash_mid_step(self, node: SimNode) -> bool:
        """Crash ``node`` right after it persisted a signer state, before it sends."""
        p = self.scenario.mid_step_crash
        if self._healed or node.byzantine or not p or self.rng.random() >= p:
            return False
        self._crash(node)
        restart = min(self.scenario.heal_ms, self.now + self.rng.randint(20, 800))
        self._push(restart, _Fault("restart", node))
        return True

    def _crash(self, node: SimNode) -> None:
        if node.up:
            self._log(f"crash {node.node_id}")
            node.crash()

    def _restart(self, node: SimNode) -> None:
        if not node.up:
            self._log(f"restart {node.node_id} at height {len(node.chain) + 1}")
            node.restarts += 1
            node.boot()

    def on_honest_commit(self, node: SimNode) -> None:
        """Record a commit for the digest and the liveness target."""
        height = len(node.chain)
        block_hash = node.chain[-1][0]
        self._digest.update(f"{node.node_id}:{height}:".encode() + block_hash)
        self._log(f"{node.node_id} commits {height} 0x{block_hash.hex()[:12]}")
        if self._healed and height >= self._target:
            self._reached.add(node.node_id)

    def _heal(self) -> None:
        self._log("heal: partitions end, crashed nodes restart, delays <= "
                  f"{TIMELY_DELAY_MS}ms")  # fmt: skip
        self._groups = None
        self._healed = True
        for node in self.nodes.values():
            if not node.byzantine:
                self._restart(node)
        self._target = max(len(n.chain) for n in self.honest) + LIVENESS_HEIGHTS
        self._reached = {n.node_id for n in self.honest if len(n.chain) >= self._target}

    def _fault(self, fault: _Fault) -> None:
        if fault.kind == "crash" and fault.node is not None:
            self._crash(fault.node)
        elif fault.kind == "restart" and fault.node is not None:
            if not self._healed:
                self._restart(fault.node)
        elif fault.kind == "partition":
            self._groups, self._active_partition = dict(fault.groups), fault.partition
            self._log(f"partition {fault.groups}")
        elif fault.kind == "unpartition":
            if self._active_partition == fault.partition:
                self._groups = None
                self._log("partition ends")
        elif fault.kind == "heal":
            self._heal()

    def _log(self, text: str) -> None:
        if self.trace is not None:
            self.trace(f"{self.now:>7}ms  {text}")

    # ------------------------------------------------------------------ the loop

    def run(self) -> SimResult:
        """Run to liveness, a violation or the bound; return the outcome."""
        scenario = self.scenario
        for index, partition in enumerate(scenario.partitions):
            self._push(partition.start_ms, _Fault("partition", None, index, partition.groups))
            self._push(partition.end_ms, _Fault("unpartition", None, index))
        for crash in scenario.crashes:
            self._push(crash.at_ms, _Fault("crash", self.nodes[crash.node]))
            self._push(crash.restart_ms, _Fault("restart", self.nodes[crash.node]))
        self._push(scenario.heal_ms, _Fault("heal"))
        deadline = scenario.heal_ms + LIVENESS_BOUND_MS
        ok, reason = False, ""
        try:
            for node in self.nodes.values():
                node.boot()
            ok, reason = self._loop(deadline)
        except InvariantViolation as exc:
            ok, reason = False, str(exc)
        heights = min(len(n.chain) for n in self.honest)
        liveness = self.now - scenario.heal_ms if ok else -1
        return SimResult(
            scenario.seed,
            scenario.suite,
            ok,
            reason,
            scenario.describe(),
            self.events,
            self.now,
            heights,
            liveness,
            self._digest.hexdigest(),
        )

    def _loop(self, deadline: int) -> tuple[bool, str]:
        queue = self._queue
        honest_count = len(self.honest)
        trace = self.trace
        while queue:
            at, _, item = heapq.heappop(queue)
            if at > deadline:
                break
            self.now = at
            self.events += 1
            if self.events > MAX_EVENTS:
                return False, f"liveness violated: more than {MAX_EVENTS} events"
            if isinstance(item, _Delivery):
                self._deliver(item.target, item.source, item.data)
            elif isinstance(item, _Write):
                if item.incarnation == item.node.incarnation:
                    item.node.complete_persist(item.action)
            elif isinstance(item, _NodeEvent):
                node = item.node
                if item.incarnation == node.incarnation:
                    if trace is not None:
                        text = describe_event(item.event, self.names)
                        trace(f"{at:>7}ms  {node.node_id}: {text}")
                    node.handle(item.event)
            else:
                self._fault(item)
            if self._healed and len(self._reached) == honest_count:
                return True, ""
        lagging = sorted(
            f"{n.node_id}@{len(n.chain)}" for n in self.honest if n.node_id not in self._reached
        )
        return False, (
            f"liveness violated: {LIVENESS_BOUND_MS}ms after healing, honest nodes "
            f"{', '.join(lagging)} have not reached height {self._target}"
        )


def run_seed(
    seed: int,
    suite: str = "ecdsa",
    *,
    engine_class: type[Engine] = Engine,
    trace: Callable[[str], None] | None = None,
) -> SimResult:
    """Run the simulation of ``seed`` and return its outcome (never raises on a violation)."""
    rng = random.Random(seed)
    scenario = Scenario.from_seed(seed, suite, rng)
    if trace is not None:
        trace(f"seed {seed} suite {suite}: {scenario.describe()}")
    return Simulation(scenario, rng, engine_class=engine_class, trace=trace).run()

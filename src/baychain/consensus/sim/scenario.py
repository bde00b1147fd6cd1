"""What one simulated run looks like, derived from its seed alone.

Everything a run does is a function of ``(seed, suite)``: the scenario parameters
below are drawn first from ``random.Random(seed)``, and the run continues with the
same stream. That is what makes ``python -m baychain.consensus.sim --seed N`` replay a
run exactly.

Phases: until ``heal_ms`` the network is asynchronous and faulty (delays up to
``max_delay_ms``, drops, duplicates, partitions, crashes); at ``heal_ms`` every
partition heals, every crashed node restarts and delays drop to at most
:data:`TIMELY_DELAY_MS` (the paper's global stabilisation time). Liveness is then
required within :data:`LIVENESS_BOUND_MS`.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field

from baychain.consensus.config import TimeoutConfig
from baychain.primitives import Hash32

__all__ = [
    "LIVENESS_BOUND_MS",
    "LIVENESS_HEIGHTS",
    "SIM_TIMEOUTS",
    "TIMELY_DELAY_MS",
    "CrashPlan",
    "PartitionPlan",
    "Scenario",
]

TIMELY_DELAY_MS = 10
"""Largest message delay after healing (the paper's Delta)."""

LIVENESS_HEIGHTS = 3
"""Heights every honest node must commit after healing, beyond the highest committed then."""

LIVENESS_BOUND_MS = 30_000
"""Simulated time after healing within which those heights must be committed."""

SIM_TIMEOUTS = TimeoutConfig(
    propose_ms=60,
    propose_delta_ms=30,
    prevote_ms=40,
    prevote_delta_ms=30,
    precommit_ms=40,
    precommit_delta_ms=30,
    gossip_ms=250,
)
"""Round timeouts of simulated nodes (ms of simulated time)."""

CHAIN_ID = 20261
"""Chain id signed into every simulated vote."""

GENESIS_HASH = Hash32(hashlib.sha256(b"BayChain simulated genesis").digest())
"""Genesis hash signed into every simulated vote (a fixed value: there is no block 0)."""


@dataclass(frozen=True, slots=True)
class PartitionPlan:
    """From ``start_ms`` to ``end_ms``, nodes only hear nodes of their own group."""

    start_ms: int
    end_ms: int
    groups: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class CrashPlan:
    """Node ``node`` crashes at ``at_ms`` and restarts at ``restart_ms``."""

    node: str
    at_ms: int
    restart_ms: int


@dataclass(frozen=True, slots=True)
class Scenario:
    """The parameters of one simulated run."""

    seed: int
    suite: str
    validators: int
    byzantine: int
    """Index of the validator run as twins, -1 for none."""
    heal_ms: int
    max_delay_ms: int
    drop: float
    duplicate: float
    mutate: float
    """Probability that a twin also sends a conflicting vote or proposal of its own."""
    mid_step_crash: float
    """Probability that an honest node crashes right after persisting a signer state."""
    change: str
    """Validator-set change: "none", "reweight" or "add"."""
    change_at: int
    partitions: tuple[PartitionPlan, ...] = field(default=())
    crashes: tuple[CrashPlan, ...] = field(default=())

    @property
    def node_ids(self) -> list[str]:
        """Every simulated node: honest validators, the twins, the follower (if any)."""
        ids = []
        for i in range(self.validators):
            if i == self.byzantine:
                ids += [f"v{i}a", f"v{i}b"]
            else:
                ids.append(f"v{i}")
        if self.change == "add":
            ids.append(f"v{self.validators}")
        return ids

    @property
    def twin_ids(self) -> list[str]:
        """The two instances of the Byzantine validator's key (empty without one)."""
        if self.byzantine < 0:
            return []
        return [f"v{self.byzantine}a", f"v{self.byzantine}b"]

    @property
    def honest_ids(self) -> list[str]:
        """Nodes whose agreement, validity and liveness are checked."""
        twins = self.twin_ids
        return [n for n in self.node_ids if n not in twins]

    @classmethod
    def from_seed(cls, seed: int, suite: str, rng: random.Random) -> Scenario:
        """Draw the scenario of ``seed`` from ``rng`` (which must be ``Random(seed)``)."""
        validators = rng.choice((4, 4, 4, 4, 5, 7))
        byzantine = rng.randrange(validators) if rng.random() < 0.9 else -1
        heal_ms = rng.randint(200, 3000)
        max_delay_ms = rng.choice((10, 30, 100, 300, 600))
        drop = rng.choice((0.0, 0.02, 0.1, 0.25, 0.5))
        duplicate = rng.choice((0.0, 0.05, 0.2))
        mutate = rng.choice((0.0, 0.1, 0.3)) if byzantine >= 0 else 0.0
        mid_step_crash = rng.choice((0.0, 0.01, 0.05, 0.1))
        change = rng.choice(("none", "none", "reweight", "add"))
        change_at = rng.randint(1, 6)
        draft = cls(
            seed, suite, validators, byzantine, heal_ms, max_delay_ms, drop, duplicate,
            mutate, mid_step_crash, change, change_at,
        )  # fmt: skip
        nodes = draft.node_ids
        twins = draft.twin_ids
        partitions = []
        for _ in range(rng.choice((0, 0, 1, 2, 3))):
            start = rng.randint(0, heal_ms - 1)
            end = min(heal_ms, start + rng.randint(50, 1500))
            groups = {n: rng.randrange(2) for n in nodes}
            if twins and rng.random() < 0.7:  # Twins: each twin talks to its own side
                groups[twins[0]], groups[twins[1]] = 0, 1
            if rng.random() < 0.3:  # isolate one node instead
                lone = rng.choice(nodes)
                groups = {n: int(n == lone) for n in nodes}
            partitions.append(PartitionPlan(start, end, tuple(sorted(groups.items()))))
        crashes = []
        honest = draft.honest_ids
        for _ in range(rng.choice((0, 1, 2, 4, 6))):
            node = rng.choice(honest)
            at = rng.randint(0, heal_ms - 1)
            crashes.append(CrashPlan(node, at, min(heal_ms, at + rng.randint(20, 1500))))
        return cls(
            seed, suite, validators, byzantine, heal_ms, max_delay_ms, drop, duplicate,
            mutate, mid_step_crash, change, change_at, tuple(partitions), tuple(crashes),
        )  # fmt: skip

    def describe(self) -> str:
        """One line summarising the scenario (for traces and failure messages)."""
        return (
            f"n={self.validators} twins={self.byzantine} heal={self.heal_ms}ms "
            f"delay<={self.max_delay_ms}ms drop={self.drop} dup={self.duplicate} "
            f"mutate={self.mutate} midcrash={self.mid_step_crash} change={self.change}"
            f"@{self.change_at} partitions={len(self.partitions)} crashes={len(self.crashes)}"
        )

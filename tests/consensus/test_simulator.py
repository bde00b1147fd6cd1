"""The deterministic simulator: many seeds keep every invariant, and broken engines fail.

``pytest tests/consensus/test_simulator.py --seeds 100000`` runs more seeds (default
1,000). A failing seed is reported with the one-line command that replays it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from baychain.consensus.actions import Action
from baychain.consensus.engine import Engine
from baychain.consensus.safety import SignerState
from baychain.consensus.sim import Scenario, SimResult, replay_command, run_seed
from baychain.consensus.types import NO_ROUND, Proposal
from baychain.consensus.validators import ValidatorSet
from baychain.primitives import Height

SRC = Path(__file__).resolve().parents[2] / "src"


def run_many(seeds: range, suite: str = "ecdsa", engine: type[Engine] = Engine) -> list[SimResult]:
    return [run_seed(seed, suite, engine_class=engine) for seed in seeds]


def test_every_seed_keeps_agreement_validity_certificates_and_liveness(
    request: pytest.FixtureRequest,
) -> None:
    count = request.config.getoption("--seeds")
    started = time.monotonic()
    failed: list[SimResult] = []
    heights = events = 0
    for seed in range(count):
        result = run_seed(seed)
        heights += result.heights
        events += result.events
        if not result.ok:
            failed.append(result)
            if len(failed) >= 5:
                break
    elapsed = time.monotonic() - started
    summary = f"{count} seeds: {len(failed)} failed, {heights} heights, {events} events"
    print(f"\n{summary}, {elapsed:.1f}s")
    assert not failed, "\n".join(
        f"seed {r.seed} failed: {r.reason}\n  replay: {r.replay}" for r in failed
    )


def test_seeds_with_sm2_signatures_keep_every_invariant() -> None:
    failed = [r for r in run_many(range(40), "sm") if not r.ok]
    assert not failed, "\n".join(f"{r.reason}\n  replay: {r.replay}" for r in failed)


def test_the_scenarios_cover_every_fault() -> None:
    import random

    scenarios = [Scenario.from_seed(s, "ecdsa", random.Random(s)) for s in range(200)]
    assert {s.validators for s in scenarios} == {4, 5, 7}
    assert {s.change for s in scenarios} == {"none", "reweight", "add"}
    assert sum(s.byzantine >= 0 for s in scenarios) > 150
    assert sum(bool(s.partitions) for s in scenarios) > 80
    assert sum(bool(s.crashes) for s in scenarios) > 120
    assert sum(s.drop > 0 for s in scenarios) > 120 and sum(s.duplicate > 0 for s in scenarios) > 80
    assert sum(s.mutate > 0 for s in scenarios) > 80
    assert sum(s.mid_step_crash > 0 for s in scenarios) > 100
    twins_split = [
        p for s in scenarios for p in s.partitions if s.twin_ids
        and dict(p.groups)[s.twin_ids[0]] != dict(p.groups)[s.twin_ids[1]]
    ]  # fmt: skip
    assert len(twins_split) > 40


def test_a_run_is_a_function_of_its_seed() -> None:
    first, second = run_seed(11), run_seed(11)
    assert first == second and first.heights > 0
    assert run_seed(12).digest != first.digest


def test_the_replay_command_reproduces_the_run_in_a_fresh_process() -> None:
    expected = run_seed(5)
    assert expected.replay == replay_command(5, "ecdsa")
    command = expected.replay.replace(" --trace", "").split()[1:]  # drop PYTHONPATH=src
    outputs = []
    for hash_seed in ("1", "2"):  # and independent of Python's string hashing
        env = {**os.environ, "PYTHONPATH": str(SRC), "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, *command[1:]], env=env, capture_output=True, text=True, check=True
        )
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1]
    assert f"digest {expected.digest[:16]}" in outputs[0] and ": ok;" in outputs[0]


def test_the_trace_names_each_event() -> None:
    lines: list[str] = []
    run_seed(3, trace=lines.append)
    text = "\n".join(lines)
    for word in ("proposal h1 r0", "prevote h1", "precommit h1", "commits 1", "heal", "crash"):
        assert word in text


# ---------------------------------------------------------------- broken engines are caught


class IgnoresLocks(Engine):
    """Prevotes every valid proposal, forgetting line 22's lock condition."""

    def _rule_prevote_on_proposal(self, proposal: Proposal) -> bool:
        saved = self._locked_round, self._locked_hash
        self._locked_round, self._locked_hash = NO_ROUND, None
        try:
            return super()._rule_prevote_on_proposal(proposal)
        finally:
            self._locked_round, self._locked_hash = saved


class ForgetsWhatItSigned(Engine):
    """Starts with an empty signer state, as if nothing had been persisted."""

    def start(self) -> list[Action]:
        if self._signer is not None:
            self._signer.state = None
        return super().start()


class SendsBeforePersisting(Engine):
    """Releases messages without waiting for the signer state to be durable."""

    def _emit(self, action: Action) -> None:
        self._out.append(action)


class _HalfQuorumSet(ValidatorSet):
    __slots__ = ()

    def is_quorum(self, power: int) -> bool:
        return 2 * power >= self.total_power


class HalfIsAQuorum(Engine):
    """Counts half of the power as a quorum."""

    def _reset(self, height: Height) -> None:
        super()._reset(height)
        self._validators = _HalfQuorumSet(self._validators.validators)


class ForgetsItsLockOnRestart(Engine):
    """Restores its round and votes after a crash, but not its lock."""

    def _restore(self, state: SignerState) -> None:
        super()._restore(replace(state, lock=None))


def first_violation(engine: type[Engine], seeds: int) -> SimResult | None:
    for seed in range(seeds):
        result = run_seed(seed, engine_class=engine)
        if not result.ok and "liveness" not in result.reason:
            return result
    return None


@pytest.mark.parametrize(
    ("engine", "invariant"),
    [
        (IgnoresLocks, "agreement"),
        (ForgetsWhatItSigned, "no honest equivocation"),
        (SendsBeforePersisting, "no honest equivocation"),
        (HalfIsAQuorum, "certificate"),
    ],
)
def test_a_broken_engine_is_caught(engine: type[Engine], invariant: str) -> None:
    found = first_violation(engine, 300)
    assert found is not None, f"{engine.__name__} survived 300 seeds"
    assert found.reason.startswith(f"{invariant} violated")


@pytest.mark.slow
def test_forgetting_the_lock_on_restart_is_caught() -> None:
    found = first_violation(ForgetsItsLockOnRestart, 3000)
    assert found is not None and found.reason.startswith("agreement violated")

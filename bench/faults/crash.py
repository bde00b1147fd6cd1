"""Crash faults: kill -9 cycles of random validators of a real 4-process network under load.

Each cycle starts from a healthy network (all four nodes at the same height) and then

- **one down** (most cycles): SIGKILL one random validator; the other three must
  commit two new blocks; after a random down time it is restarted with the
  launcher's command and must catch up to the height the others had at its restart
  (the time that takes is its *catch-up time*);
- **two down** (every ``--double-every``-th cycle): SIGKILL two random validators;
  the two left (2 of 4, no quorum) must settle on a height and keep it for
  ``--halt-window-s`` (a commit meanwhile is a *halt violation*); both are restarted
  and the chain must commit again (*resume time*).

A background sender offers transfers at ``--rate`` tx/s throughout (faultkit.load).
At the end it drains, and the end checks run on all four nodes: every accepted
transaction seen committed has a receipt in the same block on every node (else
*lost*), and every height has one block hash on every node (else a *fork*).

Run (defaults: 100 cycles, 8 tx/s, a double kill every 5th cycle):

    .venv/bin/python bench/faults/crash.py [--cycles 100] [--rate 8] [--seed 1]
        [--double-every 5] [--halt-window-s 6] [--out bench/results/faults/crash.json]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from faultkit.campaign import add_common_options, finish, network_directory
from faultkit.checks import end_checks_or_error
from faultkit.load import Load
from faultkit.localnet import FaultCampaignError, LocalNetwork, wait_for

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "results" / "faults" / "crash.json"
PROGRESS_BLOCKS = 2
"""New blocks three of four validators must commit while one is down."""


def run_crash_campaign(
    net: LocalNetwork,
    *,
    cycles: int,
    rate_per_s: float = 8.0,
    double_every: int = 5,
    halt_window_s: float = 6.0,
    max_down_s: float = 3.0,
    seed: int = 1,
    drain_s: float = 90.0,
    out: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run ``cycles`` crash cycles on ``net`` (all nodes up) and return the summary."""
    rng = random.Random(seed)
    count = len(net.nodes)
    load = Load(net, rate_per_s=rate_per_s)
    load.start()
    started = time.monotonic()
    faults = 0
    catchups: list[float] = []
    resumes: list[float] = []
    halts: list[dict[str, Any]] = []
    errors: list[str] = []
    done = 0
    try:
        for cycle in range(1, cycles + 1):
            double = double_every > 0 and cycle % double_every == 0
            try:
                _healthy(net)
                if double:
                    victims = sorted(rng.sample(range(count), 2))
                    halt, resume, caught = _two_down(net, victims, halt_window_s)
                    halts.append(halt)
                    resumes.append(resume)
                    line = (
                        f"two down {victims}: still at {halt['stalled_height']} for "
                        f"{halt_window_s:.0f}s ({'ok' if halt['held'] else 'COMMITTED'}), "
                        f"resumed in {resume:.1f}s"
                    )
                else:
                    victims = [rng.randrange(count)]
                    caught, progress = _one_down(net, victims[0], rng.uniform(0.5, max_down_s))
                    line = f"node{victims[0]} down: others committed in {progress:.1f}s"
                faults += len(victims)
                catchups.extend(caught)
                done = cycle
                out(
                    f"cycle {cycle}/{cycles}: {line}; caught up in "
                    + ", ".join(f"{c:.1f}s" for c in caught)
                    + f" (height {net.top()}, {load.figures()['committed']} txs committed)"
                )
            except FaultCampaignError as error:
                errors.append(f"cycle {cycle}: {error}")
                out(f"cycle {cycle}/{cycles}: FAILED: {error}\n{net.log_tails()}")
                _revive(net)
                break
        load.stop_sending()
        _revive(net)
        drained = load.drain(drain_s)
        out(f"load stopped; drained in {drained:.1f}s; running the end checks")
    finally:
        load.stop()
    checks = end_checks_or_error(net, load.committed_hashes(), errors)
    figures = load.figures()
    summary: dict[str, Any] = {
        "campaign": "crash",
        "cycles_planned": cycles,
        "cycles_run": done,
        "faults_injected": faults,
        "kills_one_down": sum(1 for c in range(1, done + 1) if not _is_double(c, double_every)),
        "kills_two_down": len(halts),
        "halt_violations": sum(1 for h in halts if not h["held"]),
        "halts": halts,
        "transactions": figures,
        "transactions_sent": figures["sent"],
        "transactions_committed": figures["committed"],
        "transactions_lost": checks["lost"],
        "forks": checks["forks"],
        "max_catchup_s": round(max(catchups, default=0.0), 2),
        "max_resume_s": round(max(resumes, default=0.0), 2),
        "p99_commit_latency_s": figures["latency_p99_s"],
        "duration_s": round(time.monotonic() - started, 1),
        "rate_per_s": rate_per_s,
        "seed": seed,
        "errors": errors,
        "end_checks": checks,
    }
    return summary


def _is_double(cycle: int, double_every: int) -> bool:
    return double_every > 0 and cycle % double_every == 0


def _healthy(net: LocalNetwork) -> None:
    """Wait until every node is up and within one height of the others."""

    def close() -> bool:
        heights = list(net.heights().values())
        return None not in heights and max(heights) - min(heights) <= 1  # type: ignore[type-var, operator]

    wait_for(close, "all nodes at the same height")


def _one_down(net: LocalNetwork, victim: int, down_s: float) -> tuple[list[float], float]:
    survivors = [i for i in range(len(net.nodes)) if i != victim]
    before = net.top(survivors)
    net.kill(victim)
    progress = wait_for(
        lambda: net.top(survivors) >= before + PROGRESS_BLOCKS,
        f"three validators to commit {PROGRESS_BLOCKS} blocks with node{victim} down",
    )
    time.sleep(max(0.0, down_s - progress))
    return [_restart_and_catch_up(net, victim, survivors)], progress


def _two_down(
    net: LocalNetwork, victims: list[int], window_s: float
) -> tuple[dict[str, Any], float, list[float]]:
    survivors = [i for i in range(len(net.nodes)) if i not in victims]
    for victim in victims:
        net.kill(victim)
    stalled = net.stable_height(survivors)
    time.sleep(window_s)
    after = net.heights(survivors)
    held = all(h == stalled for h in after.values())
    halt = {
        "killed": [f"node{v}" for v in victims],
        "stalled_height": stalled,
        "window_s": window_s,
        "heights_after": {f"node{i}": h for i, h in after.items()},
        "held": held,
    }
    restarted_at = time.monotonic()
    caught = [_restart_and_catch_up(net, v, survivors, target=stalled) for v in victims]
    wait_for(lambda: net.top() > stalled, "the chain to commit again after the restarts")
    return halt, time.monotonic() - restarted_at, caught


def _restart_and_catch_up(
    net: LocalNetwork, victim: int, survivors: list[int], target: int | None = None
) -> float:
    """Restart ``victim``; return seconds from the restart until it reached the height
    the survivors had at that moment (or ``target``)."""
    goal = net.top(survivors) if target is None else target
    started = net.restart(victim)
    net.wait_for_height(victim, goal)
    return time.monotonic() - started


def _revive(net: LocalNetwork) -> None:
    """Restart every node the harness took down (best effort, after a failure)."""
    for node in net.nodes:
        if not node.up or node.pid is None:
            try:
                net.restart(node.index)
            except FaultCampaignError as error:
                print(f"could not restart node{node.index}: {error}", file=sys.stderr)


def print_summary(summary: dict[str, Any], out: Callable[[str], None] = print) -> None:
    """The human summary of a crash campaign."""
    out(
        f"\ncrash campaign: {summary['cycles_run']}/{summary['cycles_planned']} cycles, "
        f"{summary['faults_injected']} kills ({summary['kills_two_down']} two-down halts, "
        f"{summary['halt_violations']} violations)\n"
        f"  transactions: {summary['transactions_sent']} sent, "
        f"{summary['transactions']['accepted']} accepted, "
        f"{summary['transactions_committed']} committed, {summary['transactions_lost']} lost, "
        f"{summary['transactions']['pending']} still pending, "
        f"{summary['transactions']['resent']} re-submissions\n"
        f"  forks: {summary['forks']}; max catch-up {summary['max_catchup_s']}s; "
        f"max resume after a halt {summary['max_resume_s']}s; "
        f"p99 commit latency {summary['p99_commit_latency_s']}s\n"
        f"  errors: {summary['errors'] or 'none'}"
    )


def main(argv: list[str] | None = None) -> int:
    """Start a network, run the campaign, print and write the summary; 1 on a failed check."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=100)
    parser.add_argument("--double-every", type=int, default=5, help="every Nth cycle kills two")
    parser.add_argument("--halt-window-s", type=float, default=6.0)
    parser.add_argument("--seed", type=int, default=1)
    add_common_options(parser, DEFAULT_OUT)
    args = parser.parse_args(argv)
    directory = network_directory(args, "crash")
    net = LocalNetwork.create(directory)
    try:
        summary = run_crash_campaign(
            net,
            cycles=args.cycles,
            rate_per_s=args.rate,
            double_every=args.double_every,
            halt_window_s=args.halt_window_s,
            seed=args.seed,
        )
    finally:
        net.stop()
    finish(
        summary,
        script="bench/faults/crash.py",
        argv=argv,
        directory=directory,
        out=args.out,
        print_summary=print_summary,
    )
    failed = summary["transactions_lost"] or summary["forks"] or summary["halt_violations"]
    return 1 if failed or summary["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())

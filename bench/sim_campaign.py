"""A consensus-simulator campaign: many seeds over worker processes, with a summary.

::

    python bench/sim_campaign.py --seeds 100000 --jobs 2 --out sim-campaign.json
    python bench/sim_campaign.py --seeds 1000            # estimate the rate first

Each seed is one run of :func:`baychain.consensus.sim.run_seed` (crashes, partitions,
drops, duplicates, random per-message delays, i.e. reordering, and, in most seeds, one
Byzantine validator run as twins that equivocate); its scenario is drawn again with
:meth:`~baychain.consensus.sim.Scenario.from_seed` to count the faults it contained.
A run that stops on an invariant (agreement, validity, certificates, honest
non-equivocation, ...) is a *safety violation*; one that misses its liveness target
after healing is a *liveness failure*. Prints progress and seeds/s, then the totals;
writes them as JSON with every failing seed and its replay command. Exit status 1 if
any seed failed.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from baychain.consensus.sim import Scenario, replay_command, run_seed

LIVENESS_PREFIX = "liveness violated"
"""How :mod:`baychain.consensus.sim.runner` starts the reason of a liveness failure."""


def faults_of(scenario: Scenario) -> dict[str, int]:
    """The faults ``scenario`` contains, as counts (0 when absent)."""
    return {
        "crashes": len(scenario.crashes),
        "partitions": len(scenario.partitions),
        "drops": int(scenario.drop > 0),
        "duplicates": int(scenario.duplicate > 0),
        "reorders": int(scenario.max_delay_ms > 1),  # independent delays in 1..max_delay_ms
        "equivocating_validator": int(scenario.byzantine >= 0),
        "conflicting_messages": int(scenario.mutate > 0),
        "mid_step_crashes": int(scenario.mid_step_crash > 0),
        "validator_change": int(scenario.change != "none"),
    }


def run_one(seed: int, suite: str) -> dict[str, Any]:
    """Run ``seed``; return its outcome and faults (small, to cross the process boundary)."""
    scenario = Scenario.from_seed(seed, suite, random.Random(seed))
    result = run_seed(seed, suite)
    return {
        "seed": seed,
        "ok": result.ok,
        "reason": result.reason,
        "events": result.events,
        "heights": result.heights,
        "faults": faults_of(scenario),
    }


def _run_chunk(args: tuple[int, int, str]) -> list[dict[str, Any]]:
    start, stop, suite = args
    return [run_one(seed, suite) for seed in range(start, stop)]


def campaign(
    start: int,
    count: int,
    suite: str,
    jobs: int,
    *,
    max_seconds: float | None = None,
    chunk: int = 50,
    every: int = 1000,
) -> dict[str, Any]:
    """Run seeds ``start .. start + count - 1`` on ``jobs`` processes; return the summary.

    With ``max_seconds``, stop taking new chunks once that much time has passed (the
    summary counts the seeds that ran: a prefix of the range, in chunk order).
    """
    chunks = [(s, min(s + chunk, start + count), suite) for s in range(start, start + count, chunk)]
    started = time.monotonic()
    done = events = heights = 0
    faults: Counter[str] = Counter()  # seeds containing each fault
    totals: Counter[str] = Counter()  # occurrences (crash and partition plans)
    every_fault = 0
    safety: list[dict[str, Any]] = []
    liveness: list[dict[str, Any]] = []
    next_report = every
    stopped = False
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        for results in pool.map(_run_chunk, chunks):
            if max_seconds is not None and time.monotonic() - started > max_seconds:
                stopped = True
                pool.shutdown(wait=True, cancel_futures=True)
                break
            for record in results:
                done += 1
                events += record["events"]
                heights += record["heights"]
                present = {name for name, n in record["faults"].items() if n}
                faults.update(present)
                totals.update(record["faults"])
                core = {"crashes", "partitions", "drops", "reorders", "equivocating_validator"}
                every_fault += core <= present
                if not record["ok"]:
                    failure = {
                        "seed": record["seed"],
                        "reason": record["reason"],
                        "replay": replay_command(record["seed"], suite),
                    }
                    is_liveness = record["reason"].startswith(LIVENESS_PREFIX)
                    (liveness if is_liveness else safety).append(failure)
                    print(f"seed {record['seed']} FAILED: {record['reason']}", flush=True)
            if done >= next_report:
                elapsed = time.monotonic() - started
                print(
                    f"{done} seeds, {len(safety)} safety violations, {len(liveness)} liveness "
                    f"failures, {done / elapsed:.1f} seeds/s",
                    flush=True,
                )
                next_report = (done // every + 1) * every
    elapsed = time.monotonic() - started
    return {
        "suite": suite,
        "first_seed": start,
        "seeds": done,
        "last_seed": start + done - 1,
        "stopped_early": stopped,
        "jobs": jobs,
        "seconds": round(elapsed, 1),
        "seeds_per_second": round(done / elapsed, 2) if elapsed else 0.0,
        "safety_violations": len(safety),
        "liveness_failures": len(liveness),
        "events": events,
        "min_heights_total": heights,  # fewest heights any honest node committed, summed
        "seeds_with_fault": dict(sorted(faults.items())),
        "fault_occurrences": {
            "crash_plans": totals["crashes"],
            "partition_plans": totals["partitions"],
        },
        "seeds_with_crash_partition_drop_reorder_and_equivocation": every_fault,
        "safety": safety,
        "liveness": liveness,
    }


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, run the campaign, print and write the summary."""
    parser = argparse.ArgumentParser(
        prog="bench/sim_campaign.py", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--seeds", type=int, default=100_000, help="how many seeds")
    parser.add_argument("--start", type=int, default=0, help="first seed")
    parser.add_argument("--suite", choices=("ecdsa", "sm"), default="ecdsa")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes")
    parser.add_argument("--out", default="sim-campaign.json", help="summary JSON path")
    parser.add_argument("--max-seconds", type=float, default=None, help="stop after this long")
    args = parser.parse_args(argv)
    summary = campaign(args.start, args.seeds, args.suite, args.jobs, max_seconds=args.max_seconds)
    Path(args.out).write_text(json.dumps(summary, indent=1))
    shown = {k: v for k, v in summary.items() if k not in ("safety", "liveness")}
    print(json.dumps(shown, indent=1))
    return 1 if summary["safety_violations"] or summary["liveness_failures"] else 0


if __name__ == "__main__":
    sys.exit(main())

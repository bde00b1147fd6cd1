"""Command line of the consensus simulator.

::

    python -m baychain.consensus.sim --seed 42 [--suite sm] [--trace]   # replay one run
    python -m baychain.consensus.sim --seeds 100000 [--start 0] [--jobs 2]

Exit status 0 when every run kept every invariant, 1 otherwise; each failing seed
prints the one-line command that replays it.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor

from baychain.consensus.sim.runner import SimResult, run_seed


def _run(args: tuple[int, str]) -> SimResult:
    return run_seed(args[0], args[1])


def _results(seeds: Iterable[int], suite: str, jobs: int) -> Iterator[SimResult]:
    work = [(seed, suite) for seed in seeds]
    if jobs <= 1:
        yield from map(_run, work)
        return
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        yield from pool.map(_run, work, chunksize=64)


def main(argv: list[str] | None = None) -> int:
    """Run the simulator; return the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m baychain.consensus.sim",
        description="Deterministic BFT consensus simulator: replay one seed or run many.",
    )
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--seed", type=int, help="run (replay) this one seed")
    which.add_argument("--seeds", type=int, help="run this many seeds, from --start")
    parser.add_argument("--start", type=int, default=0, help="first seed with --seeds")
    parser.add_argument("--suite", choices=("ecdsa", "sm"), default="ecdsa")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes with --seeds")
    parser.add_argument("--trace", action="store_true", help="print every event of --seed")
    args = parser.parse_args(argv)

    if args.seed is not None:
        result = run_seed(args.seed, args.suite, trace=print if args.trace else None)
        status = "ok" if result.ok else f"FAILED: {result.reason}"
        print(
            f"seed {result.seed} ({result.scenario}): {status}; {result.events} events, "
            f"{result.sim_time_ms} simulated ms, {result.heights} heights, "
            f"digest {result.digest[:16]}"
        )
        if not result.ok:
            print(f"replay: {result.replay}")
        return 0 if result.ok else 1

    started = time.monotonic()
    failures = 0
    seeds = range(args.start, args.start + args.seeds)
    for done, result in enumerate(_results(seeds, args.suite, args.jobs), start=1):
        if not result.ok:
            failures += 1
            print(f"seed {result.seed} FAILED: {result.reason}\n  replay: {result.replay}")
        if done % 1000 == 0:
            print(f"{done} seeds, {failures} failed, {time.monotonic() - started:.0f}s", flush=True)
    elapsed = time.monotonic() - started
    print(f"{args.seeds} seeds ({args.suite}): {failures} failed in {elapsed:.1f}s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

"""Byzantine peer: one validator of four replaced by an attacker; the cost to the others.

The network starts as four ``baychain node`` processes; then validator ``--attacker``
(node3) is stopped and ``bench/faults/attacker.py`` takes its place with its key and
certificate (faultkit.attacks). The three honest validators hold exactly a quorum,
so anything that stalls one of them stalls the chain.

Phases, under the same fixed load offered to the three honest nodes:

1. **baseline**: the attacker connected and silent (``none``) for ``--baseline-s``;
2. one phase per attack (``--attack``), ``--duration-s`` each;
3. **after**: the silent attacker again, to see the honest nodes recover.

For each phase: committed tx/s, p50/p99 commit latency of the transactions offered
in it, and p99 / baseline p99 (goal: at most ``GOAL_P99_RATIO``). An attack that gets
the attacker banned leaves the next attack nothing to do, so when the attacker was
disconnected the honest nodes are restarted (bans are kept in memory) before the
next attack; such restarts are listed. The end checks run on the honest nodes.

Run (defaults: every attack, 30 s each, 8 tx/s):

    .venv/bin/python bench/faults/byzantine.py [--attack all|request-flood|fake-height|
        junk-response|forged-votes|replayed-votes|oversize-frames|idle-handshakes|
        equivocation] [--duration-s 30] [--baseline-s 30] [--rate 8]
        [--out bench/results/faults/byzantine.json]
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from faultkit.attacks import ATTACKS
from faultkit.campaign import add_common_options, finish, network_directory
from faultkit.checks import end_checks_or_error, wait_converged
from faultkit.load import Load
from faultkit.localnet import (
    FaultCampaignError,
    LocalNetwork,
    environment,
    wait_for,
)

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE.parent / "results" / "faults" / "byzantine.json"
GOAL_P99_RATIO = 2.0
"""p99 commit latency under attack should stay within this multiple of the baseline's."""
READY_TIMEOUT_S = 90.0
SETTLE_TIMEOUT_S = 60.0
"""How long a phase's transactions may take to commit before the honest nodes restart."""
EXIT_GRACE_S = 45.0
"""How long the attacker may take to close its connections once its counts are written."""


def run_byzantine_campaign(
    net: LocalNetwork,
    *,
    attacks: Sequence[str],
    duration_s: float = 30.0,
    baseline_s: float = 30.0,
    rate_per_s: float = 8.0,
    attacker: int = 3,
    drain_s: float = 90.0,
    work_dir: Path | None = None,
    out: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Replace validator ``attacker`` of ``net`` (all up) by the attacker and run the
    phases; return the summary. Leaves the attacker's node stopped."""
    honest = [i for i in range(len(net.nodes)) if i != attacker]
    work = work_dir or net.directory / "byzantine"
    work.mkdir(parents=True, exist_ok=True)
    net.kill(attacker, signal.SIGTERM)
    wait_converged(net, honest)
    load = Load(net, rate_per_s=rate_per_s, targets=lambda: [i for i in honest if net.nodes[i].up])
    load.start()
    started = time.monotonic()
    phases: list[dict[str, Any]] = []
    restarts: list[str] = []
    errors: list[str] = []
    plan = [("baseline", "none", baseline_s)]
    plan += [(name, name, duration_s) for name in attacks]
    plan += [("after", "none", baseline_s)]
    try:
        for label, attack, seconds in plan:
            if phases and _was_shut_out(phases[-1], len(honest)):
                # The previous phase's transactions commit first, so the restart's
                # downtime is not counted as that attack's latency.
                load.settle(phases[-1]["end"], SETTLE_TIMEOUT_S)
                out(f"  the attacker was disconnected by {label!r}'s predecessor: restarting "
                    "the honest nodes to clear bans")  # fmt: skip
                _restart(net, honest)
                restarts.append(label)
            try:
                phase = _run_phase(net, label, attack, seconds, attacker, work)
            except FaultCampaignError as error:
                errors.append(f"{label}: {error}")
                out(f"{label}: FAILED: {error}")
                continue
            phases.append(phase)
            out(
                f"{label}: attacker connected to {phase['attacker'].get('connected_at_start')} "
                f"then {phase['attacker'].get('connected_at_end')} honest nodes; "
                f"honest heights +{phase['blocks']} in {phase['window_s']:.0f}s"
            )
        load.stop_sending()
        drained = load.drain(drain_s)
        out(f"load stopped; drained in {drained:.1f}s; running the end checks")
    finally:
        load.stop()
    for phase in phases:
        phase["load"] = load.figures((phase["start"], phase["end"]))
    base = next((p for p in phases if p["label"] == "baseline"), None)
    base_p99 = base["load"]["latency_p99_s"] if base else None
    for phase in phases:
        p99 = phase["load"]["latency_p99_s"]
        phase["p99_ratio"] = round(p99 / base_p99, 2) if p99 and base_p99 else None
        phase["within_goal"] = (
            phase["p99_ratio"] is not None and phase["p99_ratio"] <= GOAL_P99_RATIO
        )
        del phase["start"], phase["end"]
    checks = end_checks_or_error(net, load.committed_hashes(), errors, honest)
    figures = load.figures()
    return {
        "campaign": "byzantine",
        "attacker": f"node{attacker}",
        "honest": [f"node{i}" for i in honest],
        "rate_per_s": rate_per_s,
        "goal_p99_ratio": GOAL_P99_RATIO,
        "phases": phases,
        "honest_restarts_to_clear_bans": restarts,
        "transactions": figures,
        "transactions_sent": figures["sent"],
        "transactions_committed": figures["committed"],
        "transactions_lost": checks["lost"],
        "forks": checks["forks"],
        "duration_s": round(time.monotonic() - started, 1),
        "errors": errors,
        "end_checks": checks,
    }


def _was_shut_out(phase: dict[str, Any], honest: int) -> bool:
    stats = phase["attacker"]
    return bool(stats.get("disconnects")) or stats.get("connected_at_end", honest) < honest


def _restart(net: LocalNetwork, indexes: Sequence[int]) -> None:
    for index in indexes:
        net.kill(index, signal.SIGTERM)
    for index in indexes:
        net.restart(index)
    top = wait_converged(net, list(indexes))
    wait_for(lambda: net.top(indexes) > top, "the honest nodes to commit after a restart")


def _run_phase(
    net: LocalNetwork, label: str, attack: str, seconds: float, attacker: int, work: Path
) -> dict[str, Any]:
    """Run the attacker process for one phase; return its window and counts."""
    stats_file = work / f"{label}.json"
    command = [
        sys.executable, str(HERE / "attacker.py"), "--network-dir", str(net.directory),
        "--node", f"node{attacker}", "--attack", attack, "--duration-s", str(seconds),
        "--out", str(stats_file),
    ]  # fmt: skip
    log = work / f"{label}.log"
    with log.open("w") as sink:
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=sink, text=True, env=environment(), cwd=HERE
        )
    ready = threading.Event()

    def watch() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("READY"):
                ready.set()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        if not ready.wait(READY_TIMEOUT_S):
            raise FaultCampaignError(f"the attacker did not connect; see {log}")
        start = time.monotonic()
        heights_before = net.top([i for i in range(len(net.nodes)) if i != attacker])
        hung_on_exit = False
        while process.poll() is None and not stats_file.exists():
            if time.monotonic() - start > seconds + READY_TIMEOUT_S:
                raise FaultCampaignError(f"the attacker did not finish; see {log}")
            time.sleep(0.1)
        end = time.monotonic()
        try:
            process.wait(timeout=EXIT_GRACE_S)
        except subprocess.TimeoutExpired:
            hung_on_exit = True  # counts are written; closing its connections stalled
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    heights_after = net.top([i for i in range(len(net.nodes)) if i != attacker])
    try:
        stats = json.loads(stats_file.read_text())
    except (OSError, ValueError):
        stats = {"error": f"no counts written; see {log}"}
    return {
        "label": label,
        "attack": attack,
        "start": start,
        "end": end,
        "window_s": round(end - start, 1),
        "blocks": heights_after - heights_before,
        "attacker": stats,
        "attacker_hung_on_exit": hung_on_exit,
    }


def print_summary(summary: dict[str, Any], out: Callable[[str], None] = print) -> None:
    """The human table of a Byzantine campaign."""
    out(f"\nbyzantine campaign: {summary['attacker']} attacks {', '.join(summary['honest'])}")
    out(f"{'phase':<17}{'tx/s':>7}{'p50 s':>8}{'p99 s':>8}{'x base':>8}{'pending':>9}  attacker")
    for phase in summary["phases"]:
        load, stats = phase["load"], phase["attacker"]
        out(
            f"{phase['label']:<17}{load.get('committed_per_s', 0):>7}"
            f"{_show(load['latency_p50_s']):>8}{_show(load['latency_p99_s']):>8}"
            f"{_show(phase['p99_ratio']):>8}{load['pending']:>9}  "
            f"peers {stats.get('connected_at_start')}->{stats.get('connected_at_end')}, "
            f"disconnects {stats.get('disconnects')}"
        )
    out(
        f"transactions: {summary['transactions_sent']} sent, "
        f"{summary['transactions_committed']} committed, {summary['transactions_lost']} lost; "
        f"forks: {summary['forks']}; honest restarts to clear bans: "
        f"{summary['honest_restarts_to_clear_bans'] or 'none'}; "
        f"errors: {summary['errors'] or 'none'}"
    )


def _show(value: object) -> str:
    return "-" if value is None else str(value)


def main(argv: list[str] | None = None) -> int:
    """Start a network, run the campaign, print and write the summary."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--attack", choices=("all", *ATTACKS), default="all")
    parser.add_argument("--duration-s", type=float, default=30.0)
    parser.add_argument("--baseline-s", type=float, default=30.0)
    add_common_options(parser, DEFAULT_OUT)
    args = parser.parse_args(argv)
    directory = network_directory(args, "byzantine")
    attacks = list(ATTACKS) if args.attack == "all" else [args.attack]
    net = LocalNetwork.create(directory)
    try:
        summary = run_byzantine_campaign(
            net,
            attacks=attacks,
            duration_s=args.duration_s,
            baseline_s=args.baseline_s,
            rate_per_s=args.rate,
        )
    finally:
        net.stop()
    finish(
        summary,
        script="bench/faults/byzantine.py",
        argv=argv,
        directory=directory,
        out=args.out,
        print_summary=print_summary,
    )
    return 1 if summary["transactions_lost"] or summary["forks"] or summary["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())

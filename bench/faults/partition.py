"""Partitions: cut the links of a real 4-process network through a proxy, then heal.

Every node's ``[p2p] peers`` points at a proxy port per ordered pair of nodes
(faultkit.proxy), so the harness decides which pairs can talk. Each round, under
steady load:

1. **2|2** (two groups of two): neither side holds a quorum. After ``--settle-s``
   (in-flight votes land), no new height may be decided for ``--window-s``: no node
   may pass the highest head any node had when the window began (a node behind its
   group partner may still fetch blocks decided before the split).
2. **3|1**: the three must commit ``PROGRESS_BLOCKS`` new blocks; the isolated node's
   height must not change over the same window.
3. **heal**: every link restored; every node must reach the highest height and the
   chain must commit again (the time that takes is the *heal time*).

The groups change from round to round. At the end the load drains and the end
checks run on all four nodes (0 lost transactions, 0 forked heights).

Run (defaults: 5 rounds, reset cuts, 8 tx/s):

    .venv/bin/python bench/faults/partition.py [--rounds 5] [--window-s 8]
        [--cut-mode reset|blackhole] [--rate 8] [--out bench/results/faults/partition.json]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from faultkit.campaign import add_common_options, finish, network_directory
from faultkit.checks import end_checks_or_error, wait_converged
from faultkit.load import Load
from faultkit.localnet import FaultCampaignError, LocalNetwork, wait_for

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "results" / "faults" / "partition.json"
PROGRESS_BLOCKS = 2
"""New blocks the majority side of a 3|1 split must commit."""
SPLITS_2_2 = [((0, 1), (2, 3)), ((0, 2), (1, 3)), ((0, 3), (1, 2))]


def run_partition_campaign(
    net: LocalNetwork,
    *,
    rounds: int,
    rate_per_s: float = 8.0,
    window_s: float = 8.0,
    settle_s: float = 3.0,
    drain_s: float = 90.0,
    out: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run ``rounds`` split/heal rounds on a proxied ``net``; return the summary."""
    proxy = net.proxy
    if proxy is None:
        raise FaultCampaignError("the partition campaign needs a proxied network")
    count = len(net.nodes)
    load = Load(net, rate_per_s=rate_per_s)
    load.start()
    started = time.monotonic()
    results: list[dict[str, Any]] = []
    errors: list[str] = []
    try:
        for number in range(rounds):
            left, right = SPLITS_2_2[number % len(SPLITS_2_2)]
            alone = number % count
            majority = [i for i in range(count) if i != alone]
            try:
                wait_converged(net, list(range(count)))
                record: dict[str, Any] = {"round": number + 1}
                proxy.partition(left, right)
                record["split_2_2"] = _still(net, list(range(count)), settle_s, window_s)
                record["split_2_2"]["groups"] = [list(left), list(right)]
                proxy.partition(majority, [alone])
                record["split_3_1"] = _majority_commits(net, majority, alone, settle_s, window_s)
                healed_at = time.monotonic()
                proxy.heal_all()
                top = wait_converged(net, list(range(count)))
                wait_for(lambda top=top: net.top() > top, "a commit after the heal")  # type: ignore[misc]
                record["heal_s"] = round(time.monotonic() - healed_at, 2)
                results.append(record)
                out(
                    f"round {number + 1}/{rounds}: 2|2 {list(left)}|{list(right)} "
                    f"{'still' if record['split_2_2']['held'] else 'COMMITTED'}; "
                    f"3|1 majority +{record['split_3_1']['majority_new_blocks']} blocks, "
                    f"node{alone} "
                    f"{'still' if record['split_3_1']['isolated_held'] else 'COMMITTED'}; "
                    f"healed and converged in {record['heal_s']:.1f}s"
                )
            except FaultCampaignError as error:
                errors.append(f"round {number + 1}: {error}")
                out(f"round {number + 1}: FAILED: {error}\n{net.log_tails()}")
                proxy.heal_all()
                break
        load.stop_sending()
        proxy.heal_all()
        drained = load.drain(drain_s)
        out(f"load stopped; drained in {drained:.1f}s; running the end checks")
    finally:
        load.stop()
    checks = end_checks_or_error(net, load.committed_hashes(), errors)
    figures = load.figures()
    violations = sum(
        (not r["split_2_2"]["held"]) + (not r["split_3_1"]["isolated_held"]) for r in results
    )
    return {
        "campaign": "partition",
        "cut_mode": proxy.mode,
        "rounds_planned": rounds,
        "rounds_run": len(results),
        "faults_injected": 2 * len(results),
        "still_violations": violations,
        "majority_stalls": sum(1 for r in results if not r["split_3_1"]["majority_progressed"]),
        "max_heal_s": max((r["heal_s"] for r in results), default=None),
        "rounds": results,
        "transactions": figures,
        "transactions_sent": figures["sent"],
        "transactions_committed": figures["committed"],
        "transactions_lost": checks["lost"],
        "forks": checks["forks"],
        "p99_commit_latency_s": figures["latency_p99_s"],
        "duration_s": round(time.monotonic() - started, 1),
        "errors": errors,
        "proxy": proxy.stats(),
        "end_checks": checks,
    }


def _still(net: LocalNetwork, nodes: list[int], settle_s: float, window_s: float) -> dict[str, Any]:
    """Let in-flight messages land, then check no node of ``nodes`` commits for ``window_s``."""
    time.sleep(settle_s)
    before = net.heights(nodes)
    time.sleep(window_s)
    after = net.heights(nodes)
    known = [h for h in before.values() if h is not None]
    # A node behind its group partner may still fetch blocks decided before the split
    # (same hashes; the fork check covers them); a height above every node's head
    # before the window would be a new decision, which no side can make.
    held = len(known) == len(nodes) and all(
        h is not None and h <= max(known) for h in after.values()
    )
    return {
        "heights_before": {f"node{i}": h for i, h in before.items()},
        "heights_after": {f"node{i}": h for i, h in after.items()},
        "held": held,
        "caught_up_inside_group": held and after != before,
        "window_s": window_s,
    }


def _majority_commits(
    net: LocalNetwork, majority: list[int], alone: int, settle_s: float, window_s: float
) -> dict[str, Any]:
    """In a 3|1 split: the three commit, the isolated node does not."""
    time.sleep(settle_s)
    isolated_before = net.height(alone)
    start = net.top(majority)
    progressed = True
    try:
        wait_for(
            lambda: net.top(majority) >= start + PROGRESS_BLOCKS,
            f"the three nodes {majority} to commit {PROGRESS_BLOCKS} blocks",
            timeout_s=60.0,
        )
    except FaultCampaignError:
        progressed = False
    time.sleep(max(0.0, window_s - settle_s))
    isolated_after = net.height(alone)
    return {
        "majority": majority,
        "isolated": alone,
        "majority_new_blocks": net.top(majority) - start,
        "majority_progressed": progressed,
        "isolated_before": isolated_before,
        "isolated_after": isolated_after,
        "isolated_held": isolated_before == isolated_after and isolated_before is not None,
    }


def print_summary(summary: dict[str, Any], out: Callable[[str], None] = print) -> None:
    """The human summary of a partition campaign."""
    out(
        f"\npartition campaign ({summary['cut_mode']} cuts): {summary['rounds_run']}/"
        f"{summary['rounds_planned']} rounds, {summary['faults_injected']} splits, "
        f"{summary['still_violations']} commits where none may happen, "
        f"{summary['majority_stalls']} majority stalls, max heal {summary['max_heal_s']}s\n"
        f"  transactions: {summary['transactions_sent']} sent, "
        f"{summary['transactions_committed']} committed, {summary['transactions_lost']} lost, "
        f"{summary['transactions']['pending']} still pending; forks: {summary['forks']}; "
        f"p99 commit latency {summary['p99_commit_latency_s']}s\n"
        f"  errors: {summary['errors'] or 'none'}"
    )


def main(argv: list[str] | None = None) -> int:
    """Start a proxied network, run the campaign, print and write the summary."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--window-s", type=float, default=8.0)
    parser.add_argument("--settle-s", type=float, default=3.0)
    parser.add_argument("--cut-mode", choices=("reset", "blackhole"), default="reset")
    add_common_options(parser, DEFAULT_OUT)
    args = parser.parse_args(argv)
    directory = network_directory(args, "partition")
    net = LocalNetwork.create(directory, proxied=True, cut_mode=args.cut_mode)
    try:
        summary = run_partition_campaign(
            net,
            rounds=args.rounds,
            rate_per_s=args.rate,
            window_s=args.window_s,
            settle_s=args.settle_s,
        )
    finally:
        net.stop()
    finish(
        summary,
        script="bench/faults/partition.py",
        argv=argv,
        directory=directory,
        out=args.out,
        print_summary=print_summary,
    )
    failed = summary["transactions_lost"] or summary["forks"] or summary["still_violations"]
    return 1 if failed or summary["errors"] or summary["majority_stalls"] else 0


if __name__ == "__main__":
    sys.exit(main())

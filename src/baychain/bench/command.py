"""``baychain bench``: the command line of the benchmark.

::

    baychain bench [--workload W] [--txs N] [--accounts N] [--mode closed|open] [--rate R]
                   [--concurrency C] [--batch B] [--nodes N | --nodes 1,4,7]
                   [--crypto ecdsa|sm] [--block-interval-ms MS] [--block-gas-limit GAS]
                   [--compare hardhat,ganache]
                   [--target URL [--ws-url URL]] [--funded-accounts N[,N...]]
                   [--duration-s S] [--out DIR] [--peers-dir DIR] [--seed N] [--timeout S]
                   [--json]

A malformed or conflicting option exits with status 2 and a usage message; a
target that cannot be installed, started or loaded prints ``error: ...`` and
exits with status 1 (after writing what the other targets measured). Progress
goes to stderr; the summary table and the output paths to stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from baychain.bench.errors import BenchError
from baychain.bench.loadgen import MODES
from baychain.bench.runner import PEERS, BenchOptions, BenchOutcome, run_benchmark
from baychain.bench.workloads import WORKLOADS

__all__ = ["add_bench_parser", "format_table"]


def add_bench_parser(commands: Any) -> None:
    """Register ``bench`` on the ``baychain`` sub-command parsers ``commands``."""
    defaults = BenchOptions()
    bench = commands.add_parser(
        "bench",
        help="measure committed tx/s and latency; compare with Hardhat and Ganache",
        description="Load a chain with pre-signed transactions and measure committed "
        "throughput, commit latency, success rate, CPU and memory. Writes results.jsonl "
        "and report.html into --out.",
    )
    add = bench.add_argument
    add("--workload", choices=WORKLOADS, default=defaults.workload, help="default eth-transfer")
    add(
        "--txs",
        type=_at_least(1),
        default=defaults.txs,
        metavar="N",
        help=f"transactions to send (default {defaults.txs})",
    )
    add(
        "--accounts",
        type=_at_least(1),
        default=defaults.accounts,
        metavar="N",
        help=f"sending accounts, the first development keys (default {defaults.accounts})",
    )
    add(
        "--mode",
        choices=MODES,
        default=defaults.mode,
        help="closed: fixed concurrency; open: fixed rate (default closed)",
    )
    add(
        "--rate",
        type=_positive_float,
        default=None,
        metavar="R",
        help="open loop: transactions per second offered",
    )
    add(
        "--concurrency",
        type=_at_least(1),
        default=defaults.concurrency,
        metavar="C",
        help=f"closed loop: batches in flight (default {defaults.concurrency})",
    )
    add(
        "--batch",
        type=_at_least(1),
        default=defaults.batch,
        metavar="B",
        help=f"transactions per JSON-RPC batch, 1 = plain requests (default {defaults.batch})",
    )
    add(
        "--nodes",
        type=_int_list(1),
        default=defaults.nodes,
        metavar="N[,N...]",
        help="BayChain validators; several values run a scaling series (default 1)",
    )
    add("--crypto", choices=("ecdsa", "sm"), default=defaults.crypto, help="default ecdsa")
    add(
        "--block-interval-ms",
        type=_at_least(1),
        default=defaults.block_interval_ms,
        metavar="MS",
        help=f"BayChain block interval (default {defaults.block_interval_ms})",
    )
    add(
        "--block-gas-limit",
        type=_at_least(1),
        default=defaults.block_gas_limit,
        metavar="GAS",
        help=f"BayChain block gas limit (default {defaults.block_gas_limit:,})",
    )
    add(
        "--compare",
        type=_name_list(PEERS),
        default=(),
        metavar="PEER[,PEER]",
        help="also measure these peers, installed from npm: hardhat, ganache",
    )
    add(
        "--target",
        dest="target_url",
        default=None,
        metavar="URL",
        help="measure a running JSON-RPC endpoint instead of starting BayChain",
    )
    add(
        "--ws-url",
        default=None,
        metavar="URL",
        help="the --target's WebSocket endpoint for newHeads (default: poll)",
    )
    add(
        "--funded-accounts",
        type=_int_list(0),
        default=(),
        metavar="N[,N...]",
        help="fund a population of N accounts in genesis; several values run a series",
    )
    add(
        "--duration-s",
        type=_positive_float,
        default=None,
        metavar="S",
        help="soak: run open loop at --rate for S seconds and report the memory trend",
    )
    add(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="output directory (default ./bench-results/<UTC timestamp>)",
    )
    add(
        "--peers-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="where Hardhat and Ganache are installed "
        "(default $BAYCHAIN_BENCH_HOME or ~/.cache/baychain/bench-peers)",
    )
    add(
        "--seed",
        type=_at_least(0),
        default=defaults.seed,
        metavar="N",
        help="seed of the workload's choices (default 0)",
    )
    add(
        "--timeout",
        dest="timeout_s",
        type=_positive_float,
        default=defaults.timeout_s,
        metavar="S",
        help=f"per request, and for commits after the last send (default {defaults.timeout_s:g})",
    )
    add("--json", action="store_true", help="print the records as JSON instead of a table")
    bench.set_defaults(command=_command(bench))


def _command(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        options = BenchOptions(
            workload=args.workload,
            txs=args.txs,
            accounts=args.accounts,
            mode=args.mode,
            rate=args.rate,
            concurrency=args.concurrency,
            batch=args.batch,
            nodes=args.nodes,
            crypto=args.crypto,
            block_interval_ms=args.block_interval_ms,
            block_gas_limit=args.block_gas_limit,
            compare=args.compare,
            target_url=args.target_url,
            ws_url=args.ws_url,
            funded_accounts=args.funded_accounts,
            duration_s=args.duration_s,
            seed=args.seed,
            out_dir=args.out,
            peers_dir=args.peers_dir,
            timeout_s=args.timeout_s,
        )
        try:
            options.check()
        except BenchError as error:
            parser.error(str(error))  # exits with status 2
        outcome = run_benchmark(options, log=sys.stderr)
        _print(outcome, as_json=args.json)
        for message in outcome.errors:
            print(f"error: {message}", file=sys.stderr)
        return 1 if outcome.errors else 0

    return run


def _print(outcome: BenchOutcome, *, as_json: bool) -> None:
    if as_json:
        document = {
            "records": outcome.records,
            "results": str(outcome.results_path),
            "report": str(outcome.report_path),
        }
        print(json.dumps(document, indent=2))
        return
    print(format_table(outcome.records))
    print(f"results: {outcome.results_path}")
    print(f"report:  {outcome.report_path}")


def format_table(records: list[dict[str, Any]]) -> str:
    """The results as a text table, then each comparison's ratios."""
    header = (
        "target",
        "tx/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "success",
        "committed",
        "CPU s/ktx",
        "peak RSS MB",
    )
    rows = [header]
    for record in records:
        if record.get("kind") == "error":
            rows.append((record["target"], "failed", "", "", "", "", "", "", ""))
        if record.get("kind") != "result":
            continue
        s, r = record["summary"], record.get("resources") or {}
        per_tx = r.get("cpu_seconds_per_tx")
        rss = r.get("peak_rss_bytes")
        rows.append(
            (
                record["label"],
                f"{s['committed_tps']:.1f}",
                _ms(s["latency_p50_ms"]),
                _ms(s["latency_p95_ms"]),
                _ms(s["latency_p99_ms"]),
                f"{100 * s['success_rate']:.1f}%",
                f"{s['committed']}/{s['txs']}",
                f"{1000 * per_tx:.2f}" if per_tx is not None else "-",
                f"{rss / 2**20:.0f}" if rss else "-",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]
    for record in records:
        if record.get("kind") == "comparison":
            for peer, ratio in record["ratios"].items():
                shown = f"{ratio:.2f}x" if ratio is not None else "n/a (no commits)"
                lines.append(f"{record['baseline']} / {peer}: {shown} committed tx/s")
    return "\n".join(lines)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _at_least(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def _int_list(minimum: int) -> Callable[[str], tuple[int, ...]]:
    parse_one = _at_least(minimum)

    def parse(text: str) -> tuple[int, ...]:
        values = tuple(parse_one(part.strip()) for part in text.split(","))
        if len(set(values)) != len(values):
            raise argparse.ArgumentTypeError(f"{text!r} repeats a value")
        return values

    return parse


def _name_list(allowed: tuple[str, ...]) -> Callable[[str], tuple[str, ...]]:
    def parse(text: str) -> tuple[str, ...]:
        names = tuple(part.strip() for part in text.split(","))
        for name in names:
            if name not in allowed:
                raise argparse.ArgumentTypeError(
                    f"unknown peer {name!r}; choose from {', '.join(allowed)}"
                )
        if len(set(names)) != len(names):
            raise argparse.ArgumentTypeError(f"{text!r} names a peer twice")
        return names

    return parse

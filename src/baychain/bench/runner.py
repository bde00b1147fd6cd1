"""A benchmark run: targets started one after another, loaded, measured, stopped; records written.

For each target (BayChain first, then each ``compare`` peer, or one external
endpoint): start it, pre-sign the workload (:func:`.workloads.prepare`), sample
its processes' CPU and memory while :func:`.loadgen.run_load` sends the load,
summarize (:func:`.metrics.summarize`), and stop it, always. Each result is one
JSON record, appended to ``results.jsonl`` as soon as it exists::

    {"kind": "result", "target": "baychain", "label": "baychain (4 nodes)",
     "manifest": {...machine, target, run parameters...}, "summary": {...},
     "resources": {...}, "series": {...}}

then one ``{"kind": "comparison", ...}`` record per BayChain result when peers
ran (ratio = BayChain's committed tx/s over the peer's), and ``report.html``.
A target that fails is recorded as ``{"kind": "error", ...}`` and the run goes on.

Scaling runs: ``nodes`` or ``funded_accounts`` with several values run one
BayChain target per value; ``duration_s`` makes a soak (open loop at ``rate``
for that long) whose memory trend is reported as the RSS slope.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import shutil
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from baychain.bench.errors import BenchError
from baychain.bench.loadgen import MAX_BATCH, MODES, Progress, run_load
from baychain.bench.manifest import machine_info
from baychain.bench.metrics import rss_slope, summarize
from baychain.bench.peers import default_peers_dir, ensure_peers
from baychain.bench.population import (
    BENCH_TOKEN_ADDRESS,
    MAX_POPULATION,
    funded_addresses,
    population_alloc,
)
from baychain.bench.report import append_jsonl, write_html
from baychain.bench.resources import ResourceSampler, ResourceSummary
from baychain.bench.target import (
    MAX_DEV_ACCOUNTS,
    BayChainTarget,
    Endpoint,
    ExternalTarget,
    GanacheTarget,
    HardhatTarget,
    Target,
)
from baychain.bench.workloads import WORKLOADS, prepare
from baychain.crypto import dev_private_keys, get_suite
from baychain.node.genesis import GenesisAccount
from baychain.primitives import Address
from baychain.sdk.client import Client, Signer

__all__ = [
    "COMMIT_CRITERION",
    "PEERS",
    "BenchOptions",
    "BenchOutcome",
    "comparisons",
    "default_out_dir",
    "run_benchmark",
]

PEERS = ("hardhat", "ganache")
"""The peers ``compare`` may name."""
COMMIT_CRITERION = "block containing the tx announced by newHeads"
"""What counts as committed (when newHeads is not available: seen by polling eth_blockNumber)."""
POPULATION_ETH_WEI = 10**18
"""Ether each population account holds."""
POPULATION_TOKENS = 10**24
"""Genesis-token units each population account and each sender holds."""
MIN_BLOCK_GAS_LIMIT = 1_000_000
"""Room for the largest workload transaction (a Token deployment) with margin."""
MAX_BLOCK_GAS_LIMIT = 2**63 - 1
START_TIMEOUT_S = 120.0
"""Seconds to wait for a fresh BayChain network's first block..."""
START_SECONDS_PER_FUNDED_ACCOUNT = 1e-4
"""...plus this per funded account: a 1M-account genesis takes about half a minute to commit."""


@dataclass(frozen=True)
class BenchOptions:
    """Everything one ``baychain bench`` invocation decides; :meth:`check` validates it."""

    workload: str = "eth-transfer"
    txs: int = 2_000
    accounts: int = 100
    """Senders: the first development keys of the suite, funded by every target."""
    mode: str = "closed"
    rate: float | None = None
    """Open loop: transactions per second offered."""
    concurrency: int = 4
    batch: int = 100
    nodes: tuple[int, ...] = (1,)
    crypto: str = "ecdsa"
    block_interval_ms: int = 200
    block_gas_limit: int = 300_000_000
    """BayChain's block gas limit: room for about 4,600 ERC-20 transfers per block."""
    compare: tuple[str, ...] = ()
    target_url: str | None = None
    """An external JSON-RPC endpoint to measure instead of starting BayChain."""
    ws_url: str | None = None
    funded_accounts: tuple[int, ...] = ()
    duration_s: float | None = None
    """A soak: open loop at ``rate`` for this long (``txs`` is then rate x duration)."""
    seed: int = 0
    out_dir: Path | None = None
    peers_dir: Path | None = None
    timeout_s: float = 120.0
    """Per request, and for the commits after the last send."""

    def check(self) -> None:
        """Raise :class:`BenchError` naming the first option out of range or in conflict."""
        _check(
            self.workload in WORKLOADS,
            f"unknown workload {self.workload!r}; choose one of " + ", ".join(WORKLOADS),
        )
        _check(self.mode in MODES, f"unknown mode {self.mode!r}; choose closed or open")
        _check(self.txs >= 1, f"--txs must be at least 1, got {self.txs}")
        _check(
            1 <= self.accounts <= MAX_DEV_ACCOUNTS,
            f"--accounts must be between 1 and {MAX_DEV_ACCOUNTS}, got {self.accounts}",
        )
        _check(self.concurrency >= 1, f"--concurrency must be at least 1, got {self.concurrency}")
        _check(
            1 <= self.batch <= MAX_BATCH,
            f"--batch must be between 1 and {MAX_BATCH}, got {self.batch}",
        )
        _check(self.timeout_s > 0, f"--timeout must be positive, got {self.timeout_s}")
        _check(
            self.block_interval_ms >= 1,
            f"--block-interval-ms must be at least 1, got {self.block_interval_ms}",
        )
        _check(
            MIN_BLOCK_GAS_LIMIT <= self.block_gas_limit <= MAX_BLOCK_GAS_LIMIT,
            f"--block-gas-limit must be between {MIN_BLOCK_GAS_LIMIT:,} and "
            f"{MAX_BLOCK_GAS_LIMIT:,}, got {self.block_gas_limit:,}",
        )
        get_suite(self.crypto)
        if self.mode == "open":
            _check(self.rate is not None and self.rate > 0, "--mode open needs --rate R > 0 (tx/s)")
        else:
            _check(self.rate is None, "--rate applies to --mode open only")
        if self.duration_s is not None:
            _check(self.duration_s > 0, f"--duration-s must be positive, got {self.duration_s}")
            _check(self.mode == "open", "a soak (--duration-s) runs open loop: add --mode open")
        _check(bool(self.nodes) and all(n >= 1 for n in self.nodes), "--nodes must be at least 1")
        _check(
            all(0 <= n <= MAX_POPULATION for n in self.funded_accounts),
            f"--funded-accounts must be between 0 and {MAX_POPULATION}",
        )
        _check(
            len(self.nodes) == 1 or len(self.funded_accounts) <= 1,
            "scale one thing at a time: several --nodes or several --funded-accounts",
        )
        unknown = [name for name in self.compare if name not in PEERS]
        _check(
            not unknown, f"unknown peer {', '.join(unknown)}; --compare takes " + ", ".join(PEERS)
        )
        _check(len(set(self.compare)) == len(self.compare), "--compare names a peer twice")
        _check(
            not self.compare or self.crypto == "ecdsa",
            "Hardhat and Ganache sign with secp256k1 only: use --crypto ecdsa with --compare",
        )
        if self.target_url is not None:
            _check(
                self.nodes == (1,) and not self.funded_accounts,
                "--nodes and --funded-accounts configure a BayChain the bench starts; "
                "they do not apply to --target",
            )
        else:
            _check(self.ws_url is None, "--ws-url applies to --target only")

    @property
    def total_txs(self) -> int:
        """Transactions to send: ``txs``, or rate x duration for a soak."""
        if self.duration_s is not None and self.rate is not None:
            return max(1, math.ceil(self.rate * self.duration_s))
        return self.txs


@dataclass(frozen=True)
class BenchOutcome:
    """What a run wrote: its records and where."""

    records: list[dict[str, Any]]
    results_path: Path
    report_path: Path
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Run:
    """One target to measure: its label, how to build it, and its population."""

    label: str
    make: Callable[[Path], Target]
    funded_accounts: int = 0


def default_out_dir(now: datetime | None = None) -> Path:
    """``./bench-results/<UTC timestamp>``."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return Path("bench-results") / stamp


def run_benchmark(options: BenchOptions, *, log: TextIO = sys.stderr) -> BenchOutcome:
    """Run every target of ``options`` in turn; write results.jsonl and report.html.

    Progress and the targets' own messages go to ``log``. Raises
    :class:`BenchError` for invalid options or a peer install that fails; a
    target that fails to start or run is recorded and the others still run.
    """
    options.check()
    out_dir = options.out_dir or default_out_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    results_path, report_path = out_dir / "results.jsonl", out_dir / "report.html"
    if options.compare:
        ensure_peers(options.peers_dir or default_peers_dir(), options.compare, out=log)
    keys = dev_private_keys(options.crypto, options.accounts)
    records: list[dict[str, Any]] = []
    errors: list[str] = []
    for run in _runs(options, keys, log):
        workdir = out_dir / "work" / _slug(run.label)
        try:
            record = _measure(run, options, keys, workdir, log)
        except BenchError as error:
            errors.append(f"{run.label}: {error}")
            record = {"kind": "error", "target": run.label, "message": str(error)}
            log.write(f"[{run.label}] failed: {error}\n")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
        append_jsonl(results_path, record)
        records.append(record)
    with contextlib.suppress(OSError):  # kept only when it holds a failed run's logs
        (out_dir / "work").rmdir()
    for comparison in comparisons(records):
        append_jsonl(results_path, comparison)
        records.append(comparison)
    write_html(report_path, records)
    return BenchOutcome(records, results_path, report_path, errors)


def _runs(options: BenchOptions, keys: list[bytes], log: TextIO) -> list[_Run]:
    runs: list[_Run] = []
    if options.target_url is not None:
        url, ws = options.target_url, options.ws_url
        runs.append(_Run("external", lambda _: ExternalTarget(url, ws)))
    else:
        senders = tuple(Signer.from_key(options.crypto, key).address for key in keys)
        populations = options.funded_accounts or (0,)
        for nodes in options.nodes:
            for funded in populations:
                runs.append(
                    _Run(
                        _baychain_label(options, nodes, funded),
                        _baychain_factory(options, nodes, funded, senders, log),
                        funded,
                    )
                )
    peers_dir = options.peers_dir or default_peers_dir()
    for name in options.compare:
        runs.append(_Run(name, _peer_factory(name, peers_dir, options.accounts, log)))
    return runs


def _peer_factory(
    name: str, peers_dir: Path, accounts: int, log: TextIO
) -> Callable[[Path], Target]:
    peer = HardhatTarget if name == "hardhat" else GanacheTarget

    def make(_: Path) -> Target:
        return peer(peers_dir, dev_accounts=accounts, out=log)

    return make


def _baychain_label(options: BenchOptions, nodes: int, funded: int) -> str:
    parts = []
    if len(options.nodes) > 1:
        parts.append(f"{nodes} node" + ("s" if nodes > 1 else ""))
    if len(options.funded_accounts) > 1:
        parts.append(f"{funded:,} funded accounts")
    return "baychain" + (f" ({', '.join(parts)})" if parts else "")


def _baychain_factory(
    options: BenchOptions, nodes: int, funded: int, senders: tuple[Address, ...], log: TextIO
) -> Callable[[Path], Target]:
    def make(workdir: Path) -> Target:
        alloc: tuple[tuple[Address, GenesisAccount], ...] = ()
        if funded:
            alloc = population_alloc(
                funded,
                senders=senders,
                eth_balance=POPULATION_ETH_WEI,
                token_balance=POPULATION_TOKENS,
                seed=options.seed,
            )
        return BayChainTarget(
            workdir,
            nodes=nodes,
            crypto=options.crypto,
            dev_accounts=options.accounts,
            block_interval_ms=options.block_interval_ms,
            block_gas_limit=options.block_gas_limit,
            extra_alloc=alloc,
            start_timeout_s=START_TIMEOUT_S + START_SECONDS_PER_FUNDED_ACCOUNT * funded,
            out=log,
        )

    return make


def _measure(
    run: _Run, options: BenchOptions, keys: list[bytes], workdir: Path, log: TextIO
) -> dict[str, Any]:
    """Start, prepare, load, sample and stop one target; return its result record."""
    workdir.parent.mkdir(parents=True, exist_ok=True)
    target = run.make(workdir)
    try:
        endpoint = target.start()
        log.write(f"[{run.label}] preparing {options.total_txs} {options.workload} transactions\n")
        load = prepare(
            Client(endpoint.rpc_url, timeout_s=options.timeout_s),
            options.workload,
            suite=options.crypto,
            sender_keys=keys,
            txs=options.total_txs,
            recipients=funded_addresses(run.funded_accounts, options.seed) or None,
            seed=options.seed,
            token=BENCH_TOKEN_ADDRESS if run.funded_accounts else None,
        )
        log.write(f"[{run.label}] sending ({_describe_mode(options)})\n")
        sampler = ResourceSampler(endpoint.pids) if endpoint.pids else None
        if sampler is not None:
            sampler.start()
        try:
            result = asyncio.run(
                run_load(
                    endpoint,
                    load,
                    mode=options.mode,
                    rate=options.rate,
                    concurrency=options.concurrency,
                    batch=options.batch,
                    timeout_s=options.timeout_s,
                    progress=_progress_printer(run.label, log),
                )
            )
        finally:
            resources = sampler.stop() if sampler is not None else None
    finally:
        target.stop()
    figures = summarize(result)
    return {
        "kind": "result",
        "target": endpoint.name,
        "label": run.label,
        "manifest": _manifest(endpoint, options, run, load.setup, result.observer),
        "summary": figures["summary"],
        "resources": _resources(resources, result.committed),
        "series": figures["series"],
    }


def _describe_mode(options: BenchOptions) -> str:
    if options.mode == "open":
        return f"open loop at {options.rate:g} tx/s, batches of up to {options.batch}"
    return f"closed loop, {options.concurrency} clients, batches of up to {options.batch}"


def _progress_printer(label: str, log: TextIO) -> Callable[[Progress], None]:
    def show(p: Progress) -> None:
        log.write(
            f"[{label}] {p.elapsed_s:5.1f} s  sent {p.sent}/{p.total}  committed {p.committed}"
            f"  failed {p.failed}  {p.tps:.0f} tx/s\n"
        )
        log.flush()

    return show


def _manifest(
    endpoint: Endpoint, options: BenchOptions, run: _Run, setup: dict[str, Any], observer: str
) -> dict[str, Any]:
    """machine_info() + the target's manifest + the run's parameters (flat)."""
    criterion = COMMIT_CRITERION
    if observer != "newHeads":
        criterion = "block containing the tx, seen by polling eth_blockNumber every 50 ms"
    return {
        **machine_info(),
        **endpoint.manifest,
        "target": endpoint.name,
        "label": run.label,
        "workload": options.workload,
        "tx_count": options.total_txs,
        "senders": options.accounts,
        "mode": options.mode,
        "rate_tps": options.rate,
        "concurrency": options.concurrency,
        "batch": options.batch,
        "duration_s": options.duration_s,
        "funded_accounts": run.funded_accounts,
        "seed": options.seed,
        "timeout_s": options.timeout_s,
        "commit_criterion": criterion,
        "setup": setup,
    }


def _resources(summary: ResourceSummary | None, committed: int) -> dict[str, Any] | None:
    """CPU and memory of the target's processes during the load (None: nothing to sample)."""
    if summary is None:
        return None
    record = asdict(summary)
    samples = [(t, cpu, rss) for t, cpu, rss in summary.samples]
    slope = rss_slope([(t, rss) for t, _, rss in samples])
    record["samples"] = [[round(t, 3), round(cpu, 1), rss] for t, cpu, rss in samples]
    record["cpu_seconds_per_tx"] = summary.cpu_seconds / committed if committed else None
    record["rss_slope_bytes_per_s"] = slope
    return record


def comparisons(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One comparison per non-peer result: its committed tx/s over each peer's (None: 0 tx/s).

    Empty when no peer result is among ``records``.
    """
    results = [r for r in records if r.get("kind") == "result"]
    peers = [r for r in results if r["target"] in PEERS]
    if not peers:
        return []
    found = []
    for base in (r for r in results if r["target"] not in PEERS):
        base_tps = base["summary"]["committed_tps"]
        found.append(
            {
                "kind": "comparison",
                "baseline": base["label"],
                "committed_tps": {
                    r["label"]: r["summary"]["committed_tps"] for r in [base, *peers]
                },
                "ratios": {
                    p["label"]: round(base_tps / p["summary"]["committed_tps"], 3)
                    if p["summary"]["committed_tps"]
                    else None
                    for p in peers
                },
            }
        )
    return found


def _slug(label: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in label).strip("-")


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise BenchError(message)

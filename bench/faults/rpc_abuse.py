"""RPC abuse: what abusive JSON-RPC clients of node0 cost the node and the network.

A network is started with ``baychain up --detach`` on free ports (four validators by
default, ``--nodes 1`` for a solo node). Three parties talk to the nodes' JSON-RPC,
each from its own loopback address because the node's bounds are per address:

- **load** (127.0.0.3): a steady rate of transfers between the dev accounts, sent to
  every node in turn, node0 included (faultkit.load), and an observer of commits;
- **probe** (127.0.0.2): ``eth_blockNumber`` to node0 every ``PROBE_EVERY_S``, a fresh
  connection each, failed after ``PROBE_TIMEOUT_S``;
- **abuser** (127.0.0.1): ``bench/faults/rpc_abusers.py`` in a process of its own, one
  abuse at a time against node0 for ``--duration-s``.

Phases: ``baseline`` (no abuse, ``--baseline-s``), one per abuse, then ``after`` (no
abuse again, to see whether anything outlives its abuse). Between phases the harness
waits ``SETTLE_S`` unmeasured. For each phase: blocks committed per second (the
highest head of any node, before and after the window), the load's commit latency
p50 / p99 (transactions first sent in the window), the probe's answered / failed and
latency p50 / p99 (a failed probe counts as infinitely slow), node0's CPU seconds and
resident memory, and the abuser's own counts.

**The goal, per abuse**: blocks/s at least ``GOAL_BLOCK_RATE_FRACTION`` of the
baseline's, and probe p99 at most ``GOAL_PROBE_P99_S``.

Run (defaults: every abuse, 30 s each, 4 nodes, 8 tx/s):

    .venv/bin/python bench/faults/rpc_abuse.py [--abuse all|slowloris|oversized-bodies|
        deep-json|call-batches|subscription-flood] [--nodes 4] [--duration-s 30]
        [--baseline-s 30] [--rate 8] [--out bench/results/faults/rpc-abuse.json]

Simplifications, honestly listed: the abuser, the load, the probe and every node share
one machine's cores, so CPU the abuser spends on itself is CPU the nodes lack (its own
CPU seconds are reported); the block rate is sampled at the window's two ends, so it
is exact to one block.
"""

from __future__ import annotations

import argparse
import http.client
import json
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from faultkit.load import Load, percentile
from faultkit.localnet import (
    RPC_TIMEOUT_S,
    FaultCampaignError,
    LocalNetwork,
    environment,
    snapshot_sources,
    wait_for,
)
from rpc_abusers import ABUSES

from baychain.sdk.client import Client, RpcCallError

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE.parent / "results" / "faults" / "rpc-abuse.json"

ABUSER_SOURCE = "127.0.0.1"
PROBE_SOURCE = "127.0.0.2"
LOAD_SOURCE = "127.0.0.3"
"""Also the source of the harness's own reads (heights)."""
PROBE_EVERY_S = 0.1
PROBE_TIMEOUT_S = 5.0
SETTLE_S = 3.0
"""Unmeasured pause between phases (the node closes what the abuser left open)."""
DRAIN_S = 60.0
"""How long the load's last transactions may take to commit after the last phase."""
READY_TIMEOUT_S = 60.0
ABUSER_GRACE_S = 60.0
"""How long past its duration the abuser may take to close and write its counts."""

GOAL_BLOCK_RATE_FRACTION = 0.5
"""Blocks/s during an abuse must be at least this fraction of the baseline's."""
GOAL_PROBE_P99_S = 1.0
"""The probe's p99 latency during an abuse must be at most this."""


# ----- clients from a chosen source address ---------------------------------------------


class SourcedClient(Client):
    """A :class:`Client` whose connections leave from ``source`` (one connection per call)."""

    def __init__(self, url: str, *, source: str, timeout_s: float = 30.0) -> None:
        super().__init__(url, timeout_s=timeout_s)
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.source = source

    def call(self, method: str, *params: Any) -> Any:
        """Call ``method`` over a fresh connection from :attr:`source`."""
        self._next_id += 1
        body = json.dumps(
            {"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": list(params)}
        ).encode()
        connection = http.client.HTTPConnection(
            self.host, self.port, timeout=self.timeout_s, source_address=(self.source, 0)
        )
        try:
            connection.request("POST", "/", body, {"Content-Type": "application/json"})
            response = connection.getresponse()
            payload = response.read()
        finally:
            connection.close()
        if response.status != 200:
            raise http.client.HTTPException(f"HTTP {response.status}: {payload[:200]!r}")
        answer = json.loads(payload)
        if "error" in answer:
            error = answer["error"]
            raise RpcCallError(
                method, error.get("code", 0), error.get("message", ""), error.get("data")
            )
        return answer["result"]


class SourcedNetwork(LocalNetwork):
    """A :class:`LocalNetwork` whose clients (the load's, the harness's) use :data:`LOAD_SOURCE`."""

    def client(self, index: int, timeout_s: float = RPC_TIMEOUT_S) -> Client:
        """A client of node ``index`` from :data:`LOAD_SOURCE`."""
        return SourcedClient(self.nodes[index].rpc_url, source=LOAD_SOURCE, timeout_s=timeout_s)


# ----- the probe --------------------------------------------------------------------------


@dataclass(frozen=True)
class ProbeResult:
    """One probe: when it was sent, how long it took, whether it was answered."""

    sent: float
    latency_s: float
    answered: bool
    error: str = ""


class Probe:
    """``eth_blockNumber`` to one node every :data:`PROBE_EVERY_S`, on a thread of its own."""

    def __init__(self, url: str) -> None:
        self.client = SourcedClient(url, source=PROBE_SOURCE, timeout_s=PROBE_TIMEOUT_S)
        self.results: list[ProbeResult] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="probe", daemon=True)

    def start(self) -> None:
        """Start probing."""
        self._thread.start()

    def stop(self) -> None:
        """Stop probing."""
        self._stop.set()
        self._thread.join(timeout=PROBE_TIMEOUT_S + 5)

    def _loop(self) -> None:
        next_at = time.monotonic()
        while not self._stop.is_set():
            sent = time.monotonic()
            try:
                self.client.block_number()
            except (OSError, http.client.HTTPException, ValueError, RpcCallError) as error:
                result = ProbeResult(sent, time.monotonic() - sent, False, _short(error))
            else:
                result = ProbeResult(sent, time.monotonic() - sent, True)
            self.results.append(result)
            next_at = max(next_at + PROBE_EVERY_S, time.monotonic())
            self._stop.wait(max(0.0, next_at - time.monotonic()))

    def figures(self, start: float, end: float) -> dict[str, Any]:
        """Answered / failed and latency of the probes sent in ``[start, end)``."""
        chosen = [r for r in list(self.results) if start <= r.sent < end]
        answered = [r.latency_s for r in chosen if r.answered]
        failed = [r for r in chosen if not r.answered]
        # A failed probe counts as infinitely slow.
        latencies = answered + [float("inf")] * len(failed)
        p99 = percentile(latencies, 0.99)
        errors: dict[str, int] = {}
        for r in failed:
            errors[r.error] = errors.get(r.error, 0) + 1
        return {
            "sent": len(chosen),
            "answered": len(answered),
            "failed": len(failed),
            "latency_p50_s": _round(percentile(latencies, 0.50)),
            "latency_p99_s": _round(p99),
            "latency_max_answered_s": _round(max(answered, default=None)),
            "errors": errors,
        }


def _short(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:80]


def _round(value: float | None) -> float | str | None:
    if value is None:
        return None
    if value == float("inf"):
        return "inf"
    return round(value, 3)


# ----- node0's process ----------------------------------------------------------------


def process_usage(pid: int | None) -> dict[str, float] | None:
    """CPU seconds and resident MiB of ``pid`` (Linux /proc), or None when it is gone."""
    if pid is None:
        return None
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    ticks = 100.0  # os.sysconf("SC_CLK_TCK") on Linux
    rss_kib = next(
        (int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0
    )
    return {"cpu_s": (int(stat[11]) + int(stat[12])) / ticks, "rss_mib": rss_kib / 1024}


# ----- the campaign ---------------------------------------------------------------------


def run_rpc_abuse_campaign(
    net: LocalNetwork,
    *,
    abuses: Sequence[str],
    duration_s: float = 30.0,
    baseline_s: float = 30.0,
    rate_per_s: float = 8.0,
    settle_s: float = SETTLE_S,
    work_dir: Path | None = None,
    out: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run the baseline, each abuse against node0, and the after phase; return the summary."""
    work = work_dir or net.directory / "rpc-abuse"
    work.mkdir(parents=True, exist_ok=True)
    target = net.nodes[0]
    max_body = _max_body_bytes(target.directory / "node.toml")
    load = Load(net, rate_per_s=rate_per_s)
    probe = Probe(target.rpc_url)
    load.start()
    probe.start()
    started = time.monotonic()
    everyone = list(range(len(net.nodes)))
    top = net.top(everyone)
    wait_for(lambda: net.top(everyone) > top, "the network to commit a block")
    plan: list[tuple[str, str | None, float]] = [("baseline", None, baseline_s)]
    plan += [(abuse, abuse, duration_s) for abuse in abuses]
    plan += [("after", None, baseline_s)]
    phases: list[dict[str, Any]] = []
    errors: list[str] = []
    try:
        for label, abuse, seconds in plan:
            time.sleep(settle_s if phases else 0.0)
            try:
                phase = _run_phase(net, label, abuse, seconds, max_body, work)
            except FaultCampaignError as error:
                errors.append(f"{label}: {error}")
                out(f"{label}: FAILED: {error}")
                continue
            phase["probe"] = probe.figures(phase["start"], phase["end"])
            phases.append(phase)
            out(
                f"{label}: +{phase['blocks']} blocks in {phase['window_s']:.1f}s; probe "
                f"{phase['probe']['answered']}/{phase['probe']['sent']} answered, "
                f"p99 {phase['probe']['latency_p99_s']}s"
            )
            if not phase["node0_alive"]:
                errors.append(f"{label}: node0 exited")
                out(f"{label}: node0 exited; stopping the campaign")
                break
        load.stop_sending()
        drained = load.drain(DRAIN_S)
        out(f"load stopped; the last transactions committed within {drained:.1f}s")
    finally:
        probe.stop()
        load.stop()
    for phase in phases:
        phase["load"] = load.figures((phase["start"], phase["end"]))
    _judge(phases)
    return {
        "campaign": "rpc-abuse",
        "nodes": len(net.nodes),
        "target": "node0",
        "sources": {"abuser": ABUSER_SOURCE, "probe": PROBE_SOURCE, "load": LOAD_SOURCE},
        "rate_per_s": rate_per_s,
        "duration_s": duration_s,
        "baseline_s": baseline_s,
        "max_body_bytes": max_body,
        "goal": {
            "block_rate_fraction_of_baseline": GOAL_BLOCK_RATE_FRACTION,
            "probe_p99_s": GOAL_PROBE_P99_S,
        },
        "phases": phases,
        "transactions": load.figures(),
        "ran_s": round(time.monotonic() - started, 1),
        "errors": errors,
    }


def _run_phase(
    net: LocalNetwork,
    label: str,
    abuse: str | None,
    seconds: float,
    max_body: int,
    work: Path,
) -> dict[str, Any]:
    """One window, with the abuser running in it or not; its raw figures."""
    target = net.nodes[0]
    everyone = list(range(len(net.nodes)))
    process: subprocess.Popen[str] | None = None
    stats_file = work / f"{label}.json"
    if abuse is not None:
        process = _start_abuser(abuse, target.rpc_url, seconds, max_body, stats_file, work)
    usage_before = process_usage(target.pid)
    heights_before = net.top(everyone)
    start = time.monotonic()
    try:
        if process is None:
            time.sleep(seconds)
        else:
            process.wait(timeout=seconds + ABUSER_GRACE_S)
    except subprocess.TimeoutExpired:
        raise FaultCampaignError(f"the abuser did not finish; see {work / label}.log") from None
    finally:
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()
    end = time.monotonic()
    heights_after = net.top(everyone)
    usage_after = process_usage(target.pid)
    window = end - start
    phase: dict[str, Any] = {
        "label": label,
        "start": start,
        "end": end,
        "window_s": round(window, 1),
        "blocks": heights_after - heights_before,
        "blocks_per_s": round((heights_after - heights_before) / window, 3),
        "node0_alive": usage_after is not None,
    }
    if usage_before is not None and usage_after is not None:
        phase["node0_cpu_s"] = round(usage_after["cpu_s"] - usage_before["cpu_s"], 1)
        phase["node0_rss_mib"] = round(usage_after["rss_mib"], 1)
    if abuse is not None:
        try:
            phase["abuser"] = json.loads(stats_file.read_text())
        except (OSError, ValueError):
            phase["abuser"] = {"error": f"no counts written; see {work / label}.log"}
    return phase


def _start_abuser(
    abuse: str, url: str, seconds: float, max_body: int, stats_file: Path, work: Path
) -> subprocess.Popen[str]:
    parts = urlsplit(url)
    command = [
        sys.executable, str(HERE / "rpc_abusers.py"), "--abuse", abuse,
        "--host", parts.hostname or "127.0.0.1", "--port", str(parts.port),
        "--source", ABUSER_SOURCE, "--duration-s", str(seconds),
        "--max-body-bytes", str(max_body), "--out", str(stats_file),
    ]  # fmt: skip
    log = work / f"{abuse}.log"
    with log.open("w") as sink:
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=sink, text=True, env=environment(), cwd=HERE
        )
    assert process.stdout is not None
    ready = threading.Event()

    def watch() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("READY"):
                ready.set()

    threading.Thread(target=watch, daemon=True).start()
    if not ready.wait(READY_TIMEOUT_S):
        process.kill()
        process.wait()
        raise FaultCampaignError(f"the abuser did not start; see {log}")
    return process


def _max_body_bytes(node_toml: Path) -> int:
    from baychain.node.host.settings import RPC_LIMIT_DEFAULTS

    rpc = tomllib.loads(node_toml.read_text()).get("rpc", {})
    return int(rpc.get("max_body_bytes", RPC_LIMIT_DEFAULTS["max_body_bytes"]))


def _judge(phases: list[dict[str, Any]]) -> None:
    """Add the load's figures per window and the verdicts; drop the raw window times."""
    base = next((p for p in phases if p["label"] == "baseline"), None)
    base_rate = base["blocks_per_s"] if base else None
    for phase in phases:
        rate = phase["blocks_per_s"]
        phase["block_rate_vs_baseline"] = round(rate / base_rate, 2) if base_rate else None
        p99 = phase["probe"]["latency_p99_s"]
        phase["commits_ok"] = bool(
            base_rate and rate >= GOAL_BLOCK_RATE_FRACTION * base_rate and phase["node0_alive"]
        )
        phase["probe_ok"] = isinstance(p99, float) and p99 <= GOAL_PROBE_P99_S
        phase["within_goal"] = phase["commits_ok"] and phase["probe_ok"]
        del phase["start"], phase["end"]


# ----- output ---------------------------------------------------------------------------


def format_table(summary: dict[str, Any]) -> str:
    """The phases as a plain-text table, with the goal's verdict per abuse."""
    head = (
        f"{'phase':<19} {'blocks/s':>8} {'vs base':>7} {'tx p50':>7} {'tx p99':>7} "
        f"{'probe ok/sent':>13} {'probe p50':>9} {'probe p99':>9} {'node0 cpu':>9} "
        f"{'rss MiB':>7}  goal"
    )
    lines = [head, "-" * len(head)]
    for phase in summary["phases"]:
        load, probe = phase["load"], phase["probe"]
        if phase["label"] in ("baseline", "after"):
            verdict = "-"
        elif phase["within_goal"]:
            verdict = "met"
        else:
            missed = [
                name
                for name, ok in (("commits", phase["commits_ok"]), ("probe", phase["probe_ok"]))
                if not ok
            ]
            verdict = "MISSED (" + ", ".join(missed) + ")"
        lines.append(
            f"{phase['label']:<19} {phase['blocks_per_s']:>8.2f} "
            f"{_cell(phase['block_rate_vs_baseline']):>7} {_cell(load['latency_p50_s']):>7} "
            f"{_cell(load['latency_p99_s']):>7} "
            f"{probe['answered']:>6}/{probe['sent']:<6} {_cell(probe['latency_p50_s']):>9} "
            f"{_cell(probe['latency_p99_s']):>9} {_cell(phase.get('node0_cpu_s')):>9} "
            f"{_cell(phase.get('node0_rss_mib')):>7}  {verdict}"
        )
    goal = summary["goal"]
    lines.append(
        f"goal per abuse: blocks/s >= {goal['block_rate_fraction_of_baseline']:.0%} of the "
        f"baseline's and probe p99 <= {goal['probe_p99_s']} s (a failed probe is infinitely slow)"
    )
    return "\n".join(lines)


def _cell(value: Any) -> str:
    return "-" if value is None else str(value)


def main(argv: list[str] | None = None) -> int:
    """Start a network, run the campaign, print the table, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--abuse", choices=[*ABUSES, "all"], default="all")
    parser.add_argument("--nodes", type=int, default=4)
    parser.add_argument("--duration-s", type=float, default=30.0)
    parser.add_argument("--baseline-s", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=8.0, help="background transfers per second")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--keep", action="store_true", help="leave the network directory")
    args = parser.parse_args(argv)
    abuses = list(ABUSES) if args.abuse == "all" else [args.abuse]
    with tempfile.TemporaryDirectory(prefix="baychain-rpc-abuse-") as temporary:
        directory = Path(temporary)
        snapshot_sources(directory)
        net = SourcedNetwork.create(directory / "net", nodes=args.nodes)
        try:
            summary = run_rpc_abuse_campaign(
                net, abuses=abuses, duration_s=args.duration_s, baseline_s=args.baseline_s,
                rate_per_s=args.rate, work_dir=directory / "work",
            )  # fmt: skip
        finally:
            net.stop()
            if args.keep:
                kept = Path(tempfile.mkdtemp(prefix="baychain-rpc-abuse-kept-"))
                subprocess.run(["cp", "-a", str(directory), str(kept)], check=False)
                print(f"kept the network directory in {kept}")
    summary["command"] = " ".join(["bench/faults/rpc_abuse.py", *(argv or sys.argv[1:])])
    print(format_table(summary))
    for error in summary["errors"]:
        print(f"error: {error}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 1 if summary["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())

"""A short run of ``bench/faults/rpc_abuse.py`` against one solo node.

Each abuse runs for a few seconds against the node's JSON-RPC, from 127.0.0.1, while a
steady load of transfers (127.0.0.3) and a probe (127.0.0.2) use the same node. The
node must keep committing blocks (at least half the baseline's rate) and answer the
probe (p99 at most 1 s). The long run (four nodes, 30 s per abuse) is the script's
default; its figures are in docs/reliability.md.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

FAULTS = Path(__file__).resolve().parents[2] / "bench" / "faults"
ABUSE_S = 4.0


def _load(name: str) -> ModuleType:
    if str(FAULTS) not in sys.path:
        sys.path.insert(0, str(FAULTS))
    return importlib.import_module(name)


rpc_abuse = _load("rpc_abuse")
rpc_abusers = _load("rpc_abusers")


@pytest.fixture(scope="module")
def summary(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    directory = tmp_path_factory.mktemp("rpc-abuse")
    net = rpc_abuse.SourcedNetwork.create(directory / "net", nodes=1, out=print)
    try:
        result: dict[str, Any] = rpc_abuse.run_rpc_abuse_campaign(
            net, abuses=list(rpc_abusers.ABUSES), duration_s=ABUSE_S, baseline_s=ABUSE_S,
            rate_per_s=5.0, settle_s=1.0, work_dir=directory / "work", out=print,
        )  # fmt: skip
    finally:
        net.stop()
    print(rpc_abuse.format_table(result))
    return result


def test_every_phase_ran(summary: dict[str, Any]) -> None:
    assert summary["errors"] == []
    labels = [phase["label"] for phase in summary["phases"]]
    assert labels == ["baseline", *rpc_abusers.ABUSES, "after"]
    baseline = summary["phases"][0]
    assert baseline["blocks"] >= 2
    assert baseline["probe"]["failed"] == 0
    assert baseline["load"]["committed"] > 0


@pytest.mark.parametrize("abuse", rpc_abusers.ABUSES)
def test_node_commits_and_answers_under(summary: dict[str, Any], abuse: str) -> None:
    phase = next(p for p in summary["phases"] if p["label"] == abuse)
    assert phase["node0_alive"]
    assert phase["commits_ok"], (phase["blocks_per_s"], phase["block_rate_vs_baseline"])
    assert phase["probe_ok"], phase["probe"]
    assert phase["load"]["committed"] > 0, phase["load"]
    # The abuse really happened: the abuser opened connections and wrote its counts.
    assert phase["abuser"]["counts"].get("connections_opened", 0) > 0, phase["abuser"]


def test_the_bounds_answered_the_abuses(summary: dict[str, Any]) -> None:
    """Each abuse met the bound meant for it (not some accident)."""
    abuser = {p["label"]: p["abuser"] for p in summary["phases"] if "abuser" in p}
    oversized = abuser["oversized-bodies"]["statuses"]
    # 413, or a reset: the node answers 413 and hangs up without reading the rest of the
    # body, and a client still writing it may see the connection reset before the answer
    refused = {"length:413", "chunked:413", "length:reset", "chunked:reset"}
    assert oversized and set(oversized) <= refused, oversized
    assert any(status.endswith(":413") for status in oversized), oversized
    deep = abuser["deep-json"]
    assert deep["counts"].get("rpc_error_-32700", 0) > 0 or deep["counts"].get(
        "rpc_error_-32600", 0
    ), deep
    flood = abuser["subscription-flood"]["statuses"]
    assert flood.get("101", 0) <= 32 and flood.get("503", 0) > 0, flood  # per-address bound
    slowloris = abuser["slowloris"]["statuses"]
    assert slowloris.get("body:503", 0) > 0, slowloris

"""Short runs of the fault campaigns of ``bench/faults/`` against one real 4-process network.

One proxied network (every node reaches every other through the harness's link
proxy) serves the module, and the tests run in order on it: crash cycles (one of
them a two-down halt), one partition round (2|2, 3|1, heal), then two Byzantine
attacks by validator node3, which is left stopped. The long runs are the scripts'
defaults (docs/reliability.md).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

FAULTS = Path(__file__).resolve().parents[2] / "bench" / "faults"


def _load(name: str) -> ModuleType:
    if str(FAULTS) not in sys.path:
        sys.path.insert(0, str(FAULTS))
    return importlib.import_module(name)


localnet = _load("faultkit.localnet")
crash = _load("crash")
partition = _load("partition")
byzantine = _load("byzantine")


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    network = localnet.LocalNetwork.create(
        tmp_path_factory.mktemp("faults") / "net", proxied=True, out=print
    )
    try:
        yield network
    finally:
        network.stop()


def _no_loss_no_fork(summary: dict[str, Any]) -> None:
    assert summary["errors"] == [], summary["errors"]
    assert summary["transactions_committed"] > 0
    assert summary["transactions_lost"] == 0, summary["end_checks"]["lost_hashes"]
    assert summary["forks"] == 0, summary["end_checks"]["fork_heights"]


def test_crash_cycles_lose_nothing_and_two_down_halts(net: Any) -> None:
    summary = crash.run_crash_campaign(
        net, cycles=3, double_every=3, halt_window_s=5.0, max_down_s=1.5, rate_per_s=5.0,
        out=print,
    )  # fmt: skip
    _no_loss_no_fork(summary)
    assert summary["cycles_run"] == 3
    assert summary["faults_injected"] == 4  # 1 + 1 + 2
    assert summary["kills_two_down"] == 1
    assert summary["halt_violations"] == 0, summary["halts"]
    assert summary["max_catchup_s"] > 0


def test_partition_split_and_heal(net: Any) -> None:
    summary = partition.run_partition_campaign(
        net, rounds=1, window_s=4.0, settle_s=2.0, rate_per_s=5.0, out=print
    )
    _no_loss_no_fork(summary)
    assert summary["rounds_run"] == 1
    assert summary["still_violations"] == 0, summary["rounds"]
    assert summary["majority_stalls"] == 0, summary["rounds"]
    cut = summary["proxy"]
    assert sum(link["connections"] for link in cut.values()) > 0  # the nodes did use the proxy


def test_byzantine_attacks_are_measured_and_do_not_fork(net: Any) -> None:
    summary = byzantine.run_byzantine_campaign(
        net, attacks=["request-flood", "equivocation"], duration_s=10.0, baseline_s=8.0,
        rate_per_s=5.0, out=print,
    )  # fmt: skip
    _no_loss_no_fork(summary)
    phases = {phase["label"]: phase for phase in summary["phases"]}
    assert list(phases) == ["baseline", "request-flood", "equivocation", "after"]
    for label in ("request-flood", "equivocation"):
        stats = phases[label]["attacker"]
        assert stats["connected_at_start"] == 3, stats  # it really was a peer of all three
        assert sum(v for k, v in stats["sent"].items() if not k.endswith(".dropped")) > 0
        assert phases[label]["load"]["latency_p99_s"] is not None  # its load committed
    # The honest nodes recover once the attacks stop.
    assert phases["after"]["blocks"] > 0

"""`baychain bench` as a user runs it: every workload against a real one-node BayChain.

Each end-to-end case starts ``python -m baychain bench`` with a small load (it
starts its own node on free loopback ports and stops it), then checks the exit
status, the summary table, results.jsonl and report.html. Option errors exit 2
with the option named, before anything starts.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from baychain.bench.command import format_table
from baychain.bench.target import BayChainTarget
from baychain.bench.workloads import WORKLOADS
from baychain.cli import main


def bench(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "baychain", "bench", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--txs", "0"], "--txs: must be at least 1, got 0"),
        (["--batch", "x"], "--batch: 'x' is not a whole number"),
        (["--nodes", "1,0"], "--nodes: must be at least 1, got 0"),
        (["--nodes", "4,4"], "repeats a value"),
        (["--compare", "hardhat,geth"], "unknown peer 'geth'"),
        (["--rate", "-5"], "--rate: must be a positive number"),
        (["--workload", "nft"], "invalid choice: 'nft'"),
        (["--mode", "open"], "--mode open needs --rate"),
        (["--rate", "100"], "--rate applies to --mode open only"),
        (["--compare", "hardhat", "--crypto", "sm"], "secp256k1 only"),
        (["--target", "http://127.0.0.1:1", "--nodes", "4"], "do not apply to --target"),
        (["--nodes", "1,4", "--funded-accounts", "10,20"], "scale one thing at a time"),
    ],
)
def test_option_errors_exit_2_naming_the_option(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["bench", *args])
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("workload", WORKLOADS)
def test_each_workload_commits_everything_on_a_one_node_baychain(
    workload: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    done = bench(
        "--workload",
        workload,
        "--txs",
        "40",
        "--accounts",
        "6",
        "--batch",
        "3",
        "--concurrency",
        "2",
        "--block-interval-ms",
        "100",
        "--out",
        str(out),
        "--timeout",
        "30",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (record,) = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    summary = record["summary"]
    assert record["kind"] == "result" and record["target"] == "baychain"
    assert summary["success_rate"] == 1.0, summary["first_errors"]
    assert (summary["workload"], summary["committed"], summary["reverted"]) == (workload, 40, 0)
    assert summary["committed_tps"] > 0 and summary["latency_p99_ms"] is not None
    assert record["manifest"]["node_count"] == 1 and record["manifest"]["tx_count"] == 40
    assert (out / "report.html").stat().st_size > 0
    assert done.stdout.splitlines()[0].split()[:2] == ["target", "tx/s"]
    assert f"results: {out / 'results.jsonl'}" in done.stdout
    assert f"report:  {out / 'report.html'}" in done.stdout
    assert "committed" in done.stderr  # progress lines


def test_an_external_target_without_websocket_is_followed_by_polling(tmp_path: Path) -> None:
    target = BayChainTarget(tmp_path / "net", dev_accounts=4, block_interval_ms=100)
    endpoint = target.start()
    try:
        done = bench(
            "--target",
            endpoint.rpc_url,
            "--txs",
            "20",
            "--accounts",
            "4",
            "--batch",
            "1",
            "--out",
            str(tmp_path / "out"),
            "--json",
            "--timeout",
            "30",
        )
    finally:
        target.stop()
    assert done.returncode == 0, done.stdout + done.stderr
    document = json.loads(done.stdout)
    (record,) = document["records"]
    assert record["target"] == "external"
    assert record["summary"]["success_rate"] == 1.0
    assert record["summary"]["observer"] == "poll"
    assert record["resources"] is None  # nothing of ours to sample
    assert "polling eth_blockNumber" in record["manifest"]["commit_criterion"]
    assert Path(document["report"]).exists()


def test_the_table_shows_results_failures_and_ratios() -> None:
    def result(label: str, tps: float) -> dict[str, Any]:
        return {
            "kind": "result",
            "label": label,
            "summary": {
                "committed_tps": tps,
                "latency_p50_ms": 120.4,
                "latency_p95_ms": 300.0,
                "latency_p99_ms": None,
                "success_rate": 1.0,
                "committed": 10,
                "txs": 10,
            },
            "resources": {"cpu_seconds_per_tx": 0.0021, "peak_rss_bytes": 300 * 2**20},
        }

    records = [
        result("baychain", 900.0),
        result("hardhat", 300.0),
        {"kind": "error", "target": "ganache", "message": "npm failed"},
        {"kind": "comparison", "baseline": "baychain", "ratios": {"hardhat": 3.0}},
    ]
    lines = format_table(records).splitlines()
    assert lines[0].split() == [
        "target",
        "tx/s",
        "p50",
        "ms",
        "p95",
        "ms",
        "p99",
        "ms",
        "success",
        "committed",
        "CPU",
        "s/ktx",
        "peak",
        "RSS",
        "MB",
    ]
    assert lines[1].split() == [
        "baychain",
        "900.0",
        "120",
        "300",
        "-",
        "100.0%",
        "10/10",
        "2.10",
        "300",
    ]
    assert lines[3].split() == ["ganache", "failed"]
    assert lines[4] == "baychain / hardhat: 3.00x committed tx/s"

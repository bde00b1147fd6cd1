"""The benchmark runner: option checks, comparisons, and a real run with a funded population.

The end-to-end test starts a one-node BayChain with 200 genesis-funded population
accounts and runs an open-loop ERC-20 soak of two seconds against it: population
recipients, the genesis token (no deploy, no funding), the open-loop scheduler,
resource sampling and the RSS slope, results.jsonl and report.html.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from baychain.bench.errors import BenchError
from baychain.bench.runner import BenchOptions, comparisons, default_out_dir, run_benchmark

BAD_OPTIONS = [
    ({"workload": "nft"}, "unknown workload"),
    ({"mode": "sideways"}, "unknown mode"),
    ({"txs": 0}, "--txs"),
    ({"accounts": 0}, "--accounts"),
    ({"accounts": 1_001}, "--accounts"),
    ({"concurrency": 0}, "--concurrency"),
    ({"batch": 1_001}, "--batch"),
    ({"mode": "open"}, "--mode open needs --rate"),
    ({"rate": 100.0}, "--rate applies to --mode open only"),
    ({"duration_s": 10.0}, "add --mode open"),
    ({"nodes": (1, 0)}, "--nodes"),
    ({"block_gas_limit": 999_999}, "--block-gas-limit"),
    ({"block_gas_limit": 2**63}, "--block-gas-limit"),
    ({"nodes": (1, 4), "funded_accounts": (10, 100)}, "scale one thing at a time"),
    ({"funded_accounts": (-1,)}, "--funded-accounts"),
    ({"compare": ("geth",)}, "unknown peer geth"),
    ({"compare": ("hardhat", "hardhat")}, "twice"),
    ({"compare": ("hardhat",), "crypto": "sm"}, "secp256k1 only"),
    ({"target_url": "http://127.0.0.1:8545", "nodes": (4,)}, "do not apply to --target"),
    ({"ws_url": "ws://127.0.0.1:8545"}, "--ws-url applies to --target only"),
]


@pytest.mark.parametrize(("change", "message"), BAD_OPTIONS)
def test_bad_options_are_refused_with_the_option_named(
    change: dict[str, Any], message: str
) -> None:
    with pytest.raises(BenchError, match=message.replace("(", r"\(")):
        replace(BenchOptions(), **change).check()


def test_good_options_pass() -> None:
    BenchOptions().check()
    BenchOptions(mode="open", rate=500.0, duration_s=60.0, nodes=(1, 4, 7)).check()
    BenchOptions(funded_accounts=(10_000, 100_000), compare=("hardhat", "ganache")).check()
    BenchOptions(target_url="http://127.0.0.1:8545", ws_url="ws://127.0.0.1:8545").check()


def test_a_soak_sends_rate_times_duration() -> None:
    assert BenchOptions(mode="open", rate=250.0, duration_s=4.5, txs=10).total_txs == 1_125
    assert BenchOptions(txs=10).total_txs == 10


def test_default_out_dir_is_a_utc_timestamp() -> None:
    moment = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    assert default_out_dir(moment) == Path("bench-results") / "20260304T050607Z"


def result_record(target: str, label: str, tps: float) -> dict[str, Any]:
    return {"kind": "result", "target": target, "label": label, "summary": {"committed_tps": tps}}


def test_comparisons_divide_baychain_by_each_peer() -> None:
    records = [
        result_record("baychain", "baychain", 900.0),
        result_record("hardhat", "hardhat", 300.0),
        result_record("ganache", "ganache", 0.0),
        {"kind": "error", "target": "other", "message": "x"},
    ]
    assert comparisons(records) == [
        {
            "kind": "comparison",
            "baseline": "baychain",
            "committed_tps": {"baychain": 900.0, "hardhat": 300.0, "ganache": 0.0},
            "ratios": {"hardhat": 3.0, "ganache": None},
        }
    ]
    assert comparisons(records[:1]) == []


def test_an_open_loop_soak_on_a_funded_population(tmp_path: Path) -> None:
    options = BenchOptions(
        workload="erc20-transfer",
        accounts=8,
        mode="open",
        rate=100.0,
        duration_s=2.0,
        batch=4,
        concurrency=2,  # 2 groups of 4 senders: 50 batches of 4
        funded_accounts=(200,),
        out_dir=tmp_path / "out",
        timeout_s=30.0,
    )
    with (tmp_path / "log.txt").open("w") as log:
        outcome = run_benchmark(options, log=log)
    assert outcome.errors == []
    lines = [json.loads(line) for line in outcome.results_path.read_text().splitlines()]
    assert [record["kind"] for record in lines] == ["result"]
    (record,) = lines
    summary, manifest = record["summary"], record["manifest"]
    assert summary["success_rate"] == 1.0 and summary["committed"] == 200
    assert summary["mode"] == "open" and summary["schedule"]["batches"] == 50
    assert manifest["funded_accounts"] == 200 and manifest["tx_count"] == 200
    assert manifest["setup"]["contracts"] == {"Token": "0x00000000000000000000000000000000000b7e20"}
    assert manifest["commit_criterion"] == "block containing the tx announced by newHeads"
    assert record["resources"]["peak_rss_bytes"] > 0
    assert "rss_slope_bytes_per_s" in record["resources"]
    assert outcome.report_path.read_text().lstrip().lower().startswith("<!doctype html")
    assert not (tmp_path / "out" / "work").exists()  # kept only when a run fails

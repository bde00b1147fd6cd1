"""Percentiles, per-second series, quantile samples, RSS slope and the run summary."""

from __future__ import annotations

import pytest

from baychain.bench.loadgen import LoadResult, ScheduleStats
from baychain.bench.metrics import (
    per_second,
    percentile,
    quantile_sample,
    rss_slope,
    summarize,
)


def test_nearest_rank_percentiles() -> None:
    values = [15.0, 20.0, 35.0, 40.0, 50.0]  # the worked example of the nearest-rank method
    assert percentile(values, 5) == 15.0
    assert percentile(values, 30) == 20.0
    assert percentile(values, 40) == 20.0
    assert percentile(values, 50) == 35.0
    assert percentile(values, 100) == 50.0
    hundred = [float(v) for v in range(1, 101)]
    assert (percentile(hundred, 50), percentile(hundred, 95), percentile(hundred, 99)) == (
        50.0,
        95.0,
        99.0,
    )
    assert percentile([7.0], 99) == 7.0


def test_percentile_does_not_depend_on_order() -> None:
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0


@pytest.mark.parametrize("p", [0, -1, 101])
def test_percentile_refuses_out_of_range(p: float) -> None:
    with pytest.raises(ValueError, match="percentile"):
        percentile([1.0], p)


def test_percentile_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)


def test_per_second_counts_each_second_including_empty_ones() -> None:
    assert per_second([0.1, 0.9, 1.0, 3.5]) == [[0.0, 2.0], [1.0, 1.0], [2.0, 0.0], [3.0, 1.0]]
    assert per_second([]) == []


def test_quantile_sample_keeps_small_lists_and_bounds_large_ones() -> None:
    assert quantile_sample([3.0, 1.0, 2.0], 10) == [1.0, 2.0, 3.0]
    values = [float(v) for v in range(10_001)]
    sample = quantile_sample(values, 101)
    assert len(sample) == 101
    assert sample[0] == 0.0 and sample[-1] == 10_000.0 and sample[50] == 5_000.0


def test_rss_slope_is_the_least_squares_slope_after_the_first_tenth() -> None:
    samples = [(float(t), 1_000 + 50 * t) for t in range(20)]
    samples[0] = (0.0, 10**9)  # start-up spike: in the first tenth, left out
    assert rss_slope([(t, int(m)) for t, m in samples]) == pytest.approx(50.0)
    assert rss_slope([(float(t), 5_000) for t in range(10)]) == pytest.approx(0.0)
    assert rss_slope([(1.0, 5)]) is None


def result(**changes: object) -> LoadResult:
    fields: dict[str, object] = {
        "workload": "eth-transfer",
        "mode": "closed",
        "total": 10,
        "sent": 10,
        "accepted": 9,
        "committed": 8,
        "reverted": 1,
        "latencies_s": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8],
        "commit_times_s": [0.5, 0.5, 1.0, 1.0, 1.5, 1.5, 2.0, 2.0],
        "send_times_s": [0.0] * 10,
        "send_duration_s": 0.5,
        "blocks": 4,
        "observer": "newHeads",
        "groups": 2,
        "batch": 5,
        "failures": {"nonce too low": 1, "reverted": 1},
        "first_errors": ["0xab: nonce too low"],
    }
    fields.update(changes)
    return LoadResult(**fields)  # type: ignore[arg-type]


def test_summarize_follows_the_pswg_definitions() -> None:
    figures = summarize(result())
    summary = figures["summary"]
    assert summary["committed_tps"] == 4.0  # 8 committed / (last commit 2.0 s - first send 0)
    assert summary["success_rate"] == 0.7  # (8 committed - 1 reverted) / 10
    assert summary["failed"] == 3
    assert summary["latency_p50_ms"] == 400.0
    assert summary["latency_p95_ms"] == 800.0
    assert summary["latency_p99_ms"] == 800.0
    assert summary["latency_mean_ms"] == 450.0
    assert summary["offered_tps"] == 20.0
    assert summary["txs_per_block"] == 2.0
    assert summary["failures"] == {"nonce too low": 1, "reverted": 1}
    assert "schedule" not in summary
    assert figures["series"]["tps_per_second"] == [[0.0, 2.0], [1.0, 4.0], [2.0, 2.0]]
    assert figures["series"]["latency_ms"][0] == 100.0


def test_summarize_without_commits_has_no_latency_and_zero_throughput() -> None:
    empty = result(committed=0, reverted=0, latencies_s=[], commit_times_s=[], blocks=0)
    summary = summarize(empty)["summary"]
    assert summary["committed_tps"] == 0.0
    assert summary["latency_p50_ms"] is None
    assert summary["success_rate"] == 0.0


def test_summarize_reports_the_open_loop_schedule() -> None:
    stats = ScheduleStats(batches=10, late_batches=2, max_lag_s=0.25, total_lag_s=0.3)
    summary = summarize(result(mode="open", schedule=stats))["summary"]
    assert summary["schedule"] == {
        "batches": 10,
        "late_batches": 2,
        "max_lag_s": 0.25,
        "total_lag_s": 0.3,
    }

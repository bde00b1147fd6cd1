"""Figures of one run, defined as in the Hyperledger PSWG white paper (2018).

- *committed throughput* (tx/s): transactions in committed blocks divided by
  the time from the first submission to the last commit;
- *commit latency*: per transaction, from the moment its batch was sent to the
  arrival of the ``newHeads`` notification of the block that holds it;
  percentiles use the nearest-rank method (the smallest value with at least
  ``p`` percent of the values at or below it);
- *success rate*: committed transactions that did not revert, over all the
  transactions of the load.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from baychain.bench.loadgen import LoadResult

__all__ = [
    "LATENCY_POINTS",
    "per_second",
    "percentile",
    "quantile_sample",
    "rss_slope",
    "summarize",
]

LATENCY_POINTS = 2_000
"""Most latency values a result's series keeps (evenly spaced quantiles beyond that)."""


def percentile(values: Sequence[float], p: float) -> float:
    """The nearest-rank ``p``-th percentile (0 < p <= 100) of a non-empty sequence."""
    if not values:
        raise ValueError("the percentile of no values is undefined")
    if not 0 < p <= 100:
        raise ValueError(f"a percentile is in (0, 100], got {p}")
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


def per_second(times_s: Sequence[float]) -> list[list[float]]:
    """Events per one-second bucket: ``[[second, count], ...]`` from 0 to the last event.

    Bucket ``k`` counts the times in ``[k, k + 1)``; empty seconds count 0.
    """
    if not times_s:
        return []
    counts = [0] * (int(max(times_s)) + 1)
    for t in times_s:
        counts[int(max(t, 0.0))] += 1
    return [[float(k), float(n)] for k, n in enumerate(counts)]


def quantile_sample(values: Sequence[float], points: int) -> list[float]:
    """The sorted values, or ``points`` evenly spaced order statistics when there are more.

    The sample keeps the distribution's shape (its CDF) with a bounded size;
    the first and last values are the minimum and maximum.
    """
    ordered = sorted(values)
    if len(ordered) <= points:
        return ordered
    step = (len(ordered) - 1) / (points - 1)
    return [ordered[round(k * step)] for k in range(points)]


def summarize(result: LoadResult) -> dict[str, Any]:
    """The run's figures (``summary``) and its time series (``series``).

    Times are milliseconds and throughputs transactions per second, rounded to
    three decimals. With no committed transaction the throughput is 0 and the
    latency figures are None.
    """
    latencies_ms = [1000 * s for s in result.latencies_s]
    duration = max(result.commit_times_s, default=0.0)
    ok = result.committed - result.reverted
    summary: dict[str, Any] = {
        "workload": result.workload,
        "mode": result.mode,
        "txs": result.total,
        "sent": result.sent,
        "accepted": result.accepted,
        "committed": result.committed,
        "reverted": result.reverted,
        "failed": result.total - ok,
        "success_rate": _round(ok / result.total if result.total else 0.0, 6),
        "committed_tps": _round(result.committed / duration if duration > 0 else 0.0),
        "duration_s": _round(duration),
        "send_duration_s": _round(result.send_duration_s),
        "offered_tps": _round(
            result.sent / result.send_duration_s if result.send_duration_s > 0 else 0.0
        ),
        "blocks": result.blocks,
        "txs_per_block": _round(result.committed / result.blocks if result.blocks else 0.0),
        "groups": result.groups,
        "batch": result.batch,
        "observer": result.observer,
        "failures": dict(result.failures),
        "first_errors": list(result.first_errors),
    }
    for p in (50, 95, 99):
        summary[f"latency_p{p}_ms"] = _round(percentile(latencies_ms, p)) if latencies_ms else None
    summary["latency_mean_ms"] = _round(statistics.fmean(latencies_ms)) if latencies_ms else None
    summary["latency_max_ms"] = _round(max(latencies_ms)) if latencies_ms else None
    if result.schedule is not None:
        summary["schedule"] = {
            key: _round(value) if isinstance(value, float) else value
            for key, value in asdict(result.schedule).items()
        }
    series = {
        "tps_per_second": per_second(result.commit_times_s),
        "sent_per_second": per_second(result.send_times_s),
        "latency_ms": [_round(v) for v in quantile_sample(latencies_ms, LATENCY_POINTS)],
    }
    return {"summary": summary, "series": series}


def rss_slope(samples: Sequence[tuple[float, int]]) -> float | None:
    """Least-squares slope of memory over time (bytes per second); None with < 2 times.

    Over a soak, a slope near zero means memory is flat (no leak); the first
    tenth of the samples is left out, as start-up allocations are not a trend.
    """
    kept = list(samples)[len(samples) // 10 :]
    if len({t for t, _ in kept}) < 2:
        return None
    mean_t = statistics.fmean(t for t, _ in kept)
    mean_m = statistics.fmean(m for _, m in kept)
    covariance = sum((t - mean_t) * (m - mean_m) for t, m in kept)
    variance = sum((t - mean_t) ** 2 for t, _ in kept)
    return covariance / variance


def _round(value: float, digits: int = 3) -> float:
    return round(value, digits)

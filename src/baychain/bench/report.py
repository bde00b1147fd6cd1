"""The bench's output: JSON lines (one record per line) and one self-contained HTML report.

Records (written by :mod:`.runner`)::

    {"kind": "result", "target", "label", "manifest": {...}, "summary": {...},
     "resources": {...} | None, "series": {"tps_per_second": [[t, n], ...],
     "sent_per_second": [[t, n], ...], "latency_ms": [sorted sample, ...]}}
    {"kind": "comparison", "baseline", "committed_tps": {label: tps}, "ratios": {label: x}}
    {"kind": "error", "target", "message"}

The HTML file needs no network: styles are inline, charts are SVG drawn by
:mod:`.charts`, there is no JavaScript. Every text taken from a record is escaped.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

from baychain.bench.charts import Series, histogram_chart, line_chart

__all__ = ["append_jsonl", "render_html", "write_html"]

_MIB = 1024 * 1024
_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 70em; color: #1f2328; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2.2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: .6em 0 1.2em; }
th, td { border: 1px solid #d0d7de; padding: .25em .6em; text-align: left; vertical-align: top; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f6f8fa; }
.charts { display: flex; flex-wrap: wrap; gap: 1em; }
svg { background: #fff; border: 1px solid #d0d7de; font-size: 11px; }
svg .title { font-size: 13px; font-weight: 600; }
svg .grid { stroke: #eaeef2; } svg .axis { stroke: #57606a; }
pre { background: #f6f8fa; padding: .8em; overflow-x: auto; }
.error { color: #cf222e; }
"""


def _tps(value: float) -> str:
    return f"{value:,.1f}"


def _ms(value: float) -> str:
    return f"{value:,.1f} ms"


def _percent(share: float) -> str:
    return f"{100 * share:.2f} %"


def _ratio(value: float) -> str:
    return f"{value:.2f}×"


def _seconds(value: float) -> str:
    return f"{value:,.2f} s"


def _cpu(value: float) -> str:
    return f"{value:,.0f} %"


def _mib(value: float) -> str:
    return f"{value / _MIB:,.1f} MiB"


def _count(value: float) -> str:
    return f"{value:,.0f}"


def _cpu_per_tx(value: float) -> str:
    return f"{1000 * value:,.3f} ms"


_HEADLINE = (
    ("committed tx/s", "committed_tps", _tps),
    ("latency p50", "latency_p50_ms", _ms),
    ("latency p95", "latency_p95_ms", _ms),
    ("latency p99", "latency_p99_ms", _ms),
    ("success rate", "success_rate", _percent),
    ("committed", "committed", _count),
    ("CPU seconds", "cpu_seconds", _seconds),
    ("CPU per tx", "cpu_seconds_per_tx", _cpu_per_tx),
    ("CPU (mean)", "cpu_percent_mean", _cpu),
    ("peak RSS", "peak_rss_bytes", _mib),
)
"""(column title, summary or resources key, formatter) of the headline figures."""


def append_jsonl(path: Path, record: dict[str, Any]) -> None:
    """Append ``record`` as one JSON line to ``path`` (created with its folder if needed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as sink:
        sink.write(json.dumps(record, separators=(",", ":")) + "\n")


def write_html(path: Path, records: list[dict[str, Any]]) -> None:
    """Write the report of ``records`` to ``path`` (see :func:`render_html`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(records), encoding="utf-8")


def render_html(records: Sequence[dict[str, Any]]) -> str:
    """One HTML page: an overview, the comparisons, then each result and error in turn."""
    results = [r for r in records if r.get("kind") == "result"]
    sections = [_overview(results)] if results else []
    sections += [_comparison(r) for r in records if r.get("kind") == "comparison"]
    for record in records:
        kind = record.get("kind")
        if kind == "result":
            sections.append(_result(record))
        elif kind == "error":
            sections.append(_error(record))
        elif kind != "comparison":
            sections.append(_other(record))
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>BayChain benchmark report</title>"
        f"<style>{_STYLE}</style></head><body>"
        "<h1>BayChain benchmark report</h1>"
        f"<p>Generated {escape(generated)}. Committed throughput and commit latency as defined "
        "by the Hyperledger Performance and Scale Working Group: transactions in committed "
        "blocks per second from the first submission to the last commit; latency from "
        "submission to the block that includes the transaction.</p>"
        + "".join(sections)
        + "</body></html>\n"
    )


def _overview(results: Sequence[dict[str, Any]]) -> str:
    """One row per result with the headline figures, and every throughput on one chart."""
    rows = []
    for record in results:
        summary, resources = record.get("summary") or {}, record.get("resources") or {}
        cells = [_text(record.get("label", record.get("target")))]
        cells += [
            _number(_lookup(summary, resources, key), formatter) for _, key, formatter in _HEADLINE
        ]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    header = "<tr><th>run</th>" + "".join(f"<th>{escape(t)}</th>" for t, _, _ in _HEADLINE)
    chart = line_chart(
        [
            Series(str(r.get("label", r.get("target"))), _pairs(_series(r, "tps_per_second")))
            for r in results
        ],
        title="Committed transactions per second, all runs",
        x_label="seconds since the first submission",
        y_label="tx committed",
        step=True,
    )
    return (
        "<h2>Overview</h2><table>" + header + "</tr>" + "".join(rows) + "</table>"
        f'<div class="charts">{chart}</div>'
    )


def _comparison(record: dict[str, Any]) -> str:
    """The baseline's committed tx/s over each peer's, with the tx/s themselves."""
    baseline = str(record.get("baseline", "baychain"))
    tps = record.get("committed_tps") or {}
    rows = [f"<tr>{_text(baseline)}{_number(tps.get(baseline), _tps)}<td>1 (baseline)</td></tr>"]
    for peer, ratio in (record.get("ratios") or {}).items():
        rows.append(f"<tr>{_text(peer)}{_number(tps.get(peer), _tps)}{_number(ratio, _ratio)}</tr>")
    return (
        f"<h2>Comparison: {escape(baseline)} against its peers</h2>"
        f"<p>Ratio = {escape(baseline)}'s committed tx/s divided by the peer's "
        "(above 1: BayChain committed more per second), same workload, same machine.</p>"
        "<table><tr><th>target</th><th>committed tx/s</th><th>ratio</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def _result(record: dict[str, Any]) -> str:
    """One result: headline table, charts, all figures, the manifest."""
    label = str(record.get("label", record.get("target", "result")))
    summary, resources = record.get("summary") or {}, record.get("resources") or {}
    headline = "".join(
        f"<tr><th>{escape(title)}</th>{_number(_lookup(summary, resources, key), formatter)}</tr>"
        for title, key, formatter in _HEADLINE
    )
    charts = [
        line_chart(
            [
                Series("committed", _pairs(_series(record, "tps_per_second"))),
                Series("sent", _pairs(_series(record, "sent_per_second"))),
            ],
            title="Throughput over time",
            x_label="seconds since the first submission",
            y_label="transactions per second",
            step=True,
        ),
        *_latency_charts(_series(record, "latency_ms")),
        *_resource_charts(resources.get("samples") or []),
    ]
    return (
        f"<h2>{escape(label)}</h2><table>{headline}</table>"
        f'<div class="charts">{"".join(charts)}</div>'
        "<h3>All figures</h3>"
        + _mapping_table(summary)
        + "<h3>Resources</h3>"
        + _mapping_table({k: v for k, v in resources.items() if k != "samples"})
        + "<h3>Manifest</h3>"
        + _mapping_table(record.get("manifest") or {})
    )


def _latency_charts(latencies_ms: Sequence[Any]) -> list[str]:
    """A histogram and a CDF of the (sorted sample of) commit latencies."""
    values = sorted(float(v) for v in latencies_ms)
    cdf = [(v, 100.0 * (i + 1) / len(values)) for i, v in enumerate(values)]
    return [
        histogram_chart(values, title="Commit latency distribution", x_label="latency (ms)"),
        line_chart(
            [Series("CDF", cdf)],
            title="Commit latency CDF",
            x_label="latency (ms)",
            y_label="transactions at or below (%)",
        ),
    ]


def _resource_charts(samples: Sequence[Sequence[float]]) -> list[str]:
    """CPU % and resident memory of the node processes over time."""
    return [
        line_chart(
            [Series("CPU", [(float(s[0]), float(s[1])) for s in samples])],
            title="Node processes: CPU",
            x_label="seconds since sampling began",
            y_label="% of one core",
        ),
        line_chart(
            [Series("RSS", [(float(s[0]), float(s[2]) / _MIB) for s in samples])],
            title="Node processes: resident memory",
            x_label="seconds since sampling began",
            y_label="MiB",
        ),
    ]


def _error(record: dict[str, Any]) -> str:
    return (
        f'<h2 class="error">{escape(str(record.get("target", "run")))} failed</h2>'
        f"<pre>{escape(str(record.get('message', '')))}</pre>"
    )


def _other(record: dict[str, Any]) -> str:
    return (
        f"<h2>{escape(str(record.get('kind', 'record')))}</h2>"
        f"<pre>{escape(json.dumps(record, indent=2, default=str))}</pre>"
    )


def _mapping_table(mapping: dict[str, Any]) -> str:
    """Every key and value; nested values as compact JSON."""
    if not mapping:
        return "<p>none</p>"
    rows = "".join(
        f"<tr><th>{escape(str(key))}</th>{_value_cell(value)}</tr>"
        for key, value in mapping.items()
    )
    return f"<table>{rows}</table>"


def _value_cell(value: Any) -> str:
    if isinstance(value, dict | list | tuple):
        return f"<td><code>{escape(json.dumps(value, default=str))}</code></td>"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (
            f'<td class="n">{escape(f"{value:,}" if isinstance(value, int) else f"{value:g}")}</td>'
        )
    return _text(value)


def _lookup(summary: dict[str, Any], resources: dict[str, Any], key: str) -> Any:
    return summary[key] if key in summary else resources.get(key)


def _series(record: dict[str, Any], name: str) -> list[Any]:
    value = (record.get("series") or {}).get(name)
    return list(value) if isinstance(value, list) else []


def _pairs(points: Sequence[Sequence[float]]) -> list[tuple[float, float]]:
    return [(float(p[0]), float(p[1])) for p in points]


def _text(value: Any) -> str:
    return f"<td>{escape('—' if value is None else str(value))}</td>"


def _number(value: Any, formatter: Callable[[Any], str]) -> str:
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return _text(value)
    return f'<td class="n">{escape(formatter(value))}</td>'

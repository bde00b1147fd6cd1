"""The report: JSON lines round-trip, and the HTML page holds every figure, escaped, offline."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from baychain.bench.report import append_jsonl, render_html, write_html

VOID = {"meta", "br", "img", "input", "link", "hr"}


def result_record(label: str, tps: float, p50: float) -> dict[str, Any]:
    latencies = [p50 * 0.5 + i for i in range(200)]
    return {
        "kind": "result",
        "target": label,
        "label": label,
        "manifest": {
            "software": f"{label} 1.0",
            "cpu_model": "Test CPU <fast>",
            "node_count": 1,
            "setup": {"token": "0xabc"},
        },
        "summary": {
            "committed_tps": tps,
            "latency_p50_ms": p50,
            "latency_p95_ms": 2 * p50,
            "latency_p99_ms": 3 * p50,
            "success_rate": 0.9975,
            "committed": 4000,
            "failures": {"nonce too low": 10},
        },
        "resources": {
            "cpu_seconds": 12.5,
            "cpu_percent_mean": 87.0,
            "peak_rss_bytes": 300 * 1024 * 1024,
            "cpu_seconds_per_tx": 0.003125,
            "samples": [[0.0, 0.0, 100 * 1024 * 1024], [0.5, 90.0, 300 * 1024 * 1024]],
        },
        "series": {
            "tps_per_second": [[0.0, tps], [1.0, tps * 1.1], [2.0, tps * 0.9]],
            "sent_per_second": [[0.0, tps * 1.2], [1.0, tps]],
            "latency_ms": latencies,
        },
    }


class TagBalance(HTMLParser):
    """Fails on a closing tag that does not match the innermost open one."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        pass

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()


def balanced(page: str) -> bool:
    parser = TagBalance()
    parser.feed(page)
    parser.close()
    return parser.stack == []


def test_append_jsonl_writes_one_parseable_line_per_record(tmp_path: Path) -> None:
    path = tmp_path / "out" / "results.jsonl"
    records = [result_record("baychain", 1234.5, 210.0), {"kind": "error", "target": "x"}]
    for record in records:
        append_jsonl(path, record)
    lines = path.read_text().splitlines()
    assert [json.loads(line) for line in lines] == records


def test_report_shows_every_headline_figure_and_the_comparison(tmp_path: Path) -> None:
    records = [
        result_record("baychain", 1234.5, 210.0),
        result_record("hardhat", 400.0, 12.0),
        {
            "kind": "comparison",
            "baseline": "baychain",
            "committed_tps": {"baychain": 1234.5, "hardhat": 400.0, "ganache": 0.0},
            "ratios": {"hardhat": 3.08625, "ganache": None},
        },
    ]
    path = tmp_path / "report.html"
    write_html(path, records)
    page = path.read_text()
    assert balanced(page)
    for figure in ("1,234.5", "210.0 ms", "420.0 ms", "630.0 ms", "99.75 %", "12.50 s"):
        assert figure in page
    assert "300.0 MiB" in page and "87 %" in page and "3.125 ms" in page
    assert "3.09×" in page  # the ratio, rounded for reading
    assert "Comparison: baychain against its peers" in page
    # charts: throughput, latency histogram and CDF, CPU and RSS per result, plus the overview
    assert page.count("<svg") == 1 + 2 * 5


def test_report_escapes_text_and_needs_no_network() -> None:
    hostile = result_record("<script>alert(1)</script>", 10.0, 5.0)
    error = {"kind": "error", "target": "ganache", "message": "exited: <b>boom</b> & more"}
    page = render_html([hostile, error])
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "exited: &lt;b&gt;boom&lt;/b&gt; &amp; more" in page
    assert "Test CPU &lt;fast&gt;" in page
    assert balanced(page)
    external = [word for word in page.split('"') if word.startswith(("http://", "https://"))]
    assert external == ["http://www.w3.org/2000/svg"] * page.count("<svg")


def test_report_of_a_run_without_commits_or_samples() -> None:
    record = result_record("baychain", 0.0, 0.0)
    record["summary"].update(latency_p50_ms=None, latency_p95_ms=None, latency_p99_ms=None)
    record["resources"] = None
    record["series"] = {"tps_per_second": [], "latency_ms": []}
    page = render_html([record, {"kind": "scale", "nodes": [1, 4]}])
    assert balanced(page)
    assert "no data" in page
    assert "<td>—</td>" in page
    assert "&quot;nodes&quot;: [" in page  # an unknown kind is shown as its JSON


def test_report_of_no_records_is_a_page() -> None:
    assert balanced(render_html([]))

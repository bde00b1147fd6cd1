"""The SVG charts: round axis ticks that cover the data, shapes inside the picture."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ElementTree

from hypothesis import given
from hypothesis import strategies as st

from baychain.bench.charts import (
    HEIGHT_PX,
    WIDTH_PX,
    Series,
    histogram_chart,
    line_chart,
    nice_ticks,
)

finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False)


@given(finite, finite)
def test_ticks_cover_the_range_with_a_round_step(a: float, b: float) -> None:
    low, high = min(a, b), max(a, b)
    ticks = nice_ticks(low, high)
    step = ticks[1] - ticks[0]
    assert 2 <= len(ticks) <= 12
    assert ticks[0] <= low + step * 1e-6 and ticks[-1] >= high - step * 1e-6
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert min(abs(mantissa - m) for m in (1, 2, 5, 10)) < 1e-6


def test_ticks_of_a_typical_throughput_axis() -> None:
    assert nice_ticks(0, 1485) == [0, 500, 1000, 1500]
    assert nice_ticks(0, 0) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]


def coordinates(svg: str) -> list[tuple[float, float]]:
    points = re.search(r'points="([^"]*)"', svg)
    assert points is not None
    return [tuple(map(float, pair.split(","))) for pair in points.group(1).split()]  # type: ignore[misc]


def test_line_chart_is_valid_svg_with_every_point_inside() -> None:
    svg = line_chart(
        [Series("a & b", [(0, 10), (1, 30), (2, 20)])], title="t<1>", x_label="s", y_label="n"
    )
    ElementTree.fromstring(svg)  # well-formed XML
    assert "t&lt;1&gt;" in svg and "a &amp; b" in svg
    drawn = coordinates(svg)
    assert len(drawn) == 3
    assert all(0 <= x <= WIDTH_PX and 0 <= y <= HEIGHT_PX for x, y in drawn)
    assert drawn[1][1] < drawn[2][1] < drawn[0][1]  # higher values are drawn higher up


def test_step_chart_draws_each_second_as_a_flat_segment() -> None:
    drawn = coordinates(
        line_chart([Series("c", [(0, 5), (1, 7)])], title="", x_label="", y_label="", step=True)
    )
    assert len(drawn) == 4
    assert drawn[0][1] == drawn[1][1] and drawn[2][1] == drawn[3][1]


def test_histogram_bars_hold_every_value() -> None:
    values = [1.0] * 30 + [2.0] * 10 + [10.0]
    svg = histogram_chart(values, title="latency", x_label="ms", bins=9)
    ElementTree.fromstring(svg)
    counts = [int(c) for c in re.findall(r": (\d+)</title></rect>", svg)]
    assert counts == [30, 10, 1]


def test_charts_without_data_say_so() -> None:
    assert "no data" in line_chart([], title="x", x_label="", y_label="")
    assert "no data" in histogram_chart([], title="x", x_label="")

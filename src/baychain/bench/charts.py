"""Small inline SVG charts for the HTML report: line charts and histograms, no JavaScript.

Each function returns one ``<svg>`` element as text, with its title, axis labels and
tick values escaped. Axes start at zero when the data are non-negative (a throughput
that starts at the origin reads honestly) and end at a "nice" number (1, 2 or 5 times
a power of ten).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

__all__ = ["PALETTE", "Series", "histogram_chart", "line_chart", "nice_ticks"]

PALETTE = ("#1f6feb", "#d4541b", "#2da44e", "#8250df", "#bf8700", "#cf222e", "#0a7f7f")
"""Series colours, in order (distinguishable in print and for most colour vision)."""
WIDTH_PX = 640
HEIGHT_PX = 270
_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 16, 42, 44
"""Margins (px) around the plot area: room for tick labels, axis labels and the title."""


@dataclass(frozen=True)
class Series:
    """One named line: (x, y) points in x order."""

    label: str
    points: Sequence[tuple[float, float]]


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About ``count`` round tick values covering [low, high] (1, 2 or 5 x 10^k apart)."""
    if not high > low:
        high = low + 1.0
    raw_step = (high - low) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw_step))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw_step)
    # rounding to the step's one significant digit keeps 0.1 + 0.2 noise out of labels
    digits = max(0, 1 - math.floor(math.log10(step)))
    first, last = math.floor(low / step), math.ceil(high / step)
    return [round(k * step, digits) for k in range(first, max(last, first + 1) + 1)]


def line_chart(
    series: Sequence[Series],
    *,
    title: str,
    x_label: str,
    y_label: str,
    step: bool = False,
) -> str:
    """A line chart of ``series`` (``step``: a staircase, for per-interval counts)."""
    drawn = [_staircase(s.points) if step else list(s.points) for s in series]
    points = [p for line in drawn for p in line]
    if not points:
        return _empty(title)
    frame = _Frame.around([x for x, _ in points], [y for _, y in points])
    body = [frame.axes(title, x_label, y_label)]
    for index, (line, coordinates) in enumerate(zip(series, drawn, strict=True)):
        color = PALETTE[index % len(PALETTE)]
        path = " ".join(f"{frame.x(x):.1f},{frame.y(y):.1f}" for x, y in coordinates)
        body.append(
            f'<polyline fill="none" stroke="{color}" stroke-width="1.6" points="{path}">'
            f"<title>{escape(line.label)}</title></polyline>"
        )
    if len(series) > 1:
        body.append(_legend([s.label for s in series]))
    return _svg(title, body)


def histogram_chart(values: Sequence[float], *, title: str, x_label: str, bins: int = 30) -> str:
    """A histogram of ``values`` in ``bins`` equal-width bins; bar height = share in percent."""
    if not values:
        return _empty(title)
    low, high = min(values), max(values)
    width = (high - low) / bins if high > low else 1.0
    counts = [0] * bins
    for value in values:
        counts[min(int((value - low) / width), bins - 1)] += 1
    shares = [100.0 * c / len(values) for c in counts]
    edges = [low + i * width for i in range(bins + 1)]
    frame = _Frame.around(edges, [0.0, *shares])
    body = [frame.axes(title, x_label, "share of transactions (%)")]
    for index, share in enumerate(shares):
        if share == 0:
            continue
        left, right = frame.x(edges[index]), frame.x(edges[index + 1])
        top = frame.y(share)
        body.append(
            f'<rect x="{left:.1f}" y="{top:.1f}" width="{max(right - left - 1, 1):.1f}" '
            f'height="{frame.y(0) - top:.1f}" fill="{PALETTE[0]}">'
            f"<title>{_fmt(edges[index])}–{_fmt(edges[index + 1])}: {counts[index]}</title>"
            "</rect>"
        )
    return _svg(title, body)


@dataclass(frozen=True)
class _Frame:
    """Maps data coordinates to pixels inside the plot area."""

    x_ticks: list[float]
    y_ticks: list[float]

    @classmethod
    def around(cls, xs: Sequence[float], ys: Sequence[float]) -> _Frame:
        return cls(nice_ticks(min(*xs, 0.0), max(xs)), nice_ticks(min(*ys, 0.0), max(ys)))

    def x(self, value: float) -> float:
        low, high = self.x_ticks[0], self.x_ticks[-1]
        return _LEFT + (value - low) / (high - low) * (WIDTH_PX - _LEFT - _RIGHT)

    def y(self, value: float) -> float:
        low, high = self.y_ticks[0], self.y_ticks[-1]
        return HEIGHT_PX - _BOTTOM - (value - low) / (high - low) * (HEIGHT_PX - _TOP - _BOTTOM)

    def axes(self, title: str, x_label: str, y_label: str) -> str:
        """Grid lines, tick labels, axis labels and the title."""
        parts = [
            f'<text x="{WIDTH_PX / 2}" y="16" text-anchor="middle" class="title">'
            f"{escape(title)}</text>"
        ]
        for tick in self.y_ticks:
            y = self.y(tick)
            parts.append(
                f'<line x1="{_LEFT}" x2="{WIDTH_PX - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
                'class="grid"/>'
                f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{_fmt(tick)}</text>'
            )
        for tick in self.x_ticks:
            x = self.x(tick)
            parts.append(
                f'<text x="{x:.1f}" y="{HEIGHT_PX - _BOTTOM + 16}" text-anchor="middle">'
                f"{_fmt(tick)}</text>"
            )
        bottom = HEIGHT_PX - _BOTTOM
        parts.append(
            f'<line x1="{_LEFT}" x2="{WIDTH_PX - _RIGHT}" y1="{bottom}" y2="{bottom}" '
            'class="axis"/>'
            f'<line x1="{_LEFT}" x2="{_LEFT}" y1="{_TOP}" y2="{bottom}" class="axis"/>'
            f'<text x="{(_LEFT + WIDTH_PX - _RIGHT) / 2}" y="{HEIGHT_PX - 8}" '
            f'text-anchor="middle">{escape(x_label)}</text>'
            f'<text transform="translate(14 {(_TOP + bottom) / 2}) rotate(-90)" '
            f'text-anchor="middle">{escape(y_label)}</text>'
        )
        return "".join(parts)


def _staircase(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """Each (x, y) as a flat step from x to the next x (the last one 1 unit wide)."""
    steps: list[tuple[float, float]] = []
    for index, (x, y) in enumerate(points):
        end = points[index + 1][0] if index + 1 < len(points) else x + 1
        steps += [(x, y), (end, y)]
    return steps


def _legend(labels: Sequence[str]) -> str:
    """Coloured keys in one row above the plot area."""
    parts = []
    x = float(_LEFT)
    for index, label in enumerate(labels):
        color = PALETTE[index % len(PALETTE)]
        parts.append(
            f'<rect x="{x:.0f}" y="{_TOP - 14}" width="10" height="10" fill="{color}"/>'
            f'<text x="{x + 14:.0f}" y="{_TOP - 5}">{escape(label)}</text>'
        )
        x += 24 + 6.5 * len(label)
    return "".join(parts)


def _svg(title: str, body: Sequence[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH_PX} {HEIGHT_PX}" '
        f'width="{WIDTH_PX}" height="{HEIGHT_PX}" role="img" aria-label="{escape(title)}">'
        + "".join(body)
        + "</svg>"
    )


def _empty(title: str) -> str:
    return _svg(
        title,
        [
            f'<text x="{WIDTH_PX / 2}" y="{HEIGHT_PX / 2}" text-anchor="middle">'
            f"{escape(title)}: no data</text>"
        ],
    )


def _fmt(value: float) -> str:
    """A tick value without float noise: 0.2, 1500, 2.5e+06."""
    return f"{value:.6g}"

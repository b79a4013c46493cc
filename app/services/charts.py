"""Geometry for the dashboard's server-rendered SVG charts. Pure: values in, numbers and
path strings out; the templates draw them (with <title>, <desc> and a data table).

Coordinates are in a fixed viewBox (`WIDTH` x `HEIGHT`); CSS scales the SVG.
Missing values (None) break a line and leave a gap in bars — never drawn as 0.

The elements repeated once per day (a bar, a row of the data table) are the exception:
`bars_markup` and `rows_markup` write them here, because at 90 days x 3 loops they were
most of the dashboard's render time through Jinja. They hold only numbers and dates,
nothing a user typed, so there is nothing to escape.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Sequence

from markupsafe import Markup

WIDTH = 600
HEIGHT = 200
PAD_LEFT = 56
PAD_RIGHT = 12
PAD_TOP = 12
PAD_BOTTOM = 28

Series = Sequence[tuple[date, "int | float | None"]]


@dataclass(frozen=True)
class Tick:
    value: float
    y: float
    label: str


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    day: date
    value: float


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    path: str  # line charts: SVG path data ("" when nothing to draw)
    bars: list[Bar]
    ticks: list[Tick]
    first_label: str
    last_label: str
    has_data: bool
    baseline_y: float


def nice_ceiling(value: float) -> float:
    """The smallest 1/2/2.5/5 × 10^n at or above `value` (a readable axis maximum)."""
    if value <= 0:
        return 1.0
    exp = math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        candidate = step * 10**exp
        if candidate >= value:
            return float(candidate)
    return float(10 ** (exp + 1))  # pragma: no cover - the loop always returns


def short_number(value: float) -> str:
    """Axis labels: 950, 12K, 1.5M."""
    for size, suffix in ((1_000_000, "M"), (1_000, "K")):
        if abs(value) >= size:
            text = f"{value / size:.1f}".rstrip("0").rstrip(".")
            return f"{text}{suffix}"
    return f"{value:.0f}"


def _day_label(day: date) -> str:
    return f"{day:%b} {day.day}"


def _scale(points: Series, *, from_zero: bool) -> tuple[float, float]:
    """The value range the plot spans: bars from 0 to a round maximum; lines hug their
    data with 10 % headroom (follower counts move little against their size)."""
    values = [float(v) for _, v in points if v is not None]
    if not values:
        return 0.0, 1.0
    hi, lo = max(values), min(values)
    if from_zero:
        return 0.0, nice_ceiling(hi)
    pad = (hi - lo) * 0.1 or max(abs(hi) * 0.01, 1.0)
    return (max(lo - pad, 0.0) if lo >= 0 else lo - pad), hi + pad


def _y(value: float, lo: float, hi: float) -> float:
    plot = HEIGHT - PAD_TOP - PAD_BOTTOM
    return round(HEIGHT - PAD_BOTTOM - (value - lo) / (hi - lo) * plot, 2)


def _x(index: int, count: int) -> float:
    plot = WIDTH - PAD_LEFT - PAD_RIGHT
    if count <= 1:
        return PAD_LEFT + plot / 2
    return round(PAD_LEFT + index * plot / (count - 1), 2)


def _ticks(lo: float, hi: float, n: int = 3) -> list[Tick]:
    return [Tick(v, _y(v, lo, hi), short_number(v)) for v in (lo + (hi - lo) * i / (n - 1) for i in range(n))]


def _labels(points: Series) -> tuple[str, str]:
    if not points:
        return "", ""
    return _day_label(points[0][0]), _day_label(points[-1][0])


def line_chart(points: Series) -> Chart:
    """A line through the known values; a None starts a new segment (a visible gap)."""
    lo, hi = _scale(points, from_zero=False)
    parts: list[str] = []
    pen_down = False
    for i, (_, value) in enumerate(points):
        if value is None:
            pen_down = False
            continue
        parts.append(f"{'L' if pen_down else 'M'}{_x(i, len(points))},{_y(value, lo, hi)}")
        pen_down = True
    first, last = _labels(points)
    has_data = any(v is not None for _, v in points)
    return Chart(WIDTH, HEIGHT, " ".join(parts), [], _ticks(lo, hi) if has_data else [], first, last,
                 has_data, HEIGHT - PAD_BOTTOM)


def bar_chart(points: Series) -> Chart:
    """One bar per day from zero; a None day has no bar."""
    lo, hi = _scale(points, from_zero=True)
    count = len(points)
    slot = (WIDTH - PAD_LEFT - PAD_RIGHT) / max(count, 1)
    width = round(max(slot * 0.7, 1.0), 2)
    bars = []
    for i, (day, value) in enumerate(points):
        if value is None:
            continue
        top = _y(value, lo, hi)
        x = round(PAD_LEFT + i * slot + (slot - width) / 2, 2)
        bars.append(Bar(x, top, width, round(HEIGHT - PAD_BOTTOM - top, 2), day, value))
    first, last = _labels(points)
    has_data = bool(bars)
    return Chart(WIDTH, HEIGHT, "", bars, _ticks(lo, hi) if has_data else [], first, last, has_data,
                 HEIGHT - PAD_BOTTOM)


def _thousands(value: float) -> str:
    return f"{value:,}"


def bars_markup(chart: Chart, unit: str) -> Markup:
    """The chart's <rect>s, each with a <title> naming its day and value."""
    return Markup("".join(
        f'<rect class="chart-bar" x="{b.x}" y="{b.y}" width="{b.width}" height="{b.height}">'
        f'<title>{b.day.isoformat()}: {_thousands(b.value)} {unit}</title></rect>'
        for b in chart.bars
    ))


def rows_markup(points: Series) -> Markup:
    """The data table's body rows: one per day, "no data" where the value is missing."""
    return Markup("".join(
        f'\n    <tr><th scope="row">{day.isoformat()}</th>'
        f'<td>{"no data" if value is None else _thousands(value)}</td></tr>'
        for day, value in points
    ))


def share_curve(points: Sequence[tuple[float, "float | None"]], unit: str = "s") -> Chart:
    """A line of shares (0–1, drawn on a 0–100 % axis) over a numeric x such as seconds into a
    video: a retention curve. Points sit at their x values, so uneven steps keep their spacing;
    a None breaks the line, as in `line_chart`."""
    points = sorted(points, key=lambda p: p[0])
    known = [v for _, v in points if v is not None]
    if not points or not known:
        return Chart(WIDTH, HEIGHT, "", [], [], "", "", False, HEIGHT - PAD_BOTTOM)
    lo, hi = 0.0, max(1.0, *known)
    first, last = points[0][0], points[-1][0]
    plot = WIDTH - PAD_LEFT - PAD_RIGHT
    parts: list[str] = []
    pen_down = False
    for x, value in points:
        if value is None:
            pen_down = False
            continue
        px = round(PAD_LEFT + (x - first) / ((last - first) or 1) * plot, 2)
        parts.append(f"{'L' if pen_down else 'M'}{px},{_y(value, lo, hi)}")
        pen_down = True
    ticks = [Tick(v, _y(v, lo, hi), f"{v * 100:.0f}%") for v in (0.0, 0.5, 1.0)]
    return Chart(WIDTH, HEIGHT, " ".join(parts), [], ticks, f"{first:g} {unit}", f"{last:g} {unit}", True,
                 HEIGHT - PAD_BOTTOM)

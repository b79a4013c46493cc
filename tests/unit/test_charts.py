"""SVG geometry for the dashboard charts."""
from datetime import date, timedelta

import pytest

from app.services import charts as c


def series(values):
    return [(date(2026, 5, 1) + timedelta(days=i), v) for i, v in enumerate(values)]


def test_line_spans_the_plot_and_rises_with_the_values():
    chart = c.line_chart(series([100, 150, 200]))
    moves = chart.path.split()
    assert moves[0].startswith("M") and all(p.startswith("L") for p in moves[1:])
    points = [tuple(map(float, p[1:].split(","))) for p in moves]
    assert points[0][0] == c.PAD_LEFT and points[-1][0] == c.WIDTH - c.PAD_RIGHT
    ys = [y for _, y in points]
    assert ys[0] > ys[1] > ys[2]  # SVG y grows downwards
    assert all(c.PAD_TOP <= y <= c.HEIGHT - c.PAD_BOTTOM for y in ys)
    assert (chart.first_label, chart.last_label) == ("May 1", "May 3")
    assert chart.has_data and len(chart.ticks) == 3


def test_a_missing_value_breaks_the_line():
    chart = c.line_chart(series([100, None, 120, 130]))
    assert [p[0] for p in chart.path.split()] == ["M", "M", "L"]


def test_a_flat_line_sits_inside_the_plot():
    chart = c.line_chart(series([500, 500]))
    ys = {float(p.split(",")[1]) for p in chart.path.split()}
    assert len(ys) == 1 and c.PAD_TOP < ys.pop() < c.HEIGHT - c.PAD_BOTTOM


def test_a_single_point_is_centered():
    chart = c.line_chart(series([42]))
    x = float(chart.path[1:].split(",")[0])
    assert x == pytest.approx(c.PAD_LEFT + (c.WIDTH - c.PAD_LEFT - c.PAD_RIGHT) / 2)


def test_no_data_draws_nothing():
    for chart in (c.line_chart(series([None, None])), c.bar_chart(series([None])), c.line_chart([])):
        assert not chart.has_data and chart.path == "" and chart.bars == [] and chart.ticks == []


def test_bars_start_at_zero_skip_missing_days_and_scale_to_a_round_maximum():
    chart = c.bar_chart(series([0, 400, None, 800]))
    assert [b.day.day for b in chart.bars] == [1, 2, 4]
    zero, mid, top = chart.bars
    assert zero.height == 0 and zero.y == c.HEIGHT - c.PAD_BOTTOM
    assert top.height == pytest.approx(2 * mid.height)
    assert chart.ticks[-1].label == "1K"  # 800 -> axis maximum 1,000
    assert all(b.x >= c.PAD_LEFT and b.x + b.width <= c.WIDTH - c.PAD_RIGHT for b in chart.bars)


@pytest.mark.parametrize("value, expected", [(0, 1), (7, 10), (12, 20), (210, 250), (480, 500), (1000, 1000),
                                             (1_420_000, 2_000_000)])
def test_nice_ceiling(value, expected):
    assert c.nice_ceiling(value) == expected


@pytest.mark.parametrize("value, expected", [(950, "950"), (12_000, "12K"), (1_500_000, "1.5M"), (2500, "2.5K")])
def test_short_number(value, expected):
    assert c.short_number(value) == expected

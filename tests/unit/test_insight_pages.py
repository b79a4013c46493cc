"""The pure parts of the post and audience pages: the retention curve's geometry and the
best-time heatmap's arithmetic."""
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from app.services import audience, charts

UTC = ZoneInfo("UTC")


def test_share_curve_places_points_at_their_seconds_on_a_0_to_100_percent_axis():
    chart = charts.share_curve([(30, 0.4), (0, 1.0), (10, 0.6)])  # unsorted, uneven steps
    plot = charts.WIDTH - charts.PAD_LEFT - charts.PAD_RIGHT
    xs = [float(p[1:].split(",")[0]) for p in chart.path.split()]
    assert xs == [charts.PAD_LEFT, round(charts.PAD_LEFT + plot / 3, 2), charts.PAD_LEFT + plot]
    assert [t.label for t in chart.ticks] == ["0%", "50%", "100%"]
    assert chart.ticks[-1].y == charts.PAD_TOP and chart.ticks[0].y == charts.HEIGHT - charts.PAD_BOTTOM
    assert (chart.first_label, chart.last_label, chart.has_data) == ("0 s", "30 s", True)


def test_share_curve_breaks_at_a_missing_point_and_draws_nothing_without_data():
    chart = charts.share_curve([(0, 1.0), (1, None), (2, 0.5), (3, 0.4)])
    assert [p[0] for p in chart.path.split()] == ["M", "M", "L"]
    empty = charts.share_curve([(0, None)])
    assert not empty.has_data and empty.path == "" and empty.ticks == []


def test_heatmap_averages_readings_per_cell_and_skips_malformed_ones():
    monday, next_monday = date(2026, 11, 2), date(2026, 11, 9)
    readings = [(monday, [[20, 100], [21, 50], ["x", 5], [24, 9], [3]]), (next_monday, [[20, 301]]),
                (date(2026, 11, 3), None)]
    h = audience.heatmap(readings, [datetime(2026, 11, 2, 20, 15, tzinfo=timezone.utc)], UTC, date(2026, 8, 1))
    cell = h.rows[0][1][20]
    assert (cell.active, cell.readings, cell.posts, cell.level) == (200, 2, 1, audience.HEAT_LEVELS)  # (100 + 301) / 2
    assert h.rows[0][1][21].active == 50 and h.rows[0][1][21].level == 2  # 50 / 200 of the top: 2 of 5
    assert h.rows[0][1][0].active is None and h.rows[0][1][0].level == 0  # no reading is not 0
    assert (h.first_day, h.last_day, h.posts_placed) == (monday, next_monday, 1)  # the Tuesday had none
    assert [(c.weekday, c.hour) for c in h.best] == [(0, 20), (0, 21)]


def test_heatmap_without_any_reading_is_none():
    assert audience.heatmap([(date(2026, 11, 2), []), (date(2026, 11, 3), None)], [], UTC, date(2026, 8, 1)) is None

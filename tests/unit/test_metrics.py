"""The metric definitions (app/services/metrics.py) against hand-computed fixtures."""
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from app.services import metrics as m

UTC = ZoneInfo("UTC")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def week(start: date, tz=UTC) -> m.Window:
    return m.Window(start, start + timedelta(days=6), tz)


def snaps(first: date, followers: list, views: list | None = None) -> list[m.AccountDay]:
    views = views or [None] * len(followers)
    return [m.AccountDay(first + timedelta(days=i), f, v) for i, (f, v) in enumerate(zip(followers, views))]


def post(pid, created, views=1000, likes=50, comments=10, shares=5, wt=None) -> m.PostRow:
    return m.PostRow(pid, created, views, likes, comments, shares, wt)


# ------------------------------------------------------------------ windows and ISO weeks


def test_a_post_at_2330_utc_is_the_next_day_in_berlin():
    assert m.local_day(utc(2026, 5, 17, 23, 30), BERLIN) == date(2026, 5, 18)
    assert m.local_day(utc(2026, 5, 17, 23, 30), UTC) == date(2026, 5, 17)


def test_local_day_refuses_naive_datetimes():
    with pytest.raises(ValueError):
        m.local_day(datetime(2026, 5, 17, 12), BERLIN)


def test_dashboard_window_is_the_last_seven_complete_days_in_the_workspace_zone():
    # 22:30 UTC on Sunday May 24 is already Monday May 25 in Berlin.
    now = utc(2026, 5, 24, 22, 30)
    assert m.last_complete_days(now, BERLIN) == m.Window(date(2026, 5, 18), date(2026, 5, 24), BERLIN)
    assert m.last_complete_days(now, UTC) == m.Window(date(2026, 5, 17), date(2026, 5, 23), UTC)
    w = m.last_complete_days(now, UTC, 30)
    assert w.length == 30 and w.end == date(2026, 5, 23)


def test_iso_week_2026_w21_is_may_18_to_24():
    w = m.iso_week_window(*m.parse_iso_week("2026-W21"), BERLIN)
    assert (w.start, w.end) == (date(2026, 5, 18), date(2026, 5, 24))
    assert w.starts_at == datetime(2026, 5, 18, tzinfo=BERLIN)
    assert w.ends_before.astimezone(timezone.utc) == utc(2026, 5, 24, 22, 0)
    assert m.iso_week_label(date(2026, 5, 24)) == "2026-W21"


def test_week_1_of_2026_starts_in_december_2025():
    w = m.iso_week_window(2026, 1, UTC)
    assert (w.start, w.end) == (date(2025, 12, 29), date(2026, 1, 4))
    assert m.iso_week_label(date(2026, 1, 1)) == "2026-W01"
    assert m.iso_week_label(date(2027, 1, 1)) == "2026-W53"


def test_2026_has_53_iso_weeks_and_2025_has_52():
    # Jan 1 2026 is a Thursday, so 2026 has a week 53 (Dec 28 2026 - Jan 3 2027).
    assert m.iso_weeks_in_year(2026) == 53 and m.iso_weeks_in_year(2025) == 52
    w = m.iso_week_window(*m.parse_iso_week("2026-W53"), UTC)
    assert (w.start, w.end) == (date(2026, 12, 28), date(2027, 1, 3))
    with pytest.raises(ValueError):
        m.parse_iso_week("2025-W53")


@pytest.mark.parametrize("text", [
    "2026-W00", "2026-W54", "2026-w21", "2026W21", "2026-W1", "2026-W021", " 2026-W21", "2026-W21\n",
    "0000-W01", "abcd-W01", "", "2026-21", "２０２６-W21",
])
def test_parse_iso_week_is_strict(text):
    with pytest.raises(ValueError):
        m.parse_iso_week(text)


def test_a_week_across_the_dst_change_has_seven_days_but_167_hours():
    # Europe/Berlin springs forward on Sunday March 29, 2026 (ISO week 13).
    w = m.iso_week_window(2026, 13, BERLIN)
    assert w.days == [date(2026, 3, 23) + timedelta(days=i) for i in range(7)]
    assert w.ends_before - w.starts_at == timedelta(days=7)  # wall clock
    assert (w.ends_before.astimezone(timezone.utc) - w.starts_at.astimezone(timezone.utc)) == timedelta(hours=167)
    # 22:30 UTC on Sunday Mar 29 is 00:30 Monday (CEST): outside the week; 21:30 UTC is inside.
    late = [post(1, utc(2026, 3, 29, 21, 30)), post(2, utc(2026, 3, 29, 22, 30))]
    assert [p.id for p in m.posts_in_window(late, w)] == [1]


def test_previous_window_is_the_seven_days_before():
    w = week(date(2026, 5, 18))
    assert w.previous() == week(date(2026, 5, 11))


# ------------------------------------------------------------------ followers


def test_followers_latest_and_delta_over_the_window():
    w = week(date(2026, 5, 18))
    #          May 16 17 (day before)  18 ...                 24 (end)  25    26 (latest)
    s = snaps(date(2026, 5, 16), [990, 1000, 1010, 1020, 1030, 1040, 1050, 1060, 1075, 1100, 1110])
    f = m.followers(s, w)
    assert (f.count, f.delta) == (1110, 75)


def test_followers_with_no_previous_week_has_no_delta():
    w = week(date(2026, 5, 18))
    f = m.followers(snaps(date(2026, 5, 20), [100, 110, 120]), w)
    assert (f.count, f.delta) == (120, None)


def test_followers_missing_end_day_falls_back_to_the_day_before():
    w = week(date(2026, 5, 18))
    s = [m.AccountDay(date(2026, 5, 17), 500), m.AccountDay(date(2026, 5, 23), 530), m.AccountDay(date(2026, 5, 24), None)]
    assert m.followers(s, w).delta == 30


def test_followers_with_no_snapshots_is_none_not_zero():
    f = m.followers([], week(date(2026, 5, 18)))
    assert (f.count, f.delta, f.as_of) == (None, None, None)


def test_followers_series_marks_missing_days_none():
    s = snaps(date(2026, 5, 1), [10, 11, 12])
    del s[1]
    days = [date(2026, 5, 1) + timedelta(days=i) for i in range(4)]
    assert [v for _, v in m.followers_series(s, days)] == [10, None, 12, None]


# ------------------------------------------------------------------ views


def _daily(first: date, values: list) -> list[m.AccountDay]:
    return [m.AccountDay(first + timedelta(days=i), None, v) for i, v in enumerate(values)]


def test_views_7d_sums_daily_views_and_compares_with_the_week_before():
    w = week(date(2026, 5, 18))
    s = _daily(date(2026, 5, 11), [100] * 7 + [120] * 7)
    v = m.views(s, w)
    assert (v.total, v.previous, v.missing_days) == (840, 700, 0)
    assert v.change == pytest.approx(0.2)


def test_views_with_no_previous_week_have_no_change():
    v = m.views(_daily(date(2026, 5, 18), [10] * 7), week(date(2026, 5, 18)))
    assert (v.total, v.previous, v.change) == (70, None, None)


def test_zero_views_are_zero_and_a_change_from_zero_is_not_available():
    w = week(date(2026, 5, 18))
    v = m.views(_daily(date(2026, 5, 11), [0] * 14), w)
    assert (v.total, v.previous, v.change) == (0, 0, None)
    v = m.views(_daily(date(2026, 5, 11), [0] * 7 + [5] * 7), w)
    assert (v.total, v.change) == (35, None)


def test_a_missing_day_is_counted_not_invented_and_suppresses_the_change():
    w = week(date(2026, 5, 18))
    s = _daily(date(2026, 5, 11), [100] * 14)
    del s[10]  # May 21
    v = m.views(s, w)
    assert (v.total, v.missing_days, v.change) == (600, 1, None)


def test_views_with_no_figures_at_all_are_none():
    v = m.views([], week(date(2026, 5, 18)))
    assert (v.total, v.previous, v.change, v.missing_days) == (None, None, None, 7)


def test_missing_daily_views_fall_back_to_post_view_gains():
    w = week(date(2026, 5, 18))
    s = _daily(date(2026, 5, 11), [100] * 14)
    s[10] = m.AccountDay(date(2026, 5, 21), 1000, None)  # snapshot exists, daily views missing
    assert m.days_missing_daily_views(s, w.days) == [date(2026, 5, 21)]
    rows = [
        m.PostDay(1, date(2026, 5, 20), 5000), m.PostDay(1, date(2026, 5, 21), 5070),   # +70
        m.PostDay(2, date(2026, 5, 21), 40),                                             # published May 21: +40
        m.PostDay(3, date(2026, 5, 21), 900),                                            # no basis: left out
    ]
    gains = m.post_view_gains(rows, {1: date(2026, 5, 1), 2: date(2026, 5, 21), 3: date(2026, 4, 1)})
    assert gains == {date(2026, 5, 21): 110}
    v = m.views(s, w, gains)
    assert (v.total, v.missing_days) == (710, 0)


def test_post_view_gains_never_go_negative_and_unknown_days_stay_absent():
    rows = [m.PostDay(1, date(2026, 5, 20), 500), m.PostDay(1, date(2026, 5, 21), 480),
            m.PostDay(2, date(2026, 5, 22), None)]
    assert m.post_view_gains(rows, {}) == {date(2026, 5, 21): 0}


# ------------------------------------------------------------------ posts, cadence, engagement


def test_cadence_on_and_behind():
    w = week(date(2026, 5, 18))
    ps = [post(i, utc(2026, 5, 18 + i, 12)) for i in range(2)]
    assert m.cadence(ps, w, 3).label == "behind cadence (2 of 3)"
    assert m.cadence(ps, w, 2).label == "on cadence"
    assert m.cadence([], w, 0).label == "on cadence"


def test_posts_are_bucketed_in_the_workspace_timezone():
    w = week(date(2026, 5, 18), BERLIN)
    ps = [post(1, utc(2026, 5, 17, 23, 30)),  # May 18 in Berlin: in
          post(2, utc(2026, 5, 24, 22, 30)),  # May 25 in Berlin: out
          post(3, utc(2026, 5, 17, 21, 59))]  # May 17 23:59 in Berlin: out
    assert [p.id for p in m.posts_in_window(ps, w)] == [1]
    assert [p.id for p in m.posts_in_window(ps, week(date(2026, 5, 18), UTC))] == [2]


def test_engagement_is_a_ratio_of_sums_not_an_average_of_ratios():
    w = week(date(2026, 5, 18))
    ps = [post(1, utc(2026, 5, 18, 12), views=1000, likes=90, comments=5, shares=5),   # 10 %
          post(2, utc(2026, 5, 19, 12), views=9000, likes=90, comments=0, shares=0),   # 1 %
          post(3, utc(2026, 5, 12, 12), views=1000, likes=40, comments=5, shares=5)]   # previous week: 5 %
    e = m.engagement(ps, w)
    assert e.rate == pytest.approx(190 / 10000)  # 1.9 %, not (10 + 1) / 2 = 5.5 %
    assert e.previous == pytest.approx(0.05)
    assert e.change_pp == pytest.approx(-3.1)


def test_engagement_with_zero_views_or_no_posts_is_none():
    w = week(date(2026, 5, 18))
    assert m.engagement_rate([post(1, utc(2026, 5, 18, 12), views=0, likes=0, comments=0, shares=0)]) is None
    assert m.engagement([], w) == m.Engagement(None, None, None)
    assert m.post_engagement(post(1, utc(2026, 5, 18), views=0)) is None
    assert m.post_engagement(post(1, utc(2026, 5, 18), likes=None)) is None


def test_posts_with_unknown_counts_are_left_out_of_the_window_rate():
    ps = [post(1, utc(2026, 5, 18, 12), views=100, likes=10, comments=0, shares=0),
          post(2, utc(2026, 5, 18, 13), views=900, likes=None)]
    assert m.engagement_rate(ps) == pytest.approx(0.1)


def test_a_post_deleted_on_tiktok_keeps_its_last_counts():
    # Sync stops updating a deleted post; its stored latest counts still count for its week.
    w = week(date(2026, 5, 18))
    deleted = post(1, utc(2026, 5, 18, 12), views=2000, likes=100, comments=0, shares=0)
    live = post(2, utc(2026, 5, 19, 12), views=3000, likes=200, comments=0, shares=0)
    assert m.cadence([deleted, live], w, 2).on_cadence
    assert m.engagement_rate(m.posts_in_window([deleted, live], w)) == pytest.approx(300 / 5000)
    assert [p.id for p in m.top_posts([deleted, live], w)] == [2, 1]


def test_missing_watch_through_is_none():
    assert m.watch_through(post(1, utc(2026, 5, 18), wt=None)) is None
    assert m.watch_through(post(1, utc(2026, 5, 18), wt=0.0)) == 0.0
    assert m.watch_through(post(1, utc(2026, 5, 18), wt=0.42)) == 0.42


def test_top_posts_are_the_three_most_viewed_published_in_the_window():
    w = week(date(2026, 5, 18))
    ps = [post(1, utc(2026, 5, 18, 12), views=10), post(2, utc(2026, 5, 19, 12), views=500),
          post(3, utc(2026, 5, 20, 12), views=300), post(4, utc(2026, 5, 21, 12), views=None),
          post(5, utc(2026, 5, 22, 12), views=400), post(6, utc(2026, 5, 10, 12), views=99999)]
    assert [p.id for p in m.top_posts(ps, w)] == [2, 5, 3]


# ------------------------------------------------------------------ paid


def test_paid_spark_ads_aggregates():
    w = week(date(2026, 5, 18))
    rows = [
        m.AdDay(1, date(2026, 5, 18), 10000, 100, Decimal("20.00")),
        m.AdDay(1, date(2026, 5, 19), 5000, 50, Decimal("10.00")),
        m.AdDay(2, date(2026, 5, 20), 5000, 40, Decimal("15.00")),
        m.AdDay(3, date(2026, 5, 20), 0, 0, Decimal("0")),          # no impressions: not boosted
        m.AdDay(4, date(2026, 5, 11), 99999, 999, Decimal("999")),  # previous week: ignored
    ]
    p = m.paid(rows, w)
    assert (p.boosted_posts, p.impressions, p.clicks, p.spend) == (2, 20000, 190, Decimal("45.00"))
    assert p.ctr == pytest.approx(0.0095)
    assert p.cpm == Decimal("2.25")


def test_paid_without_rows_is_none_and_without_impressions_has_no_ratios():
    w = week(date(2026, 5, 18))
    assert m.paid([], w) is None
    p = m.paid([m.AdDay(1, date(2026, 5, 18), 0, 0, None)], w)
    assert (p.boosted_posts, p.ctr, p.cpm) == (0, None, None)


def test_workspace_tz_falls_back_to_utc():
    assert m.workspace_tz("Europe/Berlin") == BERLIN
    assert m.workspace_tz("Mars/Olympus") == UTC
    assert m.workspace_tz("") == UTC
    assert m.workspace_tz("../../etc/passwd") == UTC


# ------------------------------------------------------------------ periods other than a week


def test_windows_are_written_out_with_years_only_when_needed():
    utc = m.workspace_tz("UTC")
    w = m.Window(date(2026, 11, 24), date(2026, 11, 30), utc)
    assert m.comparison_label(w, w.previous()) == "Nov 24–30 vs Nov 17–23"
    assert m.comparison_label(w, w.year_before()) == "Nov 24–30, 2026 vs Nov 24–30, 2025"
    across = m.Window(date(2026, 10, 28), date(2026, 11, 3), utc)
    assert m.comparison_label(across, across.previous()) == "Oct 28 – Nov 3 vs Oct 21–27"
    new_year = m.Window(date(2026, 1, 1), date(2026, 1, 7), utc)
    assert m.comparison_label(new_year, new_year.previous()) == "Jan 1–7, 2026 vs Dec 25–31, 2025"
    assert m.window_label(m.Window(date(2026, 3, 1), date(2026, 3, 1), utc)) == "Mar 1"


def test_the_year_before_of_a_leap_day_is_feb_28():
    w = m.Window(date(2028, 2, 29), date(2028, 3, 6), m.workspace_tz("UTC"))
    assert (w.year_before().start, w.year_before().end) == (date(2027, 2, 28), date(2027, 3, 6))
    assert m.comparison_window(w, "year") == w.year_before() and m.comparison_window(w, "previous") == w.previous()


@pytest.mark.parametrize("target, days, needed", [(3, 7, 3), (3, 28, 12), (3, 90, 39), (3, 10, 5), (0, 90, 0), (5, 1, 1)])
def test_cadence_scales_the_weekly_target_to_the_period_rounding_up(target, days, needed):
    w = m.Window(date(2026, 1, 1), date(2026, 1, 1) + timedelta(days=days - 1), m.workspace_tz("UTC"))
    assert m.cadence_of(needed, w, target).on_cadence and m.cadence_of(needed, w, target).target == needed


def test_engagement_from_sums_is_the_same_ratio_as_over_the_posts():
    posts = [m.PostRow(1, datetime(2026, 1, 1, tzinfo=timezone.utc), views=1000, likes=50, comments=5, shares=5),
             m.PostRow(2, datetime(2026, 1, 2, tzinfo=timezone.utc), views=3000, likes=100, comments=10, shares=10)]
    assert m.rate_of_sums(180, 4000) == m.engagement_rate(posts) == 180 / 4000
    assert m.rate_of_sums(None, 0) is None and m.rate_of_sums(0, None) is None
    change = m.engagement_change(0.05, 0.041)
    assert change.change_pp == pytest.approx(0.9)

"""Report periods (weeks and calendar months) and when each one's report is delivered."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from app.services import report_periods as rp

UTC = timezone.utc
TOKYO, HONOLULU, LONDON = ZoneInfo("Asia/Tokyo"), ZoneInfo("Pacific/Honolulu"), ZoneInfo("Europe/London")


@pytest.mark.parametrize("key, kind, start, end, label", [
    ("2026-W21", "weekly", date(2026, 5, 18), date(2026, 5, 24), "Week 21 · May 18 – May 24, 2026"),
    ("2026-05", "monthly", date(2026, 5, 1), date(2026, 5, 31), "May 2026"),
    ("2028-02", "monthly", date(2028, 2, 1), date(2028, 2, 29), "February 2028"),
])
def test_a_key_names_a_week_or_a_month(key, kind, start, end, label):
    period = rp.parse_period(key)
    assert (period.kind, period.key, period.start, period.end, period.label) == (kind, key, start, end, label)


def test_previous_and_next_cross_years():
    assert rp.parse_period("2026-01").previous().key == "2025-12"
    assert rp.parse_period("2025-12").next().key == "2026-01"
    assert rp.parse_period("2026-W01").previous().key == "2025-W52"


@pytest.mark.parametrize("bad", ["2026-13", "2026-00", "2026-5", "26-05", "2026-W99", "1999-05", "", "2026-05x"])
def test_anything_else_is_refused_with_how_to_write_one(bad):
    with pytest.raises(rp.PeriodError) as e:
        rp.parse_period(bad)
    assert "YYYY-W" in str(e.value) or "outside" in str(e.value)


@pytest.mark.parametrize("weekday, day", [(0, date(2026, 5, 25)), (1, date(2026, 5, 26)), (6, date(2026, 5, 31))])
def test_a_weeks_report_goes_on_the_first_chosen_weekday_after_it_ends(weekday, day):
    assert rp.delivery_day(rp.parse_period("2026-W21"), weekday) == day


def test_a_months_report_goes_on_the_first_of_the_next_month_whatever_the_weekday():
    assert rp.delivery_day(rp.parse_period("2026-05"), 3) == date(2026, 6, 1)


@pytest.mark.parametrize("tz, utc_moment", [(TOKYO, datetime(2026, 5, 25, 0, tzinfo=UTC)),
                                             (HONOLULU, datetime(2026, 5, 25, 19, tzinfo=UTC))])
def test_the_week_just_ended_is_due_at_09_local_and_not_an_hour_before(tz, utc_moment):
    assert rp.due_period("weekly", utc_moment - timedelta(hours=1), tz, 0, 9) is None
    assert rp.due_period("weekly", utc_moment, tz, 0, 9) == rp.Week(2026, 21)
    assert rp.due_period("weekly", utc_moment + rp.DELIVERY_GRACE, tz, 0, 9) == rp.Week(2026, 21)
    assert rp.due_period("weekly", utc_moment + rp.DELIVERY_GRACE + timedelta(hours=1), tz, 0, 9) is None


def test_a_month_is_due_on_the_first_at_the_local_hour_across_dst():
    first_09 = datetime(2026, 4, 1, 8, tzinfo=UTC)  # 09:00 BST
    assert rp.due_period("monthly", first_09 - timedelta(minutes=1), LONDON, 0, 9) is None
    assert rp.due_period("monthly", first_09, LONDON, 0, 9) == rp.Month(2026, 3)


def test_the_next_delivery_is_after_now():
    period, at = rp.next_delivery("weekly", datetime(2026, 5, 25, 9, 30, tzinfo=UTC), LONDON, 0, 9)
    assert period == rp.Week(2026, 22) and at == datetime(2026, 6, 1, 9, tzinfo=LONDON)


def test_the_schedule_in_words():
    assert rp.describe_delivery(("weekly", "monthly"), 2, 7, "Asia/Tokyo") == \
        "weekly reports on Wednesdays and monthly reports on the 1st, at 07:00 (Asia/Tokyo)"

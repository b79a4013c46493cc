"""ISO weeks for reports: parsing, labels, the previous week in a zone, and the retry backoff."""
from datetime import date, datetime, timedelta, timezone

import pytest

from app.services import report_delivery, report_figures

MONDAY_9_UTC = datetime(2026, 5, 25, 9, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("text, year, week", [("2026-W21", 2026, 21), ("2026-W01", 2026, 1), ("2026-W53", 2026, 53),
                                              ("2020-W53", 2020, 53)])
def test_parse_week(text, year, week):
    assert report_figures.parse_week(text) == report_figures.Week(year, week)
    assert report_figures.parse_week(text).iso == text


@pytest.mark.parametrize("text", ["2026-W99", "2025-W53", "2026-W00", "2026-21", "2026W21", "2026-w21", " 2026-W21",
                                  "2026-W21 ", "２０２６-W21", "", "0000-W01"])
def test_malformed_weeks_say_how_to_write_one(text):
    with pytest.raises(report_figures.WeekError) as e:
        report_figures.parse_week(text)
    assert str(e.value) == f"“{text}” is not an ISO week (use YYYY-Www, e.g. 2026-W21)"
    assert isinstance(e.value, ValueError)  # the CLI prints ValueErrors as clear one-liners


def test_a_very_long_week_string_is_cut_in_the_message():
    with pytest.raises(report_figures.WeekError) as e:
        report_figures.parse_week("x" * 5000)
    assert len(str(e.value)) < 120


@pytest.mark.parametrize("week, label", [
    ("2026-W21", "Week 21 · May 18 – May 24, 2026"),  # the brief's sample said May 19 – 25: ISO weeks rule
    ("2026-W22", "Week 22 · May 25 – May 31, 2026"),
    ("2026-W01", "Week 1 · Dec 29, 2025 – Jan 4, 2026"),
    ("2026-W53", "Week 53 · Dec 28, 2026 – Jan 3, 2027"),
])
def test_labels_come_from_the_iso_week(week, label):
    assert report_figures.parse_week(week).label == label


def test_week_bounds_are_monday_to_sunday():
    wk = report_figures.parse_week("2026-W21")
    assert wk.monday == date(2026, 5, 18) and wk.monday.isoweekday() == 1


@pytest.mark.parametrize("zone, expected", [
    ("Pacific/Auckland", "2026-W21"),      # Monday 21:00
    ("America/Los_Angeles", "2026-W21"),   # Monday 02:00
    ("Europe/London", "2026-W21"),
    ("Pacific/Honolulu", "2026-W20"),      # still Sunday 23:00: week 21 is not over
    ("Pacific/Kiritimati", "2026-W21"),    # Monday 23:00
    ("Not/AZone", "2026-W21"),             # unknown zone: UTC
])
def test_previous_week_on_monday_9_utc(zone, expected):
    assert report_figures.previous_week(MONDAY_9_UTC, zone).iso == expected


def test_previous_week_across_new_year():
    assert report_figures.previous_week(datetime(2026, 1, 5, 9, tzinfo=timezone.utc), "UTC").iso == "2026-W01"
    assert report_figures.previous_week(datetime(2026, 1, 4, 9, tzinfo=timezone.utc), "UTC").iso == "2025-W52"


def test_backoff_doubles_from_five_minutes_and_stops_at_six_hours():
    assert [report_delivery.backoff(n) for n in range(1, 10)] == [
        timedelta(minutes=m) for m in (5, 10, 20, 40, 80, 160, 320, 360, 360)]


class _Report:
    id = 42


def test_message_id_is_deterministic_per_report_and_recipient():
    a = report_delivery.message_id(_Report(), "Admin@Example.com")
    assert a == report_delivery.message_id(_Report(), "admin@example.com")
    assert a != report_delivery.message_id(_Report(), "other@example.com")
    assert a.startswith("<report-42-") and a.endswith("@logic-target>") and len(a) == len("<report-42-") + 12 + 14

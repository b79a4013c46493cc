"""Report periods (an ISO week or a calendar month, in the workspace's timezone) and
when each period's report is delivered.

A period is named by its key: "2026-W21" (ISO week, Monday to Sunday) or "2026-05"
(calendar month). Both kinds answer the same questions (start, end, label, window,
previous, next), so pages, the job and the figures treat them alike.

Delivery: a workspace chooses a weekday and a local hour (default Monday 09:00 in its
timezone). A week's report is delivered on the first such weekday after the week ends
(Monday: the next day; Sunday: six days later); a month's report on the 1st of the
next month at that hour, whatever the weekday, so the client has it on the first
morning of the new month. Pure functions: no database, no clock.
"""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.services import metrics

KIND_WEEKLY = "weekly"
KIND_MONTHLY = "monthly"
KINDS = (KIND_WEEKLY, KIND_MONTHLY)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# A report whose delivery moment passed longer ago than this (the app was down, or the
# workspace only now chose that cadence) is not sent by the schedule: a stale report
# arriving days late, or last month's on the 20th, surprises more than it helps. It can
# still be built from its page or sent with `flask jobs run weekly-reports --week KEY`.
DELIVERY_GRACE = timedelta(days=3)

_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")  # ASCII digits only


class PeriodError(ValueError):
    """A period key that names no week or month; the message says how to write one."""


class _Period:
    """What a week and a month share: their days as a metrics window, and their
    neighbours (the period containing the day before the start, or after the end)."""

    def window(self, tz: ZoneInfo) -> metrics.Window:
        return metrics.Window(self.start, self.end, tz)

    def previous(self):
        return self.containing(self.start - timedelta(days=1))

    def next(self):
        return self.containing(self.end + timedelta(days=1))


@dataclass(frozen=True)
class Week(_Period):
    year: int
    number: int

    kind = KIND_WEEKLY
    noun = "week"

    @property
    def key(self) -> str:
        return f"{self.year}-W{self.number:02d}"

    iso = key  # the name the weekly report always had

    @property
    def start(self) -> date:
        return date.fromisocalendar(self.year, self.number, 1)

    monday = start

    @property
    def end(self) -> date:
        return self.start + timedelta(days=6)

    @property
    def label(self) -> str:
        return week_label(self.start, self.end, self.number)

    @property
    def short_label(self) -> str:
        return f"Week {self.number}, {self.year}"

    @staticmethod
    def containing(day: date) -> Week:
        year, number, _ = day.isocalendar()
        return Week(year, number)


@dataclass(frozen=True)
class Month(_Period):
    year: int
    month: int

    kind = KIND_MONTHLY
    noun = "month"

    @property
    def key(self) -> str:
        return f"{self.year}-{self.month:02d}"

    iso = key

    @property
    def start(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def end(self) -> date:
        return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    @property
    def label(self) -> str:
        return f"{self.start:%B} {self.year}"

    short_label = label

    @staticmethod
    def containing(day: date) -> Month:
        return Month(day.year, day.month)


Period = Week | Month


def week_label(start: date, end: date, number: int | None = None) -> str:
    """"Week 21 · May 18 – May 24, 2026" (the year once, twice across a new year)."""
    number = number or start.isocalendar()[1]
    if start.year == end.year:
        span = f"{start:%b} {start.day} – {end:%b} {end.day}, {end.year}"
    else:
        span = f"{start:%b} {start.day}, {start.year} – {end:%b} {end.day}, {end.year}"
    return f"Week {number} · {span}"


def parse_week(text: str) -> Week:
    """"2026-W21" -> Week(2026, 21); anything else raises PeriodError with a helpful message."""
    shown = (text or "")[:40]
    try:
        year, number = metrics.parse_iso_week(text)
    except metrics.WeekOutOfRange:
        raise PeriodError(f"“{shown}” is outside the weeks reports cover "
                          f"({metrics.FIRST_WEEK_YEAR} to {metrics.LAST_WEEK_YEAR})") from None
    except ValueError:
        raise PeriodError(f"“{shown}” is not an ISO week (use YYYY-Www, e.g. 2026-W21)") from None
    return Week(year, number)


def parse_period(text: str) -> Period:
    """"2026-W21" -> a week, "2026-05" -> a month; PeriodError names the problem."""
    text = text or ""
    if "W" in text[:6]:
        return parse_week(text)
    shown = text[:40]
    m = _MONTH.fullmatch(text)
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise PeriodError(f"“{shown}” is not a report period (use YYYY-Www for a week, e.g. 2026-W21, "
                          f"or YYYY-MM for a month, e.g. 2026-05)")
    year = int(m.group(1))
    if not metrics.FIRST_WEEK_YEAR <= year <= metrics.LAST_WEEK_YEAR:
        raise PeriodError(f"“{shown}” is outside the months reports cover "
                          f"({metrics.FIRST_WEEK_YEAR} to {metrics.LAST_WEEK_YEAR})")
    return Month(year, int(m.group(2)))


def period_of(kind: str, key: str) -> Period:
    period = parse_period(key)
    if period.kind != kind:
        raise PeriodError(f"“{key}” is not a {kind} period")
    return period


def last_complete(kind: str, now: datetime, tz: ZoneInfo) -> Period:
    """The period of `kind` that ended most recently before `now`, in `tz`."""
    cls = Week if kind == KIND_WEEKLY else Month
    return cls.containing(metrics.local_day(now, tz)).previous()


def is_over(period: Period, tz: ZoneInfo, *, now: datetime) -> bool:
    return now >= period.window(tz).ends_before


# ------------------------------------------------------------------ delivery


def delivery_day(period: Period, weekday: int) -> date:
    """A week: the first `weekday` (0 = Monday) after it ends. A month: the 1st of the next."""
    if period.kind == KIND_MONTHLY:
        return period.end + timedelta(days=1)
    return period.end + timedelta(days=(weekday - period.end.weekday() - 1) % 7 + 1)


def delivery_moment(period: Period, tz: ZoneInfo, weekday: int, hour: int) -> datetime:
    """When `period`'s report is due, as an aware datetime in `tz`. An hour that a DST
    change skips that day falls on the instant after the gap (zoneinfo's reading)."""
    return datetime.combine(delivery_day(period, weekday), time(hour), tzinfo=tz)


def due_period(kind: str, now: datetime, tz: ZoneInfo, weekday: int, hour: int) -> Period | None:
    """The period of `kind` whose report the schedule should have delivered by `now`: the
    latest one whose delivery moment has passed, unless that was more than DELIVERY_GRACE ago."""
    period = last_complete(kind, now, tz)
    if delivery_moment(period, tz, weekday, hour) > now:
        period = period.previous()
    moment = delivery_moment(period, tz, weekday, hour)
    if moment > now or now - moment > DELIVERY_GRACE:
        return None
    return period


def next_delivery(kind: str, now: datetime, tz: ZoneInfo, weekday: int, hour: int) -> tuple[Period, datetime]:
    """The next report of `kind` the schedule delivers after `now`, and when."""
    period = last_complete(kind, now, tz)
    while delivery_moment(period, tz, weekday, hour) <= now:
        period = period.next()
    return period, delivery_moment(period, tz, weekday, hour)


def describe_delivery(kinds: tuple[str, ...], weekday: int, hour: int, tz_name: str) -> str:
    """"weekly reports on Mondays and monthly reports on the 1st, at 09:00 (Europe/London)"."""
    parts = [f"weekly reports on {WEEKDAYS[weekday]}s" if kind == KIND_WEEKLY else "monthly reports on the 1st"
             for kind in kinds]
    return f"{' and '.join(parts)}, at {hour:02d}:00 ({tz_name})"

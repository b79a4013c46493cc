"""The metric definitions, shared by the dashboard and the weekly report (one module, one meaning).

Pure functions over plain values: no database, no Flask, no clock. Callers load rows,
turn them into the small dataclasses below and pass `now`/`tz` explicitly.

Conventions
- A *window* is a run of whole calendar days in the workspace's timezone, `[start, end]`
  inclusive. The dashboard uses the last 7, 28 or 90 complete days (`last_complete_days`)
  or a custom run of days, the report an ISO week (`iso_week_window`).
- `AccountDay.day` and `PostDay.day` are calendar days as stored by the sync (the
  account's/workspace's day); `PostRow.create_time` is an aware datetime and is bucketed
  into the workspace's timezone here.
- "Not available" is `None`, never 0: 0 means TikTok said zero.

Where the product's definitions leave a choice, these are the decisions (and the tests pin them):
- Followers delta: the last known count on or before the window's end (and not before its
  start) minus the last known count on or before the day before the window (and not before
  the previous window's start). A missing day falls back to the day before; no basis → None.
- Views: a day's figure is the account's daily `video_views`; when that is missing, the
  views gained by the posts that day (a post's cumulative views minus its views on the day
  before; a post published that day counts its views in full; posts without a basis are
  left out). A day with neither is missing. A window's total sums the days it has and
  reports how many are missing; None when all are. The % change is only given when both
  windows are complete (comparing a partial week would mislead) and the previous is > 0.
- Engagement of a window: over the posts published in it whose views, likes, comments and
  shares are all known; None when their views sum to 0 or there are none.
- Cadence: the target is posts per week; a window of another length (the dashboard's 28
  or 90 days, a custom range) needs that share of it, rounded up.
- Comparison: with the window just before (same length) by default, or the same days a
  year earlier (`comparison_window`); labels write both out (`comparison_label`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import cached_property
from typing import Iterable, NamedTuple, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WINDOW_DAYS = 7
_ISO_WEEK = re.compile(r"([0-9]{4})-W([0-9]{2})")  # ASCII digits only


# ------------------------------------------------------------------ time and windows


def workspace_tz(name: str | None) -> ZoneInfo:
    """The workspace's zone; an unknown or empty name falls back to UTC."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@dataclass(frozen=True)
class Window:
    """Whole days `start`..`end` (inclusive) in `tz`."""

    start: date
    end: date
    tz: ZoneInfo

    @cached_property
    def days(self) -> list[date]:
        """Its days in order (computed once: callers must not change the list)."""
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    @property
    def length(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def starts_at(self) -> datetime:
        """The first instant of the window, as an aware datetime in `tz`."""
        return datetime.combine(self.start, time(), tzinfo=self.tz)

    @property
    def ends_before(self) -> datetime:
        """The first instant after the window (exclusive bound; DST-correct)."""
        return datetime.combine(self.end + timedelta(days=1), time(), tzinfo=self.tz)

    def previous(self) -> Window:
        """The window of the same length just before this one."""
        return Window(self.start - timedelta(days=self.length), self.start - timedelta(days=1), self.tz)

    def year_before(self) -> Window:
        """The same calendar days one year earlier (Feb 29 becomes Feb 28)."""
        return Window(_year_before(self.start), _year_before(self.end), self.tz)

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end


def _year_before(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # Feb 29
        return day.replace(year=day.year - 1, day=28)


COMPARISONS = ("previous", "year")


def comparison_window(window: Window, compare: str) -> Window:
    """What `window` is compared with: "previous" (the same number of days just before) or
    "year" (the same days a year earlier)."""
    return window.year_before() if compare == "year" else window.previous()


def _day_label(day: date, with_year: bool) -> str:
    return f"{day:%b} {day.day}, {day.year}" if with_year else f"{day:%b} {day.day}"


def window_label(window: Window, with_year: bool = False) -> str:
    """"Nov 24–30", "Nov 24 – Dec 7", "Dec 28, 2025 – Jan 3, 2026", "Nov 24"."""
    start, end = window.start, window.end
    with_year = with_year or start.year != end.year
    if start == end:
        return _day_label(start, with_year)
    if start.month == end.month and start.year == end.year:
        return f"{start:%b} {start.day}–{end.day}" + (f", {end.year}" if with_year else "")
    return f"{_day_label(start, with_year)} – {_day_label(end, with_year)}"


def labels_need_years(window: Window, compare: Window) -> bool:
    """Whether the two windows' labels write years out: when their days are not all in one year."""
    return len({window.start.year, window.end.year, compare.start.year, compare.end.year}) > 1


def comparison_label(window: Window, compare: Window) -> str:
    """"Nov 24–30 vs Nov 17–23"; years written out when the days are not all in one year."""
    with_year = labels_need_years(window, compare)
    return f"{window_label(window, with_year)} vs {window_label(compare, with_year)}"


def local_day(moment: datetime, tz: ZoneInfo) -> date:
    """The calendar day `moment` falls on in `tz` (23:30 UTC is the next day in Berlin)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    return moment.astimezone(tz).date()


def last_complete_days(now: datetime, tz: ZoneInfo, days: int = WINDOW_DAYS) -> Window:
    """The last `days` whole days before today (in `tz`): the dashboard's window."""
    today = local_day(now, tz)
    return Window(today - timedelta(days=days), today - timedelta(days=1), tz)


# The years a week may name: wide enough for any data TikTok can have, narrow enough that a
# window and the days around it (the day before, the week before) never leave the calendar.
FIRST_WEEK_YEAR = 2000
LAST_WEEK_YEAR = 2100


class WeekOutOfRange(ValueError):
    """A real ISO week, but of a year outside FIRST_WEEK_YEAR..LAST_WEEK_YEAR."""


def parse_iso_week(text: str) -> tuple[int, int]:
    """"2026-W21" -> (2026, 21). Strict: exactly YYYY-Www, a week the year really has,
    in FIRST_WEEK_YEAR..LAST_WEEK_YEAR (WeekOutOfRange otherwise)."""
    m = _ISO_WEEK.fullmatch(text or "")
    if not m:
        raise ValueError(f"not an ISO week (YYYY-Www): {text!r}")
    year, week = int(m.group(1)), int(m.group(2))
    if year < 1 or week < 1 or week > iso_weeks_in_year(year):
        raise ValueError(f"{year} has no week {week}")
    if not FIRST_WEEK_YEAR <= year <= LAST_WEEK_YEAR:
        raise WeekOutOfRange(f"weeks of {FIRST_WEEK_YEAR} to {LAST_WEEK_YEAR} only, not {year}")
    return year, week


def iso_weeks_in_year(year: int) -> int:
    """52 or 53: Dec 28 is always in the year's last ISO week."""
    return date(year, 12, 28).isocalendar()[1]


def iso_week_window(year: int, week: int, tz: ZoneInfo) -> Window:
    """Monday..Sunday of ISO week `week` of `year`, in `tz`."""
    monday = date.fromisocalendar(year, week, 1)  # raises ValueError for a week that doesn't exist
    return Window(monday, monday + timedelta(days=6), tz)


def iso_week_label(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


# ------------------------------------------------------------------ inputs


class AccountDay(NamedTuple):
    """One daily account snapshot (a NamedTuple: the dashboard makes hundreds per view,
    several times cheaper than a dataclass)."""

    day: date
    followers_count: int | None = None
    video_views: int | None = None
    captured_at: datetime | None = None


@dataclass(frozen=True)
class PostRow:
    """A post with its latest cumulative counts."""

    id: int
    create_time: datetime
    views: int | None = None
    likes: int | None = None
    comments: int | None = None
    shares: int | None = None
    full_video_watched_rate: float | None = None
    caption: str = ""
    thumbnail_url: str | None = None
    share_url: str | None = None
    metrics_as_of: datetime | None = None


@dataclass(frozen=True)
class PostDay:
    """A post's cumulative views as seen on one day (PostMetric)."""

    post_id: int
    day: date
    views: int | None


@dataclass(frozen=True)
class AdDay:
    """One Spark Ad's delivery on one day."""

    post_key: str | int | None  # the organic post (id or TikTok item id)
    day: date
    impressions: int | None
    clicks: int | None
    spend: Decimal | float | None


# ------------------------------------------------------------------ results


@dataclass(frozen=True)
class Followers:
    count: int | None
    delta: int | None
    as_of: datetime | None


@dataclass(frozen=True)
class Views:
    total: int | None
    previous: int | None
    change: float | None  # ratio: 0.12 = +12 %
    missing_days: int


@dataclass(frozen=True)
class Cadence:
    posts: int
    target: int

    @property
    def on_cadence(self) -> bool:
        return self.posts >= self.target

    @property
    def label(self) -> str:
        return "on cadence" if self.on_cadence else f"behind cadence ({self.posts} of {self.target})"


@dataclass(frozen=True)
class Engagement:
    rate: float | None  # ratio: 0.052 = 5.2 %
    previous: float | None
    change_pp: float | None  # percentage points: +0.4


@dataclass(frozen=True)
class Paid:
    boosted_posts: int
    impressions: int
    clicks: int
    spend: Decimal
    ctr: float | None
    cpm: Decimal | None


# ------------------------------------------------------------------ followers


def _last_known_followers(by_day: dict[date, AccountDay], on_or_before: date, not_before: date) -> AccountDay | None:
    day = on_or_before
    while day >= not_before:
        snap = by_day.get(day)
        if snap is not None and snap.followers_count is not None:
            return snap
        day -= timedelta(days=1)
    return None


def followers(snapshots: Iterable[AccountDay], window: Window) -> Followers:
    """Latest count (any day) and the window's delta (end of window − end of the day before)."""
    snaps = sorted((s for s in snapshots if s.followers_count is not None), key=lambda s: s.day)
    if not snaps:
        return Followers(None, None, None)
    latest = snaps[-1]
    by_day = {s.day: s for s in snaps}
    end = _last_known_followers(by_day, window.end, window.start)
    base = _last_known_followers(by_day, window.start - timedelta(days=1), window.previous().start)
    delta = end.followers_count - base.followers_count if end and base else None
    return Followers(latest.followers_count, delta, latest.captured_at)


def followers_series(snapshots: Iterable[AccountDay], days: Sequence[date]) -> list[tuple[date, int | None]]:
    """Follower count per day (None where that day has no snapshot)."""
    by_day = {s.day: s.followers_count for s in snapshots}
    return [(d, by_day.get(d)) for d in days]


# ------------------------------------------------------------------ views


def post_view_gains(rows: Iterable[PostDay], published: dict[int, date]) -> dict[date, int]:
    """Views gained per day from posts' cumulative views (the fallback for missing days).

    A post's gain on day d = its views on d − its views on d−1; a post published on d
    gains its views on d in full. Posts with no basis that day are left out; a day with
    no post giving a figure is absent (not 0)."""
    by_post: dict[int, dict[date, int]] = {}
    for r in rows:
        if r.views is not None:
            by_post.setdefault(r.post_id, {})[r.day] = r.views
    gains: dict[date, int] = {}
    for post_id, days in by_post.items():
        for day, views in days.items():
            before = days.get(day - timedelta(days=1))
            if before is not None:
                gained = max(views - before, 0)  # counts can dip (removed fake views); never negative gain
            elif published.get(post_id) == day:
                gained = views
            else:
                continue
            gains[day] = gains.get(day, 0) + gained
    return gains


def views_per_day(snapshots: Iterable[AccountDay], days: Sequence[date],
                  post_gains: dict[date, int] | None = None) -> list[tuple[date, int | None]]:
    """Each day's views: the account's daily `video_views`, else the posts' gain, else None."""
    daily = {s.day: s.video_views for s in snapshots if s.video_views is not None}
    gains = post_gains or {}
    return [(d, daily[d] if d in daily else gains.get(d)) for d in days]


def days_missing_daily_views(snapshots: Iterable[AccountDay], days: Sequence[date]) -> list[date]:
    """The days the fallback (post view gains) is needed for."""
    have = {s.day for s in snapshots if s.video_views is not None}
    return [d for d in days if d not in have]


def _window_sum(series: dict[date, int | None], window: Window) -> tuple[int | None, int]:
    values = [series.get(d) for d in window.days]
    known = [v for v in values if v is not None]
    return (sum(known) if known else None), len(values) - len(known)


def views(snapshots: Iterable[AccountDay], window: Window, post_gains: dict[date, int] | None = None,
          compare: Window | None = None) -> Views:
    """Views gained in the window, and the change vs `compare` (the window before unless
    given), both complete."""
    prev = compare or window.previous()
    series = dict(views_per_day(list(snapshots), prev.days + window.days, post_gains))
    total, missing = _window_sum(series, window)
    previous, prev_missing = _window_sum(series, prev)
    change = None
    if total is not None and previous and missing == 0 and prev_missing == 0:
        change = (total - previous) / previous
    return Views(total, previous, change, missing)


def combined_views(per_account: Sequence[Views]) -> Views:
    """Several accounts' views as one figure, as the weekly report adds them up: totals
    summed over the accounts that have one; the change only when every account's change
    is known (each window complete, each previous > 0), for the same reason as for one."""
    totals = [v.total for v in per_account if v.total is not None]
    previous = [v.previous for v in per_account if v.previous is not None]
    total = sum(totals) if totals else None
    before = sum(previous) if previous else None
    change = None
    if per_account and total is not None and before and all(v.change is not None for v in per_account):
        change = (total - before) / before
    return Views(total, before, change, sum(v.missing_days for v in per_account))


def combined_followers_delta(deltas: Iterable[int | None]) -> int | None:
    """Several accounts' follower deltas as one: the sum of those known; None when none is."""
    known = [d for d in deltas if d is not None]
    return sum(known) if known else None


# ------------------------------------------------------------------ posts, cadence, engagement


def posts_in_window(posts: Iterable[PostRow], window: Window) -> list[PostRow]:
    return [p for p in posts if window.contains(local_day(p.create_time, window.tz))]


def cadence(posts: Iterable[PostRow], window: Window, target: int) -> Cadence:
    return cadence_of(len(posts_in_window(posts, window)), window, target)


def cadence_of(posts: int, window: Window, target: int) -> Cadence:
    """`target` is posts per week; a window of another length needs its share of it,
    rounded up (28 days: 4 x target; 10 days at 3 a week: 5)."""
    weekly = max(int(target or 0), 0)
    return Cadence(posts, -(-weekly * window.length // WINDOW_DAYS))


def post_engagement(post: PostRow) -> float | None:
    """(likes + comments + shares) / views of one post; None when unknown or no views."""
    parts = (post.likes, post.comments, post.shares)
    if not post.views or any(v is None for v in parts):
        return None
    return sum(parts) / post.views  # type: ignore[arg-type]


def engagement_rate(posts: Iterable[PostRow]) -> float | None:
    """Sum of interactions / sum of views over the posts (not an average of ratios)."""
    known = [p for p in posts if None not in (p.views, p.likes, p.comments, p.shares)]
    return rate_of_sums(sum(p.likes + p.comments + p.shares for p in known),  # type: ignore[operator]
                        sum(p.views for p in known))  # type: ignore[misc]


def rate_of_sums(interactions: int | None, views: int | None) -> float | None:
    """The engagement rate from sums already taken over the posts whose views, likes,
    comments and shares are all known (e.g. by a database); None without views."""
    if not views:
        return None
    return (interactions or 0) / views


def engagement_change(current: float | None, previous: float | None) -> Engagement:
    """The two rates and their difference in percentage points."""
    change = (current - previous) * 100 if current is not None and previous is not None else None
    return Engagement(current, previous, change)


def engagement(posts: Sequence[PostRow], window: Window, compare: Window | None = None) -> Engagement:
    return engagement_change(engagement_rate(posts_in_window(posts, window)),
                             engagement_rate(posts_in_window(posts, compare or window.previous())))


def watch_through(post: PostRow) -> float | None:
    """Share of views that watched to the end, when TikTok gives it."""
    return post.full_video_watched_rate


def top_posts(posts: Iterable[PostRow], window: Window, n: int = 3) -> list[PostRow]:
    """The `n` posts published in the window with the most views (latest counts)."""
    ranked = [p for p in posts_in_window(posts, window) if p.views is not None]
    return sorted(ranked, key=lambda p: (-p.views, p.create_time, p.id))[:n]  # type: ignore[operator]


# ------------------------------------------------------------------ paid (Spark Ads)


def paid(rows: Iterable[AdDay], window: Window) -> Paid | None:
    """Spark Ads aggregates over the window; None when there are no ad rows in it."""
    rows = [r for r in rows if window.contains(r.day)]
    if not rows:
        return None
    impressions = sum(r.impressions or 0 for r in rows)
    clicks = sum(r.clicks or 0 for r in rows)
    spend = sum((Decimal(str(r.spend)) for r in rows if r.spend is not None), Decimal("0"))
    boosted = len({r.post_key for r in rows if (r.impressions or 0) > 0 and r.post_key is not None})
    ctr = clicks / impressions if impressions else None
    cpm = (spend / impressions * 1000).quantize(Decimal("0.01")) if impressions else None
    return Paid(boosted, impressions, clicks, spend, ctr, cpm)

"""An account's audience page: who its followers are, how many came and went each day, and
when they are on TikTok (the best time to post), with the account's own posts placed on it.

Sources, all stored by the sync:
- demographics (ages, genders, top countries and cities): the latest AudienceSnapshot.
  TikTok keeps no history of them, so the page says which day they are from;
- new and lost followers per day: TikTok's `daily_new_followers` / `daily_lost_followers`
  in the daily account snapshots;
- active followers per hour: `audience_activity`, per UTC date, each hour a UTC hour.

TikTok sends demographics and `audience_activity` only with the user.insights permission
and only for accounts with at least 100 followers; the page says which of these applies
instead of showing zeros.

Reads only; the request owns the transaction.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Iterable, Sequence
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from app.extensions import db
from app.models import AccountSnapshot, AudienceSnapshot, Post, TikTokConnection, Workspace
from app.services import charts, metrics

INSIGHTS_SCOPE = "user.insights"
#: TikTok answers demographics and active hours only from this many followers on.
DEMOGRAPHICS_MIN_FOLLOWERS = 100
ACTIVITY_DAYS = 28  # four of each weekday
GROWTH_DAYS = 28
POSTS_DAYS = 90
HEAT_LEVELS = 5
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
TOP_CITIES = 5


@dataclass(frozen=True)
class Share:
    """One slice of a breakdown (an age group, a traffic source…) and its share of the whole."""

    label: str
    share: float


@dataclass(frozen=True)
class Cell:
    weekday: int  # 0 = Monday, in the workspace's timezone
    hour: int  # local hour 0..23
    active: int | None  # mean active followers over the readings; None without any
    readings: int
    posts: int  # the account's posts published in this local weekday and hour
    level: int  # 0 (no data) .. HEAT_LEVELS, for the cell's colour


@dataclass(frozen=True)
class Heatmap:
    rows: list[tuple[str, list[Cell]]]  # (weekday name, 24 cells)
    first_day: date  # UTC dates of the readings used
    last_day: date
    posts_since: date  # local date from which posts are placed
    posts_placed: int
    best: list[Cell]


@dataclass(frozen=True)
class GrowthDay:
    day: date
    new: int | None
    lost: int | None

    @property
    def net(self) -> int | None:
        return None if self.new is None or self.lost is None else self.new - self.lost


@dataclass(frozen=True)
class Growth:
    days: list[GrowthDay]
    new_chart: charts.Chart
    lost_chart: charts.Chart

    @property
    def total_new(self) -> int | None:
        known = [d.new for d in self.days if d.new is not None]
        return sum(known) if known else None

    @property
    def total_lost(self) -> int | None:
        known = [d.lost for d in self.days if d.lost is not None]
        return sum(known) if known else None


@dataclass(frozen=True)
class Audience:
    connection: TikTokConnection
    tz: ZoneInfo
    followers: int | None
    demographics_day: date | None
    ages: list[Share]
    genders: list[Share]
    countries: list[Share]
    cities: list[Share]
    growth: Growth | None
    heatmap: Heatmap | None
    # Why a section is empty, in words for the page (None when it has data).
    demographics_missing: str | None
    growth_missing: str | None
    activity_missing: str | None

    @property
    def needs_permission(self) -> bool:
        """The account was connected without the permission these figures need."""
        return self.connection.last_synced_at is not None and INSIGHTS_SCOPE not in self.connection.scopes


# ------------------------------------------------------------------ pure parts


def local_slot(utc_day: date, utc_hour: int, tz: ZoneInfo) -> tuple[int, int]:
    """The local (weekday, hour) cell of the UTC hour `utc_hour` of `utc_day`.

    An hour goes to the local hour in which it starts. Zones a whole number of hours off UTC
    map hour onto hour; in a half-hour zone the reported hour straddles two local hours and
    is counted in the first: in Asia/Kolkata (UTC+5:30) UTC 10:00–11:00 is 15:30–16:30 and
    counts as 15:00. Around a DST change the offset is the one in force at that instant, so
    in the autumn the repeated local hour gets two readings and in the spring the skipped
    one gets none that day.
    """
    start = datetime.combine(utc_day, time(utc_hour), tzinfo=timezone.utc).astimezone(tz)
    return start.weekday(), start.hour


def heat_level(active: int | None, highest: int) -> int:
    if active is None:
        return 0
    if highest <= 0:
        return 1
    return max(1, math.ceil(active / highest * HEAT_LEVELS))


def heatmap(readings: Iterable[tuple[date, Sequence]], post_times: Iterable[datetime], tz: ZoneInfo,
            posts_since: date) -> Heatmap | None:
    """Mean active followers per local weekday and hour over `readings` ((UTC date,
    [[hour, count], …]) per day), and how many of `post_times` fall in each cell."""
    seen: dict[tuple[int, int], list[int]] = defaultdict(list)
    days: list[date] = []
    for day, pairs in readings:
        used = False
        for pair in pairs or []:
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                continue
            hour, count = pair
            if not isinstance(hour, int) or not isinstance(count, int) or not 0 <= hour <= 23:
                continue
            seen[local_slot(day, hour, tz)].append(count)
            used = True
        if used:
            days.append(day)
    if not days:
        return None
    placed: dict[tuple[int, int], int] = defaultdict(int)
    n_posts = 0
    for moment in post_times:
        local = moment.astimezone(tz)
        placed[(local.weekday(), local.hour)] += 1
        n_posts += 1
    means = {slot: round(sum(counts) / len(counts)) for slot, counts in seen.items()}
    highest = max(means.values())
    rows = []
    for wd, name in enumerate(WEEKDAYS):
        cells = []
        for hour in range(24):
            active = means.get((wd, hour))
            cells.append(Cell(wd, hour, active, len(seen.get((wd, hour), ())), placed.get((wd, hour), 0),
                              heat_level(active, highest)))
        rows.append((name, cells))
    ranked = sorted((c for _, cells in rows for c in cells if c.active is not None),
                    key=lambda c: (-c.active, c.weekday, c.hour))  # type: ignore[operator]
    return Heatmap(rows, min(days), max(days), posts_since, n_posts, ranked[:3])


def shares(raw: list | None) -> list[Share]:
    """Stored [[label, share], …] as Shares, largest first (malformed pairs skipped)."""
    out = [Share(str(p[0]), float(p[1])) for p in raw or []
           if isinstance(p, (list, tuple)) and len(p) == 2 and isinstance(p[1], (int, float))]
    return sorted(out, key=lambda s: -s.share)


# ------------------------------------------------------------------ why a section is empty


def missing_reason(conn: TikTokConnection, followers: int | None) -> str | None:
    """Why TikTok has sent no audience figures for `conn`, or None when it should have."""
    if conn.last_synced_at is None:
        return (f"@{conn.username} has not finished its first sync; audience figures appear "
                "within about 15 minutes of connecting.")
    if INSIGHTS_SCOPE not in conn.scopes:
        return (f"Needs the {INSIGHTS_SCOPE} permission (TikTok's account insights), which was not granted "
                f"when @{conn.username} was connected. Reconnect the account and keep it ticked.")
    if followers is not None and followers < DEMOGRAPHICS_MIN_FOLLOWERS:
        return (f"TikTok gives follower demographics and active hours only for accounts with at least "
                f"{DEMOGRAPHICS_MIN_FOLLOWERS} followers; @{conn.username} has {followers:,}.")
    return None


# ------------------------------------------------------------------ loading


def build(conn: TikTokConnection, workspace: Workspace, *, now: datetime) -> Audience:
    tz = metrics.workspace_tz(workspace.timezone)
    latest_followers = db.session.scalar(
        sa.select(AccountSnapshot.followers_count)
        .where(AccountSnapshot.connection_id == conn.id, AccountSnapshot.followers_count.is_not(None))
        .order_by(AccountSnapshot.day.desc()).limit(1))
    reason = missing_reason(conn, latest_followers)
    fallback = f"TikTok has not sent these figures for @{conn.username} yet."

    demo = db.session.scalar(sa.select(AudienceSnapshot).where(AudienceSnapshot.connection_id == conn.id)
                             .order_by(AudienceSnapshot.day.desc()).limit(1))
    growth = _growth(conn)
    activity = _activity(conn, tz, now)
    return Audience(
        connection=conn, tz=tz, followers=latest_followers,
        demographics_day=demo.day if demo else None,
        ages=shares(demo.ages) if demo else [],
        genders=shares(demo.genders) if demo else [],
        countries=shares(demo.countries) if demo else [],
        cities=shares(demo.cities)[:TOP_CITIES] if demo else [],
        growth=growth, heatmap=activity,
        demographics_missing=None if demo else (reason or fallback),
        # New and lost followers come for accounts of any size: no follower minimum here.
        growth_missing=None if growth else (missing_reason(conn, None) or fallback),
        activity_missing=None if activity else (reason or fallback),
    )


def _growth(conn: TikTokConnection) -> Growth | None:
    last = db.session.scalar(
        sa.select(sa.func.max(AccountSnapshot.day))
        .where(AccountSnapshot.connection_id == conn.id,
               sa.or_(AccountSnapshot.new_followers.is_not(None), AccountSnapshot.lost_followers.is_not(None))))
    if last is None:
        return None
    first = last - timedelta(days=GROWTH_DAYS - 1)
    stored = {d: (new, lost) for d, new, lost in db.session.execute(
        sa.select(AccountSnapshot.day, AccountSnapshot.new_followers, AccountSnapshot.lost_followers)
        .where(AccountSnapshot.connection_id == conn.id, AccountSnapshot.day.between(first, last)))}
    days = [GrowthDay(d, *stored.get(d, (None, None)))
            for d in (first + timedelta(days=i) for i in range(GROWTH_DAYS))]
    return Growth(days, charts.bar_chart([(d.day, d.new) for d in days]),
                  charts.bar_chart([(d.day, d.lost) for d in days]))


def _activity(conn: TikTokConnection, tz: ZoneInfo, now: datetime) -> Heatmap | None:
    # Newest first; a JSON null or an empty list is no reading (checked here, not in SQL).
    recent = [(day, pairs) for day, pairs in db.session.execute(
        sa.select(AccountSnapshot.day, AccountSnapshot.audience_activity)
        .where(AccountSnapshot.connection_id == conn.id, AccountSnapshot.audience_activity.is_not(None))
        .order_by(AccountSnapshot.day.desc()).limit(2 * ACTIVITY_DAYS)) if pairs]
    if not recent:
        return None
    last = recent[0][0]
    readings = sorted((day, pairs) for day, pairs in recent if day > last - timedelta(days=ACTIVITY_DAYS))
    since = (now - timedelta(days=POSTS_DAYS)).astimezone(tz).date()
    post_times = db.session.scalars(
        sa.select(Post.create_time).where(
            Post.connection_id == conn.id,
            Post.create_time >= datetime.combine(since, time(), tzinfo=tz).astimezone(timezone.utc))).all()
    return heatmap(readings, post_times, tz, since)

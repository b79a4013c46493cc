"""Sync steps: TikTok's figures into daily snapshots, idempotently.

For one connection: the profile with its daily account metrics and follower
demographics (`business/get/`, each documented field asked for by name), then the
posts (`business/video/list/`): new ones by walking the list from the newest until
the last sync's horizon, known ones that can still change by id (``filters=
{"video_ids": […]}``, 20 at a time) instead of walking the whole list again. For one
ads account: its Spark Ads (deleted ones included) and their daily delivery.

The steps, in the order app/workflows/sync.py runs them (it owns the commits):
`plan` reads what to ask for; `fetch` makes every TikTok call, with no database
transaction open; `store` writes a complete answer; `record_failure` notes why there
is none. None of them commits. Rules:

- Only a complete, well-formed answer is written. A bad or partial response writes
  nothing, so earlier good data is never deleted or zeroed.
- Writes are upserts keyed by the unique constraints ((connection, day), (post, day),
  (connection, item_id), (ads account, ad, day)); a value TikTok did not send never
  overwrites a stored one. Running a sync twice changes nothing.
- 40100/429 → wait until the limit resets (next_sync_at); 5xx/timeouts → a few quick
  retries, then give up for this run with the error recorded; an invalid access token
  → the token vault refreshes it once and the fetch runs again, then `needs_reconnect`.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Callable

import sqlalchemy as sa

from app.crypto import CryptoError
from app.extensions import db
from app.models import (AccountSnapshot, AdsAccount, AudienceSnapshot, Post, PostMetric, SparkAdMetric,
                        TikTokConnection)
from app.models.connection import STATUS_ACTIVE
from app.services.token_sealing import open_ads_token
from app.tiktok import errors as tt_errors
from app.tiktok import fields as documented_fields
from app.tiktok.client import TikTokClient, insight_fields_for, video_fields_for
from app.tiktok.types import AdsReportRow, Profile, SparkAd, Video

log = logging.getLogger("app.sync")

SYNC_INTERVAL = timedelta(minutes=15)
FIRST_HISTORY_DAYS = 59      # business/get/ looks back at most 60 days
ROUTINE_HISTORY_DAYS = 7     # daily figures settle within 24–48 h; re-read a week
MAX_POSTS = 1000             # bound one run; the newest come first
TRANSIENT_RETRIES = 2
ADS_HISTORY_DAYS = 30
WALK_OVERLAP = timedelta(days=2)          # re-walk a little before the last sync: late-listed posts
POST_UPDATES_STOP = timedelta(days=365)   # TikTok stops updating a post's figures after a year
FRESH_POST_AGE = timedelta(days=30)       # younger posts are refreshed every sync…
OLD_POST_REFRESH = timedelta(hours=24)    # …older ones once a day


@dataclass
class SyncOutcome:
    status: str                       # synced | rate_limited | failed | needs_reconnect | skipped
    days: int = 0
    posts: int = 0
    retry_after: float | None = None
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Plan:
    """What one sync of a connection asks TikTok for, read before any call."""

    connection_id: int
    open_id: str
    scopes: list[str]
    first_sync: bool
    last_synced_at: datetime | None
    known_post_ids: list[str]


@dataclass
class Fetched:
    profile: Profile
    videos: list[Video]


def plan(connection_id: int, *, now: datetime) -> Plan | None:
    """What to fetch for an active connection with a token, or None (nothing to sync)."""
    conn = db.session.get(TikTokConnection, connection_id, populate_existing=True)
    if conn is None or conn.status != STATUS_ACTIVE or conn.access_token_sealed is None:
        return None
    first_sync = conn.last_synced_at is None
    return Plan(connection_id=connection_id, open_id=conn.open_id, scopes=conn.scopes, first_sync=first_sync,
                last_synced_at=conn.last_synced_at,
                known_post_ids=[] if first_sync else _posts_to_refresh(connection_id, now))


def fetch(client: TikTokClient, access_token: str, plan: Plan, *, now: datetime,
          sleep: Callable[[float], None] = time.sleep) -> Fetched:
    """Every TikTok call of one sync; call it with no transaction open. 5xx, timeouts and
    malformed answers are retried a few times; any other TikTokError (and the last
    transient one) is raised: `failure` says what to record."""
    attempt = 0
    while True:
        try:
            return _fetch(client, access_token, plan, now=now, sleep=sleep)
        except (tt_errors.Unavailable, tt_errors.BadResponse):
            attempt += 1
            if attempt > TRANSIENT_RETRIES:
                raise
            sleep(min(_retry_base() * 2 ** attempt, 30))


def failure(error: tt_errors.TikTokError) -> tuple[str, float | None]:
    """What to record when `fetch` raised `error`: a message, and for a rate limit the
    seconds until it resets."""
    if isinstance(error, tt_errors.RateLimited):
        return "TikTok rate limit reached; waiting for it to reset", max(error.retry_after, 1.0)
    if isinstance(error, (tt_errors.Unavailable, tt_errors.BadResponse)):
        return f"TikTok did not answer properly ({type(error).__name__})", None
    if isinstance(error, tt_errors.ScopeMissing):
        return "TikTok says a permission this sync needs was not granted", None
    return f"TikTok error ({type(error).__name__})", None


def store(connection_id: int, fetched: Fetched, *, now: datetime) -> SyncOutcome:
    """Write a complete answer. "skipped" (nothing written) when the connection was
    disconnected while we were fetching: the caller discards the result."""
    conn = db.session.get(TikTokConnection, connection_id, populate_existing=True)
    if conn is None or conn.status != STATUS_ACTIVE:
        return SyncOutcome("skipped")
    days = _store_profile(conn, fetched.profile, now=now)
    posts = _store_posts(conn, fetched.videos, now=now)
    conn.last_synced_at = now
    conn.next_sync_at = now + SYNC_INTERVAL
    conn.last_error = None
    log.info("synced connection=%s days=%d posts=%d", connection_id, days, posts)
    return SyncOutcome("synced", days=days, posts=posts)


def record_failure(connection_id: int, *, now: datetime, message: str,
                   retry_after: float | None = None) -> SyncOutcome:
    """No data this run: say why on the connection and when to try again (the limit's
    reset for a rate limit, else the next interval)."""
    conn = db.session.get(TikTokConnection, connection_id, populate_existing=True)
    if conn is None:
        return SyncOutcome("skipped")
    conn.last_error = f"{message} ({now:%Y-%m-%d %H:%M} UTC)"
    conn.next_sync_at = now + (timedelta(seconds=retry_after) if retry_after else SYNC_INTERVAL)
    status = "rate_limited" if retry_after else "failed"
    log.warning("sync %s connection=%s: %s", status, connection_id, message)
    return SyncOutcome(status, retry_after=retry_after, notes=[message])


def _retry_base() -> float:
    """Seconds before the first quick retry (tests set SYNC_RETRY_BASE_SECONDS=0)."""
    from flask import current_app

    return float(current_app.config.get("SYNC_RETRY_BASE_SECONDS", 1))


def _rate_limit_wait() -> float:
    """Seconds one sync may wait in all for TikTok's rate limit to reset before giving up
    for this run (SYNC_RATE_LIMIT_WAIT_SECONDS; 0 never waits)."""
    from flask import current_app

    return float(current_app.config.get("SYNC_RATE_LIMIT_WAIT_SECONDS", 60))


def _fetch(client: TikTokClient, access: str, plan: Plan, *, now: datetime,
           sleep: Callable[[float], None] = time.sleep) -> Fetched:
    """Every call waits out a 40100 (Retry-After) and is repeated, within one budget per
    sync: the limit is app-wide, so the next connection would only meet it too, and a
    page already fetched is never fetched again."""
    budget = [_rate_limit_wait()]

    def call(fn, *args, **kwargs):
        while True:
            try:
                return fn(*args, **kwargs)
            except tt_errors.RateLimited as e:
                wait = max(e.retry_after or 1.0, 1.0)
                if wait > budget[0]:
                    raise
                budget[0] -= wait
                log.info("TikTok rate limit: waiting %.0fs", wait)
                sleep(wait)

    today = now.date()
    start = today - timedelta(days=FIRST_HISTORY_DAYS if plan.first_sync else ROUTINE_HISTORY_DAYS)
    profile = call(client.get_business_profile, access, plan.open_id, start_date=start, end_date=today,
                   fields=insight_fields_for(plan.scopes))
    videos: list[Video] = []
    fields = video_fields_for(plan.scopes)
    if fields:
        # New posts: walk from the newest until the last sync's horizon (everything the first time).
        horizon = (None if plan.first_sync or plan.last_synced_at is None
                   else plan.last_synced_at - WALK_OVERLAP)
        for page in client.iter_video_pages(access, plan.open_id, fields=fields, fetch=call):
            videos.extend(page.videos)
            reached_horizon = horizon is not None and any(
                v.create_time is not None and v.create_time < horizon for v in page.videos)
            if len(videos) >= MAX_POSTS or reached_horizon:
                break
        videos = videos[:MAX_POSTS]
        # Known posts that can still change: by id, 20 per call, never the whole list again.
        walked = {v.item_id for v in videos}
        refresh_ids = [i for i in plan.known_post_ids if i not in walked][:max(0, MAX_POSTS - len(videos))]
        step = documented_fields.VIDEO_FILTER_MAX_IDS
        for i in range(0, len(refresh_ids), step):
            page = call(client.list_videos, access, plan.open_id, fields=fields, video_ids=refresh_ids[i:i + step])
            videos.extend(page.videos)
    return Fetched(profile, videos)


def _posts_to_refresh(connection_id: int, now: datetime) -> list[str]:
    """Item ids of stored posts whose figures may still move: published in the last year, and
    either young or not refreshed for a day. Least recently refreshed first."""
    return list(db.session.scalars(
        sa.select(Post.item_id)
        .where(Post.connection_id == connection_id, Post.create_time >= now - POST_UPDATES_STOP,
               sa.or_(Post.create_time >= now - FRESH_POST_AGE, Post.metrics_as_of.is_(None),
                      Post.metrics_as_of < now - OLD_POST_REFRESH))
        .order_by(Post.metrics_as_of.is_not(None), Post.metrics_as_of, Post.id)
        .limit(MAX_POSTS)
    ))


def _set_known(row, **values) -> None:
    """Only values TikTok actually sent: a missing figure never overwrites a stored one."""
    for name, value in values.items():
        if value is not None:
            setattr(row, name, value)


def _store_profile(conn: TikTokConnection, profile: Profile, *, now: datetime) -> int:
    _set_known(conn, username=profile.username, display_name=profile.display_name,
               avatar_url=profile.avatar_url, is_business_account=profile.is_business_account)
    days = {d.date: d for d in profile.daily}
    today = now.date()
    wanted = set(days) | {today}
    existing = {s.day: s for s in db.session.scalars(sa.select(AccountSnapshot).where(
        AccountSnapshot.connection_id == conn.id, AccountSnapshot.day.in_(wanted)))}
    for day in sorted(wanted):
        snap = existing.get(day)
        if snap is None:
            snap = AccountSnapshot(connection_id=conn.id, day=day)
            db.session.add(snap)
        d = days.get(day)
        if d is not None:
            _set_known(snap, video_views=d.video_views, reach=d.unique_video_views, profile_views=d.profile_views,
                       likes=d.likes, comments=d.comments, shares=d.shares, followers_count=d.followers_count,
                       new_followers=d.daily_new_followers, lost_followers=d.daily_lost_followers,
                       engaged_audience=d.engaged_audience,
                       audience_activity=[list(hour) for hour in d.audience_activity] or None,
                       clicks=dict(d.clicks) or None)
        if day == today:
            _set_known(snap, followers_count=profile.followers_count)
        snap.captured_at = now
    _store_demographics(conn, profile, now=now)
    return len(wanted)


def _store_demographics(conn: TikTokConnection, profile: Profile, *, now: datetime) -> None:
    """Today's demographics snapshot (TikTok keeps no history; absent under 100 followers)."""
    demo = profile.demographics
    if not demo:
        return
    today = now.date()
    snap = db.session.scalar(sa.select(AudienceSnapshot).where(
        AudienceSnapshot.connection_id == conn.id, AudienceSnapshot.day == today))
    if snap is None:
        snap = AudienceSnapshot(connection_id=conn.id, day=today)
        db.session.add(snap)
    as_lists = lambda pairs: [list(p) for p in pairs] or None  # noqa: E731
    _set_known(snap, ages=as_lists(demo.ages), genders=as_lists(demo.genders),
               countries=as_lists(demo.countries), cities=as_lists(demo.cities))
    snap.captured_at = now


def _store_posts(conn: TikTokConnection, videos: list[Video], *, now: datetime) -> int:
    if not videos:
        return 0
    by_id = {v.item_id: v for v in videos}
    posts = {p.item_id: p for p in db.session.scalars(sa.select(Post).where(
        Post.connection_id == conn.id, Post.item_id.in_(list(by_id))))}
    for item_id, v in by_id.items():
        post = posts.get(item_id)
        if post is None:
            if v.create_time is None:
                continue  # can't place a post in time without its create_time
            post = posts[item_id] = Post(connection_id=conn.id, item_id=item_id, create_time=v.create_time,
                                         first_seen_at=now)
            db.session.add(post)
        _set_known(post, caption=v.caption, thumbnail_url=v.thumbnail_url, share_url=v.share_url,
                   media_type=v.media_type, views=v.video_views, likes=v.likes, comments=v.comments,
                   shares=v.shares, favorites=v.favorites, reach=v.reach,
                   full_video_watched_rate=v.full_video_watched_rate, video_duration=v.video_duration,
                   total_time_watched=v.total_time_watched, average_time_watched=v.average_time_watched,
                   new_followers=v.new_followers, profile_views=v.profile_views,
                   retention=[list(p) for p in v.video_view_retention] or None,
                   impression_sources=[list(p) for p in v.impression_sources] or None,
                   audience_types=[list(p) for p in v.audience_types] or None)
        post.metrics_as_of = now
    db.session.flush()
    today = now.date()
    metrics = {m.post_id: m for m in db.session.scalars(sa.select(PostMetric).where(
        PostMetric.post_id.in_([p.id for p in posts.values()]), PostMetric.day == today))}
    for item_id, post in posts.items():
        v = by_id[item_id]
        m = metrics.get(post.id)
        if m is None:
            m = PostMetric(post_id=post.id, day=today)
            db.session.add(m)
        _set_known(m, views=v.video_views, likes=v.likes, comments=v.comments, shares=v.shares, reach=v.reach,
                   favorites=v.favorites, full_video_watched_rate=v.full_video_watched_rate)
        m.captured_at = now
    return len(posts)


# --------------------------------------------------------------------------- Spark Ads


@dataclass(frozen=True)
class AdsPlan:
    """What one sync of an ads account asks TikTok for, with its opened token."""

    ads_account_id: int
    advertiser_id: str
    currency: str
    workspace_id: int
    start: date
    token: str = field(repr=False)


@dataclass
class AdsFetched:
    ads: list[SparkAd]
    rows: list[AdsReportRow]


def ads_plan(ads_account_id: int, *, keyring, now: datetime) -> AdsPlan | None:
    """What to fetch for an active ads account, or None (nothing to sync). Raises
    CryptoError when its stored token does not open."""
    account = db.session.get(AdsAccount, ads_account_id, populate_existing=True)
    if account is None or account.status != STATUS_ACTIVE or account.access_token_sealed is None:
        return None
    token = open_ads_token(account, keyring=keyring)
    today = now.date()
    start = today - timedelta(days=ADS_HISTORY_DAYS if account.last_synced_at is None else ROUTINE_HISTORY_DAYS)
    return AdsPlan(ads_account_id=ads_account_id, advertiser_id=account.advertiser_id, currency=account.currency,
                   workspace_id=account.workspace_id, start=start, token=token)


def fetch_ads(client: TikTokClient, plan: AdsPlan, *, now: datetime) -> AdsFetched:
    """Spark Ads (ads promoting organic posts) and their daily delivery; call it with no
    transaction open. TikTok's errors are raised."""
    ads = client.list_spark_ads(plan.token, plan.advertiser_id)
    rows = client.ads_daily_report(plan.token, plan.advertiser_id, plan.start, now.date(), [a.ad_id for a in ads],
                                   currency=plan.currency) if ads else []
    return AdsFetched(ads, rows)


def store_ads(plan: AdsPlan, fetched: AdsFetched, *, now: datetime) -> SyncOutcome:
    """Write an ads account's answer; "skipped" (nothing written) when it is no longer active."""
    account = db.session.get(AdsAccount, plan.ads_account_id, populate_existing=True)
    if account is None or account.status != STATUS_ACTIVE:
        return SyncOutcome("skipped")
    item_of_ad = {a.ad_id: a.post_item_id for a in fetched.ads}  # tiktok_item_id, or video_id for some ads
    item_ids = {i for i in item_of_ad.values() if i}
    post_ids = dict(db.session.execute(
        sa.select(Post.item_id, Post.id).join(TikTokConnection, Post.connection_id == TikTokConnection.id)
        .where(TikTokConnection.workspace_id == plan.workspace_id, Post.item_id.in_(item_ids))).all()
    ) if item_ids else {}
    keys = {(r.ad_id, r.day) for r in fetched.rows}
    existing = {(m.ad_id, m.day): m for m in db.session.scalars(sa.select(SparkAdMetric).where(
        SparkAdMetric.ads_account_id == plan.ads_account_id, SparkAdMetric.day >= plan.start))}
    for r in fetched.rows:
        m = existing.get((r.ad_id, r.day))
        if m is None:  # kept in `existing` too: a row repeated across pages or batches is one row
            m = existing[(r.ad_id, r.day)] = SparkAdMetric(ads_account_id=plan.ads_account_id, ad_id=r.ad_id,
                                                            day=r.day)
            db.session.add(m)
        item = item_of_ad.get(r.ad_id)
        m.tiktok_item_id = item
        m.post_id = post_ids.get(item)
        _set_known(m, impressions=r.impressions, clicks=r.clicks, spend=r.spend, frequency=r.frequency,
                   **{key: getattr(r, key) for key in AdsReportRow.ENGAGEMENT})
        m.captured_at = now
    account.last_synced_at = now
    account.last_error = None
    return SyncOutcome("synced", days=len({d for _, d in keys}), posts=len(item_ids))


def record_ads_failure(ads_account_id: int, error: Exception, *, now: datetime) -> SyncOutcome:
    """No data this run for an ads account: its stored token does not open (CryptoError),
    or TikTok failed."""
    account = db.session.get(AdsAccount, ads_account_id, populate_existing=True)
    if account is None:
        return SyncOutcome("skipped")
    if isinstance(error, CryptoError):
        account.last_error = "stored token could not be read; link the ads account again"
        return SyncOutcome("failed")
    account.last_error = f"TikTok Ads error ({type(error).__name__}) ({now:%Y-%m-%d %H:%M} UTC)"
    return SyncOutcome("rate_limited" if isinstance(error, tt_errors.RateLimited) else "failed")


def request_sync(connection_id: int, *, now: datetime) -> None:
    """Queue a sync now (after connect, or "Refresh now"): the row shows it as syncing."""
    db.session.execute(sa.update(TikTokConnection).where(TikTokConnection.id == connection_id)
                       .values(sync_requested_at=now, next_sync_at=now))


def due_connections(now: datetime) -> sa.Select:
    """Active connections whose next sync time has come (never-synced first)."""
    return (sa.select(TikTokConnection.id)
            .where(TikTokConnection.status == STATUS_ACTIVE,
                   sa.or_(TikTokConnection.next_sync_at.is_(None), TikTokConnection.next_sync_at <= now))
            .order_by(TikTokConnection.next_sync_at.is_not(None), TikTokConnection.next_sync_at))

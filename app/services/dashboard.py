"""The performance dashboard for one connection: load, compute (services/metrics.py), shape.

Query budget: a fixed number of SQL statements whatever the number of posts or days —
the snapshots of the range (1), the posts of the two KPI windows (1), the Spark Ads rows
of the window (1), the table's page with its total (1: the Spark badge is a correlated
EXISTS, the total a scalar subquery; a page past the last adds two), plus one for post
view gains only when daily account views are missing for some day of the range. The
posts table alone is 1. Posts are read as plain columns (POST_ROW_COLUMNS), never as
ORM objects. Existing indexes
serve them: account_snapshots (connection_id, day) unique, posts (connection_id,
create_time), post_metrics (post_id, day) unique, spark_ad_metrics (post_id).

Sorting and paging come from allow-lists and are clamped: any input gives a valid
table, never an error (the parameters are untrusted query-string input).
"""
from __future__ import annotations

import csv
import io
import re

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Iterable, Mapping, NamedTuple
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from app.extensions import db
from app.models import (AccountSnapshot, AdsAccount, Post, PostMetric, SparkAdMetric, TikTokConnection, User,
                        Workspace)
from app.models.connection import STATUS_DISCONNECTED
from app.services import access, charts, metrics

RANGES = (30, 90)
DEFAULT_RANGE = 30
PAGE_SIZE = 20
MAX_PAGE = 100_000  # before clamping to the last page; keeps OFFSET arithmetic sane
EXPORT_LIMIT = 10_000
CAPTION_SHORT = 80
SORT_DIRECTIONS = ("desc", "asc")
SORT_LABELS = {
    "caption": "Post",
    "posted": "Posted",
    "views": "Views",
    "engagement": "Engagement",
    "watch_through": "Watch-through",
}
DEFAULT_SORT = "posted"
CSV_COLUMNS = ("Post", "Posted", "Views", "Engagement", "Watch-through", "Spark boosted", "URL")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _engagement_expr():
    interactions = Post.likes + Post.comments + Post.shares  # NULL if any is unknown
    return sa.cast(interactions, sa.Float) / sa.func.nullif(Post.views, 0)


SORT_COLUMNS = {
    "posted": lambda: Post.create_time,
    "views": lambda: Post.views,
    "engagement": _engagement_expr,
    "watch_through": lambda: Post.full_video_watched_rate,
    "caption": lambda: sa.func.lower(Post.caption),
}


# ------------------------------------------------------------------ parameters


@dataclass(frozen=True)
class TableParams:
    sort: str = DEFAULT_SORT
    direction: str = "desc"
    page: int = 1
    range_days: int = DEFAULT_RANGE

    def query_args(self, **changes) -> dict:
        """URL arguments for this table state, with `changes` applied."""
        args = {"range": self.range_days, "sort": self.sort, "dir": self.direction, "page": self.page}
        args.update(changes)
        return args

    def toggled(self, sort: str) -> dict:
        """Arguments for clicking a column header: same column flips, a new one starts desc
        (caption starts asc: A→Z is what people expect)."""
        if sort == self.sort:
            direction = "asc" if self.direction == "desc" else "desc"
        else:
            direction = "asc" if sort == "caption" else "desc"
        return self.query_args(sort=sort, dir=direction, page=1)


def _int_or(value: str | None, default: int) -> int:
    try:
        return int(str(value).strip()) if value is not None else default
    except ValueError:
        return default


def parse_range(value: str | None) -> int:
    days = _int_or(value, DEFAULT_RANGE)
    return days if days in RANGES else DEFAULT_RANGE


def parse_table_params(args: Mapping[str, str]) -> TableParams:
    """Anything in, a valid table state out: unknown sort → default, page clamped ≥ 1."""
    sort = args.get("sort") or DEFAULT_SORT
    direction = args.get("dir") or "desc"
    page = _int_or(args.get("page"), 1)
    return TableParams(
        sort=sort if sort in SORT_COLUMNS else DEFAULT_SORT,
        direction=direction if direction in SORT_DIRECTIONS else "desc",
        page=min(max(page, 1), MAX_PAGE),
        range_days=parse_range(args.get("range")),
    )


# ------------------------------------------------------------------ accounts


class AccountLink(NamedTuple):
    """What the account switcher shows of an account, and what its data version is (the
    fragment cache's key): a page lists every account but renders only one, from cache.
    A NamedTuple: made from each row of the list, several times cheaper than a dataclass."""

    id: int
    username: str
    status: str
    last_synced_at: datetime | None
    sync_requested_at: datetime | None

    @property
    def is_disconnected(self) -> bool:
        return self.status == STATUS_DISCONNECTED

    # The model's own predicate (it reads only the fields above), not a second definition.
    is_syncing = TikTokConnection.is_syncing


_LINK_COLUMNS = (TikTokConnection.id, TikTokConnection.username, TikTokConnection.status,
                 TikTokConnection.last_synced_at, TikTokConnection.sync_requested_at)


def account_links(user: User, workspace: Workspace, *, only: int | None = None) -> list[AccountLink]:
    """The accounts `user` may see in `workspace` (just `only`, if given), in
    access.visible_connections' order: one query of a few columns, no ORM objects."""
    q = access.for_workspace(sa.select(*_LINK_COLUMNS), workspace, user)
    if only is not None:
        q = q.where(TikTokConnection.id == only)
    return [AccountLink._make(row) for row in db.session.execute(q.order_by(TikTokConnection.connected_at,
                                                                           TikTokConnection.id))]


# ------------------------------------------------------------------ view model


@dataclass(frozen=True)
class PostView:
    id: int
    caption: str
    caption_short: str
    thumbnail_url: str | None
    share_url: str | None
    posted: datetime  # in the workspace's timezone
    views: int | None
    engagement: float | None
    watch_through: float | None
    boosted: bool = False


@dataclass(frozen=True)
class PostTable:
    connection_id: int
    params: TableParams
    rows: list[PostView]
    total: int
    pages: int

    @property
    def page(self) -> int:
        return self.params.page

    @property
    def columns(self) -> dict[str, str]:
        """Sortable columns in display order: key -> header."""
        return SORT_LABELS

    @property
    def first_index(self) -> int:
        return (self.page - 1) * PAGE_SIZE + 1 if self.rows else 0

    @property
    def last_index(self) -> int:
        return (self.page - 1) * PAGE_SIZE + len(self.rows)


@dataclass(frozen=True)
class Tile:
    as_of: datetime | None  # local time


@dataclass
class Dashboard:
    connection: TikTokConnection | AccountLink
    tz: ZoneInfo
    window: metrics.Window
    range_days: int
    followers: metrics.Followers
    views: metrics.Views
    engagement: metrics.Engagement
    cadence: metrics.Cadence
    paid: metrics.Paid | None
    paid_currency: str | None
    top_posts: list[PostView]
    followers_series: list[tuple[date, int | None]]
    views_series: list[tuple[date, int | None]]
    followers_chart: charts.Chart
    views_chart: charts.Chart
    table: PostTable
    snapshots_as_of: datetime | None
    posts_as_of: datetime | None
    has_posts: bool
    syncing: bool
    never_synced: bool
    views_from_posts: list[date] = field(default_factory=list)


# ------------------------------------------------------------------ loading


def _local(moment: datetime | None, tz: ZoneInfo) -> datetime | None:
    return moment.astimezone(tz) if moment is not None else None


def _shorten(text: str, limit: int = CAPTION_SHORT) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def post_row(p: Post) -> metrics.PostRow:
    """A post as the metrics module reads it (the dashboard and the weekly report)."""
    return metrics.PostRow(
        id=p.id, create_time=p.create_time, views=p.views, likes=p.likes, comments=p.comments,
        shares=p.shares, full_video_watched_rate=p.full_video_watched_rate, caption=p.caption or "",
        thumbnail_url=p.thumbnail_url, share_url=p.share_url, metrics_as_of=p.metrics_as_of,
    )


def _post_view(row: metrics.PostRow, tz: ZoneInfo, boosted: bool = False) -> PostView:
    return PostView(
        id=row.id, caption=row.caption, caption_short=_shorten(row.caption), thumbnail_url=row.thumbnail_url,
        share_url=row.share_url, posted=row.create_time.astimezone(tz), views=row.views,
        engagement=metrics.post_engagement(row), watch_through=metrics.watch_through(row), boosted=boosted,
    )


def _range_start(now: datetime, tz: ZoneInfo, range_days: int) -> datetime:
    return metrics.last_complete_days(now, tz, range_days).starts_at


# A post as metrics.PostRow reads it, in PostRow's field order: selected as plain columns,
# a page's rows cost no ORM objects.
POST_ROW_COLUMNS = (
    Post.id, Post.create_time, Post.views, Post.likes, Post.comments, Post.shares, Post.full_video_watched_rate,
    sa.func.coalesce(Post.caption, ""), Post.thumbnail_url, Post.share_url, Post.metrics_as_of,
)


def _table_query(connection_id: int, since: datetime) -> sa.Select:
    return sa.select(*POST_ROW_COLUMNS).where(Post.connection_id == connection_id, Post.create_time >= since)


def _boosted_expr():
    return (
        sa.select(SparkAdMetric.id)
        .where(SparkAdMetric.post_id == Post.id, SparkAdMetric.impressions > 0)
        .exists()
        .label("boosted")
    )


def _ordered(query: sa.Select, params: TableParams) -> sa.Select:
    column = SORT_COLUMNS[params.sort]()
    ordered = column.asc() if params.direction == "asc" else column.desc()
    tiebreak = Post.id.asc() if params.direction == "asc" else Post.id.desc()
    return query.order_by(sa.nulls_last(ordered), tiebreak)


def posts_table(connection: TikTokConnection | AccountLink, workspace: Workspace, params: TableParams, *,
                now: datetime) -> PostTable:
    """One page of the connection's posts published in the range, in one query: the total
    is an uncorrelated scalar subquery (counted once, from the index) beside the page, which
    stops after PAGE_SIZE rows when the sort has an index. A page past the last one costs
    a count and the last page."""
    tz = metrics.workspace_tz(workspace.timezone)
    base = _table_query(connection.id, _range_start(now, tz, params.range_days))
    total_q = sa.select(sa.func.count()).select_from(base.subquery()).scalar_subquery()

    def page(params: TableParams) -> list:
        q = _ordered(base.add_columns(_boosted_expr(), total_q.label("total")), params)
        return db.session.execute(q.limit(PAGE_SIZE).offset((params.page - 1) * PAGE_SIZE)).all()

    rows = page(params)
    total = rows[0][-1] if rows else db.session.scalar(sa.select(total_q)) or 0
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    if params.page > pages:
        params = TableParams(params.sort, params.direction, pages, params.range_days)
        rows = page(params) if total else []
    views = [_post_view(metrics.PostRow(*row[:-2]), tz, bool(row[-2])) for row in rows]
    return PostTable(connection.id, params, views, total, pages)


def export_rows(connection: TikTokConnection | AccountLink, workspace: Workspace, params: TableParams, *,
                now: datetime) -> list[PostView]:
    """Every post of the table (all pages) in the table's order, for the CSV export."""
    tz = metrics.workspace_tz(workspace.timezone)
    base = _table_query(connection.id, _range_start(now, tz, params.range_days))
    q = _ordered(base.add_columns(_boosted_expr()), params).limit(EXPORT_LIMIT)
    return [_post_view(metrics.PostRow(*row[:-1]), tz, bool(row[-1])) for row in db.session.execute(q)]


def load_snapshots(connection_ids: Iterable[int], since: date) -> dict[int, list[metrics.AccountDay]]:
    """Each connection's daily snapshots from `since`, oldest first (one query for all of them)."""
    found: dict[int, list[metrics.AccountDay]] = {cid: [] for cid in connection_ids}
    if not found:
        return found
    q = (
        sa.select(AccountSnapshot.connection_id, AccountSnapshot.day, AccountSnapshot.followers_count,
                  AccountSnapshot.video_views, AccountSnapshot.captured_at)
        .where(AccountSnapshot.connection_id.in_(list(found)), AccountSnapshot.day >= since)
        .order_by(AccountSnapshot.connection_id, AccountSnapshot.day)
    )
    for connection_id, *day in db.session.execute(q):
        found[connection_id].append(metrics.AccountDay(*day))
    return found


def load_post_gains(missing: Mapping[int, list[date]],
                    tz: ZoneInfo | Mapping[int, ZoneInfo]) -> dict[int, dict[date, int]]:
    """Fallback views per connection for the days without its daily figure: one query for
    all the connections, none when no day is missing. `tz` is the workspace's zone, or a
    zone per connection when they belong to workspaces in different zones (the overview)."""
    zone_of = tz if isinstance(tz, Mapping) else None
    wanted = {cid: set(days) | {d - timedelta(days=1) for d in days} for cid, days in missing.items() if days}
    if not wanted:
        return {}
    q = (
        sa.select(Post.connection_id, PostMetric.post_id, PostMetric.day, PostMetric.views, Post.create_time)
        .join(Post, Post.id == PostMetric.post_id)
        .where(Post.connection_id.in_(list(wanted)), PostMetric.day.in_(sorted(set().union(*wanted.values()))))
    )
    rows: dict[int, list[metrics.PostDay]] = {cid: [] for cid in wanted}
    published: dict[int, date] = {}
    for connection_id, post_id, day, views, create_time in db.session.execute(q):
        if day in wanted[connection_id]:
            rows[connection_id].append(metrics.PostDay(post_id, day, views))
            published[post_id] = metrics.local_day(create_time, zone_of[connection_id] if zone_of else tz)
    return {cid: metrics.post_view_gains(found, published) for cid, found in rows.items()}


def _load_paid(connection_id: int, window: metrics.Window) -> tuple[metrics.Paid | None, str | None]:
    q = (
        sa.select(SparkAdMetric.post_id, SparkAdMetric.day, SparkAdMetric.impressions, SparkAdMetric.clicks,
                  SparkAdMetric.spend, AdsAccount.currency)
        .join(Post, Post.id == SparkAdMetric.post_id)
        .join(AdsAccount, AdsAccount.id == SparkAdMetric.ads_account_id)
        .where(Post.connection_id == connection_id, SparkAdMetric.day.between(window.start, window.end))
    )
    rows = list(db.session.execute(q))
    currencies = {r.currency for r in rows}
    currency = currencies.pop() if len(currencies) == 1 else None  # mixed currencies: no common unit
    result = metrics.paid([metrics.AdDay(r.post_id, r.day, r.impressions, r.clicks, r.spend) for r in rows], window)
    if result is not None and currency is None:
        result = metrics.Paid(result.boosted_posts, result.impressions, result.clicks, result.spend, result.ctr, None)
    return result, currency


def build_dashboard(connection: TikTokConnection | AccountLink, workspace: Workspace, params: TableParams, *,
                    now: datetime) -> Dashboard:
    tz = metrics.workspace_tz(workspace.timezone)
    window = metrics.last_complete_days(now, tz)
    chart_days = metrics.last_complete_days(now, tz, params.range_days).days
    first_needed = min(chart_days[0], window.previous().start) - timedelta(days=1)

    snapshots = load_snapshots([connection.id], first_needed)[connection.id]
    post_rows = [metrics.PostRow(*row) for row in db.session.execute(
        sa.select(*POST_ROW_COLUMNS).where(Post.connection_id == connection.id,
                                           Post.create_time >= window.previous().starts_at)
    )]
    missing = metrics.days_missing_daily_views(snapshots, chart_days)
    gains = load_post_gains({connection.id: missing}, tz).get(connection.id, {})
    paid, currency = _load_paid(connection.id, window)
    table = posts_table(connection, workspace, params, now=now)

    views_series = metrics.views_per_day(snapshots, chart_days, gains)
    followers_series = metrics.followers_series(snapshots, chart_days)
    captured = [s.captured_at for s in snapshots if s.captured_at is not None]
    posts_seen = [p.metrics_as_of for p in post_rows if p.metrics_as_of is not None]
    return Dashboard(
        connection=connection,
        tz=tz,
        window=window,
        range_days=params.range_days,
        followers=metrics.followers(snapshots, window),
        views=metrics.views(snapshots, window, gains),
        engagement=metrics.engagement(post_rows, window),
        cadence=metrics.cadence(post_rows, window, workspace.cadence_target),
        paid=paid,
        paid_currency=currency,
        top_posts=[_post_view(p, tz) for p in metrics.top_posts(post_rows, window)],
        followers_series=followers_series,
        views_series=views_series,
        followers_chart=charts.line_chart(followers_series),
        views_chart=charts.bar_chart(views_series),
        table=table,
        snapshots_as_of=_local(max(captured, default=None) or connection.last_synced_at, tz),
        posts_as_of=_local(max(posts_seen, default=None) or connection.last_synced_at, tz),
        has_posts=table.total > 0 or bool(post_rows),
        syncing=connection.is_syncing or connection.last_synced_at is None,
        never_synced=connection.last_synced_at is None,
        views_from_posts=[d for d in missing if d in gains],
    )


# ------------------------------------------------------------------ CSV export


def export_filename(connection: TikTokConnection | AccountLink, params: TableParams) -> str:
    """brassorbit3-posts-30d.csv; only [A-Za-z0-9._-] from the username (header-safe)."""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", connection.username or "") or "account"
    return f"{name}-posts-{params.range_days}d.csv"


def csv_safe(value) -> str:
    """A cell a spreadsheet will not run: text starting with = + - @ (or tab/CR) gets a '."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def posts_csv(rows) -> str:
    out = io.StringIO()
    out.write("\ufeff")  # so Excel reads UTF-8 captions correctly
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        writer.writerow([csv_safe(v) for v in (
            r.caption, r.posted.strftime("%Y-%m-%d %H:%M"), r.views,
            None if r.engagement is None else f"{r.engagement * 100:.1f}%",
            None if r.watch_through is None else f"{r.watch_through * 100:.1f}%",
            "yes" if r.boosted else "no", r.share_url,
        )])
    return out.getvalue()

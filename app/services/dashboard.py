"""The performance dashboard for one connection: load, compute (services/metrics.py), shape.

The period is the last 7, 28 or 90 complete days or a custom run of days (workspace
timezone), compared with the days just before it or the same days a year earlier; tiles,
charts, the posts table and the CSV export all cover it.

Query budget: a fixed number of SQL statements whatever the number of posts or days —
the snapshots of the period and its comparison (1), the posts' counts and engagement sums
for both, aggregated in SQL (1), the Spark Ads rows of the period (1), the table's page
with its total (1: the Spark badge is a correlated EXISTS, the total a scalar subquery; a
page past the last adds two), plus one for post view gains only when daily account views
are missing for some day. The posts table alone is 1. Posts are read as plain columns
(POST_ROW_COLUMNS) or sums, never as ORM objects. Existing indexes serve them:
account_snapshots (connection_id, day) unique, posts (connection_id, create_time),
post_metrics (post_id, day) unique, spark_ad_metrics (post_id).

Sorting and paging come from allow-lists and are clamped: any input gives a valid
table, never an error (the parameters are untrusted query-string input). A custom range
is different: the user typed it, so a bad one is refused with a message that says what
to fix (RangeError), not silently replaced.
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
from app.models.connection import STATUS_DISCONNECTED, STATUS_NEEDS_RECONNECT
from app.services import access, charts, metrics, scope_effects

RANGES = (7, 28, 90)
DEFAULT_RANGE = 28
MAX_RANGE_DAYS = 366  # a custom range: a year (a leap year's) at most
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # ASCII digits only
# TikTok's business metrics arrive 24–48 h late: the newest days of a period may be empty.
REPORTING_DELAY_DAYS = 2
# How far before a period the followers delta looks for its basis when the day before is
# missing (snapshots are loaded for the period and this many days before it).
FOLLOWERS_LOOKBACK_DAYS = 7
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


class RangeError(ValueError):
    """A custom range that cannot be shown; `message` says what to change."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class TableParams:
    """The dashboard's state as the URL holds it: period, comparison and table order.
    Hashable: the fragment cache keys on it."""

    sort: str = DEFAULT_SORT
    direction: str = "desc"
    page: int = 1
    range_days: int = DEFAULT_RANGE  # a preset; a custom range sets start and end instead
    start: date | None = None
    end: date | None = None
    compare: str = "previous"

    @property
    def custom(self) -> bool:
        return self.start is not None and self.end is not None

    def window(self, today: date, tz: ZoneInfo) -> metrics.Window:
        """The period's days: the custom range, else the last `range_days` complete days."""
        if self.custom:
            return metrics.Window(self.start, self.end, tz)  # type: ignore[arg-type]
        return metrics.Window(today - timedelta(days=self.range_days), today - timedelta(days=1), tz)

    def range_args(self, **changes) -> dict:
        """URL arguments for the period and comparison alone (a range link keeps no page)."""
        if self.custom:
            args: dict = {"from": self.start.isoformat(), "to": self.end.isoformat()}  # type: ignore[union-attr]
        else:
            args = {"range": self.range_days}
        if self.compare != "previous":
            args["compare"] = self.compare
        args.update(changes)
        return {k: v for k, v in args.items() if v is not None}  # None: leave the argument out

    def query_args(self, **changes) -> dict:
        """URL arguments for this table state, with `changes` applied."""
        return self.range_args(**{"sort": self.sort, "dir": self.direction, "page": self.page, **changes})

    def toggled(self, sort: str) -> dict:
        """Arguments for clicking a column header: same column flips, a new one starts desc
        (caption starts asc: A→Z is what people expect)."""
        if sort == self.sort:
            direction = "asc" if self.direction == "desc" else "desc"
        else:
            direction = "asc" if sort == "caption" else "desc"
        return self.query_args(sort=sort, dir=direction, page=1)

    def with_page(self, page: int) -> "TableParams":
        return TableParams(self.sort, self.direction, page, self.range_days, self.start, self.end, self.compare)


def _int_or(value: str | None, default: int) -> int:
    try:
        return int(str(value).strip()) if value is not None else default
    except ValueError:
        return default


def parse_range(value: str | None) -> int:
    days = _int_or(value, DEFAULT_RANGE)
    return days if days in RANGES else DEFAULT_RANGE


def _long(day: date) -> str:
    return f"{day:%b} {day.day}, {day.year}"


def _parse_day(text: str, which: str) -> date:
    if not _ISO_DATE.fullmatch(text):
        shown = text if len(text) <= 20 else text[:19] + "…"
        raise RangeError(f"The {which} date must be a date like 2026-11-24, not \u201c{shown}\u201d.")
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise RangeError(f"There is no {text}: check the {which} date.") from None
    if day.year < metrics.FIRST_WEEK_YEAR:
        raise RangeError(f"The {which} date must be in {metrics.FIRST_WEEK_YEAR} or later.")
    return day


def parse_custom_range(start_text: str | None, end_text: str | None, today: date) -> tuple[date, date]:
    """A custom range from the URL's `from`/`to` (YYYY-MM-DD, workspace timezone): both
    given, start ≤ end, ending by the last complete day, at most MAX_RANGE_DAYS long."""
    start_text, end_text = (start_text or "").strip(), (end_text or "").strip()
    if not start_text or not end_text:
        raise RangeError("Choose both a start and an end date for a custom range.")
    start, end = _parse_day(start_text, "start"), _parse_day(end_text, "end")
    if start > end:
        raise RangeError(f"The start date ({_long(start)}) is after the end date ({_long(end)}).")
    last = today - timedelta(days=1)
    if end > last:
        raise RangeError(f"The end date can be {_long(last)} at the latest: the days after it are not over yet.")
    length = (end - start).days + 1
    if length > MAX_RANGE_DAYS:
        raise RangeError(f"A range can be at most {MAX_RANGE_DAYS} days long; {_long(start)} to {_long(end)} "
                         f"is {length} days.")
    return start, end


def parse_table_params(args: Mapping[str, str], *, today: date | None = None) -> TableParams:
    """Anything in, a valid table state out: unknown sort → default, page clamped ≥ 1, an
    unknown preset → the default range, an unknown comparison → the previous period. Only
    a custom range (`from`/`to`, typed by the user) is refused, with RangeError; `today`
    (the workspace's date) is needed for one: a range ends by the last complete day."""
    sort = args.get("sort") or DEFAULT_SORT
    direction = args.get("dir") or "desc"
    page = _int_or(args.get("page"), 1)
    compare = args.get("compare") or "previous"
    start = end = None
    days = parse_range(args.get("range"))
    if "from" in args or "to" in args:
        if today is None:
            raise RangeError("A custom range needs the workspace's date.")
        start, end = parse_custom_range(args.get("from"), args.get("to"), today)
        days = (end - start).days + 1
    return TableParams(
        sort=sort if sort in SORT_COLUMNS else DEFAULT_SORT,
        direction=direction if direction in SORT_DIRECTIONS else "desc",
        page=min(max(page, 1), MAX_PAGE),
        range_days=days,
        start=start,
        end=end,
        compare=compare if compare in metrics.COMPARISONS else "previous",
    )


# ------------------------------------------------------------------ accounts


class AccountLink(NamedTuple):
    """What the account switcher shows of an account, what the dashboard's state banner
    reads, and what its data version is (the fragment cache's key): a page lists every
    account but renders only one, from cache. A NamedTuple: made from each row of the
    list, several times cheaper than a dataclass."""

    id: int
    username: str
    status: str
    last_synced_at: datetime | None
    sync_requested_at: datetime | None
    workspace_id: int
    granted_scopes: str
    last_error: str | None
    next_sync_at: datetime | None
    disconnected_at: datetime | None
    purge_after: datetime | None

    @property
    def is_disconnected(self) -> bool:
        return self.status == STATUS_DISCONNECTED

    # The model's own predicates (they read only the fields above), not second definitions.
    is_syncing = TikTokConnection.is_syncing
    scopes = TikTokConnection.scopes


_LINK_COLUMNS = (TikTokConnection.id, TikTokConnection.username, TikTokConnection.status,
                 TikTokConnection.last_synced_at, TikTokConnection.sync_requested_at, TikTokConnection.workspace_id,
                 TikTokConnection.granted_scopes, TikTokConnection.last_error, TikTokConnection.next_sync_at,
                 TikTokConnection.disconnected_at, TikTokConnection.purge_after)


def account_links(user: User, workspace: Workspace, *, only: int | None = None) -> list[AccountLink]:
    """The accounts `user` may see in `workspace` (just `only`, if given), in
    access.visible_connections' order: one query of a few columns, no ORM objects."""
    q = access.for_workspace(sa.select(*_LINK_COLUMNS), workspace, user)
    if only is not None:
        q = q.where(TikTokConnection.id == only)
    return [AccountLink._make(row) for row in db.session.execute(q.order_by(TikTokConnection.connected_at,
                                                                           TikTokConnection.id))]


class AccountName(NamedTuple):
    """An account as the account switcher lists it: every page lists them all, and only
    the selected one needs its AccountLink (dashboard.account_link)."""

    id: int
    username: str
    status: str

    @property
    def is_disconnected(self) -> bool:
        return self.status == STATUS_DISCONNECTED


def account_names(user: User, workspace: Workspace) -> list[AccountName]:
    """The accounts `user` may see in `workspace`, in account_links' order."""
    return [AccountName._make(row) for row in access.visible_connection_names(user, workspace)]


_ONE_LINK = sa.select(*_LINK_COLUMNS).where(TikTokConnection.id == sa.bindparam("connection_id"))


def account_link(connection_id: int) -> AccountLink | None:
    """One account as the panel reads it, without access checks (the sync's own account)."""
    row = db.session.execute(_ONE_LINK, {"connection_id": connection_id}).first()
    return None if row is None else AccountLink._make(row)

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
    window: metrics.Window

    @property
    def period(self) -> str:
        return metrics.window_label(self.window)

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


class Why(NamedTuple):
    """Why a figure is missing or partial, in words, and whether reconnecting fixes it."""

    text: str
    reconnect: bool = False


def _needs(scope: str) -> Why:
    """A figure a missing permission keeps away, named as TikTok's consent page names it."""
    return Why(f"Needs the {scope_effects.effect_of(scope).permission} permission", reconnect=True)


DELAYED = Why("TikTok reports with a 48 h delay")
NO_POSTS = Why("No posts in this period")


@dataclass
class Dashboard:
    connection: TikTokConnection | AccountLink
    tz: ZoneInfo
    window: metrics.Window
    compare: metrics.Window
    params: TableParams
    followers: metrics.Followers
    followers_compare_delta: int | None
    views: metrics.Views
    engagement: metrics.Engagement
    cadence: metrics.Cadence
    compare_posts: int
    paid: metrics.Paid | None
    paid_currency: str | None
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
    why: dict[str, Why] = field(default_factory=dict)  # figure -> why it is missing or partial
    views_from_posts: list[date] = field(default_factory=list)

    @property
    def range_days(self) -> int:
        return self.window.length

    @property
    def label(self) -> str:
        """"Nov 24–30 vs Nov 17–23": both windows written out, so figures can be reconciled."""
        return metrics.comparison_label(self.window, self.compare)

    @property
    def period(self) -> str:
        return metrics.window_label(self.window, metrics.labels_need_years(self.window, self.compare))

    @property
    def compare_period(self) -> str:
        return metrics.window_label(self.compare, metrics.labels_need_years(self.window, self.compare))

    @property
    def compare_name(self) -> str:
        return "same days last year" if self.params.compare == "year" else f"previous {self.compare.length} days"

    @property
    def is_live(self) -> bool:
        return not self.connection.is_disconnected


@dataclass(frozen=True)
class ConnectionState:
    """The dashboard's banner for the selected account: what is happening to its data."""

    kind: str  # "disconnected" | "needs_reconnect" | "failed" | "syncing" | "never_synced" | "synced"
    last_synced_at: datetime | None  # local time
    next_sync_at: datetime | None  # local time
    purge_after: datetime | None  # local time
    disconnected_at: datetime | None  # local time
    error: str | None


def connection_state(connection: TikTokConnection | AccountLink, tz: ZoneInfo) -> ConnectionState:
    """Which banner: a disconnected or needs-reconnect account says so first; a recorded
    error beats "syncing" (a failed sync never completes, so it would say syncing forever)."""
    if connection.is_disconnected:
        kind = "disconnected"
    elif connection.status == STATUS_NEEDS_RECONNECT:
        kind = "needs_reconnect"
    elif connection.last_error:
        kind = "failed"
    elif connection.last_synced_at is None:
        kind = "never_synced"
    elif connection.is_syncing:
        kind = "syncing"
    else:
        kind = "synced"
    return ConnectionState(kind, _local(connection.last_synced_at, tz), _local(connection.next_sync_at, tz),
                           _local(connection.purge_after, tz), _local(connection.disconnected_at, tz),
                           connection.last_error)


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


def _window(params: TableParams, now: datetime, tz: ZoneInfo) -> metrics.Window:
    return params.window(metrics.local_day(now, tz), tz)


# A post as metrics.PostRow reads it, in PostRow's field order: selected as plain columns,
# a page's rows cost no ORM objects.
POST_ROW_COLUMNS = (
    Post.id, Post.create_time, Post.views, Post.likes, Post.comments, Post.shares, Post.full_video_watched_rate,
    sa.func.coalesce(Post.caption, ""), Post.thumbnail_url, Post.share_url, Post.metrics_as_of,
)


def _table_query(connection_id: int, window: metrics.Window) -> sa.Select:
    return sa.select(*POST_ROW_COLUMNS).where(Post.connection_id == connection_id,
                                              Post.create_time >= window.starts_at,
                                              Post.create_time < window.ends_before)


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
    window = _window(params, now, tz)
    base = _table_query(connection.id, window)
    total_q = sa.select(sa.func.count()).select_from(base.subquery()).scalar_subquery()

    def page(params: TableParams) -> list:
        q = _ordered(base.add_columns(_boosted_expr(), total_q.label("total")), params)
        return db.session.execute(q.limit(PAGE_SIZE).offset((params.page - 1) * PAGE_SIZE)).all()

    rows = page(params)
    total = rows[0][-1] if rows else db.session.scalar(sa.select(total_q)) or 0
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    if params.page > pages:
        params = params.with_page(pages)
        rows = page(params) if total else []
    views = [_post_view(metrics.PostRow(*row[:-2]), tz, bool(row[-2])) for row in rows]
    return PostTable(connection.id, params, views, total, pages, window)


def export_rows(connection: TikTokConnection | AccountLink, workspace: Workspace, params: TableParams, *,
                now: datetime) -> list[PostView]:
    """Every post of the table (all pages) in the table's order, for the CSV export."""
    tz = metrics.workspace_tz(workspace.timezone)
    base = _table_query(connection.id, _window(params, now, tz))
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


# The period's and the comparison's snapshots (two runs of days, one statement, built once).
_SNAPSHOTS_OF_TWO_RUNS = (
    sa.select(AccountSnapshot.day, AccountSnapshot.followers_count, AccountSnapshot.video_views,
              AccountSnapshot.captured_at)
    .where(AccountSnapshot.connection_id == sa.bindparam("connection_id"),
           sa.or_(AccountSnapshot.day.between(sa.bindparam("a_first"), sa.bindparam("a_last")),
                  AccountSnapshot.day.between(sa.bindparam("b_first"), sa.bindparam("b_last"))))
    .order_by(AccountSnapshot.day)
)


def _post_sums(prefix: str) -> sa.Select:
    """Posts published in one window (bounds bound as `<prefix>_start`/`<prefix>_end`, an
    index range): how many, the engagement rate's two sums over those whose views, likes,
    comments and shares are all known (metrics.rate_of_sums divides them; `+ 0 * x` makes a
    row with any of them NULL drop out of both sums, cheaper than a CASE), and when their
    counts were last fetched. Cast back to integers: PostgreSQL sums BIGINT as NUMERIC."""
    interactions = Post.likes + Post.comments + Post.shares
    return (
        sa.select(sa.literal(prefix).label("window"), sa.func.count(),
                  sa.cast(sa.func.sum(interactions + 0 * Post.views), sa.BigInteger),
                  sa.cast(sa.func.sum(Post.views + 0 * interactions), sa.BigInteger),
                  sa.func.max(Post.metrics_as_of))
        .where(Post.connection_id == sa.bindparam("connection_id"),
               Post.create_time >= sa.bindparam(f"{prefix}_start", type_=Post.create_time.type),
               Post.create_time < sa.bindparam(f"{prefix}_end", type_=Post.create_time.type))
    )


# Both windows' post counts and engagement sums: two rows, whatever the number of posts
# (and right when the windows overlap), each an index range scan.
_POST_TOTALS = sa.union_all(_post_sums("p"), _post_sums("c"))


class PostTotals(NamedTuple):
    posts: int
    interactions: int | None
    views: int | None
    compare_posts: int
    compare_interactions: int | None
    compare_views: int | None
    as_of: datetime | None


def _snapshots_for(connection_id: int, window: metrics.Window, compare: metrics.Window,
                   today: date) -> list[metrics.AccountDay]:
    """The comparison's and the period's days (with the followers delta's lookback before
    each), the period's run going on to today: the Followers tile shows the latest count."""
    back = timedelta(days=FOLLOWERS_LOOKBACK_DAYS)
    rows = db.session.execute(_SNAPSHOTS_OF_TWO_RUNS, {
        "connection_id": connection_id, "a_first": compare.start - back, "a_last": compare.end,
        "b_first": window.start - back, "b_last": today,
    })
    return list(map(metrics.AccountDay._make, rows))


def _post_totals(connection_id: int, window: metrics.Window, compare: metrics.Window) -> PostTotals:
    rows = {row[0]: row[1:] for row in db.session.execute(_POST_TOTALS, {
        "connection_id": connection_id, "p_start": window.starts_at, "p_end": window.ends_before,
        "c_start": compare.starts_at, "c_end": compare.ends_before,
    })}
    (posts, interactions, views, as_of), (c_posts, c_interactions, c_views, c_as_of) = rows["p"], rows["c"]
    newest = max((t for t in (as_of, c_as_of) if t is not None), default=None)
    return PostTotals(posts, interactions, views, c_posts, c_interactions, c_views, newest)


# What feeds a figure: any one of these permissions (TikTok's daily follower counts come with
# the profile stats as well as with Insights; daily views only with Insights).
FOLLOWERS_FROM = ("user.info.stats", "user.insights")
VIEWS_FROM = ("user.insights",)


def _missing_reason(days: list[date], scopes: list[str], feeds: tuple[str, ...], today: date) -> Why:
    """Why `days` have no figure: no permission that feeds it granted, TikTok's reporting
    delay (only the newest days missing), or plainly none sent."""
    if not any(scope in scopes for scope in feeds):
        return _needs(feeds[0])  # the narrowest permission that would do
    if days and all(d >= today - timedelta(days=REPORTING_DELAY_DAYS) for d in days):
        return DELAYED
    return Why("TikTok sent no figures for these days")


def _why(followers: metrics.Followers, missing_views: list[date], missing_followers: list[date],
         totals: PostTotals, scopes: list[str], window: metrics.Window, today: date) -> dict[str, Why]:
    """What to say beside each figure that is missing or partial (keys as the templates read them)."""
    why: dict[str, Why] = {}
    if followers.count is None:
        have = any(scope in scopes for scope in FOLLOWERS_FROM)
        why["followers"] = Why("No follower count from TikTok yet") if have else _needs("user.info.stats")
    if followers.delta is None and "followers" not in why:  # else the count's reason says it
        why["followers_delta"] = _missing_reason(missing_followers, scopes, FOLLOWERS_FROM, today)
    if missing_views:
        why["views"] = _missing_reason(missing_views, scopes, VIEWS_FROM, today)
    if missing_followers and len(missing_followers) == window.length:
        why["followers_chart"] = _missing_reason(missing_followers, scopes, FOLLOWERS_FROM, today)
    if totals.posts == 0:
        why["posts"] = _needs("video.list") if "video.list" not in scopes else NO_POSTS
    if not totals.views:
        why["engagement"] = why.get("posts") or Why("No views yet on the posts of this period")
    if "video.insights" not in scopes:
        why["watch_through"] = _needs("video.insights")
    return why


def build_dashboard(connection: TikTokConnection | AccountLink, workspace: Workspace, params: TableParams, *,
                    now: datetime) -> Dashboard:
    tz = metrics.workspace_tz(workspace.timezone)
    today = metrics.local_day(now, tz)
    window = params.window(today, tz)
    compare = metrics.comparison_window(window, params.compare)

    snapshots = _snapshots_for(connection.id, window, compare, today)
    totals = _post_totals(connection.id, window, compare)
    both = sorted(set(compare.days) | set(window.days))
    missing = metrics.days_missing_daily_views(snapshots, both)
    gains = load_post_gains({connection.id: missing}, tz).get(connection.id, {}) if missing else {}
    paid, currency = _load_paid(connection.id, window)
    table = posts_table(connection, workspace, params, now=now)

    views_series = metrics.views_per_day(snapshots, window.days, gains)
    followers_series = metrics.followers_series(snapshots, window.days)
    views = metrics.views(snapshots, window, gains, compare)
    followers = metrics.followers(snapshots, window)
    captured = [s.captured_at for s in snapshots if s.captured_at is not None]
    scopes = connection.scopes
    return Dashboard(
        connection=connection,
        tz=tz,
        window=window,
        compare=compare,
        params=params,
        followers=followers,
        followers_compare_delta=metrics.followers(snapshots, compare).delta,
        views=views,
        engagement=metrics.engagement_change(metrics.rate_of_sums(totals.interactions, totals.views),
                                             metrics.rate_of_sums(totals.compare_interactions, totals.compare_views)),
        cadence=metrics.cadence_of(totals.posts, window, workspace.cadence_target),
        compare_posts=totals.compare_posts,
        paid=paid,
        paid_currency=currency,
        followers_series=followers_series,
        views_series=views_series,
        followers_chart=charts.line_chart(followers_series),
        views_chart=charts.bar_chart(views_series),
        table=table,
        snapshots_as_of=_local(max(captured, default=None) or connection.last_synced_at, tz),
        posts_as_of=_local(totals.as_of or connection.last_synced_at, tz),
        has_posts=table.total > 0 or totals.compare_posts > 0,
        syncing=connection.is_syncing or connection.last_synced_at is None,
        never_synced=connection.last_synced_at is None,
        why=_why(followers, [d for d, v in views_series if v is None],
                 [d for d, v in followers_series if v is None], totals, scopes, window, today),
        views_from_posts=[d for d in missing if d in gains and window.contains(d)],
    )


# ------------------------------------------------------------------ CSV export


def export_filename(connection: TikTokConnection | AccountLink, params: TableParams) -> str:
    """brassorbit3-posts-28d.csv, or …-posts-2026-11-01-to-2026-11-30.csv for a custom
    range; only [A-Za-z0-9._-] from the username (header-safe)."""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", connection.username or "") or "account"
    if params.custom:
        return f"{name}-posts-{params.start.isoformat()}-to-{params.end.isoformat()}.csv"  # type: ignore[union-attr]
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

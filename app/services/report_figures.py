"""Report figures: one report per (workspace, period), built from the database. A period
is an ISO week or a calendar month in the *workspace's* timezone (services/report_periods.py).

Figures come from the metric definitions in services/metrics.py, the same functions
the dashboard uses, over rows loaded with the dashboard's loaders (services/dashboard.py).

What a report stores (`Report.figures`, JSON): aggregates only. Workspace totals
(organic, paid), a per-account breakdown, the top 3 posts (caption, @username, views,
engagement), the comparison with the previous period, and one *cut* per account owner
(`cuts`: the same figures over only that person's accounts, with their share of the
workspace's views), so a creator can be shown and sent their own part when the
workspace chose that. No comment text, no data about viewers. Entries that name an
account carry its `connection_id` / `item_id`, so the purge can scrub them
(services/purge.py).

Comparisons ("vs previous week/month") use the previous period's stored report when
there is one (the figures the client was sent), else the same figures computed now
from the stored data; a change that cannot be given says why (`comparison.reasons`).

Which accounts: the workspace's connections that are not disconnected. A disconnected
account's data is kept until its purge, but it is left out of reports, and a report
that still draws on one (`is_stale`) is rebuilt before it is mailed.

Who reads what (`reader_cut`): the ONE rule for the report pages, the list and the
emails.

Query budget: a fixed number of statements whatever the number of accounts — the
posts of the period and the one before (1), every account's snapshots (1), post view
gains for days without an account's daily figure (1, only when some day lacks one),
the Spark Ads rows (2), the previous period's report (1). Nothing here commits: the
caller owns the transaction.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from app.extensions import db
from app.models import AdsAccount, Post, Report, ReportConnection, SparkAdMetric, TikTokConnection, User, Workspace
from app.models.connection import STATUS_DISCONNECTED
from app.models.workspace import ROLE_AGENCY, ROLE_CLIENT_ADMIN, ROLE_CREATOR
from app.services import dashboard, metrics, report_periods
from app.services.report_periods import KIND_MONTHLY, KIND_WEEKLY, Month, Period, Week, week_label  # noqa: F401

log = logging.getLogger("app.reports")

FIGURES_VERSION = 2
SOURCE = "TikTok API for Business"
TOP_N = 3
ROLE_EXTERNAL = "external"  # an address an admin added: reads what client admins read

WeekError = report_periods.PeriodError
PeriodError = report_periods.PeriodError
parse_week = report_periods.parse_week
parse_period = report_periods.parse_period


def previous_week(now: datetime, tz_name: str | None) -> Week:
    """The last complete ISO week before `now` in the zone: on Monday 09:00 UTC that is
    the week that just ended in Auckland and in Los Angeles, but in Honolulu (still
    Sunday) the week before it."""
    return report_periods.last_complete(KIND_WEEKLY, now, metrics.workspace_tz(tz_name))


def is_over(period: Period, workspace: Workspace, *, now: datetime) -> bool:
    return report_periods.is_over(period, metrics.workspace_tz(workspace.timezone), now=now)


week_is_over = is_over


def _as_period(period: Period | str) -> Period:
    return parse_period(period) if isinstance(period, str) else period


# ------------------------------------------------------------------ loading


def _num(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(timezone.utc).isoformat()


def report_connections(workspace: Workspace) -> list[TikTokConnection]:
    """The accounts a report of this workspace draws on: every one not disconnected."""
    return list(db.session.scalars(
        sa.select(TikTokConnection)
        .where(TikTokConnection.workspace_id == workspace.id, TikTokConnection.status != STATUS_DISCONNECTED)
        .order_by(TikTokConnection.connected_at, TikTokConnection.id)
    ))


def _load_posts(conn_ids: list[int], since: datetime, until: datetime) -> list[tuple[int, str, metrics.PostRow]]:
    """The posts of the period and the one before (for the comparison), one query."""
    if not conn_ids:
        return []
    q = sa.select(Post).where(Post.connection_id.in_(conn_ids), Post.create_time >= since, Post.create_time < until)
    return [(p.connection_id, p.item_id, dashboard.post_row(p)) for p in db.session.scalars(q)]


@dataclass(frozen=True)
class _Ads:
    linked: bool  # the workspace has a TikTok Ads account
    currencies: frozenset[str]  # of its ads accounts
    rows: list  # (post_key, connection_id or None, day, impressions, clicks, spend, currency)


def _load_ads(workspace: Workspace, window: metrics.Window) -> _Ads:
    """Spark Ads of the workspace's linked advertisers in the period. Ads promoting a post
    of a disconnected account are left out with its other data."""
    ads = list(db.session.execute(sa.select(AdsAccount.id, AdsAccount.currency).where(
        AdsAccount.workspace_id == workspace.id, AdsAccount.status != STATUS_DISCONNECTED)))
    if not ads:
        return _Ads(False, frozenset(), [])
    q = (
        sa.select(sa.func.coalesce(Post.item_id, SparkAdMetric.tiktok_item_id).label("post_key"),
                  Post.connection_id, SparkAdMetric.day, SparkAdMetric.impressions, SparkAdMetric.clicks,
                  SparkAdMetric.spend, AdsAccount.currency)
        .join(AdsAccount, AdsAccount.id == SparkAdMetric.ads_account_id)
        .outerjoin(Post, Post.id == SparkAdMetric.post_id)
        .outerjoin(TikTokConnection, TikTokConnection.id == Post.connection_id)
        .where(AdsAccount.id.in_([a.id for a in ads]), SparkAdMetric.day.between(window.start, window.end),
               sa.or_(SparkAdMetric.post_id.is_(None), TikTokConnection.status != STATUS_DISCONNECTED))
    )
    return _Ads(True, frozenset(a.currency for a in ads), list(db.session.execute(q)))


def _paid(ads: _Ads, window: metrics.Window, conn_ids: set[int] | None) -> dict[str, Any] | None:
    """Spark Ads totals of the period (only ads of posts of `conn_ids`, when given); None
    with no ads account."""
    if not ads.linked:
        return None
    rows = [r for r in ads.rows if conn_ids is None or r.connection_id in conn_ids]
    currencies = {r.currency for r in rows} or set(ads.currencies)
    currency = currencies.pop() if len(currencies) == 1 else None  # mixed currencies: no common unit
    result = metrics.paid([metrics.AdDay(r.post_key, r.day, r.impressions, r.clicks, r.spend) for r in rows], window)
    if result is None:
        result = metrics.Paid(0, 0, 0, Decimal("0"), None, None)
    return {
        "boosted_posts": result.boosted_posts,
        "impressions": result.impressions,
        "clicks": result.clicks,
        "spend": _num(result.spend) if currency else None,
        "ctr": result.ctr,
        "cpm": _num(result.cpm) if currency else None,
        "currency": currency,
        "delivered": bool(rows),
    }


@dataclass
class _Data:
    """Everything a period's figures are computed from, loaded once for the whole
    workspace and every cut of it."""

    tz: Any
    posts: list[tuple[int, str, metrics.PostRow]]
    snapshots_of: dict[int, list[metrics.AccountDay]]
    gains_of: dict[int, dict[date, int]]
    ads: _Ads


def _load(workspace: Workspace, period: Period, conns: list[TikTokConnection]) -> _Data:
    tz = metrics.workspace_tz(workspace.timezone)
    window, before = period.window(tz), period.previous().window(tz)
    # Followers deltas look back one window of the same length; views of both periods.
    earliest = min(before.start, window.previous().start)
    first_needed = earliest - timedelta(days=1)
    series_days = [earliest + timedelta(days=i) for i in range((window.end - earliest).days + 1)]
    conn_ids = [c.id for c in conns]
    posts = _load_posts(conn_ids, metrics.Window(earliest, earliest, tz).starts_at, window.ends_before)
    snapshots_of = dashboard.load_snapshots(conn_ids, first_needed)
    gains_of = dashboard.load_post_gains(
        {cid: metrics.days_missing_daily_views(snaps, series_days) for cid, snaps in snapshots_of.items()}, tz)
    return _Data(tz, posts, snapshots_of, gains_of, _load_ads(workspace, window))


# ------------------------------------------------------------------ building


def _organic(conns: list[TikTokConnection], data: _Data, window: metrics.Window, target: int) -> dict[str, Any]:
    """Organic figures of `conns` over `window`, with the per-account rows and notes."""
    ids = {c.id for c in conns}
    rows = [row for cid, _, row in data.posts if cid in ids]
    accounts, totals, missing, deltas = [], [], 0, []
    for conn in conns:
        snapshots = data.snapshots_of.get(conn.id, [])
        views = metrics.views(snapshots, window, data.gains_of.get(conn.id, {}))
        followers = metrics.followers(snapshots, window)
        in_window = metrics.posts_in_window([row for cid, _, row in data.posts if cid == conn.id], window)
        if views.total is not None:
            totals.append(views.total)
        missing += views.missing_days if views.total is not None else window.length
        if followers.delta is not None:
            deltas.append(followers.delta)
        accounts.append({
            "connection_id": conn.id,
            "username": conn.username,
            "posts": len(in_window),
            "views": views.total,
            "views_missing_days": views.missing_days,
            "new_followers": followers.delta,
            "engagement_rate": metrics.engagement_rate(in_window),
        })
    cadence = metrics.cadence(rows, window, target)
    return {
        "posts_published": cadence.posts,
        "cadence_target": cadence.target,
        "cadence_label": cadence.label,
        "on_cadence": cadence.on_cadence,
        "views": sum(totals) if totals else None,
        "views_missing_days": missing,
        "engagement_rate": metrics.engagement_rate(metrics.posts_in_window(rows, window)),
        "new_followers": sum(deltas) if deltas else None,
    }, accounts


def _compare(current: dict[str, Any], before: dict[str, Any] | None, previous: Period,
             basis: str | None) -> dict[str, Any]:
    """This period's organic figures against the previous period's: each change, or the
    reason it cannot be given."""
    name = previous.short_label
    out: dict[str, Any] = {"previous_key": previous.key, "previous_label": previous.label, "basis": basis,
                           "views_change": None, "engagement_change_pp": None, "posts_change": None,
                           "new_followers_change": None, "reasons": {}}
    reasons = out["reasons"]
    if before is None:
        for key in ("views", "engagement", "posts", "new_followers"):
            reasons[key] = f"No report or stored data for {name} to compare with."
        return out
    out["posts_change"] = current["posts_published"] - before["posts_published"]
    if current["views"] is None or before.get("views") is None:
        reasons["views"] = f"No views figures for {'this ' + previous.noun if current['views'] is None else name}."
    elif current.get("views_missing_days") or before.get("views_missing_days"):
        which = "this " + previous.noun if current.get("views_missing_days") else name
        reasons["views"] = f"Some days of {which} have no views figures, so a change would mislead."
    elif not before["views"]:
        reasons["views"] = f"{name} had no views to compare with."
    else:
        out["views_change"] = (current["views"] - before["views"]) / before["views"]
    if current["engagement_rate"] is None or before.get("engagement_rate") is None:
        none = "this " + previous.noun if current["engagement_rate"] is None else name
        reasons["engagement"] = f"No post with views was published in {none}."
    else:
        out["engagement_change_pp"] = (current["engagement_rate"] - before["engagement_rate"]) * 100
    if current["new_followers"] is None or before.get("new_followers") is None:
        reasons["new_followers"] = f"No follower counts to compare with {name}."
    else:
        out["new_followers_change"] = current["new_followers"] - before["new_followers"]
    return out


def _notes(accounts: list[dict[str, Any]], period: Period, days: int, any_conns: bool) -> list[str]:
    notes = []
    for a in accounts:
        if a["views"] is None:
            notes.append(f"@{a['username']}: no views figures for this {period.noun} yet.")
        elif a["views_missing_days"]:
            notes.append(f"@{a['username']}: {a['views_missing_days']} of {days} days have no views figures.")
        if a["new_followers"] is None:
            notes.append(f"@{a['username']}: no follower counts to compare this {period.noun}.")
    if not any_conns:
        notes.append(f"No TikTok account was connected to this workspace for this {period.noun}.")
    return notes


def _figures_for(conns: list[TikTokConnection], data: _Data, period: Period, target: int,
                 previous_figures: dict[str, Any] | None, *, cut: bool = False, whole_views: int | None = None,
                 any_conns: bool = True) -> dict[str, Any]:
    """The figures of one cut (the whole workspace, or one person's accounts)."""
    tz = data.tz
    window = period.window(tz)
    previous = period.previous()
    organic, accounts = _organic(conns, data, window, target)
    if previous_figures is not None:
        before, basis = previous_figures.get("organic"), "report"
    else:
        before, _ = _organic(conns, data, previous.window(tz), target)
        basis = "data"
        if before["views"] is None and before["engagement_rate"] is None and before["new_followers"] is None \
                and not before["posts_published"]:
            before, basis = None, None
    comparison = _compare(organic, before, previous, basis)
    organic["views_change"] = comparison["views_change"]
    organic["engagement_change_pp"] = comparison["engagement_change_pp"]

    ids = {c.id for c in conns}
    rows = [row for cid, _, row in data.posts if cid in ids]
    owner_of = {c.id: c.username for c in conns}
    conn_of = {row.id: cid for cid, _, row in data.posts}
    item_of = {row.id: item for _, item, row in data.posts}
    top = [{
        "connection_id": conn_of[p.id],
        "item_id": item_of[p.id],
        "username": owner_of[conn_of[p.id]],
        "caption": " ".join((p.caption or "").split())[:300],
        "share_url": p.share_url if (p.share_url or "").startswith("https://") else None,
        "posted": p.create_time.astimezone(tz).date().isoformat(),
        "views": p.views,
        "engagement_rate": metrics.post_engagement(p),
    } for p in metrics.top_posts(rows, window, TOP_N)]
    figures = {
        "organic": organic,
        "comparison": comparison,
        "paid": _paid(data.ads, window, ids if cut else None),
        "top_posts": top,
        "accounts": accounts,
        "notes": _notes(accounts, period, window.length, any_conns),
    }
    if cut:  # its share of the workspace's views
        views = organic["views"]
        figures["share_of_views"] = views / whole_views if views is not None and whole_views else None
    return figures


def compute_figures(workspace: Workspace, period: Period | str, *, now: datetime,
                    connections: list[TikTokConnection] | None = None) -> dict[str, Any]:
    """The report's figures, JSON-ready. Every number is a metrics.* result."""
    period = _as_period(period)
    conns = report_connections(workspace) if connections is None else connections
    data = _load(workspace, period, conns)
    target = workspace.cadence_target  # a week's; metrics.cadence scales it to a month
    stored_before = get_report(workspace, period.previous())
    before = (stored_before.figures or {}) if stored_before is not None and stored_before.figures else None
    whole = _figures_for(conns, data, period, target, before, any_conns=bool(conns))
    cuts = {}
    for owner_id in sorted({c.owner_user_id for c in conns if c.owner_user_id is not None}):
        mine = [c for c in conns if c.owner_user_id == owner_id]
        before_cut = ((before or {}).get("cuts") or {}).get(str(owner_id))
        cuts[str(owner_id)] = _figures_for(mine, data, period, target, before_cut, cut=True,
                                           whole_views=whole["organic"]["views"])
    captured = [s.captured_at for snaps in data.snapshots_of.values() for s in snaps
                if s.captured_at and period.window(data.tz).contains(s.day)]
    return {
        "version": FIGURES_VERSION,
        "kind": period.kind,
        "period": period.key,
        "week": period.key,  # the key's name when every report was weekly
        "label": period.label,
        "timezone": data.tz.key,
        **whole,
        "cuts": cuts,
        "source": SOURCE,
        "generated_at": _iso(now),
        "data_as_of": _iso(max(captured, default=None)),
    }


def build_report(workspace: Workspace, period: Period | str, *, now: datetime) -> Report:
    """Create or update the workspace's report for `period` (one per workspace and period).
    Flushes, never commits: the caller owns the transaction."""
    period = _as_period(period)
    conns = report_connections(workspace)
    figures = compute_figures(workspace, period, now=now, connections=conns)
    report = get_report(workspace, period)
    if report is None:
        report = Report(workspace_id=workspace.id, period_key=period.key, kind=period.kind)
        db.session.add(report)
    report.period_start, report.period_end = period.start, period.end
    report.figures = figures
    report.generated_at = now
    db.session.flush()
    db.session.execute(sa.delete(ReportConnection).where(ReportConnection.report_id == report.id))
    for conn in conns:
        db.session.add(ReportConnection(report_id=report.id, connection_id=conn.id))
    db.session.flush()
    log.info("report built workspace=%s period=%s accounts=%d", workspace.id, period.key, len(conns))
    return report


def is_stale(report: Report) -> bool:
    """The report draws on an account that has since been disconnected (or is gone)."""
    used = set(db.session.scalars(sa.select(ReportConnection.connection_id)
                                  .where(ReportConnection.report_id == report.id)))
    if not used:
        return False
    live = set(db.session.scalars(sa.select(TikTokConnection.id).where(
        TikTokConnection.id.in_(used), TikTokConnection.status != STATUS_DISCONNECTED)))
    return live != used


def period_of(report: Report) -> Period:
    return report_periods.period_of(report.kind, report.period_key)


def get_report(workspace: Workspace, period: Period) -> Report | None:
    return db.session.scalar(sa.select(Report).where(Report.workspace_id == workspace.id,
                                                     Report.period_key == period.key))


def list_reports(workspace: Workspace, *, limit: int | None = None, offset: int = 0) -> list[Report]:
    """The workspace's reports, newest period first (a month before the week it ends with)."""
    q = (sa.select(Report).where(Report.workspace_id == workspace.id)
         .order_by(Report.period_end.desc(), Report.kind.desc(), Report.id.desc()).offset(offset))
    return list(db.session.scalars(q if limit is None else q.limit(limit)))


def neighbours(report: Report) -> tuple[Report | None, Report | None]:
    """The stored reports of the same kind just before and just after this one."""
    same = sa.select(Report).where(Report.workspace_id == report.workspace_id, Report.kind == report.kind)
    before = db.session.scalar(same.where(Report.period_start < report.period_start)
                               .order_by(Report.period_start.desc()).limit(1))
    after = db.session.scalar(same.where(Report.period_start > report.period_start)
                              .order_by(Report.period_start).limit(1))
    return before, after


# ------------------------------------------------------------------ whose posts appear, who reads what


def _posting_connections(report: Report) -> set[int]:
    """The accounts with a post published in the report's period (per the stored figures)."""
    return {a["connection_id"] for a in (report.figures or {}).get("accounts", []) if a.get("posts")}


def post_owner_ids(report: Report) -> set[int]:
    """Users who connected an account with a post in the report's period."""
    ids = _posting_connections(report)
    if not ids:
        return set()
    return set(db.session.scalars(sa.select(TikTokConnection.owner_user_id).where(
        TikTokConnection.id.in_(ids), TikTokConnection.workspace_id == report.workspace_id,
        TikTokConnection.owner_user_id.is_not(None))))


def owned_connection_ids(user_id: int, workspace_id: int) -> set[int]:
    return set(db.session.scalars(sa.select(TikTokConnection.id).where(
        TikTokConnection.owner_user_id == user_id, TikTokConnection.workspace_id == workspace_id)))


@dataclass(frozen=True)
class Cut:
    """What one reader gets of a report: the whole workspace, or one person's accounts."""

    user_id: int | None  # None: the whole workspace
    figures: dict[str, Any]  # the report's figures as this reader sees them

    @property
    def whole(self) -> bool:
        return self.user_id is None

    @property
    def label(self) -> str:
        if self.whole:
            return "The whole workspace: every connected account"
        names = ", ".join(f"@{a['username']}" for a in self.figures.get("accounts", []))
        return f"Your accounts only ({names})" if names else "Your accounts only"


def reader_cut(report: Report, *, role: str | None, user_id: int | None, creator_cut: bool,
               owned: set[int] | None = None) -> Cut | None:
    """THE rule of who reads what of a report, for its page, the list and the emails.

    Agency staff, client admins and added outside addresses: the whole workspace.
    Creators: only reports of periods in which a post of an account they connected was
    published; the whole workspace by default, or, when the workspace chose "creators
    get their own cut", the figures of their own accounts only. Anyone else: nothing
    (None). `owned` (the creator's connection ids in this workspace) saves a query per
    report in lists."""
    figures = report.figures or {}
    if role in (ROLE_AGENCY, ROLE_CLIENT_ADMIN, ROLE_EXTERNAL):
        return Cut(None, figures)
    if role != ROLE_CREATOR or user_id is None:
        return None
    owned = owned_connection_ids(user_id, report.workspace_id) if owned is None else owned
    if not _posting_connections(report) & owned:
        return None
    if not creator_cut:
        return Cut(None, figures)
    mine = (figures.get("cuts") or {}).get(str(user_id))
    if mine is None:  # built before cuts were stored: nothing of theirs to show on its own
        return None
    shared = {k: v for k, v in figures.items() if k not in ("cuts", "organic", "comparison", "paid", "top_posts",
                                                              "accounts", "notes")}
    return Cut(user_id, {**shared, **mine})


# ------------------------------------------------------------------ times shown with the figures


def _utc_label(value: str | datetime | None) -> str | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    moment = moment.astimezone(timezone.utc)
    return f"{moment:%b} {moment.day}, {moment.year} {moment:%H:%M} UTC"


def display_times(report: Report) -> dict[str, str | None]:
    """"Generated May 25, 2026 09:00 UTC" and the newest data the figures used."""
    figures = report.figures or {}
    return {"generated": _utc_label(figures.get("generated_at") or report.generated_at),
            "data_as_of": _utc_label(figures.get("data_as_of"))}

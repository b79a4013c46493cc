"""Weekly report figures: one report per (workspace, ISO week), built from the database.

Figures come from the metric definitions in services/metrics.py, the same functions
the dashboard uses, over rows loaded with the dashboard's loaders (services/dashboard.py).
The week is the ISO week (Monday–Sunday) in the *workspace's* timezone.

What a report stores (`Report.figures`, JSON): aggregates only. Workspace totals
(organic, paid), a per-account breakdown and the top 3 posts (caption, @username,
views, engagement). No comment text, no data about viewers. Entries that name an
account carry its `connection_id` / `item_id`, so the purge can scrub them
(services/purge.py).

Which accounts: the workspace's connections that are not disconnected. A disconnected
account's data is kept until its purge, but it is left out of reports, and a report
that still draws on one (`is_stale`) is rebuilt before it is mailed.

Query budget: a fixed number of statements whatever the number of accounts — the
posts of the week and the week before (1), every account's snapshots (1), post view
gains for days without an account's daily figure (1, only when some day lacks one),
the Spark Ads rows (2). Nothing here commits: the caller owns the transaction.
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
from app.services import dashboard, metrics

log = logging.getLogger("app.reports")

FIGURES_VERSION = 1
SOURCE = "TikTok API for Business"
TOP_N = 3


class WeekError(ValueError):
    """A week string that is not an ISO week; the message says how to write one."""


# ------------------------------------------------------------------ weeks


@dataclass(frozen=True)
class Week:
    year: int
    number: int

    @property
    def iso(self) -> str:
        return f"{self.year}-W{self.number:02d}"

    def window(self, tz) -> metrics.Window:
        return metrics.iso_week_window(self.year, self.number, tz)

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.number, 1)

    @property
    def label(self) -> str:
        return week_label(self.monday, self.monday + timedelta(days=6), self.number)


def parse_week(text: str) -> Week:
    """"2026-W21" -> Week(2026, 21); anything else raises WeekError with a helpful message."""
    shown = (text or "")[:40]
    try:
        year, number = metrics.parse_iso_week(text)
    except metrics.WeekOutOfRange:
        raise WeekError(f"“{shown}” is outside the weeks reports cover "
                        f"({metrics.FIRST_WEEK_YEAR} to {metrics.LAST_WEEK_YEAR})") from None
    except ValueError:
        raise WeekError(f"“{shown}” is not an ISO week (use YYYY-Www, e.g. 2026-W21)") from None
    return Week(year, number)


def week_label(start: date, end: date, number: int | None = None) -> str:
    """"Week 21 · May 18 – May 24, 2026" (the year once, twice across a new year)."""
    number = number or start.isocalendar()[1]
    if start.year == end.year:
        span = f"{start:%b} {start.day} – {end:%b} {end.day}, {end.year}"
    else:
        span = f"{start:%b} {start.day}, {start.year} – {end:%b} {end.day}, {end.year}"
    return f"Week {number} · {span}"


def previous_week(now: datetime, tz_name: str | None) -> Week:
    """The last complete ISO week before `now` in the zone: on Monday 09:00 UTC that is
    the week that just ended in Auckland and in Los Angeles, but in Honolulu (still
    Sunday) the week before it."""
    tz = metrics.workspace_tz(tz_name)
    year, number, _ = (metrics.local_day(now, tz) - timedelta(days=7)).isocalendar()
    return Week(year, number)


def week_is_over(week: Week, workspace: Workspace, *, now: datetime) -> bool:
    return now >= week.window(metrics.workspace_tz(workspace.timezone)).ends_before


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


def _load_posts(conn_ids: list[int], window: metrics.Window) -> list[tuple[int, str, metrics.PostRow]]:
    """The posts of the week and the week before (for the engagement change), one query."""
    if not conn_ids:
        return []
    q = sa.select(Post).where(
        Post.connection_id.in_(conn_ids),
        Post.create_time >= window.previous().starts_at,
        Post.create_time < window.ends_before,
    )
    return [(p.connection_id, p.item_id, dashboard.post_row(p)) for p in db.session.scalars(q)]


def _load_paid(workspace: Workspace, window: metrics.Window) -> dict[str, Any] | None:
    """Spark Ads of the workspace's linked advertisers in the week; None with no ads account.
    Ads promoting a post of a disconnected account are left out with its other data."""
    ads = list(db.session.execute(sa.select(AdsAccount.id, AdsAccount.currency).where(
        AdsAccount.workspace_id == workspace.id, AdsAccount.status != STATUS_DISCONNECTED)))
    if not ads:
        return None
    q = (
        sa.select(sa.func.coalesce(Post.item_id, SparkAdMetric.tiktok_item_id).label("post_key"), SparkAdMetric.day,
                  SparkAdMetric.impressions, SparkAdMetric.clicks, SparkAdMetric.spend, AdsAccount.currency)
        .join(AdsAccount, AdsAccount.id == SparkAdMetric.ads_account_id)
        .outerjoin(Post, Post.id == SparkAdMetric.post_id)
        .outerjoin(TikTokConnection, TikTokConnection.id == Post.connection_id)
        .where(AdsAccount.id.in_([a.id for a in ads]), SparkAdMetric.day.between(window.start, window.end),
               sa.or_(SparkAdMetric.post_id.is_(None), TikTokConnection.status != STATUS_DISCONNECTED))
    )
    rows = list(db.session.execute(q))
    currencies = {r.currency for r in rows} or {a.currency for a in ads}
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


# ------------------------------------------------------------------ building


def compute_figures(workspace: Workspace, week: Week, *, now: datetime,
                    connections: list[TikTokConnection] | None = None) -> dict[str, Any]:
    """The report's figures, JSON-ready. Every number is a metrics.* result."""
    tz = metrics.workspace_tz(workspace.timezone)
    window = week.window(tz)
    conns = report_connections(workspace) if connections is None else connections
    first_needed = window.previous().start - timedelta(days=1)
    series_days = window.previous().days + window.days

    posts = _load_posts([c.id for c in conns], window)
    all_rows = [row for _, _, row in posts]
    item_ids = {row.id: item for _, item, row in posts}
    rows_of: dict[int, list[metrics.PostRow]] = {c.id: [] for c in conns}
    for cid, _, row in posts:
        rows_of[cid].append(row)
    snapshots_of = dashboard.load_snapshots([c.id for c in conns], first_needed)
    gains_of = dashboard.load_post_gains(
        {cid: metrics.days_missing_daily_views(snaps, series_days) for cid, snaps in snapshots_of.items()}, tz)

    accounts, views_totals, views_prev, views_complete, deltas, captured = [], [], [], True, [], []
    for conn in conns:
        snapshots = snapshots_of[conn.id]
        views = metrics.views(snapshots, window, gains_of.get(conn.id, {}))
        followers = metrics.followers(snapshots, window)
        in_week = metrics.posts_in_window(rows_of[conn.id], window)
        captured += [s.captured_at for s in snapshots if s.captured_at and window.contains(s.day)]
        if views.total is not None:
            views_totals.append(views.total)
        views_prev.append(views.previous)
        views_complete &= views.change is not None
        if followers.delta is not None:
            deltas.append(followers.delta)
        accounts.append({
            "connection_id": conn.id,
            "username": conn.username,
            "posts": len(in_week),
            "views": views.total,
            "views_missing_days": views.missing_days,
            "new_followers": followers.delta,
            "engagement_rate": metrics.engagement_rate(in_week),
        })

    cadence = metrics.cadence(all_rows, window, workspace.cadence_target)
    engagement = metrics.engagement(all_rows, window)
    total_views = sum(views_totals) if views_totals else None
    previous_views = sum(v for v in views_prev if v is not None)
    views_change = ((total_views - previous_views) / previous_views
                    if conns and views_complete and total_views is not None and previous_views else None)
    owner_of = {c.id: c.username for c in conns}
    conn_of = {row.id: cid for cid, _, row in posts}
    top = [{
        "connection_id": conn_of[p.id],
        "item_id": item_ids[p.id],
        "username": owner_of[conn_of[p.id]],
        "caption": " ".join((p.caption or "").split())[:300],
        "share_url": p.share_url if (p.share_url or "").startswith("https://") else None,
        "posted": p.create_time.astimezone(tz).date().isoformat(),
        "views": p.views,
        "engagement_rate": metrics.post_engagement(p),
    } for p in metrics.top_posts(all_rows, window, TOP_N)]

    notes = []
    for a in accounts:
        if a["views"] is None:
            notes.append(f"@{a['username']}: no views figures for this week yet.")
        elif a["views_missing_days"]:
            notes.append(f"@{a['username']}: {a['views_missing_days']} of 7 days have no views figures.")
        if a["new_followers"] is None:
            notes.append(f"@{a['username']}: no follower counts to compare this week.")
    if not conns:
        notes.append("No TikTok account was connected to this workspace for this week.")

    return {
        "version": FIGURES_VERSION,
        "week": week.iso,
        "label": week.label,
        "timezone": tz.key,
        "organic": {
            "posts_published": cadence.posts,
            "cadence_target": cadence.target,
            "cadence_label": cadence.label,
            "on_cadence": cadence.on_cadence,
            "views": total_views,
            "views_change": views_change,
            "engagement_rate": engagement.rate,
            "engagement_change_pp": engagement.change_pp,
            "new_followers": sum(deltas) if deltas else None,
        },
        "paid": _load_paid(workspace, window),
        "top_posts": top,
        "accounts": accounts,
        "notes": notes,
        "source": SOURCE,
        "generated_at": _iso(now),
        "data_as_of": _iso(max(captured, default=None)),
    }


def build_report(workspace: Workspace, week: Week | str, *, now: datetime) -> Report:
    """Create or update the workspace's report for `week` (one per workspace and week).
    Flushes, never commits: the caller owns the transaction."""
    week = parse_week(week) if isinstance(week, str) else week
    conns = report_connections(workspace)
    figures = compute_figures(workspace, week, now=now, connections=conns)
    report = get_report(workspace, week)
    if report is None:
        report = Report(workspace_id=workspace.id, iso_week=week.iso)
        db.session.add(report)
    report.week_start, report.week_end = week.monday, week.monday + timedelta(days=6)
    report.figures = figures
    report.generated_at = now
    db.session.flush()
    db.session.execute(sa.delete(ReportConnection).where(ReportConnection.report_id == report.id))
    for conn in conns:
        db.session.add(ReportConnection(report_id=report.id, connection_id=conn.id))
    db.session.flush()
    log.info("report built workspace=%s week=%s accounts=%d", workspace.id, week.iso, len(conns))
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


def get_report(workspace: Workspace, week: Week) -> Report | None:
    return db.session.scalar(sa.select(Report).where(Report.workspace_id == workspace.id,
                                                     Report.iso_week == week.iso))


def list_reports(workspace: Workspace) -> list[Report]:
    return list(db.session.scalars(
        sa.select(Report).where(Report.workspace_id == workspace.id).order_by(Report.week_start.desc())))


# ------------------------------------------------------------------ whose posts appear, who may read


def post_owner_ids(report: Report) -> set[int]:
    """Users who connected an account with a post in the report's week (per the stored figures)."""
    ids = [a["connection_id"] for a in (report.figures or {}).get("accounts", []) if a.get("posts")]
    if not ids:
        return set()
    return set(db.session.scalars(sa.select(TikTokConnection.owner_user_id).where(
        TikTokConnection.id.in_(ids), TikTokConnection.workspace_id == report.workspace_id,
        TikTokConnection.owner_user_id.is_not(None))))


def creator_may_read(user: User, report: Report) -> bool:
    """Creators read the reports of weeks in which a post of theirs appears."""
    return user.id in post_owner_ids(report)


def readable_by_creator(user: User, reports: list[Report]) -> list[Report]:
    owned = set(db.session.scalars(sa.select(TikTokConnection.id).where(TikTokConnection.owner_user_id == user.id)))
    return [r for r in reports
            if any(a.get("posts") and a.get("connection_id") in owned for a in (r.figures or {}).get("accounts", []))]


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

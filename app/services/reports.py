"""Weekly reports (DESIGN step 4): build one per (workspace, ISO week), decide who gets
it, and deliver it by email exactly once per recipient (as far as SMTP allows).

Figures come from the metric definitions in services/metrics.py, the same functions
the dashboard uses, over rows loaded with the dashboard's loaders (services/dashboard.py).
The week is the ISO week (Monday–Sunday) in the *workspace's* timezone.

What a report stores (`Report.figures`, JSON): aggregates only. Workspace totals
(organic, paid), a per-account breakdown and the top 3 posts (caption, @username,
views, engagement). No comment text, no data about viewers. Entries that name an
account carry its `connection_id` / `item_id`, so the purge can scrub them
(services/purge.py `_scrub_reports`).

Which accounts: the workspace's connections that are not disconnected. A disconnected
account's data is kept until its purge, but it is left out of reports, and a report
that still draws on one is rebuilt before it is sent (SECURITY.md case 62).

Who gets it (`recipients`): the workspace's client admins, and each creator member
who connected an account with a post published in the report's week (per the stored
figures: "a post of theirs appears"). Disabled users and removed members never do.
Recipients are checked again just before each send.

Delivery (`ensure_deliveries`, `deliver_due`): one ReportDelivery row per (report,
recipient), inserted before anything is sent (the unique constraint makes a second
run a no-op). A row is claimed (pending → sending, `claimed_until` lease; on
PostgreSQL via FOR UPDATE SKIP LOCKED plus a compare-and-set UPDATE, so two
instances never claim one row), sent with a deterministic Message-ID, and marked
sent in its own commit right after SMTP's 250. Transient SMTP failures go back to
pending with exponential backoff (5 min × 2^(attempts−1), at most 6 h, given up
after MAX_ATTEMPTS); permanent ones (5xx) are failed with the error kept for the
delivery log.

The remaining duplicate window (documented, SECURITY.md §1.7): if the process dies
between the server's 250 and our commit, the row stays "sending"; once its claim
expires (CLAIM_TTL) it is sent again, with the same Message-ID, so mail systems
that de-duplicate on it show it once.
"""
from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Callable

import sqlalchemy as sa
from flask import current_app, url_for
from sqlalchemy.dialects import postgresql, sqlite

from app.extensions import db
from app.models import (AdsAccount, Membership, Post, Report, ReportConnection, ReportDelivery, SparkAdMetric,
                        TikTokConnection, User, Workspace)
from app.models.connection import STATUS_DISCONNECTED
from app.models.report import DELIVERY_FAILED, DELIVERY_PENDING, DELIVERY_SENDING, DELIVERY_SENT
from app.models.workspace import ROLE_CLIENT_ADMIN, ROLE_CREATOR
from app.services import dashboard, mail, metrics
from app.services.leases import lock_rows

log = logging.getLogger("app.reports")

FIGURES_VERSION = 1
SOURCE = "TikTok API for Business"
TOP_N = 3
CLAIM_TTL = timedelta(minutes=10)  # far longer than one send (MAIL_TIMEOUT ≤ 300 s)
BACKOFF_BASE = timedelta(minutes=5)
BACKOFF_MAX = timedelta(hours=6)
MAX_ATTEMPTS = 10  # waits 5, 10, 20 … 320 min, then 6 h twice: about a day of retries, then failed
MESSAGE_ID_DOMAIN = "logic-target"
NOT_A_RECIPIENT = "Not sent: no longer a recipient (removed from the workspace, disabled, or no post that week)."


class WeekError(ValueError):
    """A week string that is not an ISO week; the message says how to write one."""


class WeekNotOver(ValueError):
    """The week has not ended yet in the workspace's timezone."""


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


# ------------------------------------------------------------------ building


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
    return [(p.connection_id, p.item_id, dashboard._post_row(p)) for p in db.session.scalars(q)]


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
    accounts, views_totals, views_prev, views_complete, deltas, captured = [], [], [], True, [], []
    for conn in conns:
        snapshots = dashboard._load_snapshots(conn.id, first_needed)
        missing = metrics.days_missing_daily_views(snapshots, series_days)
        gains = dashboard._load_post_gains(conn.id, missing, tz)
        views = metrics.views(snapshots, window, gains)
        followers = metrics.followers(snapshots, window)
        rows = [row for cid, _, row in posts if cid == conn.id]
        in_week = metrics.posts_in_window(rows, window)
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
    report = db.session.scalar(sa.select(Report).where(Report.workspace_id == workspace.id,
                                                       Report.iso_week == week.iso))
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


# ------------------------------------------------------------------ who may read, who receives


def _creator_connection_ids(report: Report) -> dict[int, int]:
    """connection id -> owner user id, for accounts with a post in the report's week."""
    ids = [a["connection_id"] for a in (report.figures or {}).get("accounts", []) if a.get("posts")]
    if not ids:
        return {}
    return dict(db.session.execute(sa.select(TikTokConnection.id, TikTokConnection.owner_user_id).where(
        TikTokConnection.id.in_(ids), TikTokConnection.workspace_id == report.workspace_id,
        TikTokConnection.owner_user_id.is_not(None))).all())


def creator_may_read(user: User, report: Report) -> bool:
    """DESIGN: creators read the reports of weeks in which a post of theirs appears."""
    return user.id in _creator_connection_ids(report).values()


def readable_by_creator(user: User, reports: list[Report]) -> list[Report]:
    owned = set(db.session.scalars(sa.select(TikTokConnection.id).where(TikTokConnection.owner_user_id == user.id)))
    return [r for r in reports
            if any(a.get("posts") and a.get("connection_id") in owned for a in (r.figures or {}).get("accounts", []))]


@dataclass(frozen=True)
class Recipient:
    email: str
    user_id: int
    role: str


def recipients(report: Report) -> list[Recipient]:
    """Client admins of the workspace, and creator members who own an account with a post
    in the week. Never disabled users or people no longer members."""
    owners = set(_creator_connection_ids(report).values())
    q = (sa.select(User.email, User.id, Membership.role)
         .join(Membership, Membership.user_id == User.id)
         .where(Membership.workspace_id == report.workspace_id, User.disabled.is_(False),
                sa.or_(Membership.role == ROLE_CLIENT_ADMIN,
                       sa.and_(Membership.role == ROLE_CREATOR, User.id.in_(owners or [-1])))))
    return sorted((Recipient(*row) for row in db.session.execute(q)), key=lambda r: r.email)


# ------------------------------------------------------------------ email


def message_id(report: Report, email: str) -> str:
    """Deterministic: a resent message is recognisably the same one."""
    digest = hashlib.sha1(email.lower().encode()).hexdigest()[:12]
    return f"<report-{report.id}-{digest}@{MESSAGE_ID_DOMAIN}>"


def subject(report: Report, workspace: Workspace) -> str:
    label = (report.figures or {}).get("label") or report.iso_week
    return f"{workspace.name} · TikTok weekly report · {label}"


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


def email_context(report: Report, workspace: Workspace) -> dict[str, Any]:
    """What the email templates get; needs a request context (absolute URL from APP_BASE_URL)."""
    return {
        **display_times(report),
        "report": report,
        "workspace": workspace,
        "f": report.figures or {},
        "report_url": url_for("reports.show", week=report.iso_week, workspace=workspace.id, _external=True),
    }


def compose_email(report: Report, workspace: Workspace, recipient: str, *, msg_id: str | None = None):
    with current_app.test_request_context(base_url=current_app.config["APP_BASE_URL"]):
        return mail.compose(subject(report, workspace), recipient, template="weekly_report",
                            message_id=msg_id or message_id(report, recipient),
                            **email_context(report, workspace))


def render_email_html(report: Report, workspace: Workspace) -> str:
    """The HTML part exactly as mailed (CSS inlined), for the admins' preview."""
    return compose_email(report, workspace, "preview@example.invalid").html


def send_test(report: Report, workspace: Workspace, user: User) -> str:
    """Mail the report to `user` only; not a delivery (no row, its own Message-ID)."""
    msg = compose_email(report, workspace, user.email,
                        msg_id=f"<report-{report.id}-test-{uuid.uuid4().hex[:12]}@{MESSAGE_ID_DOMAIN}>")
    msg.subject = "[Test] " + msg.subject
    return mail.send_one(msg)


# ------------------------------------------------------------------ deliveries


def _insert_ignoring_duplicates(rows: list[dict]) -> int:
    if not rows:
        return 0
    dialect = db.engine.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(ReportDelivery).values(rows).on_conflict_do_nothing(index_elements=["report_id", "recipient_email"])
    # Count what RETURNING gives back: psycopg reports rowcount -1 for this statement.
    return len(db.session.execute(stmt.returning(ReportDelivery.id)).all())


def ensure_deliveries(report: Report, *, now: datetime) -> int:
    """A pending delivery row per current recipient, before anything is sent; existing
    rows (sent or not) are left alone. Returns how many were added. Flushes only."""
    rows = [{"report_id": report.id, "recipient_email": r.email, "recipient_user_id": r.user_id,
             "status": DELIVERY_PENDING, "attempts": 0, "created_at": now} for r in recipients(report)]
    return _insert_ignoring_duplicates(rows)


def backoff(attempts: int) -> timedelta:
    """5 min after the first failure, doubling, at most 6 h."""
    return min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)


def _due_clause(now: datetime):
    return sa.or_(
        sa.and_(ReportDelivery.status == DELIVERY_PENDING,
                sa.or_(ReportDelivery.next_attempt_at.is_(None), ReportDelivery.next_attempt_at <= now)),
        sa.and_(ReportDelivery.status == DELIVERY_SENDING,
                sa.or_(ReportDelivery.claimed_until.is_(None), ReportDelivery.claimed_until <= now)),
    )


def claim_next(*, now: datetime) -> ReportDelivery | None:
    """Claim one due delivery (pending and due, or "sending" whose claim expired) and
    commit the claim, so other instances skip it. None when nothing is due."""
    while True:
        q = sa.select(ReportDelivery.id).where(_due_clause(now)).order_by(ReportDelivery.id).limit(1)
        delivery_id = db.session.scalar(lock_rows(q))
        if delivery_id is None:
            db.session.commit()
            return None
        claimed = db.session.execute(
            sa.update(ReportDelivery).where(ReportDelivery.id == delivery_id, _due_clause(now))
            .values(status=DELIVERY_SENDING, claimed_until=now + CLAIM_TTL)
        ).rowcount
        db.session.commit()
        if claimed:  # compare-and-set: on any database, one claimer wins
            return db.session.get(ReportDelivery, delivery_id, populate_existing=True)


def _still_recipient(delivery: ReportDelivery) -> bool:
    return any(r.email == delivery.recipient_email for r in recipients(delivery.report))


@dataclass
class DeliveryCounts:
    sent: int = 0
    retry: int = 0
    failed: int = 0
    skipped: int = 0
    rebuilt: int = 0


def deliver_due(*, now: datetime, out: mail.Outbound, limit: int = 500,
                after_send: Callable[[ReportDelivery], None] | None = None) -> DeliveryCounts:
    """Send due deliveries one at a time: claim → (re-check) → send → mark, each committed.
    `after_send(delivery)` runs after a send is recorded (tests use it to crash a run)."""
    counts = DeliveryCounts()
    for _ in range(limit):
        delivery = claim_next(now=now)
        if delivery is None:
            break
        report = delivery.report
        workspace = db.session.get(Workspace, report.workspace_id)
        if is_stale(report):  # an account was disconnected since the build: its data goes first
            build_report(workspace, report.iso_week, now=now)
            db.session.commit()
            counts.rebuilt += 1
        if not _still_recipient(delivery):
            delivery.status, delivery.last_error, delivery.claimed_until = DELIVERY_FAILED, NOT_A_RECIPIENT, None
            db.session.commit()
            counts.skipped += 1
            continue
        msg_id = message_id(report, delivery.recipient_email)
        delivery.attempts += 1
        try:
            msg = compose_email(report, workspace, delivery.recipient_email, msg_id=msg_id)
            out.send(msg)
        except mail.MailError as e:
            delivery.last_error = str(e)[:500]
            delivery.claimed_until = None
            if e.transient and delivery.attempts < MAX_ATTEMPTS:
                delivery.status = DELIVERY_PENDING
                delivery.next_attempt_at = now + backoff(delivery.attempts)
                counts.retry += 1
            else:
                delivery.status = DELIVERY_FAILED
                if e.transient:
                    delivery.last_error = f"Gave up after {delivery.attempts} attempts: {e}"[:500]
                counts.failed += 1
            db.session.commit()
            log.warning("report mail not sent delivery=%s transient=%s attempts=%s",
                        delivery.id, e.transient, delivery.attempts)
            continue
        delivery.status, delivery.sent_at, delivery.message_id = DELIVERY_SENT, now, msg_id
        delivery.claimed_until, delivery.next_attempt_at, delivery.last_error = None, None, None
        db.session.commit()
        counts.sent += 1
        log.info("report mail sent delivery=%s report=%s", delivery.id, report.id)
        if after_send is not None:
            after_send(delivery)
    return counts


def deliveries_of(report: Report) -> list[ReportDelivery]:
    return list(db.session.scalars(sa.select(ReportDelivery).where(ReportDelivery.report_id == report.id)
                                   .order_by(ReportDelivery.recipient_email)))

"""The clients overview: one row per workspace a person manages, what needs a human first.

A row says
- accounts: how many are active, how many need reconnecting, and how many of the active
  ones are failing to sync: the last sync attempt left an error (`last_error`), or the
  last successful sync (or, never synced, the connection) is older than SYNC_STALE_AFTER
  while the sync job tries every few minutes;
- the last successful sync of any of its accounts;
- this week's views and followers change against last week: the dashboard's window
  (the last 7 complete days in the workspace's timezone) and the 7 days before it, by
  the definitions in services/metrics.py, added up over the accounts the weekly report
  covers (every account not disconnected) as the report adds them up;
- the next report: when it goes out (the workspace's own delivery day and hour, see
  services/report_periods.py), which week or month it covers in the workspace's timezone, and to
  whom it would go as things stand (report_delivery.recipients' rule: client admins, and
  creators with a post in that week so far; with the report-recipient settings, agency
  staff who opted in and added addresses, minus those who unsubscribed);
- the latest stored report and its status: failed (an email could not be delivered),
  waiting for approval, not sent (nobody approved it in time), built (not all its emails
  are out yet) or sent.

Order: workspaces with an account that needs reconnecting, then with an account failing
to sync, then with a report that failed or waits for someone, then the rest; by name
within each group.

Query budget, whatever the number of workspaces and accounts: the workspaces (shared
with the page header for agency staff; client admins: one), their accounts (1), their
daily snapshots (1, dashboard.load_snapshots), posts' view gains for days without an
account's daily figure (1, only when some day lacks one), the latest report of each
with its deliveries counted (1), the report settings (1), and the next report's
recipients (1). Reads only.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Mapping

import sqlalchemy as sa

from app.extensions import db
from app.models import Membership, Post, Report, ReportDelivery, TikTokConnection, User, Workspace
from app.models import report as report_model
from app.models.base import UTCDateTime
from app.models.connection import STATUS_ACTIVE, STATUS_DISCONNECTED, STATUS_NEEDS_RECONNECT
from app.models.workspace import ROLE_CLIENT_ADMIN, ROLE_CREATOR
from app.services import access, dashboard, metrics, report_delivery, report_figures, report_periods, report_recipients

SYNC_STALE_AFTER = timedelta(hours=6)
RECIPIENTS_SHOWN = 3

# A report's status, as the overview words it.
REPORT_FAILED = "failed"
REPORT_WAITING = "waiting for approval"
REPORT_EXPIRED = "not sent"
REPORT_BUILT = "built"
REPORT_SENT = "sent"
NEEDS_A_HUMAN = (REPORT_FAILED, REPORT_WAITING, REPORT_EXPIRED)

# Sort groups: lower first.
RANK_RECONNECT, RANK_SYNC, RANK_REPORT, RANK_REST = range(4)


@dataclass(frozen=True)
class AccountCounts:
    active: int = 0
    needs_reconnect: int = 0
    sync_failing: int = 0  # of the active ones

    @property
    def total(self) -> int:
        return self.active + self.needs_reconnect


@dataclass(frozen=True)
class LatestReport:
    iso_week: str
    label: str
    status: str
    generated_at: datetime
    sent: int
    failed: int
    pending: int


@dataclass(frozen=True)
class NextReport:
    at: datetime  # in the workspace's timezone
    week: report_periods.Period  # the week or month it covers
    recipients: list[str]  # sorted addresses
    skipped: bool  # no connected account: the run builds nothing for this workspace

    @property
    def shown_recipients(self) -> list[str]:
        return self.recipients[:RECIPIENTS_SHOWN]

    @property
    def more_recipients(self) -> int:
        return max(len(self.recipients) - RECIPIENTS_SHOWN, 0)


@dataclass(frozen=True)
class ClientRow:
    workspace: Workspace
    accounts: AccountCounts
    last_synced_at: datetime | None
    window: metrics.Window
    views: metrics.Views
    followers_delta: int | None
    followers_previous_delta: int | None
    next_report: NextReport
    latest_report: LatestReport | None
    attention: list[str] = field(default_factory=list)  # why a human is needed, most urgent first
    rank: int = RANK_REST

    @property
    def needs_attention(self) -> bool:
        return self.rank < RANK_REST


# ------------------------------------------------------------------ workspaces


def managed_workspaces(user: User) -> list[Workspace]:
    """The workspaces `user` manages: every one for agency staff (the header's list, read
    once per request), those where they are a client admin for anyone else. Creators
    manage none (they see only their own accounts, never a whole workspace's)."""
    if user.is_agency:
        return access.visible_workspaces(user)
    q = access.workspaces_query(user).where(Membership.role == ROLE_CLIENT_ADMIN)
    return list(db.session.scalars(q))


# ------------------------------------------------------------------ loading


@dataclass(frozen=True)
class _Conn:
    id: int
    workspace_id: int
    status: str
    last_error: str | None
    last_synced_at: datetime | None
    connected_at: datetime


def _connections(workspace_ids: list[int]) -> list[_Conn]:
    q = (sa.select(TikTokConnection.id, TikTokConnection.workspace_id, TikTokConnection.status,
                   TikTokConnection.last_error, TikTokConnection.last_synced_at, TikTokConnection.connected_at)
         .where(TikTokConnection.workspace_id.in_(workspace_ids), TikTokConnection.status != STATUS_DISCONNECTED)
         .order_by(TikTokConnection.id))
    return [_Conn(*row) for row in db.session.execute(q)]


def is_sync_failing(conn: _Conn | TikTokConnection, now: datetime) -> bool:
    """An active account whose last sync failed, or that has not synced for SYNC_STALE_AFTER."""
    if conn.status != STATUS_ACTIVE:
        return False
    if conn.last_error:
        return True
    return (conn.last_synced_at or conn.connected_at) < now - SYNC_STALE_AFTER


def _count_if(condition) -> sa.ColumnElement:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def _latest_reports(workspace_ids: list[int], *, now: datetime) -> dict[int, LatestReport]:
    """Each workspace's newest report, with its deliveries counted by outcome (one query)."""
    newest = (sa.select(Report.workspace_id, sa.func.max(Report.week_start).label("week_start"))
              .where(Report.workspace_id.in_(workspace_ids)).group_by(Report.workspace_id).subquery())
    status = ReportDelivery.status
    # A recipient who left the workspace or unsubscribed before the send is nobody's failure.
    really_failed = sa.and_(status == report_model.DELIVERY_FAILED,
                            sa.func.coalesce(ReportDelivery.last_error, "").notin_(report_delivery.SKIPPED_REASONS))
    columns = [Report.workspace_id, Report.iso_week, Report.generated_at,
               _count_if(status == report_model.DELIVERY_SENT), _count_if(really_failed),
               _count_if(status.in_((report_model.DELIVERY_PENDING, report_model.DELIVERY_SENDING))),
               Report.approval_status, Report.approval_expires_at]
    group = [Report.id, Report.workspace_id, Report.iso_week, Report.generated_at, Report.approval_status,
             Report.approval_expires_at]
    q = (sa.select(*columns)
         .join(newest, sa.and_(newest.c.workspace_id == Report.workspace_id, newest.c.week_start == Report.week_start))
         .outerjoin(ReportDelivery, ReportDelivery.report_id == Report.id)
         .group_by(*group))
    found = {}
    for ws_id, iso_week, generated_at, sent, failed, pending, approval, expires in db.session.execute(q):
        if approval == report_model.APPROVAL_WAITING and expires is not None and expires <= now:
            approval = report_model.APPROVAL_EXPIRED  # past its window: the next job run marks it so
        found[ws_id] = LatestReport(iso_week, report_figures.parse_period(iso_week).label,
                                    report_status(sent, failed, pending, approval),
                                    generated_at, sent, failed, pending)
    return found


def report_status(sent: int, failed: int, pending: int, approval: str | None = None) -> str:
    if failed:
        return REPORT_FAILED
    if approval == report_model.APPROVAL_WAITING:
        return REPORT_WAITING
    if approval == report_model.APPROVAL_EXPIRED:
        return REPORT_EXPIRED
    if pending or not sent:
        return REPORT_BUILT
    return REPORT_SENT


def _per_workspace(values: Mapping[int, datetime], column) -> sa.ColumnElement:
    """`values[workspace id]` in SQL, for the row's workspace (a CASE over the ids)."""
    return sa.case({ws_id: sa.literal(at, UTCDateTime) for ws_id, at in values.items()}, value=column)


def next_recipients(weeks: Mapping[int, metrics.Window]) -> dict[int, list[str]]:
    """Who each workspace's report for its week in `weeks` goes to as things stand (one
    query): report_delivery.recipients' rule, evaluated on the posts so far rather than a
    built report's figures; with the report-recipient settings where the schema has them."""
    ids = list(weeks)
    starts = _per_workspace({w: win.starts_at for w, win in weeks.items()}, TikTokConnection.workspace_id)
    ends = _per_workspace({w: win.ends_before for w, win in weeks.items()}, TikTokConnection.workspace_id)
    posted = (sa.select(TikTokConnection.id)
              .join(Post, Post.connection_id == TikTokConnection.id)
              .where(TikTokConnection.owner_user_id == User.id,
                     TikTokConnection.workspace_id == Membership.workspace_id,
                     TikTokConnection.status != STATUS_DISCONNECTED,
                     Post.create_time >= starts, Post.create_time < ends)
              .exists())
    members = (sa.select(Membership.workspace_id.label("workspace_id"), User.email.label("email"))
               .join(User, User.id == Membership.user_id)
               .where(Membership.workspace_id.in_(ids), User.disabled.is_(False),
                      sa.or_(Membership.role == ROLE_CLIENT_ADMIN,
                             sa.and_(Membership.role == ROLE_CREATOR, posted))))
    parts = [members]
    unsubscribed = None
    try:  # the report-recipient settings: agency opt-ins, added addresses, unsubscribes
        from app.models import report_recipients as extra
    except ImportError:  # pragma: no cover - a schema without them
        extra = None
    if extra is not None:
        parts.append(sa.select(extra.ReportAgencyRecipient.workspace_id, User.email)
                     .join(User, User.id == extra.ReportAgencyRecipient.user_id)
                     .where(extra.ReportAgencyRecipient.workspace_id.in_(ids), User.disabled.is_(False),
                            User.is_agency.is_(True)))
        parts.append(sa.select(extra.ReportExternalRecipient.workspace_id, extra.ReportExternalRecipient.email)
                     .where(extra.ReportExternalRecipient.workspace_id.in_(ids)))
        unsubscribed = extra.ReportUnsubscribe
    everyone = sa.union(*parts).subquery() if len(parts) > 1 else members.subquery()
    q = sa.select(everyone.c.workspace_id, everyone.c.email)
    if unsubscribed is not None:
        q = q.where(~sa.exists().where(unsubscribed.workspace_id == everyone.c.workspace_id,
                                       unsubscribed.email == sa.func.lower(everyone.c.email)))
    found: dict[int, set[str]] = defaultdict(set)
    for ws_id, email in db.session.execute(q):
        found[ws_id].add(email)
    return {ws_id: sorted(emails) for ws_id, emails in found.items()}


# ------------------------------------------------------------------ the rows


def _next_report(settings, tz, now: datetime) -> tuple[report_periods.Period, datetime]:
    """The workspace's next scheduled report (the sooner of its weekly and monthly ones)."""
    return min((report_periods.next_delivery(kind, now, tz, settings.delivery_weekday, settings.delivery_hour)
                for kind in settings.kinds), key=lambda found: found[1])


def overview(user: User, *, now: datetime) -> list[ClientRow]:
    """The rows for `user`, needs-a-human first (see the module docstring)."""
    workspaces = managed_workspaces(user)
    if not workspaces:
        return []
    ids = [ws.id for ws in workspaces]
    zone = {ws.id: metrics.workspace_tz(ws.timezone) for ws in workspaces}
    window = {ws.id: metrics.last_complete_days(now, zone[ws.id]) for ws in workspaces}
    stored = report_recipients.settings_for(ids)
    upcoming = {ws.id: _next_report(stored.get(ws.id) or report_recipients.default_settings(ws.id), zone[ws.id], now)
                for ws in workspaces}
    next_week = {w: found[0] for w, found in upcoming.items()}

    conns = _connections(ids)
    conns_of: dict[int, list[_Conn]] = defaultdict(list)
    for c in conns:
        conns_of[c.workspace_id].append(c)
    zone_of_conn = {c.id: zone[c.workspace_id] for c in conns}
    # The windows and the two before (the previous window's followers delta needs its base).
    since = min(w.start for w in window.values()) - timedelta(days=3 * metrics.WINDOW_DAYS + 1)
    snapshots = dashboard.load_snapshots([c.id for c in conns], since)
    series_days = {c.id: window[c.workspace_id].previous().days + window[c.workspace_id].days for c in conns}
    gains = dashboard.load_post_gains({c.id: metrics.days_missing_daily_views(snapshots[c.id], series_days[c.id])
                         for c in conns}, zone_of_conn)
    latest = _latest_reports(ids, now=now)
    recipients = next_recipients({w: next_week[w].window(zone[w]) for w in ids})

    rows = []
    for ws in workspaces:
        mine = conns_of.get(ws.id, [])
        win = window[ws.id]
        counts = AccountCounts(
            active=sum(c.status == STATUS_ACTIVE for c in mine),
            needs_reconnect=sum(c.status == STATUS_NEEDS_RECONNECT for c in mine),
            sync_failing=sum(is_sync_failing(c, now) for c in mine),
        )
        views = metrics.combined_views([metrics.views(snapshots[c.id], win, gains.get(c.id, {})) for c in mine])
        followers_now = metrics.combined_followers_delta(metrics.followers(snapshots[c.id], win).delta for c in mine)
        followers_before = metrics.combined_followers_delta(
            metrics.followers(snapshots[c.id], win.previous()).delta for c in mine)
        report = latest.get(ws.id)
        attention, rank = _attention(counts, report)
        rows.append(ClientRow(
            workspace=ws, accounts=counts,
            last_synced_at=max((c.last_synced_at for c in mine if c.last_synced_at), default=None),
            window=win, views=views, followers_delta=followers_now, followers_previous_delta=followers_before,
            next_report=NextReport(upcoming[ws.id][1], next_week[ws.id], recipients.get(ws.id, []), skipped=not mine),
            latest_report=report, attention=attention, rank=rank,
        ))
    return sorted(rows, key=sort_key)


def sort_key(row: ClientRow) -> tuple:
    return row.rank, row.workspace.name.casefold(), row.workspace.id


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _attention(counts: AccountCounts, report: LatestReport | None) -> tuple[list[str], int]:
    reasons, ranks = [], [RANK_REST]
    if counts.needs_reconnect:
        reasons.append(_plural(counts.needs_reconnect, "account needs", "accounts need") + " reconnecting")
        ranks.append(RANK_RECONNECT)
    if counts.sync_failing:
        reasons.append(_plural(counts.sync_failing, "account is", "accounts are") + " failing to sync")
        ranks.append(RANK_SYNC)
    if report is not None and report.status in NEEDS_A_HUMAN:
        reasons.append({REPORT_FAILED: f"{report.label}: report emails failed",
                        REPORT_WAITING: f"{report.label}: report waits for approval",
                        REPORT_EXPIRED: f"{report.label}: report not sent (nobody approved it in time)"}[report.status])
        ranks.append(RANK_REPORT)
    return reasons, min(ranks)

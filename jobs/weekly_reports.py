"""weekly-reports (every hour, on the hour) and report-retries (every 10 minutes).

weekly-reports: each workspace gets its reports in its own morning. It chooses weekly,
monthly or both, and a weekday and local hour (default Monday 09:00 in its timezone;
services/report_periods.py says when each period's report is due). Every hour the job
finds, per workspace, the period of each kind whose delivery moment has passed (and
not more than report_periods.DELIVERY_GRACE ago), and if the schedule has not queued
that report yet (`Report.queued_at`), under a lease per (workspace, period) so two
instances never build one report at once (workspaces with no connected account are
skipped):
  1. build (or rebuild) the report and commit it. It is rebuilt only while none of its
     emails has gone out, so everyone gets the same figures; `--week KEY` (a week or
     a month key) always rebuilds and queues (backfill or correction);
  2. insert a delivery row per recipient (unique per report and recipient), stamp
     `queued_at` and commit, before anything is sent. A workspace that wants approval
     before sending gets no rows: its report waits for an agency user's "Approve and
     send" (which inserts them), and is marked expired, never sent, if nobody approves
     it in time;
then send every due delivery through ONE SMTP connection, one delivery at a time
(services/report_delivery.py): claim it and commit, so no other instance takes it;
re-check it (rebuild a report an account has left, drop a recipient who no longer is
one, decide which cut of the report they read) and commit; send it and commit the
outcome at once. Each report's email is rendered once per run and cut, and addressed
per recipient.

report-retries: sends what is due across all reports: transient failures after their
backoff, rows left by a run that died (pending, or "sending" past their claim), and the
rows an approval queued. Without it a retry would wait for the next hourly run.

Both first mark reports whose approval window passed as expired.

Running either twice, or concurrently on two instances, sends nothing twice.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Callable

import sqlalchemy as sa

from app.extensions import db
from app.leases import acquire_lease, release_lease
from app.models import Report, ReportDelivery, Workspace
from app.models.report import APPROVAL_APPROVED, APPROVAL_EXPIRED, APPROVAL_WAITING, DELIVERY_SENT
from app.services import mail, metrics, report_delivery, report_figures, report_periods, report_recipients
from jobs import job
from jobs.result import JobResult

log = logging.getLogger("jobs.weekly_reports")

NAME = "weekly-reports"
RETRIES = "report-retries"
BUILD_LEASE_TTL = timedelta(minutes=15)
DELIVERY_LIMIT = 500


@job(NAME, schedule={"trigger": "cron", "minute": 0},
     description="Build each workspace's weekly or monthly report at its chosen local day and hour, "
                 "and email it once per recipient")
def run(*, now: datetime, week: str | None = None, limit: int | None = None,
        after_send: Callable[[ReportDelivery], None] | None = None, **_) -> JobResult:
    # `week` names any period ("2026-W21" or "2026-05"); PeriodError (a ValueError) names the problem.
    explicit = report_periods.parse_period(week) if week else None
    result = JobResult(NAME)
    _expire(result, now=now)
    workspaces = list(db.session.execute(sa.select(Workspace.id, Workspace.timezone).order_by(Workspace.id)))
    settings = report_recipients.all_settings()
    if explicit is not None:
        due = {ws_id: [explicit] for ws_id, _ in workspaces}
    else:
        due = {ws_id: _due(settings.get(ws_id) or report_recipients.default_settings(ws_id), tz_name, now=now)
               for ws_id, tz_name in workspaces}
        done = _queued_already(due)  # one query: every hour most due reports were queued by an earlier run
        for ws_id, periods in due.items():
            if not periods:
                result.add("workspaces_not_due")
            elif already := sum((ws_id, p.key) in done for p in periods):
                result.add("already_queued", already)
                due[ws_id] = [p for p in periods if (ws_id, p.key) not in done]
    db.session.commit()
    for ws_id, periods in due.items():
        if not periods:
            continue
        try:
            for period in periods:
                _build(ws_id, period, explicit is not None, now=now, result=result)
        except Exception as e:  # keep going past one bad workspace
            db.session.rollback()
            result.add("errors")
            result.item_failed(f"workspace {ws_id}", e)
    # Everything due, not only this run's reports: a report another instance built is
    # shared out between both (claims), and earlier failures whose backoff passed go too.
    # By default at least every delivery this run queued: a fixed cap would leave the rest
    # of a large agency's emails to report-retries (bench: 500 of 1,000 sent on Monday).
    if limit is None:
        limit = max(DELIVERY_LIMIT, result.counts["deliveries_queued"])
    _deliver(result, now=now, limit=limit, after_send=after_send)
    return result


@job(RETRIES, schedule={"trigger": "interval", "minutes": 10},
     description="Retry report emails that failed for a temporary reason, after their backoff, and send approved ones")
def run_retries(*, now: datetime, limit: int = 500,
                after_send: Callable[[ReportDelivery], None] | None = None, **_) -> JobResult:
    result = JobResult(RETRIES)
    _expire(result, now=now)
    _deliver(result, now=now, limit=limit, after_send=after_send)
    return result


def _due(settings, tz_name: str | None, *, now: datetime) -> list[report_periods.Period]:
    """The periods whose report the schedule delivers for this workspace now (if not done yet)."""
    tz = metrics.workspace_tz(tz_name)
    found = [report_periods.due_period(kind, now, tz, settings.delivery_weekday, settings.delivery_hour)
             for kind in settings.kinds]
    return [p for p in found if p is not None]


def _queued_already(due: dict[int, list[report_periods.Period]]) -> set[tuple[int, str]]:
    """The (workspace, period key) pairs among `due` whose report the schedule already queued."""
    keys = {p.key for periods in due.values() for p in periods}
    if not keys:
        return set()
    rows = db.session.execute(sa.select(Report.workspace_id, Report.period_key).where(
        Report.period_key.in_(sorted(keys)), Report.queued_at.is_not(None)))
    return {(ws_id, key) for ws_id, key in rows if any(p.key == key for p in due.get(ws_id, []))}


def _queued(ws_id: int, period: report_periods.Period) -> bool:
    return db.session.scalar(sa.select(Report.queued_at).where(
        Report.workspace_id == ws_id, Report.period_key == period.key)) is not None


def _build(ws_id: int, period: report_periods.Period, explicit: bool, *, now: datetime, result: JobResult) -> None:
    workspace = db.session.get(Workspace, ws_id)
    if not report_figures.report_connections(workspace):  # nothing to report on: no email about nothing
        result.add("workspaces_without_accounts")
        return
    key = f"workspace:{ws_id}:{period.key}"
    owner = acquire_lease(NAME, key, now=now, ttl=BUILD_LEASE_TTL)
    if owner is None:  # another instance is building it; it also inserts the deliveries
        result.add("claimed_elsewhere")
        return
    try:
        db.session.commit()  # read what an instance that held the lease just before us committed
        if not explicit and _queued(ws_id, period):
            result.add("already_queued")
            return
        workspace = db.session.get(Workspace, ws_id)
        report = report_figures.get_report(workspace, period)
        if report is None or explicit or not (_any_sent(report.id) or report.approval_status in (
                APPROVAL_APPROVED, APPROVAL_EXPIRED)):  # approved figures are the ones mailed
            report = report_figures.build_report(workspace, period, now=now)
            result.add("reports_built")
        db.session.commit()
        added = report_delivery.hold_or_queue(report, now=now)
        report.queued_at = report.queued_at or now
        db.session.commit()
        result.add("deliveries_queued", added)
        if report.approval_status == APPROVAL_WAITING:
            result.add("reports_waiting_for_approval")
    finally:
        release_lease(NAME, key, owner)


def _expire(result: JobResult, *, now: datetime) -> None:
    expired = report_delivery.expire_unapproved(now=now)
    db.session.commit()
    if expired:
        result.add("reports_expired", expired)


def _any_sent(report_id: int) -> bool:
    return db.session.scalar(sa.select(sa.exists().where(
        ReportDelivery.report_id == report_id, ReportDelivery.status == DELIVERY_SENT))) or False


def _deliver(result: JobResult, *, now: datetime, limit: int,
             after_send: Callable[[ReportDelivery], None] | None) -> None:
    """Send due deliveries one at a time, each step its own commit. `after_send(delivery)`
    runs once a send is recorded (tests use it to kill a run half-way)."""
    emails = report_delivery.ReportEmails()
    with mail.Outbound() as out:  # one SMTP connection for the run
        for _ in range(limit):
            delivery_id = report_delivery.claim_due(now=now)
            db.session.commit()  # the claim is visible to other instances before anything is sent
            if delivery_id is None:
                break
            delivery = db.session.get(ReportDelivery, delivery_id)
            check = report_delivery.recheck(delivery, now=now)
            db.session.commit()
            if check.rebuilt:
                result.add("emails_rebuilt")
            if not check.send:
                result.add("emails_skipped")
                continue
            outcome = report_delivery.send(delivery, now=now, out=out, emails=emails, cut=check.cut)
            db.session.commit()  # right after SMTP's answer: a sent row is never sent again
            result.add(f"emails_{outcome}")
            if after_send is not None and outcome == report_delivery.SENT:
                after_send(delivery)

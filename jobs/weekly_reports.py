"""weekly-reports (Mondays 09:00 UTC) and report-retries (every 10 minutes).

weekly-reports: for each workspace, the previous complete ISO week in the workspace's
timezone (or `--week`), under a lease per (workspace, week) so two instances never
build one report at once (workspaces with no connected account are skipped):
  1. build (or rebuild) the report and commit it. A scheduled run rebuilds a report
     only while none of its emails has gone out, so everyone gets the same figures;
     `--week` always rebuilds (backfill or correction);
  2. insert a delivery row per recipient (unique per report and recipient) and commit,
     before anything is sent. A workspace that wants approval before sending gets no
     rows: its report waits for an agency user's "Approve and send" (which inserts
     them), and is marked expired, never sent, if nobody approves it in time;
then send every due delivery through ONE SMTP connection, one delivery at a time
(services/report_delivery.py): claim it and commit, so no other instance takes it;
re-check it (rebuild a report an account has left, drop a recipient who no longer is
one) and commit; send it and commit the outcome at once. Each report's email is
rendered once per run and addressed per recipient.

report-retries: sends what is due across all reports: transient failures after their
backoff, rows left by a run that died (pending, or "sending" past their claim), and the
rows an approval queued. Without it a retry would wait for next Monday.

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
from app.models import ReportDelivery, Workspace
from app.models.report import APPROVAL_APPROVED, APPROVAL_EXPIRED, APPROVAL_WAITING, DELIVERY_SENT
from app.services import mail, report_delivery, report_figures
from jobs import job
from jobs.result import JobResult

log = logging.getLogger("jobs.weekly_reports")

NAME = "weekly-reports"
RETRIES = "report-retries"
BUILD_LEASE_TTL = timedelta(minutes=15)
DELIVERY_LIMIT = 500


@job(NAME, schedule={"trigger": "cron", "day_of_week": "mon", "hour": 9, "minute": 0},
     description="Build last ISO week's report per workspace (its timezone) and email it once per recipient")
def run(*, now: datetime, week: str | None = None, limit: int | None = None,
        after_send: Callable[[ReportDelivery], None] | None = None, **_) -> JobResult:
    explicit = report_figures.parse_week(week) if week else None  # WeekError (a ValueError) names the problem
    result = JobResult(NAME)
    _expire(result, now=now)
    workspace_ids = list(db.session.scalars(sa.select(Workspace.id).order_by(Workspace.id)))
    db.session.commit()
    for ws_id in workspace_ids:
        try:
            _build(ws_id, explicit, now=now, result=result)
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
     description="Retry weekly-report emails that failed for a temporary reason, after their backoff")
def run_retries(*, now: datetime, limit: int = 500,
                after_send: Callable[[ReportDelivery], None] | None = None, **_) -> JobResult:
    result = JobResult(RETRIES)
    _expire(result, now=now)
    _deliver(result, now=now, limit=limit, after_send=after_send)
    return result


def _build(ws_id: int, explicit: report_figures.Week | None, *, now: datetime, result: JobResult) -> None:
    workspace = db.session.get(Workspace, ws_id)
    if not report_figures.report_connections(workspace):  # nothing to report on: no email about nothing
        result.add("workspaces_without_accounts")
        return
    week = explicit or report_figures.previous_week(now, workspace.timezone)
    key = f"workspace:{ws_id}:{week.iso}"
    owner = acquire_lease(NAME, key, now=now, ttl=BUILD_LEASE_TTL)
    if owner is None:  # another instance is building it; it also inserts the deliveries
        result.add("claimed_elsewhere")
        return
    try:
        workspace = db.session.get(Workspace, ws_id)
        report = report_figures.get_report(workspace, week)
        if report is None or explicit is not None or not (_any_sent(report.id) or report.approval_status in (
                APPROVAL_APPROVED, APPROVAL_EXPIRED)):  # approved figures are the ones mailed
            report = report_figures.build_report(workspace, week, now=now)
            result.add("reports_built")
        db.session.commit()
        added = report_delivery.hold_or_queue(report, now=now)
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
            outcome = report_delivery.send(delivery, now=now, out=out, emails=emails)
            db.session.commit()  # right after SMTP's answer: a sent row is never sent again
            result.add(f"emails_{outcome}")
            if after_send is not None and outcome == report_delivery.SENT:
                after_send(delivery)

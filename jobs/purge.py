"""purge (daily 03:00 UTC): delete what is due, in batches (app/services/purge.py).

(Telling staff, owners and requesters about public deletion requests is the
deletion-notices job's, every few minutes; completion emails are sent here, step 3.)

1. Approved public deletion requests (by an agency user, or proven with TikTok): every
   connection the request names is marked for deletion now (disconnected and revoked
   first if it was still connected). Requests in review or rejected touch nothing.
2. Every due connection is claimed (a lease per connection), re-checked, and deleted
   step by step: one commit per batch of `batch_size` rows, so no long locks; an
   interrupted run is resumed by the next one into the same receipt.
3. Approved requests with nothing left to delete are completed; their requesters are
   emailed (retried next run if the mail server fails), then their email is erased.
4. Housekeeping: unconfirmed requests older than 7 days, rejected ones 30 days after
   the decision, and webhook dedup keys past TikTok's retry window are forgotten.

`after_batch(step, rows)` is called after each committed batch (progress for the CLI;
tests use it to interrupt a run).
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Callable

from flask import current_app

from app.extensions import db
from app.leases import acquire_lease, release_lease
from app.models import TikTokConnection
from app.services import deletion_requests, disconnect, mail, purge, webhooks
from app.services.token_sealing import get_keyring
from app.tiktok import get_client
from jobs import job
from jobs.result import JobResult

log = logging.getLogger("jobs.purge")

NAME = "purge"
LEASE_TTL = timedelta(hours=1)


@job(NAME, schedule={"trigger": "cron", "hour": 3, "minute": 0},
     description="Delete data of accounts disconnected past the retention period or marked for deletion")
def run(*, now: datetime | None = None, limit: int = 500, batch_size: int = purge.BATCH_SIZE,
        after_batch: Callable[[str, int], None] | None = None, **opts) -> JobResult:
    now = now or datetime.now(timezone.utc)
    result = JobResult(NAME)
    app = current_app._get_current_object()
    requests_ = deletion_requests.approved_requests(limit)
    for req in requests_:
        _guard(result, f"request {req.id}", lambda: _schedule_request(req, app=app, now=now, result=result))
    for conn_id in purge.due_connection_ids(now=now, limit=limit):
        _guard(result, f"connection {conn_id}",
               lambda: _purge_connection(conn_id, now=now, batch_size=batch_size, after_batch=after_batch,
                                         result=result))
    for req in deletion_requests.approved_requests(limit):
        if not deletion_requests.connections_of(req):
            deletion_requests.complete(req, now=now)
            db.session.commit()
            result.add("requests_completed")
    _notify_requesters(app, limit=limit, result=result)
    result.add("requests_forgotten", deletion_requests.forget_stale(now=now))
    result.add("webhook_keys_forgotten", webhooks.forget_expired_keys(now=now))
    db.session.commit()
    return result


def _guard(result: JobResult, what: str, fn) -> None:
    try:
        fn()
    except Exception as e:  # keep going past one bad item
        db.session.rollback()
        result.item_failed(what, e)


def _schedule_request(req, *, app, now: datetime, result: JobResult) -> None:
    retention = app.config["RETENTION_DAYS"]
    for conn in deletion_requests.connections_of(req):
        if conn.deletion_requested_at is not None and conn.purge_after is not None and conn.purge_after <= now:
            continue
        newly = disconnect.request_deletion(conn, now=now, retention_days=retention, source="public_request")
        db.session.commit()
        if newly:
            disconnect.try_revoke(conn, client=get_client(app), keyring=get_keyring(app), now=now)
            db.session.commit()
        result.add("scheduled_by_request")


def _purge_connection(conn_id: int, *, now: datetime, batch_size: int, after_batch, result: JobResult) -> None:
    owner = acquire_lease(NAME, f"connection:{conn_id}", now=now, ttl=LEASE_TTL)
    if owner is None:
        result.add("busy")
        return
    try:
        conn = db.session.get(TikTokConnection, conn_id, populate_existing=True)
        if not purge.is_due(conn, now=now):
            result.add("skipped_not_due")
            return
        receipt = purge.open_receipt(conn, now=now)
        db.session.commit()
        for step, batches in purge.steps(conn, receipt, batch_size=batch_size):
            for rows in batches:
                db.session.refresh(conn)
                if not purge.is_due(conn, now=now):  # reconnected while we worked: stop, keep the rest
                    db.session.rollback()
                    purge.abandon(conn, receipt)
                    db.session.commit()
                    result.add("stopped_reconnected")
                    return
                purge.add_count(receipt, step, rows)
                db.session.commit()
                result.add(f"rows_{step}", rows)
                if after_batch is not None:
                    after_batch(step, rows)
        if purge.finish(conn, receipt, now=now):
            db.session.commit()
            result.add("connections_purged")
            log.info("purged connection=%s receipt=%s", conn_id, receipt.reference)
        else:
            db.session.rollback()
            result.add("skipped_not_due")
    finally:
        release_lease(NAME, f"connection:{conn_id}", owner)


def _notify_requesters(app, *, limit: int, result: JobResult) -> None:
    pending = deletion_requests.awaiting_notice(limit)
    if not pending:
        return
    with mail.Outbound() as out:  # the job's app context is all the templates need
        for req in pending:
            try:
                out.send(deletion_requests.completion_message(req))
            except mail.MailError as e:
                log.warning("deletion notice not sent request=%s transient=%s", req.id, e.transient)
                result.add("notices_failed")
                continue
            deletion_requests.forget_identity(req)
            db.session.commit()
            result.add("notices_sent")

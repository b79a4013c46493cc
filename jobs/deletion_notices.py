"""deletion-notices: tell people about public data-deletion requests, promptly and once.

- A newly confirmed request: agency staff, the named workspaces' client admins and each
  named account's owner get one email each. Each sent address is recorded as it goes
  (a commit per email), and a lease per request keeps two instances from both sending,
  so a run that dies half-way resumes with whoever was not told yet.
- A requester whose status email failed (in review, approved, rejected) is retried.

The requester's own request never sends these: its timing must not depend on whether
the handle matched a connected account. Completion emails are the purge job's, since
they follow the deletion itself.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from app.extensions import db
from app.leases import leased
from app.models import DeletionRequest
from app.services import deletion_requests, mail
from jobs import job
from jobs.result import JobResult

log = logging.getLogger("jobs.deletion_notices")

NAME = "deletion-notices"
LEASE_TTL = timedelta(minutes=15)


@job(NAME, schedule={"trigger": "interval", "minutes": 10},
     description="Email staff, admins and owners about confirmed public deletion requests; retry requester emails")
def run(*, now: datetime | None = None, limit: int = 100, **_) -> JobResult:
    now = now or datetime.now(timezone.utc)
    result = JobResult(NAME)
    review_ids = deletion_requests.awaiting_reviewer_notice(limit)
    requester_ids = deletion_requests.awaiting_requester_notice(limit)
    db.session.commit()
    if not review_ids and not requester_ids:
        return result
    with mail.Outbound() as out:  # the job's app context is all templates and url_for need
        for req_id in review_ids:
            with leased(NAME, f"request:{req_id}", now=now, ttl=LEASE_TTL) as owner:
                if owner is None:
                    result.add("busy")
                    continue
                try:
                    _tell_reviewers(req_id, out=out, now=now, result=result)
                except Exception as e:  # one request never stops the rest
                    db.session.rollback()
                    result.item_failed(f"request {req_id}", e)
        for req_id in requester_ids:
            req = db.session.get(DeletionRequest, req_id, populate_existing=True)
            if req is not None and deletion_requests.notify_requester(req, out=out):
                db.session.commit()
                result.add("requester_notices_sent")
            else:
                db.session.rollback()
    return result


def _tell_reviewers(req_id: int, *, out: mail.Outbound, now: datetime, result: JobResult) -> None:
    req = db.session.get(DeletionRequest, req_id, populate_existing=True)
    if req is None or req.reviewers_notified_at is not None:
        return
    failed = False
    for user, kind, conns in deletion_requests.reviewers_still_to_tell(req):
        try:
            out.send(deletion_requests.review_message(req, user, kind, conns))
        except mail.MailError as e:
            failed = True
            result.add("review_notices_failed")
            log.warning("deletion review notice not sent request=%s user=%s transient=%s", req.id, user.id,
                        e.transient)
            continue
        deletion_requests.mark_reviewer_told(req, user)
        db.session.commit()
        result.add("review_notices_sent")
    if not failed:
        deletion_requests.mark_reviewers_done(req, now=now)
        db.session.commit()

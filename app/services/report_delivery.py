"""Weekly report delivery: who gets a report, and emailing it exactly once per recipient
(as far as SMTP allows).

Who gets it (`recipients`): the workspace's client admins, and each creator member
who connected an account with a post published in the report's week (per the stored
figures: "a post of theirs appears"). Disabled users and removed members never do.
Recipients are checked again just before each send (`recheck`).

Delivery rows: one ReportDelivery per (report, recipient), inserted before anything
is sent (`ensure_deliveries`; the unique constraint makes a second run a no-op). A row
is claimed (`claim_due`: pending → sending with a `claimed_until` lease; on PostgreSQL
via FOR UPDATE SKIP LOCKED plus a compare-and-set UPDATE, so two instances never claim
one row), sent with a deterministic Message-ID, and its outcome recorded (`send`).
Transient SMTP failures go back to pending with exponential backoff (5 min × 2^(attempts−1),
at most 6 h, given up after MAX_ATTEMPTS); permanent ones (5xx) are failed with the
error kept for the delivery log.

Nothing here commits. The job owns each unit of work: it commits the claim before
sending, so other instances skip the row, and the outcome right after SMTP answers.
The remaining duplicate window: if the process dies between the server's 250 and that
commit, the row stays "sending"; once its claim expires (CLAIM_TTL) it is sent again,
with the same Message-ID, so mail systems that de-duplicate on it show it once.

A report's email is the same for every recipient: `ReportEmails` renders it once and
addresses a copy to each; a report rebuilt meanwhile is rendered again.
"""
from __future__ import annotations

import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import url_for
from flask_mail import Message
from sqlalchemy.dialects import postgresql, sqlite

from app.extensions import db
from app.models import Membership, Report, ReportDelivery, User, Workspace
from app.models.report import DELIVERY_FAILED, DELIVERY_PENDING, DELIVERY_SENDING, DELIVERY_SENT
from app.models.workspace import ROLE_CLIENT_ADMIN, ROLE_CREATOR
from app.services import mail, report_figures
from app.leases import lock_rows

log = logging.getLogger("app.reports")

CLAIM_TTL = timedelta(minutes=10)  # far longer than one send (MAIL_TIMEOUT ≤ 300 s)
BACKOFF_BASE = timedelta(minutes=5)
BACKOFF_MAX = timedelta(hours=6)
MAX_ATTEMPTS = 10  # waits 5, 10, 20 … 320 min, then 6 h twice: about a day of retries, then failed
MESSAGE_ID_DOMAIN = "logic-target"
NOT_A_RECIPIENT = "Not sent: no longer a recipient (removed from the workspace, disabled, or no post that week)."

# What `send` records on a delivery row.
SENT, RETRY, FAILED = "sent", "retry", "failed"


# ------------------------------------------------------------------ recipients


@dataclass(frozen=True)
class Recipient:
    email: str
    user_id: int
    role: str


def recipients(report: Report) -> list[Recipient]:
    """Client admins of the workspace, and creator members who own an account with a post
    in the week. Never disabled users or people no longer members."""
    owners = report_figures.post_owner_ids(report)
    q = (sa.select(User.email, User.id, Membership.role)
         .join(Membership, Membership.user_id == User.id)
         .where(Membership.workspace_id == report.workspace_id, User.disabled.is_(False),
                sa.or_(Membership.role == ROLE_CLIENT_ADMIN,
                       sa.and_(Membership.role == ROLE_CREATOR, User.id.in_(owners or [-1])))))
    return sorted((Recipient(*row) for row in db.session.execute(q)), key=lambda r: r.email)


# ------------------------------------------------------------------ the email


def message_id(report: Report, email: str) -> str:
    """Deterministic: a resent message is recognisably the same one."""
    digest = hashlib.sha1(email.lower().encode()).hexdigest()[:12]
    return f"<report-{report.id}-{digest}@{MESSAGE_ID_DOMAIN}>"


def subject(report: Report, workspace: Workspace) -> str:
    label = (report.figures or {}).get("label") or report.iso_week
    return f"{workspace.name} · TikTok weekly report · {label}"


def email_context(report: Report, workspace: Workspace) -> dict[str, Any]:
    """What the email templates get. Needs only an app context: the report's link is
    absolute on APP_BASE_URL, in a job as in a request."""
    return {
        **report_figures.display_times(report),
        "report": report,
        "workspace": workspace,
        "f": report.figures or {},
        "report_url": url_for("reports.show", week=report.iso_week, workspace=workspace.id, _external=True),
    }


def render_email(report: Report, workspace: Workspace) -> mail.Rendered:
    """The report's email, the same for every recipient."""
    return mail.render(subject(report, workspace), template="weekly_report", **email_context(report, workspace))


def render_email_html(report: Report, workspace: Workspace) -> str:
    """The HTML part exactly as mailed (CSS inlined), for the admins' preview."""
    return render_email(report, workspace).html


def send_test(report: Report, workspace: Workspace, user: User) -> str:
    """Mail the report to `user` only; not a delivery (no row, its own Message-ID)."""
    rendered = render_email(report, workspace)
    test = mail.Rendered("[Test] " + rendered.subject, rendered.text, rendered.html)
    return mail.send_one(mail.address(
        test, user.email, message_id=f"<report-{report.id}-test-{uuid.uuid4().hex[:12]}@{MESSAGE_ID_DOMAIN}>"))


class ReportEmails:
    """Each report's email rendered once and addressed per recipient. A report whose
    figures changed since (rebuilt, here or by another instance) is rendered again, so
    nobody is sent figures that were replaced."""

    def __init__(self) -> None:
        self._rendered: dict[int, tuple[tuple, mail.Rendered]] = {}

    def message(self, report: Report, workspace: Workspace, recipient: str, *, msg_id: str) -> Message:
        version = (hashlib.sha256(json.dumps(report.figures, sort_keys=True).encode()).digest(), workspace.name)
        cached = self._rendered.get(report.id)
        if cached is None or cached[0] != version:
            cached = self._rendered[report.id] = (version, render_email(report, workspace))
        return mail.address(cached[1], recipient, message_id=msg_id)


# ------------------------------------------------------------------ delivery rows


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
    rows (sent or not) are left alone. Returns how many were added."""
    rows = [{"report_id": report.id, "recipient_email": r.email, "recipient_user_id": r.user_id,
             "status": DELIVERY_PENDING, "attempts": 0, "created_at": now} for r in recipients(report)]
    return _insert_ignoring_duplicates(rows)


def deliveries_of(report: Report) -> list[ReportDelivery]:
    return list(db.session.scalars(sa.select(ReportDelivery).where(ReportDelivery.report_id == report.id)
                                   .order_by(ReportDelivery.recipient_email)))


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


def claim_due(*, now: datetime) -> int | None:
    """Claim one due delivery (pending and due, or "sending" whose claim expired) and
    return its id; None when nothing is due. The caller commits the claim before
    sending, so other instances skip the row."""
    after = 0
    while True:
        q = (sa.select(ReportDelivery.id).where(ReportDelivery.id > after, _due_clause(now))
             .order_by(ReportDelivery.id).limit(1))
        delivery_id = db.session.scalar(lock_rows(q))
        if delivery_id is None:
            return None
        claimed = db.session.execute(
            sa.update(ReportDelivery).where(ReportDelivery.id == delivery_id, _due_clause(now))
            .values(status=DELIVERY_SENDING, claimed_until=now + CLAIM_TTL)
        ).rowcount
        if claimed:  # compare-and-set: on any database, one claimer wins
            return delivery_id
        after = delivery_id  # someone else took it first: try the next one


@dataclass(frozen=True)
class Recheck:
    rebuilt: bool  # an account was disconnected since the build: the report was built again without it
    send: bool  # False: no longer a recipient, and the row is failed with NOT_A_RECIPIENT


def recheck(delivery: ReportDelivery, *, now: datetime) -> Recheck:
    """Just before sending a claimed delivery: rebuild a report that draws on an account
    disconnected since, and drop a recipient who no longer is one."""
    report = delivery.report
    rebuilt = report_figures.is_stale(report)
    if rebuilt:  # its data goes before anyone is sent the report
        report_figures.build_report(db.session.get(Workspace, report.workspace_id), report.iso_week, now=now)
    if any(r.email == delivery.recipient_email for r in recipients(report)):
        return Recheck(rebuilt, True)
    delivery.status, delivery.last_error, delivery.claimed_until = DELIVERY_FAILED, NOT_A_RECIPIENT, None
    return Recheck(rebuilt, False)


def send(delivery: ReportDelivery, *, now: datetime, out: mail.Outbound, emails: ReportEmails) -> str:
    """Send a claimed delivery and record the outcome on its row: SENT, RETRY (a transient
    failure, pending again after its backoff) or FAILED (permanent, or too many attempts)."""
    report = delivery.report
    workspace = db.session.get(Workspace, report.workspace_id)
    msg_id = message_id(report, delivery.recipient_email)
    delivery.attempts += 1
    try:
        out.send(emails.message(report, workspace, delivery.recipient_email, msg_id=msg_id))
    except mail.MailError as e:
        delivery.last_error = str(e)[:500]
        delivery.claimed_until = None
        log.warning("report mail not sent delivery=%s transient=%s attempts=%s",
                    delivery.id, e.transient, delivery.attempts)
        if e.transient and delivery.attempts < MAX_ATTEMPTS:
            delivery.status = DELIVERY_PENDING
            delivery.next_attempt_at = now + backoff(delivery.attempts)
            return RETRY
        delivery.status = DELIVERY_FAILED
        if e.transient:
            delivery.last_error = f"Gave up after {delivery.attempts} attempts: {e}"[:500]
        return FAILED
    delivery.status, delivery.sent_at, delivery.message_id = DELIVERY_SENT, now, msg_id
    delivery.claimed_until, delivery.next_attempt_at, delivery.last_error = None, None, None
    log.info("report mail sent delivery=%s report=%s", delivery.id, report.id)
    return SENT

"""Report delivery (weekly and monthly): who gets a report, and emailing it exactly once
per recipient (as far as SMTP allows).

Who gets it (`recipients`): the workspace's client admins, and each creator member
who connected an account with a post published in the report's period (per the stored
figures: "a post of theirs appears"); then the agency staff who opted in to the
workspace's report and the outside addresses its admins added (services/
report_recipients.py); minus every address that unsubscribed from this workspace's
report. Each address once. Disabled users and removed members never do. Recipients
are checked again just before each send (`recheck`).

Unsubscribing: every report email carries `List-Unsubscribe` (an HTTPS link with a
token for that workspace and address) and `List-Unsubscribe-Post:
List-Unsubscribe=One-Click` (RFC 8058), and the same link in its footer. The body is
rendered once per report with a placeholder for the link, filled in per recipient.

Approval before sending (a workspace setting): the weekly job builds the report and,
instead of queueing deliveries (`hold_or_queue`), marks it waiting for approval until
`approval_expires_at`. An agency user's "Approve and send" (`approve`) queues the
delivery rows (sent by the next report-retries or weekly-reports run, through the same
ledger); a report nobody approved in time is marked expired (`expire_unapproved`) and
never sent. `delivery_state` / `delivery_states` say where a report stands.

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

What each recipient is sent is decided by report_figures.reader_cut, the rule the
report pages use too: the whole workspace, or (when the workspace chose "creators get
their own cut") a creator's own accounts. `ReportEmails` renders each report's email
once per cut and addresses a copy to each recipient of that cut; a report rebuilt
meanwhile is rendered again.
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

from markupsafe import escape

from app.extensions import db
from app.models import Membership, Report, ReportDelivery, User, Workspace
from app.models.report import (APPROVAL_APPROVED, APPROVAL_EXPIRED, APPROVAL_WAITING, DELIVERY_FAILED,
                               DELIVERY_PENDING, DELIVERY_SENDING, DELIVERY_SENT)
from app.models.workspace import ROLE_AGENCY, ROLE_CLIENT_ADMIN, ROLE_CREATOR
from app.services import audit, branding, mail, report_figures, report_pdf, report_recipients
from app.leases import lock_rows

log = logging.getLogger("app.reports")

CLAIM_TTL = timedelta(minutes=10)  # far longer than one send (MAIL_TIMEOUT ≤ 300 s)
BACKOFF_BASE = timedelta(minutes=5)
BACKOFF_MAX = timedelta(hours=6)
MAX_ATTEMPTS = 10  # waits 5, 10, 20 … 320 min, then 6 h twice: about a day of retries, then failed
MESSAGE_ID_DOMAIN = "logic-target"
NOT_A_RECIPIENT = "Not sent: no longer a recipient (removed from the workspace, disabled, or no post that period)."
UNSUBSCRIBED = "Not sent: unsubscribed from this workspace's reports."
SKIPPED_REASONS = (NOT_A_RECIPIENT, UNSUBSCRIBED)  # failed rows that are nobody's failure
NOTE_MAX = 500
ROLE_EXTERNAL = report_figures.ROLE_EXTERNAL
# Filled in per recipient: the body is rendered once, the link is personal.
UNSUBSCRIBE_PLACEHOLDER = "https://unsubscribe.invalid/weekly-report"
ONE_CLICK = "List-Unsubscribe=One-Click"

# Where a report stands (`delivery_state`), for its page and the clients overview.
STATE_BUILT = "built"  # built, nobody emailed (nor waiting to be)
STATE_WAITING = "waiting_for_approval"
STATE_EXPIRED = "expired"  # nobody approved it in time: not sent
STATE_QUEUED = "queued"  # emails queued, not all out yet (none failed)
STATE_SENT = "sent"
STATE_FAILED = "failed"  # at least one recipient's email failed for good
STATE_LABELS = {STATE_BUILT: "Built", STATE_WAITING: "Waiting for approval",
                STATE_EXPIRED: "Not sent (approval expired)", STATE_QUEUED: "Queued", STATE_SENT: "Sent",
                STATE_FAILED: "Failed"}

# What `send` records on a delivery row.
SENT, RETRY, FAILED = "sent", "retry", "failed"


# ------------------------------------------------------------------ recipients


@dataclass(frozen=True)
class Recipient:
    email: str
    user_id: int | None  # None for an outside address
    role: str  # client_admin, creator, agency or external


def recipients(report: Report) -> list[Recipient]:
    """Client admins of the workspace, creator members who own an account with a post in
    the week, opted-in agency staff and added outside addresses; each address once, none
    that unsubscribed. Never disabled users or people no longer members."""
    owners = report_figures.post_owner_ids(report)
    q = (sa.select(User.email, User.id, Membership.role)
         .join(Membership, Membership.user_id == User.id)
         .where(Membership.workspace_id == report.workspace_id, User.disabled.is_(False),
                sa.or_(Membership.role == ROLE_CLIENT_ADMIN,
                       sa.and_(Membership.role == ROLE_CREATOR, User.id.in_(owners or [-1])))))
    found = [Recipient(*row) for row in db.session.execute(q)]
    found += [Recipient(u.email, u.id, ROLE_AGENCY) for u in report_recipients.agency_recipients(report.workspace_id)]
    found += [Recipient(r.email, None, ROLE_EXTERNAL)
              for r in report_recipients.external_recipients(report.workspace_id)]
    stopped = report_recipients.unsubscribed_emails(report.workspace_id)
    unique: dict[str, Recipient] = {}
    for r in found:  # members first: an address that is also added stays the member's
        key = r.email.strip().lower()
        if key not in stopped:
            unique.setdefault(key, r)
    return sorted(unique.values(), key=lambda r: r.email)


# ------------------------------------------------------------------ the email


def message_id(report: Report, email: str) -> str:
    """Deterministic: a resent message is recognisably the same one."""
    digest = hashlib.sha1(email.lower().encode()).hexdigest()[:12]
    return f"<report-{report.id}-{digest}@{MESSAGE_ID_DOMAIN}>"


def subject(report: Report, workspace: Workspace) -> str:
    label = (report.figures or {}).get("label") or report.period_key
    return f"{workspace.name} · TikTok {report.kind} report · {label}"


def email_context(report: Report, workspace: Workspace, cut: report_figures.Cut | None = None) -> dict[str, Any]:
    """What the email templates get (`cut`: what this recipient reads; the whole workspace
    when not given). Needs only an app context: the report's link is absolute on
    APP_BASE_URL, in a job as in a request."""
    cut = cut or report_figures.Cut(None, report.figures or {})
    return {
        **report_figures.display_times(report),
        "report": report,
        "workspace": workspace,
        "f": cut.figures,
        "cut": cut,
        "period": report_figures.period_of(report),
        "note": report.client_note,
        "report_url": url_for("reports.show", week=report.period_key, workspace=workspace.id, _external=True),
        "unsubscribe_url": UNSUBSCRIBE_PLACEHOLDER,
        "brand": branding.brand_of(workspace.id),
        "logo_cid": branding.LOGO_CID,
    }


def render_email(report: Report, workspace: Workspace, cut: report_figures.Cut | None = None) -> mail.Rendered:
    """The report's email, the same for every recipient of one cut (the unsubscribe link a
    placeholder)."""
    return mail.render(subject(report, workspace), template="weekly_report",
                       **email_context(report, workspace, cut))


def unsubscribe_url(workspace_id: int, email: str) -> str:
    """The one-click unsubscribe link of `email` for this workspace's report, on APP_BASE_URL."""
    return mail.link("report_recipients.unsubscribe", token=report_recipients.unsubscribe_token(workspace_id, email))


def addressed(rendered: mail.Rendered, workspace: Workspace, recipient: str, *,
              message_id: str | None = None) -> Message:
    """The rendered report to one recipient: their unsubscribe link in the footer and in
    the `List-Unsubscribe` headers (RFC 8058 one-click)."""
    url = unsubscribe_url(workspace.id, recipient)
    personal = mail.Rendered(rendered.subject, rendered.text.replace(UNSUBSCRIBE_PLACEHOLDER, url),
                             rendered.html.replace(UNSUBSCRIBE_PLACEHOLDER, str(escape(url))))
    msg = mail.address(personal, recipient, message_id=message_id)
    msg.extra_headers.update({"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": ONE_CLICK})
    branding.dress(msg, branding.brand_of(workspace.id))  # sender name, reply-to, inline logo
    return msg


def render_email_html(report: Report, workspace: Workspace) -> str:
    """The HTML part as mailed (CSS inlined), for the admins' preview; the unsubscribe
    link, personal in the real email, leads nowhere here."""
    html = render_email(report, workspace).html.replace(UNSUBSCRIBE_PLACEHOLDER, "#unsubscribe")
    return branding.preview_html(html, workspace.id)  # the inline logo, shown as a mail client would


def send_test(report: Report, workspace: Workspace, user: User) -> str:
    """Mail the report to `user` only; not a delivery (no row, its own Message-ID)."""
    rendered = render_email(report, workspace)
    test = mail.Rendered("[Test] " + rendered.subject, rendered.text, rendered.html)
    msg_id = f"<report-{report.id}-test-{uuid.uuid4().hex[:12]}@{MESSAGE_ID_DOMAIN}>"
    msg = addressed(test, workspace, user.email, message_id=msg_id)
    report_pdf.attach(msg, report_pdf.attachment(report, workspace))
    return mail.send_one(msg)


class ReportEmails:
    """Each report's email rendered once per cut and addressed per recipient. A report
    whose figures changed since (rebuilt, here or by another instance) is rendered again,
    so nobody is sent figures that were replaced."""

    def __init__(self) -> None:
        self._rendered: dict[tuple[int, int | None], tuple[tuple, mail.Rendered, tuple[str, bytes] | None]] = {}

    def message(self, report: Report, workspace: Workspace, recipient: str, *, msg_id: str,
                cut: report_figures.Cut | None = None) -> Message:
        version = (hashlib.sha256(json.dumps(report.figures, sort_keys=True).encode()).digest(), workspace.name,
                   report.client_note, branding.brand_of(workspace.id))
        key = (report.id, cut.user_id if cut else None)
        cached = self._rendered.get(key)
        if cached is None or cached[0] != version:
            cached = self._rendered[key] = (version, render_email(report, workspace, cut),
                                            report_pdf.attachment(report, workspace, cut.figures if cut else None, cut=cut))
        msg = addressed(cached[1], workspace, recipient, message_id=msg_id)
        report_pdf.attach(msg, cached[2])
        return msg


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


# ------------------------------------------------------------------ approval before sending


class ApprovalError(Exception):
    """"Approve and send" refused, with a message for the person who clicked it."""


def hold_or_queue(report: Report, *, now: datetime) -> int:
    """After the weekly job built `report`: queue its deliveries (`ensure_deliveries`), or,
    when the workspace wants approval before sending and nothing was queued for it yet,
    hold it as waiting for approval. A held or expired report queues nothing; an approved
    one queues like any other. Returns how many deliveries were added."""
    if report.approval_status in (APPROVAL_WAITING, APPROVAL_EXPIRED):
        return 0
    if report.approval_status is None and not _has_deliveries(report):
        settings = report_recipients.settings_of(report.workspace_id)
        if settings.approval_required:
            report.approval_status = APPROVAL_WAITING
            report.approval_expires_at = now + timedelta(hours=settings.approval_window_hours)
            db.session.flush()
            audit.record("report.waiting_for_approval", workspace_id=report.workspace_id, week=report.period_key,
                         expires_at=report.approval_expires_at.isoformat())
            log.info("report held for approval report=%s", report.id)
            return 0
    return ensure_deliveries(report, now=now)


def _has_deliveries(report: Report) -> bool:
    return db.session.scalar(sa.select(sa.exists().where(ReportDelivery.report_id == report.id))) or False


def approval_expired(report: Report, *, now: datetime) -> bool:
    return report.approval_status == APPROVAL_EXPIRED or (
        report.approval_status == APPROVAL_WAITING and report.approval_expires_at is not None
        and report.approval_expires_at <= now)


def approve(report: Report, user: User, *, note: str | None, now: datetime, ip: str | None = None) -> int:
    """"Approve and send": record the approval (and the note to the client, shown atop the
    report and its email) and queue a delivery per recipient. Sending stays with the jobs.
    Two approvals at once: one wins, the other is told it was already approved."""
    note = (note or "").replace("\r\n", "\n").strip()
    if len(note) > NOTE_MAX:
        raise ApprovalError(f"The note is {len(note)} characters long; keep it to {NOTE_MAX}.")
    if report.approval_status == APPROVAL_APPROVED:
        raise ApprovalError("This report was already approved.")
    if approval_expired(report, now=now):
        raise ApprovalError("Nobody approved this report in time, so it was not sent.")
    if report.approval_status != APPROVAL_WAITING:
        raise ApprovalError("This report is not waiting for approval.")
    won = db.session.execute(
        sa.update(Report).where(Report.id == report.id, Report.approval_status == APPROVAL_WAITING,
                                Report.approval_expires_at > now)
        .values(approval_status=APPROVAL_APPROVED, approved_at=now, approved_by_user_id=user.id,
                client_note=note or None)
        .execution_options(synchronize_session="fetch")).rowcount
    if not won:
        raise ApprovalError("This report was already approved.")
    queued = ensure_deliveries(report, now=now)
    audit.record("report.approved", actor_id=user.id, workspace_id=report.workspace_id, ip=ip,
                 week=report.period_key, recipients=queued, with_note=bool(note))
    return queued


def expire_unapproved(*, now: datetime) -> int:
    """Mark every report whose approval window passed as expired (audited); it is never sent."""
    due = list(db.session.scalars(sa.select(Report).where(
        Report.approval_status == APPROVAL_WAITING, Report.approval_expires_at <= now).order_by(Report.id)))
    expired = 0
    for report in due:
        if db.session.execute(sa.update(Report).where(Report.id == report.id,
                                                      Report.approval_status == APPROVAL_WAITING)
                              .values(approval_status=APPROVAL_EXPIRED)
                              .execution_options(synchronize_session="fetch")).rowcount:
            expired += 1
            audit.record("report.approval_expired", workspace_id=report.workspace_id, week=report.period_key,
                         expired_at=report.approval_expires_at.isoformat())
            log.info("report approval expired report=%s", report.id)
    return expired


def delivery_states(reports: list[Report], *, now: datetime) -> dict[int, str]:
    """Where each report stands, in one query whatever the number of reports: one of
    STATE_BUILT, STATE_WAITING, STATE_EXPIRED, STATE_QUEUED, STATE_SENT, STATE_FAILED.
    Rows not sent because the person unsubscribed or is no longer a recipient count as
    nobody's failure."""
    counts: dict[int, dict[str, int]] = {r.id: {} for r in reports}
    if reports:
        q = (sa.select(ReportDelivery.report_id, ReportDelivery.status, sa.func.count())
             .where(ReportDelivery.report_id.in_([r.id for r in reports]),
                    sa.or_(ReportDelivery.status != DELIVERY_FAILED, ReportDelivery.last_error.is_(None),
                           ReportDelivery.last_error.notin_(SKIPPED_REASONS)))
             .group_by(ReportDelivery.report_id, ReportDelivery.status))
        for report_id, status, n in db.session.execute(q):
            counts[report_id][status] = n
    states = {}
    for r in reports:
        c = counts[r.id]
        if approval_expired(r, now=now):
            states[r.id] = STATE_EXPIRED
        elif r.approval_status == APPROVAL_WAITING:
            states[r.id] = STATE_WAITING
        elif c.get(DELIVERY_FAILED):
            states[r.id] = STATE_FAILED
        elif c.get(DELIVERY_PENDING) or c.get(DELIVERY_SENDING):
            states[r.id] = STATE_QUEUED
        elif c.get(DELIVERY_SENT):
            states[r.id] = STATE_SENT
        else:
            states[r.id] = STATE_BUILT
    return states


def delivery_state(report: Report, *, now: datetime) -> str:
    """Where one report stands (see `delivery_states`)."""
    return delivery_states([report], now=now)[report.id]


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
    cut: report_figures.Cut | None = None  # what this recipient is sent


def recheck(delivery: ReportDelivery, *, now: datetime) -> Recheck:
    """Just before sending a claimed delivery: rebuild a report that draws on an account
    disconnected since, and drop a recipient who no longer is one."""
    report = delivery.report
    rebuilt = report_figures.is_stale(report)
    if rebuilt:  # its data goes before anyone is sent the report
        report_figures.build_report(db.session.get(Workspace, report.workspace_id),
                                    report_figures.period_of(report), now=now)
    current = next((r for r in recipients(report) if r.email == delivery.recipient_email), None)
    cut = current and report_figures.reader_cut(
        report, role=current.role, user_id=current.user_id,
        creator_cut=report_recipients.settings_of(report.workspace_id).creator_cut)
    if cut is not None:
        return Recheck(rebuilt, True, cut)
    stopped = report_recipients.is_unsubscribed(report.workspace_id, delivery.recipient_email)
    delivery.status, delivery.claimed_until = DELIVERY_FAILED, None
    delivery.last_error = UNSUBSCRIBED if stopped else NOT_A_RECIPIENT
    return Recheck(rebuilt, False)


def send(delivery: ReportDelivery, *, now: datetime, out: mail.Outbound, emails: ReportEmails,
         cut: report_figures.Cut | None = None) -> str:
    """Send a claimed delivery (`cut`: what `recheck` found this recipient reads; the whole
    workspace when not given) and record the outcome on its row: SENT, RETRY (a transient
    failure, pending again after its backoff) or FAILED (permanent, or too many attempts)."""
    report = delivery.report
    workspace = db.session.get(Workspace, report.workspace_id)
    msg_id = message_id(report, delivery.recipient_email)
    delivery.attempts += 1
    try:
        out.send(emails.message(report, workspace, delivery.recipient_email, msg_id=msg_id, cut=cut))
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

"""One email per state change of a connection, never repeated alerts.

The state lives on the connection: `reconnect_alerted_at` is set once the
"needs reconnect" email — or the "access removed" email, when TikTok's webhook
disconnected the account — went out; when the connection is active again with that
still set, it has recovered, and one "recovered" notice clears it. The same for
the reminder before the refresh token's fixed horizon runs out.

Nothing here commits: the refresh-tokens job (and the token-check job, right after it
finds a revoked grant) sends the due notices one connection at a time and commits each
(`due_notices`, then `send_notice` per item). Links in the
emails are absolute on APP_BASE_URL, built with `url_for` in the job's app context.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

import sqlalchemy as sa
from flask import url_for

from app.extensions import db
from app.leases import lock_rows
from app.models import Membership, TikTokConnection, User
from app.models.connection import STATUS_ACTIVE, STATUS_DISCONNECTED, STATUS_NEEDS_RECONNECT
from app.models.workspace import ROLE_CLIENT_ADMIN
from app.services import audit, mail

log = logging.getLogger("app.notices")

EXPIRY_REMINDER_WINDOW = timedelta(days=14)


@dataclass(frozen=True)
class _Kind:
    template: str
    subject: str  # "{}" is the account's @username
    is_due: Callable[[datetime], sa.ColumnElement[bool]]
    column: str  # the connection's column that records the notice went out
    clears: bool = False  # the notice ends an alert: it clears the column instead of setting it


_C = TikTokConnection

# Keyed by the counter the job reports.
KINDS: dict[str, _Kind] = {
    "reconnect_alerts": _Kind(
        "reconnect_needed", "Action needed: reconnect @{} to Logic Target",
        lambda now: sa.and_(_C.status == STATUS_NEEDS_RECONNECT, _C.reconnect_alerted_at.is_(None)),
        "reconnect_alerted_at"),
    "recovered": _Kind(
        "reconnect_recovered", "@{} is syncing again",
        lambda now: sa.and_(_C.status == STATUS_ACTIVE, _C.reconnect_alerted_at.is_not(None)),
        "reconnect_alerted_at", clears=True),
    # TikTok's webhook disconnected the account (the person removed our access in TikTok):
    # told once, marked in reconnect_alerted_at, so reconnecting later sends "recovered".
    # `revoked_by_tiktok_at >= disconnected_at`: a later disconnect by hand is not this one.
    "revocation_alerts": _Kind(
        "access_revoked", "@{} removed Logic Target's access on TikTok",
        lambda now: sa.and_(_C.status == STATUS_DISCONNECTED, _C.reconnect_alerted_at.is_(None),
                            _C.revoked_by_tiktok_at.is_not(None), _C.disconnected_at.is_not(None),
                            _C.revoked_by_tiktok_at >= _C.disconnected_at),
        "reconnect_alerted_at"),
    "expiry_reminders": _Kind(
        "expiry_reminder", "Reconnect @{} before its TikTok access expires",
        lambda now: sa.and_(_C.status == STATUS_ACTIVE, _C.expiry_reminded_at.is_(None),
                            _C.refresh_expires_at.is_not(None),
                            _C.refresh_expires_at <= now + EXPIRY_REMINDER_WINDOW),
        "expiry_reminded_at"),
}


@dataclass(frozen=True)
class DueNotice:
    kind: str  # a key of KINDS
    connection_id: int


def recipients_for(conn: TikTokConnection) -> list[str]:
    """The connection's owner and the workspace's client admins."""
    admins = db.session.scalars(sa.select(User.email).join(Membership, Membership.user_id == User.id).where(
        Membership.workspace_id == conn.workspace_id, Membership.role == ROLE_CLIENT_ADMIN,
        User.disabled.is_(False)))
    emails = set(admins)
    if conn.owner_user_id:
        owner = db.session.get(User, conn.owner_user_id)
        if owner is not None and not owner.disabled:
            emails.add(owner.email)
    return sorted(emails)


def reconnect_link(conn: TikTokConnection) -> str:
    """The account's row on the Integrations page, absolute (works in a job, without a request)."""
    return url_for("integrations.index", workspace=conn.workspace_id, _anchor=f"connection-{conn.id}",
                   _external=True)


def due_notices(*, now: datetime) -> list[DueNotice]:
    """Every notice due now, one per (kind, connection)."""
    return [DueNotice(name, cid) for name, kind in KINDS.items()
            for cid in db.session.scalars(sa.select(_C.id).where(kind.is_due(now)).order_by(_C.id))]


def send_notice(notice: DueNotice, *, out: mail.Outbound, now: datetime) -> bool:
    """Mail the notice to everyone concerned; once all of them have it, mark it done and
    audit it. False when it is not sent: no longer due (or another instance is sending
    it: the row is locked on PostgreSQL), or a mail failed (it is tried again next run)."""
    kind = KINDS[notice.kind]
    conn = db.session.scalar(lock_rows(sa.select(_C).where(_C.id == notice.connection_id, kind.is_due(now))))
    if conn is None:
        return False
    rendered = mail.render(kind.subject.format(conn.username), template=kind.template, conn=conn,
                           link=reconnect_link(conn))
    ok = True
    for email in recipients_for(conn):
        try:
            out.send(mail.address(rendered, email))
        except mail.MailError as e:
            ok = False
            log.warning("notice not sent template=%s connection=%s: %s", kind.template, conn.id, e)
    if ok:
        setattr(conn, kind.column, None if kind.clears else now)
        audit.record(f"notice.{kind.template}", workspace_id=conn.workspace_id, connection_id=conn.id)
    return ok

"""One email per state change of a connection, never repeated alerts.

The state lives on the connection: `reconnect_alerted_at` is set once the
"needs reconnect" email went out; when the connection is active again with that
still set, it has recovered, and one "recovered" notice clears it. The same for
the reminder before the refresh token's fixed horizon runs out.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Callable

import sqlalchemy as sa
from flask import current_app

from app.extensions import db
from app.models import Membership, TikTokConnection, User
from app.models.connection import STATUS_ACTIVE, STATUS_NEEDS_RECONNECT
from app.models.workspace import ROLE_CLIENT_ADMIN
from app.services import audit, mail

log = logging.getLogger("app.notices")

EXPIRY_REMINDER_WINDOW = timedelta(days=14)


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


def _reconnect_link(conn: TikTokConnection) -> str:
    base = current_app.config["APP_BASE_URL"]
    return f"{base}/settings/integrations?workspace={conn.workspace_id}#connection-{conn.id}"


def _send(conn: TikTokConnection, template: str, subject: str, out: mail.Outbound) -> bool:
    ok = True
    for email in recipients_for(conn):
        try:
            with current_app.test_request_context(base_url=current_app.config["APP_BASE_URL"]):
                msg = mail.compose(subject, email, template=template, conn=conn, link=_reconnect_link(conn))
            out.send(msg)
        except mail.MailError as e:
            ok = False
            log.warning("notice not sent template=%s connection=%s: %s", template, conn.id, e)
    return ok


def _due(now: datetime) -> list[tuple[str, sa.Select, str, str, Callable[[TikTokConnection], None]]]:
    """(counter, which connections, template, subject, what marks it done) per kind of notice."""
    C = TikTokConnection

    def alerted(c): c.reconnect_alerted_at = now  # noqa: E704
    def recovered(c): c.reconnect_alerted_at = None  # noqa: E704
    def reminded(c): c.expiry_reminded_at = now  # noqa: E704

    return [
        ("reconnect_alerts",
         sa.select(C).where(C.status == STATUS_NEEDS_RECONNECT, C.reconnect_alerted_at.is_(None)),
         "reconnect_needed", "Action needed: reconnect @{} to Logic Target", alerted),
        ("recovered",
         sa.select(C).where(C.status == STATUS_ACTIVE, C.reconnect_alerted_at.is_not(None)),
         "reconnect_recovered", "@{} is syncing again", recovered),
        ("expiry_reminders",
         sa.select(C).where(C.status == STATUS_ACTIVE, C.expiry_reminded_at.is_(None),
                            C.refresh_expires_at.is_not(None), C.refresh_expires_at <= now + EXPIRY_REMINDER_WINDOW),
         "expiry_reminder", "Reconnect @{} before its TikTok access expires", reminded),
    ]


def send_due_notices(*, now: datetime) -> dict[str, int]:
    """Send what is due; a notice whose mail failed is tried again next run."""
    counts: dict[str, int] = {}
    with mail.Outbound() as out:
        for counter, query, template, subject, mark_done in _due(now):
            counts[counter] = 0
            for conn in db.session.scalars(query).all():
                if _send(conn, template, subject.format(conn.username), out):
                    mark_done(conn)
                    audit.record(f"notice.{template}", workspace_id=conn.workspace_id, connection_id=conn.id)
                    counts[counter] += 1
                db.session.commit()
    return counts

"""Audit events: who did what to which account, when. Never secrets."""
from __future__ import annotations

import logging
from typing import Any

from app.extensions import db
from app.models import AuditEvent

log = logging.getLogger("app.audit")

_FORBIDDEN_KEYS = {"access_token", "refresh_token", "code", "auth_code", "code_verifier", "state", "secret", "password"}


def record(event: str, *, actor_id: int | None = None, workspace_id: int | None = None,
           connection_id: int | None = None, ip: str | None = None, **detail: Any) -> AuditEvent:
    bad = _FORBIDDEN_KEYS.intersection(detail)
    if bad:  # a programming error: refuse rather than store a secret
        raise ValueError(f"audit detail may not carry {sorted(bad)}")
    ev = AuditEvent(event=event, actor_user_id=actor_id, workspace_id=workspace_id,
                    connection_id=connection_id, ip=ip, detail=detail)
    db.session.add(ev)
    log.info("audit %s actor=%s workspace=%s connection=%s %s", event, actor_id, workspace_id,
             connection_id, " ".join(f"{k}={v}" for k, v in sorted(detail.items())))
    return ev


EVENT_LABELS = {
    "connect.started": "Started connecting an account",
    "connect.succeeded": "Connected an account",
    "connect.failed": "Connecting failed",
    "connect.invalid_state": "Connecting refused (security check)",
    "connect.denied": "Connecting cancelled on TikTok",
    "token.refreshed": "Access token refreshed",
    "token.refresh_refused": "TikTok refused a token refresh",
    "sync.needs_reconnect": "Sync stopped: reconnect needed",
    "revoke.unconfirmed": "TikTok never confirmed the revocation; token wiped anyway",
    "workspace.two_factor_required": "Required two-factor sign-in for members",
    "workspace.two_factor_optional": "Made two-factor sign-in optional for members",
    "report.recipient_added": "Added a weekly report recipient",
    "report.recipient_removed": "Removed a weekly report recipient",
    "report.agency_opted_in": "Asked for the weekly report",
    "report.agency_opted_out": "Stopped receiving the weekly report",
    "report.unsubscribed": "Unsubscribed from the weekly report (email link)",
    "report.resubscribed": "Subscribed again to the weekly report (email link)",
    "report.approval_required": "Turned on approval before sending weekly reports",
    "report.approval_not_required": "Turned off approval before sending weekly reports",
    "report.waiting_for_approval": "Weekly report ready for review",
    "report.approved": "Approved a weekly report for sending",
    "report.approval_expired": "Weekly report not approved in time: not sent",
    "workspace.created": "Created the client workspace",
    "workspace.settings_changed": "Changed the workspace's settings (name, timezone or weekly posting target)",
    "invite.sent": "Invited someone to the workspace",
    "invite.resent": "Sent an invitation again (new link)",
    "invite.revoked": "Withdrew an invitation",
    "invite.accepted": "Accepted an invitation",
    "member.role_changed": "Changed a member's role",
    "member.removed": "Removed a member (signed out at once)",
}


def workspace_events(workspace_id: int, *, limit: int, offset: int = 0) -> list[AuditEvent]:
    """A workspace's audit trail, newest first (one query; actor and account loaded with it)."""
    import sqlalchemy as sa

    return list(db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.workspace_id == workspace_id)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit).offset(offset)))


def describe(event: AuditEvent) -> str:
    return EVENT_LABELS.get(event.event, event.event.replace(".", " ").replace("_", " ").capitalize())

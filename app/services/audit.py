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

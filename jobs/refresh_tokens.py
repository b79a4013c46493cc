"""refresh-tokens: keep access tokens alive; tell people once when a human must act.

Each due connection is one item: the token vault refreshes it under the connection's
lease and commits the rotated pair itself (app/workflows/token_vault.py)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import current_app

from app.extensions import db
from app.models import TikTokConnection
from app.models.connection import STATUS_ACTIVE
from app.services import mail, notices
from app.services.token_sealing import get_keyring
from app.tiktok import get_client
from app.workflows import token_vault
from jobs import job
from jobs.result import JobResult


@job("refresh-tokens", schedule={"trigger": "interval", "minutes": 10},
     description="refresh access tokens expiring within 2 h; reconnect alerts and reminders")
def run(*, now: datetime, limit: int = 500, **_) -> JobResult:
    result = JobResult("refresh-tokens")
    due = db.session.scalars(
        sa.select(TikTokConnection.id)
        .where(TikTokConnection.status == STATUS_ACTIVE, TikTokConnection.refresh_token_sealed.is_not(None),
               sa.or_(TikTokConnection.access_expires_at.is_(None),
                      TikTokConnection.access_expires_at <= now + token_vault.REFRESH_MARGIN))
        .order_by(TikTokConnection.access_expires_at).limit(limit)
    ).all()
    db.session.commit()
    client, keyring = get_client(current_app), get_keyring(current_app)
    for connection_id in due:
        try:
            outcome = token_vault.refresh(connection_id, client=client, keyring=keyring, now=now)
        except Exception as e:  # one bad item never stops the rest
            db.session.rollback()
            result.add("error")
            result.item_failed(f"connection {connection_id}", e)
            continue
        result.add(outcome.value)
    send_due_notices(result, now=now)
    return result


def send_due_notices(result: JobResult, *, now: datetime) -> None:
    """Reconnect and access-removed alerts, recoveries and expiry reminders, one connection at a time, each
    committed with the mark that keeps it from being sent again."""
    due = notices.due_notices(now=now)
    db.session.commit()
    with mail.Outbound() as out:
        for notice in due:
            sent = notices.send_notice(notice, out=out, now=now)
            db.session.commit()
            if sent:
                result.add(notice.kind)

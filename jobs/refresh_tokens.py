"""refresh-tokens: keep access tokens alive; tell people once when a human must act."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import current_app

from app.extensions import db
from app.models import TikTokConnection
from app.models.connection import STATUS_ACTIVE
from app.services import connections, notices, token_refresh
from app.tiktok import get_client
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
                      TikTokConnection.access_expires_at <= now + token_refresh.REFRESH_MARGIN))
        .order_by(TikTokConnection.access_expires_at).limit(limit)
    ).all()
    db.session.commit()
    client, keyring = get_client(current_app), connections.get_keyring(current_app)
    for connection_id in due:
        try:
            outcome = token_refresh.refresh_connection(connection_id, client=client, keyring=keyring, now=now)
        except Exception as e:  # one bad item never stops the rest
            db.session.rollback()
            result.add("error")
            result.item_failed(f"connection {connection_id}", e)
            continue
        result.add(outcome.value)
    for key, n in notices.send_due_notices(now=now).items():
        if n:
            result.add(key, n)
    return result

"""token-check: notice a grant TikTok revoked without telling us, and keep scopes true.

TikTok API for Business apps get no documented deauthorization webhook, so once a day
every active connection's access token is shown to `tt_user/token_info/get/` (cheap: no
data, no per-endpoint data quota). Alive: the granted scopes TikTok reports are stored
(a user can remove a permission in TikTok's settings). Refused: one forced refresh
decides — a refused refresh marks the connection "needs reconnect" and its people (the
owner and the workspace's client admins) are emailed once, at the end of this run, by
the same notices the refresh-tokens job sends for any refused refresh.
A throttle or an outage proves nothing and changes nothing.

Several instances may run it: connections are picked with FOR UPDATE SKIP LOCKED on
PostgreSQL, each is leased, and `token_checked_at` keeps a checked one from being
checked again the same day.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from flask import current_app

from app.crypto import CryptoError
from app.extensions import db
from app.models import TikTokConnection
from app.models.connection import STATUS_ACTIVE
from app.leases import leased, lock_rows
from app.services import audit
from app.services.token_sealing import ACCESS, get_keyring, open_token
from app.tiktok import errors as tt_errors
from app.tiktok import get_client
from app.workflows import token_vault
from jobs import job
from jobs.refresh_tokens import send_due_notices
from jobs.result import JobResult

log = logging.getLogger("jobs.token_check")

NAME = "token-check"
LEASE_TTL = timedelta(minutes=5)
CHECK_EVERY = timedelta(hours=20)  # daily, with room for a late run


def _due(now: datetime):
    return (TikTokConnection.status == STATUS_ACTIVE, TikTokConnection.access_token_sealed.is_not(None),
            sa.or_(TikTokConnection.token_checked_at.is_(None),
                   TikTokConnection.token_checked_at <= now - CHECK_EVERY))


@job(NAME, schedule={"trigger": "cron", "hour": 4, "minute": 30},
     description="ask TikTok (token_info) whether each grant is alive; store the scopes it reports")
def run(*, now: datetime | None = None, limit: int = 1000, **_) -> JobResult:
    now = now or datetime.now(timezone.utc)
    result = JobResult(NAME)
    app = current_app._get_current_object()
    client, keyring = get_client(app), get_keyring(app)
    ids = list(db.session.scalars(lock_rows(
        sa.select(TikTokConnection.id).where(*_due(now))
        .order_by(TikTokConnection.token_checked_at.is_not(None), TikTokConnection.token_checked_at,
                  TikTokConnection.id)
        .limit(limit))))
    db.session.commit()
    for conn_id in ids:
        with leased(NAME, str(conn_id), now=now, ttl=LEASE_TTL) as owner:
            if owner is None:
                result.add("busy")
                continue
            try:
                result.add(check_connection(conn_id, client=client, keyring=keyring, now=now))
            except Exception as e:  # one bad connection never stops the rest
                db.session.rollback()
                result.add("error")
                result.item_failed(f"connection {conn_id}", e)
    if result.counts.get("revoked"):
        # Tell the people now rather than at the next refresh-tokens run; sent once either way.
        send_due_notices(result, now=now)
    return result


def check_connection(conn_id: int, *, client, keyring, now: datetime) -> str:
    """Check one connection (one job item: it commits its own steps, and the vault its
    refresh). Returns the outcome's name."""
    conn = db.session.scalar(sa.select(TikTokConnection).where(TikTokConnection.id == conn_id, *_due(now))
                             .execution_options(populate_existing=True))
    if conn is None:
        return "skipped"  # checked meanwhile, disconnected or reconnecting
    try:
        access = open_token(conn, ACCESS, keyring=keyring)
    except (CryptoError, LookupError):
        access = None
    db.session.commit()  # no transaction open while TikTok answers
    if access is not None:
        try:
            info = client.token_info(access)
        except tt_errors.TokenInvalid:
            info = None
        except tt_errors.TikTokError as e:
            log.warning("token-check connection=%s: TikTok %s; trying again next run", conn_id, type(e).__name__)
            return "unknown"
    else:
        info = None
    if info is None:
        # Refused (or unreadable): an expired access token refreshes; a revoked grant does not.
        outcome = token_vault.refresh(conn_id, client=client, keyring=keyring, now=now, force=True)
        if outcome is token_vault.Outcome.NEEDS_RECONNECT:
            return "revoked"
        if outcome is not token_vault.Outcome.REFRESHED:
            return "unknown"
        conn = db.session.get(TikTokConnection, conn_id)
        if conn is not None:
            conn.token_checked_at = now
            db.session.commit()
        return "refreshed"
    conn = db.session.get(TikTokConnection, conn_id)
    if conn is None or conn.status != STATUS_ACTIVE:
        db.session.rollback()
        return "skipped"
    granted = ",".join(info.scopes)
    changed = bool(info.scopes) and set(info.scopes) != set(conn.scopes)
    if changed:
        audit.record("connection.scopes_changed", workspace_id=conn.workspace_id, connection_id=conn.id,
                     before=len(conn.scopes), after=len(info.scopes))
        conn.granted_scopes = granted
    conn.token_checked_at = now
    db.session.commit()
    return "scopes_changed" if changed else "alive"

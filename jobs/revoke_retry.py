"""revoke-retry: revocations TikTok has not confirmed yet (it was down or erroring when
the account was disconnected). Each due connection is claimed (FOR UPDATE SKIP LOCKED
on PostgreSQL for the pick, then a per-connection lease), re-checked, and revoked;
success or "token already invalid" destroys the sealed token, a failure backs off
(10 min × 2^(n-1), at most 6 h). One transaction per connection.

Bounded: a revocation still unconfirmed REVOKE_GIVE_UP_DAYS after the disconnect is
given up at its last attempt (token wiped, `revoke_unconfirmed_at` and an audit event
recorded), so the purge is never held up past the retention period ("gave_up")."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from flask import current_app

from app.extensions import db
from app.leases import leased, lock_rows
from app.models import TikTokConnection
from app.services import disconnect
from app.services.token_sealing import get_keyring
from app.tiktok import get_client
from jobs import job
from jobs.result import JobResult

log = logging.getLogger("jobs.revoke_retry")

NAME = "revoke-retry"
LEASE_TTL = timedelta(minutes=5)


def _due(now: datetime):
    return (TikTokConnection.revoke_pending.is_(True), TikTokConnection.next_revoke_at.is_not(None),
            TikTokConnection.next_revoke_at <= now)


@job(NAME, schedule={"trigger": "interval", "minutes": 10},
     description="Retry revoking tokens at TikTok that it has not confirmed yet")
def run(*, now: datetime | None = None, limit: int = 100, **opts) -> JobResult:
    now = now or datetime.now(timezone.utc)
    result = JobResult(NAME)
    app = current_app._get_current_object()
    client, keyring = get_client(app), get_keyring(app)
    give_up_after = timedelta(days=app.config["REVOKE_GIVE_UP_DAYS"])
    ids = list(db.session.scalars(lock_rows(
        sa.select(TikTokConnection.id).where(*_due(now)).order_by(TikTokConnection.next_revoke_at).limit(limit))))
    db.session.commit()
    for conn_id in ids:
        with leased(NAME, str(conn_id), now=now, ttl=LEASE_TTL) as owner:
            if owner is None:
                result.add("busy")
                continue
            try:
                conn = db.session.scalar(sa.select(TikTokConnection).where(TikTokConnection.id == conn_id, *_due(now))
                                         .execution_options(populate_existing=True))
                if conn is None:  # confirmed meanwhile (webhook, another instance) or reconnected
                    result.add("skipped")
                    continue
                outcome = disconnect.try_revoke(conn, client=client, keyring=keyring, now=now,
                                                give_up_after=give_up_after)
                db.session.commit()
                result.add(outcome.result)
            except Exception as e:  # keep going past one bad connection
                db.session.rollback()
                result.item_failed(f"connection {conn_id}", e)
    return result

"""sync: profile, daily account metrics, posts and Spark Ads into daily snapshots.

Each due connection and ads account is one item: leased (so two instances never sync
it at once), re-checked, then synced by app/workflows/sync.py, which commits its steps.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from app.extensions import db
from app.leases import leased
from app.models import AdsAccount, TikTokConnection
from app.models.connection import STATUS_ACTIVE
from app.services import sync
from app.services.token_sealing import get_keyring
from app.tiktok import get_client
from app.workflows import sync as sync_workflow
from jobs import job
from jobs.result import JobResult

# Long enough for one connection's full sync; a dead instance's claim expires after it.
CLAIM_TTL = timedelta(minutes=10)


@job("sync", schedule={"trigger": "interval", "minutes": 15},
     description="profile stats, posts, per-post metrics and Spark Ads, idempotently")
def run(*, now: datetime, limit: int = 200, **_) -> JobResult:
    result = JobResult("sync")
    client, keyring = get_client(current_app), get_keyring(current_app)
    due = db.session.scalars(sync.due_connections(now).limit(limit)).all()
    db.session.commit()
    for connection_id in due:
        with leased("sync", f"connection:{connection_id}", now=now, ttl=CLAIM_TTL) as owner:
            if owner is None:
                result.add("claimed_elsewhere")
                continue
            try:
                if not _still_due(connection_id, now):  # another instance synced it after we listed it
                    result.add("not_due")
                    continue
                outcome = sync_workflow.sync_connection(connection_id, client=client, keyring=keyring, now=now)
                result.add(outcome.status)
            except Exception as e:
                db.session.rollback()
                result.add("error")
                result.item_failed(f"connection {connection_id}", e)
    ads = db.session.scalars(_due_ads(now)).all()
    db.session.commit()
    for ads_id in ads:
        with leased("sync", f"ads:{ads_id}", now=now, ttl=CLAIM_TTL) as owner:
            if owner is None:
                continue
            try:
                db.session.expire_all()
                if db.session.scalar(_due_ads(now).where(AdsAccount.id == ads_id)) is None:
                    continue
                outcome = sync_workflow.sync_ads_account(ads_id, client=client, keyring=keyring, now=now)
                result.add("ads_" + outcome.status)
            except Exception as e:
                db.session.rollback()
                result.item_failed(f"ads account {ads_id}", e)
    return result


def _still_due(connection_id: int, now: datetime) -> bool:
    """Re-read after the claim: the list was read before it, and another instance may
    have synced this connection and released its claim in between."""
    db.session.expire_all()
    due = db.session.scalar(sync.due_connections(now).where(TikTokConnection.id == connection_id))
    db.session.commit()
    return due is not None


def _due_ads(now: datetime) -> sa.Select:
    return sa.select(AdsAccount.id).where(
        AdsAccount.status == STATUS_ACTIVE,
        sa.or_(AdsAccount.last_synced_at.is_(None), AdsAccount.last_synced_at <= now - sync.SYNC_INTERVAL))

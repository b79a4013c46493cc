"""One sync, read forward: what to ask → a usable token → TikTok's answer → stored.

    plan = sync.plan(...)                       a read
    token = token_vault.usable_token(...)       ends the read; refreshes only when TikTok refused the token
    fetched = sync.fetch(client, token, plan)   every TikTok call, no transaction open
    sync.store(...); commit                     one transaction for the writes
    dashboard_panels.prerender(...); commit     the dashboard's panels for the new figures

The steps are services/sync.py's; this module owns the commits between them. The sync
job calls these for each claimed connection and ads account, and "Refresh now" calls
`sync_connection` when no scheduler runs in its process.
"""
from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Callable

import sqlalchemy as sa

from app.crypto import CryptoError
from app.extensions import db
from app.models import TikTokConnection
from app.services import dashboard_panels, sync
from app.services.sync import SyncOutcome
from app.tiktok import errors as tt_errors
from app.tiktok.client import TikTokClient
from app.workflows import token_vault

log = logging.getLogger(__name__)


def sync_connection(connection_id: int, *, client: TikTokClient, keyring, now: datetime,
                    sleep: Callable[[float], None] = time.sleep) -> SyncOutcome:
    """Sync one connection (see the module docstring); returns what happened."""
    plan = sync.plan(connection_id, now=now)
    if plan is None:
        db.session.rollback()
        return SyncOutcome("skipped")
    token = token_vault.usable_token(connection_id, client=client, keyring=keyring, now=now)
    while token.usable:
        try:
            fetched = sync.fetch(client, token.value, plan, now=now, sleep=sleep)
        except tt_errors.TokenInvalid:  # TikTok refused it: the vault refreshes it once, or gives up
            token = token_vault.usable_token(connection_id, client=client, keyring=keyring, now=now, refused=token)
            continue
        except tt_errors.TikTokError as e:
            message, retry_after = sync.failure(e)
            return _failed(connection_id, now=now, message=message, retry_after=retry_after)
        outcome = sync.store(connection_id, fetched, now=now)
        if outcome.status == "skipped":  # disconnected while we were fetching: the late result is discarded
            db.session.rollback()
        else:
            db.session.commit()
            _prerender_panels(connection_id, now=now)
        return outcome
    if token.status == token_vault.NOT_NOW:
        return _failed(connection_id, now=now, message="access token expired and could not be refreshed yet")
    return SyncOutcome(token.status)  # skipped, or needs_reconnect (the vault has marked it)


def _failed(connection_id: int, *, now: datetime, message: str, retry_after: float | None = None) -> SyncOutcome:
    db.session.rollback()
    outcome = sync.record_failure(connection_id, now=now, message=message, retry_after=retry_after)
    db.session.commit()
    return outcome


def sync_ads_account(ads_account_id: int, *, client: TikTokClient, keyring, now: datetime) -> SyncOutcome:
    """Sync one ads account: plan (with its opened token) → TikTok's Spark Ads → stored."""
    try:
        plan = sync.ads_plan(ads_account_id, keyring=keyring, now=now)
    except CryptoError as e:
        return _ads_failed(ads_account_id, e, now=now)
    db.session.commit()  # no transaction stays open while we wait on TikTok
    if plan is None:
        return SyncOutcome("skipped")
    try:
        fetched = sync.fetch_ads(client, plan, now=now)
    except tt_errors.TikTokError as e:
        return _ads_failed(ads_account_id, e, now=now)
    outcome = sync.store_ads(plan, fetched, now=now)
    if outcome.status != "skipped":
        # Spark Ads figures show on the dashboards of the workspace's accounts: their kept
        # panels are out of date, so their next views are computed afresh.
        dashboard_panels.forget(list(db.session.scalars(
            sa.select(TikTokConnection.id).where(TikTokConnection.workspace_id == plan.workspace_id))))
    db.session.commit()
    return outcome


def _prerender_panels(connection_id: int, *, now: datetime) -> None:
    """Render the account's dashboard panels for its new figures, in their own transaction
    after the figures are committed: a failure here costs the next view its speed, never
    the sync its data. Logged with its traceback (views compute the panel meanwhile)."""
    try:
        dashboard_panels.prerender(connection_id, now=now)
        db.session.commit()
    except Exception:  # noqa: BLE001 - the figures are stored; the panel is only a faster first view
        db.session.rollback()
        log.exception("could not render the dashboard panels of connection %s after its sync", connection_id)


def _ads_failed(ads_account_id: int, error: Exception, *, now: datetime) -> SyncOutcome:
    db.session.rollback()
    outcome = sync.record_ads_failure(ads_account_id, error, now=now)
    db.session.commit()
    return outcome

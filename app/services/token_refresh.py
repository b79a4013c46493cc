"""Keeping access tokens alive without ever burning a rotating refresh token.

TikTok rotates the refresh token on every refresh and refuses the old one, so two
workers refreshing one connection at once would kill it (USERS.md pain point 2). One
path refreshes, for the scheduler and "Refresh now" alike:

1. take the connection's lease (a database row: portable across threads, processes
   and SQLite/PostgreSQL; it expires if its holder dies);
2. RE-READ the row: if another worker already refreshed, use its result;
3. refresh, and commit the new access AND refresh token together at once, before
   anything else can fail (a lost rotated token cannot be recovered).

A refused refresh (invalid_grant, revoked) marks the connection `needs_reconnect`;
transient failures only record the error, so an outage never kills a connection.
"""
from __future__ import annotations

import enum
import logging
from datetime import datetime, timedelta

from app.crypto import CryptoError
from app.extensions import db
from app.models import TikTokConnection
from app.models.connection import STATUS_ACTIVE, STATUS_NEEDS_RECONNECT
from app.services import audit, connections
from app.tiktok import errors as tt_errors
from app.tiktok.client import TikTokClient
from app.services.leases import acquire_lease, release_lease

log = logging.getLogger("app.refresh")

REFRESH_MARGIN = timedelta(hours=2)
# Longer than the client's connect+read timeout plus a commit, so a live holder never loses it.
LEASE_TTL = timedelta(seconds=90)
LEASE_JOB = "refresh-token"


class Outcome(str, enum.Enum):
    REFRESHED = "refreshed"
    NOT_DUE = "not_due"          # nothing to do (or another worker just did it)
    BUSY = "busy"                # another worker holds the lease right now
    NEEDS_RECONNECT = "needs_reconnect"
    FAILED = "failed"            # transient: recorded, tried again next run
    SKIPPED = "skipped"          # not active / no refresh token


def refresh_connection(connection_id: int, *, client: TikTokClient, keyring, now: datetime,
                       force: bool = False) -> Outcome:
    """Refresh one connection's tokens if due (or `force`). Commits its own work."""
    owner = acquire_lease(LEASE_JOB, str(connection_id), now=now, ttl=LEASE_TTL)
    if owner is None:
        return Outcome.BUSY
    try:
        db.session.expire_all()  # re-read after the lock: someone may have refreshed already
        conn = db.session.get(TikTokConnection, connection_id)
        if conn is None or conn.status != STATUS_ACTIVE or conn.refresh_token_sealed is None:
            return Outcome.SKIPPED
        if not force and not conn.is_due_for_refresh(now, REFRESH_MARGIN):
            return Outcome.NOT_DUE
        try:
            refresh_token = connections.open_token(conn, connections.REFRESH, keyring=keyring)
        except CryptoError:
            return _needs_reconnect(conn, now, reason="token_unreadable")
        try:  # lets the client ask TikTok whether the grant is alive when a refresh is refused
            access_token = connections.open_token(conn, connections.ACCESS, keyring=keyring)
        except (CryptoError, LookupError):
            access_token = None
        db.session.commit()  # no transaction stays open while we wait on TikTok
        try:
            tokens = client.refresh(refresh_token, access_token=access_token)
        except (tt_errors.InvalidGrant, tt_errors.TokenInvalid):
            conn = db.session.get(TikTokConnection, connection_id)
            if conn is None or conn.status != STATUS_ACTIVE:
                return Outcome.SKIPPED
            return _needs_reconnect(conn, now, reason="refresh_refused")
        except tt_errors.TikTokError as e:
            conn = db.session.get(TikTokConnection, connection_id)
            if conn is None:
                return Outcome.SKIPPED
            conn.last_error = f"Token refresh failed: TikTok {type(e).__name__} ({now:%Y-%m-%d %H:%M} UTC)"
            conn.refresh_failures += 1
            db.session.commit()
            log.warning("refresh failed connection=%s kind=%s", conn.id, type(e).__name__)
            return Outcome.FAILED
        conn = db.session.get(TikTokConnection, connection_id)  # re-read: disconnected meanwhile?
        if conn is None or conn.status != STATUS_ACTIVE:
            # A late result is discarded: no token is written back onto a disconnected row.
            log.info("refresh result discarded connection=%s (no longer active)", connection_id)
            return Outcome.SKIPPED
        _store_rotated(conn, tokens, keyring=keyring, now=now)
        return Outcome.REFRESHED
    finally:
        release_lease(LEASE_JOB, str(connection_id), owner)


def _store_rotated(conn: TikTokConnection, tokens, *, keyring, now: datetime) -> None:
    """Commit the new pair at once; retry the commit once from memory (the old refresh
    token is already dead at TikTok, so losing these would force a reconnect)."""
    for attempt in (1, 2):
        try:
            connections.seal_tokens(conn, tokens, keyring=keyring, now=now)
            conn.last_error = None
            conn.refresh_failures = 0
            audit.record("token.refreshed", workspace_id=conn.workspace_id, connection_id=conn.id)
            db.session.commit()
            log.info("token refreshed connection=%s expires_in=%s", conn.id, tokens.expires_in)
            return
        except Exception:
            db.session.rollback()
            if attempt == 2:
                log.error("could not store rotated tokens connection=%s", conn.id)
                raise
            conn = db.session.get(TikTokConnection, conn.id)


def _needs_reconnect(conn: TikTokConnection, now: datetime, *, reason: str) -> Outcome:
    conn.status = STATUS_NEEDS_RECONNECT
    conn.last_error = "TikTok no longer accepts our access to this account. Reconnect it to resume syncing."
    connections.wipe_tokens(conn)
    conn.refresh_token_sealed = None
    audit.record("token.refresh_refused", workspace_id=conn.workspace_id, connection_id=conn.id, reason=reason)
    db.session.commit()
    log.warning("connection needs reconnect connection=%s reason=%s", conn.id, reason)
    return Outcome.NEEDS_RECONNECT

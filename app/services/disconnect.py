"""Disconnecting a TikTok account, asking for its data to be deleted, and revoking its
grant at TikTok.

A disconnect happens in two steps, each its own unit of work (the caller commits
after each):

1. `mark_disconnected` — at once and whatever TikTok does: status `disconnected`,
   refresh token wiped, `purge_after = now + RETENTION_DAYS`; the sealed access token
   is kept *only* so the grant can be revoked (`revoke_pending`, due now).
2. `try_revoke` — calls TikTok's revoke with that token. Success, or `TokenInvalid`
   (TikTok already considers it gone), destroys the token; any other failure leaves
   it sealed for `revoke-retry` with exponential backoff (10 min × 2^(n-1), at most 6 h).

Retrying is bounded: the purge waits for a pending revocation (the sealed token must
not vanish with the row while TikTok may still honour it), so a revocation TikTok never
confirms must not hold the account's data past the retention promise. Once
REVOKE_GIVE_UP_DAYS (default 7, always less than RETENTION_DAYS) have passed since the
disconnect, the last failed attempt gives up: the token is wiped anyway, the connection
records `revoke_unconfirmed_at`, the audit log gets `revoke.unconfirmed`, and the purge
goes ahead, its anonymous receipt noting that TikTok never confirmed. Retries are
scheduled so that one falls exactly on that deadline.

Committing step 1 before the HTTP call means the connection reads as disconnected
the moment the user asked (nothing syncs or refreshes it any more), no transaction
is held open while TikTok answers, a crash between the two steps leaves a due
`revoke_pending` for the retry job, and TikTok's `authorization.removed` webhook
(which our own revoke triggers, reason 5) finds the row already disconnected.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app

from app.crypto import CryptoError
from app.extensions import db
from app.leases import TOKEN_LEASE, acquire_lease, release_lease
from app.models import TikTokConnection
from app.models.connection import STATUS_DISCONNECTED
from app.services import audit
from app.services.token_sealing import ACCESS, open_token, wipe_tokens
from app.tiktok import errors as tt_errors
from app.tiktok.client import TikTokClient

log = logging.getLogger("app.disconnect")

REVOKE_BACKOFF_BASE = timedelta(minutes=10)
REVOKE_BACKOFF_MAX = timedelta(hours=6)

# What try_revoke concluded.
REVOKED = "revoked"              # TikTok confirmed
ALREADY_REVOKED = "already_revoked"  # TikTok says the token is already dead: as good as confirmed
NOTHING_TO_REVOKE = "nothing_to_revoke"  # no usable token left (never had one, or it can't be opened)
RETRY_LATER = "retry_later"      # TikTok unreachable or erroring: revoke-retry will try again
GAVE_UP = "gave_up"              # never confirmed within REVOKE_GIVE_UP_DAYS: token wiped anyway


@dataclass(frozen=True)
class RevokeOutcome:
    result: str
    next_attempt_at: datetime | None = None

    @property
    def confirmed(self) -> bool:
        return self.result not in (RETRY_LATER, GAVE_UP)


def revoke_backoff(attempts: int) -> timedelta:
    """Delay after the `attempts`-th failed revocation: 10 min, 20 min, 40 min, … capped at 6 h."""
    attempts = max(1, attempts)
    if attempts > 12:  # 2**11 × 10 min is far past the cap already
        return REVOKE_BACKOFF_MAX
    return min(REVOKE_BACKOFF_BASE * 2 ** (attempts - 1), REVOKE_BACKOFF_MAX)


@contextmanager
def refresh_paused(conn_id: int, *, now: datetime, wait: float = 10.0) -> Iterator[bool]:
    """Hold the connection's token lease while disconnecting, so a refresh in flight
    cannot write rotated tokens back onto a row we just wiped: we wait for it (at most
    `wait` seconds), and once we release, the refresh sees `disconnected` and skips.
    Yields whether the lease was obtained; a disconnect never fails for lack of it.

    The lease is its own transaction (app/leases.py): the caller's is neither committed
    nor rolled back. Enter with nothing pending: rows read before are expired, so the
    caller reads them again as they are under the lease (a refresh may just have ended)."""
    deadline = time.monotonic() + wait
    owner = acquire_lease(TOKEN_LEASE, str(conn_id), now=now, ttl=timedelta(seconds=60))
    while owner is None and time.monotonic() < deadline:
        time.sleep(0.25)
        owner = acquire_lease(TOKEN_LEASE, str(conn_id), now=datetime.now(now.tzinfo), ttl=timedelta(seconds=60))
    if owner is None:
        log.warning("disconnecting connection=%s while a token refresh still holds its lease", conn_id)
    db.session.expire_all()
    try:
        yield owner is not None
    finally:
        if owner is not None:
            release_lease(TOKEN_LEASE, str(conn_id), owner)


def mark_disconnected(conn: TikTokConnection, *, now: datetime, retention_days: int, actor_id: int | None = None,
                      source: str = "user") -> bool:
    """Step 1: disconnected at once. Returns False (and changes nothing) when it already was."""
    if conn.status == STATUS_DISCONNECTED:
        return False
    conn.status = STATUS_DISCONNECTED
    conn.disconnected_at = now
    conn.purge_after = now + timedelta(days=retention_days)
    conn.refresh_token_sealed = None  # never needed again: revocation uses the access token
    conn.access_expires_at = None
    conn.next_sync_at = None
    conn.sync_requested_at = None
    if conn.access_token_sealed is not None:
        conn.revoke_pending = True
        conn.revoke_attempts = 0
        conn.next_revoke_at = now  # due at once: if we die before step 2, revoke-retry does it
    audit.record("connection.disconnected", actor_id=actor_id, workspace_id=conn.workspace_id,
                 connection_id=conn.id, source=source, retention_days=retention_days)
    return True


def revoke_deadline(conn: TikTokConnection, give_up_after: timedelta) -> datetime | None:
    """When a revocation still unconfirmed is given up: `give_up_after` past the disconnect."""
    return None if conn.disconnected_at is None else conn.disconnected_at + give_up_after


def try_revoke(conn: TikTokConnection, *, client: TikTokClient, keyring, now: datetime,
               give_up_after: timedelta | None = None) -> RevokeOutcome:
    """Step 2 (and every revoke-retry attempt): revoke the kept token at TikTok.

    `give_up_after` defaults to the app's REVOKE_GIVE_UP_DAYS; a failure at or past the
    deadline (see `revoke_deadline`) gives up instead of scheduling another attempt."""
    if give_up_after is None:
        give_up_after = timedelta(days=current_app.config["REVOKE_GIVE_UP_DAYS"])
    if not conn.revoke_pending:
        return RevokeOutcome(NOTHING_TO_REVOKE)
    try:
        token = open_token(conn, ACCESS, keyring=keyring)
    except (LookupError, CryptoError) as e:
        # Unusable ciphertext can never be revoked with; keeping it would help nobody.
        log.warning("revoke abandoned connection=%s reason=%s", conn.id, type(e).__name__)
        _finish_revoke(conn, result=NOTHING_TO_REVOKE, reason=type(e).__name__)
        return RevokeOutcome(NOTHING_TO_REVOKE)
    try:
        client.revoke(token)
    except tt_errors.TokenInvalid:
        _finish_revoke(conn, result=ALREADY_REVOKED)
        return RevokeOutcome(ALREADY_REVOKED)
    except tt_errors.TikTokError as e:  # Unavailable, RateLimited, BadResponse, anything else
        conn.revoke_attempts = (conn.revoke_attempts or 0) + 1
        audit.record("revoke.failed", workspace_id=conn.workspace_id, connection_id=conn.id,
                     attempts=conn.revoke_attempts, error=type(e).__name__)
        deadline = revoke_deadline(conn, give_up_after)
        if deadline is None or now >= deadline:
            _give_up(conn, now=now, error=type(e).__name__, log_id=e.log_id)
            return RevokeOutcome(GAVE_UP)
        delay = revoke_backoff(conn.revoke_attempts)
        if isinstance(e, tt_errors.RateLimited):
            delay = max(delay, timedelta(seconds=e.retry_after))
        conn.next_revoke_at = min(now + delay, deadline)  # the last attempt falls on the deadline
        log.warning("revoke failed connection=%s attempts=%s error=%s log_id=%s next_in=%ss", conn.id,
                    conn.revoke_attempts, type(e).__name__, e.log_id,
                    int((conn.next_revoke_at - now).total_seconds()))
        return RevokeOutcome(RETRY_LATER, conn.next_revoke_at)
    _finish_revoke(conn, result=REVOKED)
    return RevokeOutcome(REVOKED)


def confirm_revoked_elsewhere(conn: TikTokConnection, *, reason: str) -> None:
    """TikTok told us (webhook) the grant is gone: no need to keep trying."""
    if conn.revoke_pending or conn.access_token_sealed is not None:
        _finish_revoke(conn, result=ALREADY_REVOKED, reason=reason)


def _give_up(conn: TikTokConnection, *, now: datetime, error: str, log_id: str | None) -> None:
    """TikTok never confirmed in time: wipe the token anyway and say so (the purge may go ahead)."""
    wipe_tokens(conn)
    conn.revoke_pending = False
    conn.next_revoke_at = None
    conn.revoke_unconfirmed_at = now
    days = (now - conn.disconnected_at).days if conn.disconnected_at else 0
    log.warning("revoke given up connection=%s attempts=%s days=%s last_error=%s log_id=%s: TikTok never "
                "confirmed; token wiped", conn.id, conn.revoke_attempts, days, error, log_id)
    audit.record("revoke.unconfirmed", workspace_id=conn.workspace_id, connection_id=conn.id,
                 attempts=conn.revoke_attempts or 0, days=days, last_error=error)


def _finish_revoke(conn: TikTokConnection, *, result: str, reason: str | None = None) -> None:
    wipe_tokens(conn)
    conn.revoke_pending = False
    conn.next_revoke_at = None
    detail = {"result": result, "attempts": conn.revoke_attempts or 0}
    if reason:
        detail["reason"] = reason
    audit.record("revoke.confirmed", workspace_id=conn.workspace_id, connection_id=conn.id, **detail)


def request_deletion(conn: TikTokConnection, *, now: datetime, retention_days: int,
                     actor_id: int | None = None, source: str = "user") -> bool:
    """"Delete all data for this account": disconnect if needed, then mark it for the
    next purge run. Returns True when the connection had to be disconnected first
    (the caller then runs `try_revoke` after committing)."""
    newly = mark_disconnected(conn, now=now, retention_days=retention_days, actor_id=actor_id, source=source)
    if conn.deletion_requested_at is None:
        conn.deletion_requested_at = now
        audit.record("connection.deletion_requested", actor_id=actor_id, workspace_id=conn.workspace_id,
                     connection_id=conn.id, source=source)
    if conn.purge_after is None or conn.purge_after > now:
        conn.purge_after = now
    return newly

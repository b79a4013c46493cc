"""The token vault: the one way to a usable TikTok access token for a connection.

TikTok rotates the refresh token on every refresh and refuses the old one, so two
workers refreshing one connection at once would kill it, and a rotated pair that is
not stored is lost for good. Every refresh goes through here, and a sync asks here for
its token (a revoke or token-check only reads the stored one, through
services/token_sealing.py):

- `usable_token` is what a sync asks for before calling TikTok. It opens the sealed
  access token and ends its read (no transaction stays open while the caller waits on
  TikTok). A stored token is used as it is — the refresh-tokens job refreshes tokens
  ahead of their expiry — until TikTok refuses it: the sync then asks again with
  `refused=` and the vault refreshes once (forced) and answers the new token — or the
  one another worker refreshed meanwhile, so concurrent syncs cost one refresh. TikTok
  refusing a freshly refreshed token ends the grant.
- `refresh` refreshes one connection if due (or `force`), for the refresh-tokens job,
  "Refresh now", token-check and `usable_token`:
  1. take the connection's token lease (app/leases.py; its own transaction, so it is
     visible to every instance at once and expires if its holder dies);
  2. RE-READ the row: if another worker already refreshed, its result stands;
  3. end the read and call TikTok with no transaction open;
  4. re-read: a result for a connection disconnected meanwhile is discarded;
  5. seal the new access AND refresh token and commit them together at once, before
     anything else can fail.
- When the grant is gone (TikTok refuses the refresh, or the stored token cannot be
  opened) the vault answers "needs reconnect": the connection is marked
  `needs_reconnect`, its tokens wiped and the event audited, committed at once.
  Transient failures only record the error, so an outage never kills a connection.

The vault commits its own steps (see app/workflows/__init__.py); call it with nothing
of your own pending. Sealing and opening are services/token_sealing.py's.
"""
from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from app.crypto import CryptoError
from app.extensions import db
from app.leases import TOKEN_LEASE, acquire_lease, release_lease
from app.models import TikTokConnection
from app.models.connection import STATUS_ACTIVE, STATUS_NEEDS_RECONNECT
from app.services import audit
from app.services.token_sealing import ACCESS, REFRESH, open_token, seal_tokens, wipe_tokens
from app.tiktok import errors as tt_errors
from app.tiktok.client import TikTokClient
from app.tiktok.types import TokenSet

log = logging.getLogger("app.token_vault")

REFRESH_MARGIN = timedelta(hours=2)
# Longer than the client's connect+read timeout plus a commit, so a live holder never loses it.
LEASE_TTL = timedelta(seconds=90)
RECONNECT_MESSAGE = "TikTok no longer accepts our access to this account. Reconnect it to resume syncing."


class Outcome(str, enum.Enum):
    """What `refresh` did."""

    REFRESHED = "refreshed"
    NOT_DUE = "not_due"          # nothing to do (or another worker just did it)
    BUSY = "busy"                # another worker holds the lease right now
    NEEDS_RECONNECT = "needs_reconnect"
    FAILED = "failed"            # transient: recorded, tried again next run
    SKIPPED = "skipped"          # not active / no refresh token


# AccessToken.status
USABLE = "usable"
SKIPPED = "skipped"                  # not active any more (disconnected, reconnecting) or no token
NEEDS_RECONNECT = "needs_reconnect"  # the vault has marked the connection; a person must reconnect it
NOT_NOW = "not_now"                  # refused, and no new token now (TikTok failing, or another refresh under way)


@dataclass(frozen=True)
class AccessToken:
    """The vault's answer to `usable_token`: a token to use, or why there is none."""

    status: str
    value: str | None = field(default=None, repr=False)
    refreshed: bool = False  # the vault refreshed it for this caller

    @property
    def usable(self) -> bool:
        return self.status == USABLE


def usable_token(connection_id: int, *, client: TikTokClient, keyring, now: datetime,
                 refused: AccessToken | None = None) -> AccessToken:
    """An access token to call TikTok with, for a sync. `refused`: the token TikTok just
    refused — refreshed once, forced; refused again after that, the connection needs a
    reconnect. Returns with no transaction open."""
    if refused is not None:
        if refused.refreshed:
            return _give_up(connection_id, now=now, reason="refreshed_token_refused",
                            message=f"TikTok refused the refreshed token ({now:%Y-%m-%d %H:%M} UTC)")
        outcome = refresh(connection_id, client=client, keyring=keyring, now=now, force=True, refused=refused.value)
        if outcome is Outcome.NEEDS_RECONNECT:
            return AccessToken(NEEDS_RECONNECT)
        if outcome is Outcome.SKIPPED:  # disconnected meanwhile (e.g. TikTok's webhook)
            return AccessToken(SKIPPED)
        if outcome not in (Outcome.REFRESHED, Outcome.NOT_DUE):  # NOT_DUE: another worker just refreshed it
            return AccessToken(NOT_NOW)
    conn = db.session.get(TikTokConnection, connection_id, populate_existing=True)
    if conn is None or conn.status != STATUS_ACTIVE or conn.access_token_sealed is None:
        db.session.rollback()
        return AccessToken(SKIPPED)
    try:
        value = open_token(conn, ACCESS, keyring=keyring)
    except CryptoError:
        _needs_reconnect(conn, event="sync.needs_reconnect", reason="token_unreadable",
                         message=f"stored token could not be read ({now:%Y-%m-%d %H:%M} UTC)")
        return AccessToken(NEEDS_RECONNECT)
    db.session.commit()  # no transaction stays open while the caller waits on TikTok
    return AccessToken(USABLE, value, refreshed=refused is not None)


def refresh(connection_id: int, *, client: TikTokClient, keyring, now: datetime, force: bool = False,
            refused: str | None = None) -> Outcome:
    """Refresh one connection's tokens if due (or `force`), under its lease. `refused`:
    the access token TikTok refused; when the stored one is already another, a refresh
    happened meanwhile and stands (NOT_DUE), so concurrent syncs refresh once."""
    owner = acquire_lease(TOKEN_LEASE, str(connection_id), now=now, ttl=LEASE_TTL)
    if owner is None:
        return Outcome.BUSY
    try:
        db.session.expire_all()  # re-read under the lease: someone may have refreshed already
        conn = db.session.get(TikTokConnection, connection_id)
        if conn is None or conn.status != STATUS_ACTIVE or conn.refresh_token_sealed is None:
            return Outcome.SKIPPED
        if not force and not conn.is_due_for_refresh(now, REFRESH_MARGIN):
            return Outcome.NOT_DUE
        try:
            refresh_token = open_token(conn, REFRESH, keyring=keyring)
        except CryptoError:
            _needs_reconnect(conn, event="token.refresh_refused", reason="token_unreadable")
            return Outcome.NEEDS_RECONNECT
        try:  # lets the client ask TikTok whether the grant is alive when a refresh is refused
            access_token = open_token(conn, ACCESS, keyring=keyring)
        except (CryptoError, LookupError):
            access_token = None
        if refused is not None and access_token is not None and access_token != refused:
            return Outcome.NOT_DUE
        db.session.commit()  # no transaction stays open while we wait on TikTok
        try:
            tokens = client.refresh(refresh_token, access_token=access_token)
        except (tt_errors.InvalidGrant, tt_errors.TokenInvalid):
            conn = db.session.get(TikTokConnection, connection_id)
            if conn is None or conn.status != STATUS_ACTIVE:
                return Outcome.SKIPPED
            _needs_reconnect(conn, event="token.refresh_refused", reason="refresh_refused")
            return Outcome.NEEDS_RECONNECT
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
        release_lease(TOKEN_LEASE, str(connection_id), owner)


def _store_rotated(conn: TikTokConnection, tokens: TokenSet, *, keyring, now: datetime) -> None:
    """Commit the new pair at once; retry the commit once from memory (the old refresh
    token is already dead at TikTok, so losing these would force a reconnect)."""
    for attempt in (1, 2):
        try:
            seal_tokens(conn, tokens, keyring=keyring, now=now)
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


def _give_up(connection_id: int, *, now: datetime, reason: str, message: str) -> AccessToken:
    conn = db.session.get(TikTokConnection, connection_id, populate_existing=True)
    if conn is None or conn.status != STATUS_ACTIVE:
        db.session.rollback()
        return AccessToken(SKIPPED)
    _needs_reconnect(conn, event="sync.needs_reconnect", reason=reason, message=message)
    return AccessToken(NEEDS_RECONNECT)


def _needs_reconnect(conn: TikTokConnection, *, event: str, reason: str, message: str = RECONNECT_MESSAGE) -> None:
    """The grant is gone: mark the connection, wipe its tokens, audit it — committed at once."""
    conn.status = STATUS_NEEDS_RECONNECT
    conn.last_error = message
    wipe_tokens(conn)
    audit.record(event, workspace_id=conn.workspace_id, connection_id=conn.id, reason=reason)
    db.session.commit()
    log.warning("connection needs reconnect connection=%s reason=%s", conn.id, reason)

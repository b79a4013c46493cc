"""Connecting TikTok accounts (steps 1–3) and the sealed tokens they carry.

This is the only module that seals or opens tokens. Ciphertexts are bound to their
row and column through associated data, so a value copied to another connection or
column does not decrypt.

Connect flow:
1. `begin_connect` makes a state (≥128 bits) and a PKCE verifier and stores them as a
   pending `OAuthTransaction` (state hashed, verifier sealed) bound to the user, the
   workspace and a random reference the browser session holds; it returns TikTok's
   authorize URL.
2. `take_transaction` finds and deletes the transaction for the callback's state
   (single use even when the rest fails; the caller commits that first), and
   `verify_pending` checks it belongs to this session and user and is fresh.
3. `finish_connect` exchanges the code with the verifier, fetches the profile, and
   upserts the connection with sealed tokens; the first sync is queued.
"""
from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Mapping

import sqlalchemy as sa
from flask import Flask

from app.crypto import CryptoError, keyring_from_config, open_sealed, seal
from app.extensions import db
from app.models import OAuthTransaction, TikTokConnection, User, Workspace
from app.models.connection import STATUS_ACTIVE, STATUS_NEEDS_RECONNECT
from app.services import audit
from app.tiktok import errors as tt_errors
from app.tiktok import pkce
from app.tiktok.client import TikTokClient, profile_fields_for
from app.tiktok.types import TokenSet

log = logging.getLogger("app.connections")

PROVIDER_ACCOUNTS = "tiktok-accounts"
TRANSACTION_TTL = timedelta(minutes=10)
ACCESS = "access"
REFRESH = "refresh"


class ConnectError(Exception):
    """The connect attempt failed; `message` is safe to show, `status` is the HTTP status."""

    status = 400
    audit_event = "connect.failed"

    def __init__(self, message: str, *, reason: str):
        super().__init__(message)
        self.message = message
        self.reason = reason


class InvalidState(ConnectError):
    audit_event = "connect.invalid_state"


class AccessDenied(ConnectError):
    audit_event = "connect.denied"


class TikTokUnavailable(ConnectError):
    status = 502


@dataclass(frozen=True)
class PendingConnect:
    """What a consumed transaction told us (the verifier stays sealed until used)."""

    user_id: int
    workspace_id: int
    verifier_sealed: bytes
    state_hash: str
    session_ref_hash: str
    expires_at: datetime


# --------------------------------------------------------------------------- keys


def get_keyring(app: Flask):
    ring = app.extensions.get("keyring")
    if ring is None:
        ring = app.extensions["keyring"] = keyring_from_config(app.config)
    return ring


def _token_aad(workspace_id: int, open_id: str, column: str) -> bytes:
    return f"tiktok-token:{workspace_id}:{open_id}:{column}".encode()


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def seal_tokens(conn: TikTokConnection, tokens: TokenSet, *, keyring, now: datetime) -> None:
    """Store a token pair on `conn` (both columns in the same unit of work).

    Never writes an empty token: a response without a refresh token keeps the old one."""
    if not tokens.access_token or not tokens.refresh_token:
        raise ValueError("refusing to store an empty token")
    conn.access_token_sealed = seal(tokens.access_token, aad=_token_aad(conn.workspace_id, conn.open_id, ACCESS),
                                    keyring=keyring)
    conn.refresh_token_sealed = seal(tokens.refresh_token,
                                     aad=_token_aad(conn.workspace_id, conn.open_id, REFRESH), keyring=keyring)
    conn.access_expires_at = now + timedelta(seconds=tokens.expires_in)
    if tokens.refresh_expires_in is not None:
        conn.refresh_expires_at = now + timedelta(seconds=tokens.refresh_expires_in)
    conn.token_refreshed_at = now


def open_token(conn: TikTokConnection, column: str, *, keyring) -> str:
    """The plaintext token of `column` ("access" or "refresh"). Raises CryptoError if
    the value was tampered with or moved from another row."""
    blob = conn.access_token_sealed if column == ACCESS else conn.refresh_token_sealed
    if blob is None:
        raise LookupError(f"connection {conn.id} has no {column} token")
    return open_sealed(blob, aad=_token_aad(conn.workspace_id, conn.open_id, column), keyring=keyring)


def wipe_tokens(conn: TikTokConnection) -> None:
    conn.access_token_sealed = None
    conn.refresh_token_sealed = None
    conn.access_expires_at = None


# --------------------------------------------------------------------- connect flow


def begin_connect(user: User, workspace: Workspace, *, session_ref: str, client: TikTokClient, keyring,
                  now: datetime) -> str:
    """Record a pending connect and return TikTok's authorize URL."""
    state = pkce.new_state()
    verifier = pkce.new_verifier()
    state_hash = _sha256(state)
    # Old transactions are useless after 10 minutes; clear them as we go.
    db.session.execute(sa.delete(OAuthTransaction).where(OAuthTransaction.expires_at < now))
    db.session.add(OAuthTransaction(
        provider=PROVIDER_ACCOUNTS,
        state_hash=state_hash,
        session_ref_hash=_sha256(session_ref),
        verifier_sealed=seal(verifier, aad=f"oauth-verifier:{state_hash}".encode(), keyring=keyring),
        user_id=user.id,
        workspace_id=workspace.id,
        created_at=now,
        expires_at=now + TRANSACTION_TTL,
    ))
    audit.record("connect.started", actor_id=user.id, workspace_id=workspace.id)
    return client.authorize_url(state, pkce.challenge(verifier))


def take_transaction(state: str | None, *, provider: str = PROVIDER_ACCOUNTS) -> PendingConnect:
    """Find and delete the pending connect for `state` (single use: the caller commits
    the deletion before anything else happens). Raises InvalidState if there is none."""
    if not state or len(state) > 512:
        raise InvalidState("TikTok sent you back without the security code we gave it, so we stopped. "
                           "Nothing was connected. Please start again from Integrations.", reason="missing_state")
    txn = db.session.scalar(
        sa.select(OAuthTransaction).where(OAuthTransaction.state_hash == _sha256(state),
                                          OAuthTransaction.provider == provider)
    )
    if txn is None:
        raise InvalidState("This sign-in link from TikTok was already used or is not one we started. "
                           "Nothing was connected. Please start again from Integrations.", reason="unknown_state")
    db.session.delete(txn)
    return PendingConnect(user_id=txn.user_id, workspace_id=txn.workspace_id, verifier_sealed=txn.verifier_sealed,
                          state_hash=txn.state_hash, session_ref_hash=txn.session_ref_hash,
                          expires_at=txn.expires_at)


def verify_pending(pending: PendingConnect, *, session_ref: str | None, user: User | None, now: datetime) -> None:
    """The callback must come back to the same signed-in session that started it, in time."""
    if user is None or session_ref is None:
        raise InvalidState("Your Logic Target session ended before TikTok sent you back. Nothing was connected. "
                           "Please sign in and connect again.", reason="session_lost")
    if pending.session_ref_hash != _sha256(session_ref) or pending.user_id != user.id:
        raise InvalidState("This TikTok sign-in was started in another browser session, so we did not accept it. "
                           "Nothing was connected. Please start again from Integrations.", reason="session_mismatch")
    if pending.expires_at <= now:
        raise InvalidState("This TikTok sign-in took longer than 10 minutes and expired. Nothing was connected. "
                           "Please start again from Integrations.", reason="expired")


def finish_connect(pending: PendingConnect, args: Mapping[str, str], *, user: User, client: TikTokClient,
                   keyring, now: datetime) -> TikTokConnection:
    """Exchange the code, fetch the profile and upsert the connection."""
    if args.get("error"):
        raise AccessDenied("You cancelled on TikTok, so nothing was connected.", reason=args["error"][:64])
    code = args.get("code") or args.get("auth_code")
    if not code:
        raise ConnectError("TikTok did not send an authorization code. Nothing was connected. Please try again.",
                           reason="missing_code")
    verifier = open_sealed(pending.verifier_sealed, aad=f"oauth-verifier:{pending.state_hash}".encode(),
                           keyring=keyring)
    try:
        tokens = client.exchange_code(code, verifier)
    except (tt_errors.Unavailable, tt_errors.RateLimited, tt_errors.BadResponse) as e:
        raise TikTokUnavailable("TikTok did not answer properly while we finished connecting. Nothing was "
                                "connected. Please try again in a minute.", reason=type(e).__name__) from None
    except tt_errors.TikTokError as e:
        raise ConnectError("TikTok refused to finish the connection (the authorization may have expired or been "
                           "used). Nothing was connected. Please start again.", reason=type(e).__name__) from None

    conn = db.session.scalar(sa.select(TikTokConnection).where(
        TikTokConnection.workspace_id == pending.workspace_id, TikTokConnection.open_id == tokens.open_id))
    recovered = conn is not None and conn.status == STATUS_NEEDS_RECONNECT
    if conn is None:
        conn = TikTokConnection(workspace_id=pending.workspace_id, open_id=tokens.open_id,
                                owner_user_id=user.id, connected_at=now)
        db.session.add(conn)
    _apply_profile(conn, tokens, client=client)
    seal_tokens(conn, tokens, keyring=keyring, now=now)
    conn.granted_scopes = ",".join(tokens.scopes)  # as TikTok returned them: users can untick scopes
    conn.status = STATUS_ACTIVE
    conn.owner_user_id = conn.owner_user_id or user.id
    conn.disconnected_at = conn.purge_after = conn.deletion_requested_at = None
    conn.revoke_pending = False
    conn.next_revoke_at = None
    conn.refresh_failures = 0
    conn.expiry_reminded_at = None  # a new grant has a new horizon
    # reconnect_alerted_at stays: the refresh-tokens job sends one "recovered" notice and clears it
    conn.sync_requested_at = conn.next_sync_at = now  # the first sync is queued at once
    db.session.flush()
    audit.record("connect.succeeded", actor_id=user.id, workspace_id=conn.workspace_id, connection_id=conn.id,
                 scopes=len(tokens.scopes), reconnect=recovered)
    conn._recovered = recovered  # type: ignore[attr-defined]  # for the caller's "recovered" notice
    return conn


def _apply_profile(conn: TikTokConnection, tokens: TokenSet, *, client: TikTokClient) -> None:
    """Username, display name and avatar. A profile failure does not lose the tokens:
    the connection is stored and the next sync fills the profile in."""
    try:
        profile = client.get_business_profile(tokens.access_token, tokens.open_id,
                                              fields=profile_fields_for(tokens.scopes))
    except tt_errors.TikTokError as e:
        conn.last_error = f"profile not fetched yet ({type(e).__name__})"
        if not conn.username:
            conn.username = f"tiktok-{tokens.open_id[:8]}"
        return
    conn.username = (profile.username or conn.username or f"tiktok-{tokens.open_id[:8]}")[:64]
    conn.display_name = (profile.display_name or "")[:128]
    conn.avatar_url = profile.avatar_url
    conn.is_business_account = profile.is_business_account
    conn.last_error = None


def new_session_ref() -> str:
    return secrets.token_urlsafe(32)


def safe_audit_failure(error: ConnectError | CryptoError, *, user: User | None, workspace_id: int | None) -> None:
    reason = getattr(error, "reason", type(error).__name__)
    event = getattr(error, "audit_event", "connect.failed")
    audit.record(event, actor_id=user.id if user else None, workspace_id=workspace_id, reason=reason)
    log.info("connect failed reason=%s user=%s", reason, user.id if user else None)

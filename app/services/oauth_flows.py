"""The two OAuth flows: connecting a TikTok account and linking a TikTok Ads advertiser.

Connect flow:
1. `begin_connect` makes a state (≥128 bits) and a PKCE verifier and stores them as a
   pending `OAuthTransaction` (state hashed, verifier sealed) bound to the user, the
   workspace and a random reference the browser session holds; it returns TikTok's
   authorize URL. With TIKTOK_PKCE off, no challenge is sent and `NO_PKCE` is sealed in
   place of the verifier, so the transaction still proves we started it.
2. `take_transaction` finds and deletes the transaction for the callback's state
   (single use even when the rest fails; the caller commits that first), and
   `verify_pending` checks it belongs to this session and user and is fresh.
3. `finish_connect` exchanges the code with the verifier, fetches the profile, and
   upserts the connection with sealed tokens; the first sync is queued.

Ads link (Marketing API, no PKCE): `begin_connect(provider=PROVIDER_ADS)` and the
same take/verify helpers, then `finish_ads_link` links the one advertiser the token
covers, or keeps the token sealed in a short-lived "choose advertiser" transaction
(`PROVIDER_ADS_CHOICE`) until `choose_advertiser` picks one of those TikTok returned.

Every step is a domain step: the route that calls it owns the transaction and commits.
Tokens are sealed and opened by services/token_sealing.py.
"""
from __future__ import annotations

import hashlib
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Mapping

import sqlalchemy as sa
from flask import current_app

from app.crypto import CryptoError
from app.extensions import db
from app.models import AdsAccount, OAuthTransaction, TikTokConnection, User, Workspace
from app.models.connection import STATUS_ACTIVE, STATUS_NEEDS_RECONNECT
from app.services import access, audit
from app.services.token_sealing import open_pending as _open_sealed_pending
from app.services.token_sealing import seal_ads_token, seal_pending, seal_tokens
from app.tiktok import errors as tt_errors
from app.tiktok import pkce
from app.tiktok.client import TikTokClient, profile_fields_for
from app.tiktok.types import TokenSet

log = logging.getLogger("app.oauth_flows")

PROVIDER_ACCOUNTS = "tiktok-accounts"
PROVIDER_ADS = "tiktok-ads"
PROVIDER_ADS_CHOICE = "tiktok-ads-choice"  # an ads token waiting for "choose advertiser"
# A public data-deletion request proving ownership with TikTok (services/deletion_requests.py):
# bound to the request and the browser session, never to a user; it can never complete a connect.
PROVIDER_DELETION_VERIFY = "deletion-verify"
TRANSACTION_TTL = timedelta(minutes=10)
# Sealed in place of a verifier when TIKTOK_PKCE is off, so the transaction still carries
# proof that we started it; never a valid verifier (those are 43-128 characters).
NO_PKCE = "-"


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


class NotAllowed(ConnectError):
    status = 403
    audit_event = "connect.not_allowed"


class NotConfigured(ConnectError):
    status = 503


@dataclass(frozen=True)
class PendingConnect:
    """What a consumed transaction told us (the verifier stays sealed until used)."""

    user_id: int | None  # None (as is workspace_id) for a deletion request's ownership check
    workspace_id: int | None
    verifier_sealed: bytes | None  # the PKCE verifier; the ads token for a choice; None for an ads start
    state_hash: str
    session_ref_hash: str
    expires_at: datetime
    provider: str = PROVIDER_ACCOUNTS
    deletion_request_id: int | None = None


@dataclass(frozen=True)
class AdsChoice:
    """TikTok authorized several advertisers: the admin picks one. `reference` is what the
    choose form posts back (only its hash is stored); the token waits sealed server-side."""

    reference: str
    workspace_id: int
    advertisers: tuple[tuple[str, str], ...]  # (advertiser_id, name)


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


# --------------------------------------------------------------------- connect flow


def store_transaction(user_id: int | None, workspace_id: int | None, *, provider: str, session_ref: str,
                      secret: str | None, keyring, now: datetime, deletion_request_id: int | None = None) -> str:
    """Record a pending transaction (state hashed, `secret` sealed) and return its state.
    A signed-in flow gives a user and workspace; a deletion request's check gives only its id."""
    state = pkce.new_state()
    state_hash = _sha256(state)
    # Old transactions are useless after 10 minutes; clear them as we go.
    db.session.execute(sa.delete(OAuthTransaction).where(OAuthTransaction.expires_at < now))
    db.session.add(OAuthTransaction(
        provider=provider,
        state_hash=state_hash,
        session_ref_hash=_sha256(session_ref),
        verifier_sealed=(seal_pending(secret, provider=provider, workspace_id=workspace_id, state_hash=state_hash,
                                      keyring=keyring) if secret else None),
        user_id=user_id,
        workspace_id=workspace_id,
        deletion_request_id=deletion_request_id,
        created_at=now,
        expires_at=now + TRANSACTION_TTL,
    ))
    return state


def begin_connect(user: User, workspace: Workspace, *, session_ref: str, client: TikTokClient, keyring,
                  now: datetime, provider: str = PROVIDER_ACCOUNTS) -> str:
    """Record a pending connect and return TikTok's authorize URL: Login Kit with PKCE for
    accounts, the Marketing API's (no PKCE) for `PROVIDER_ADS`."""
    if provider == PROVIDER_ADS:
        state = store_transaction(user.id, workspace.id, provider=provider, session_ref=session_ref, secret=None,
                                  keyring=keyring, now=now)
        try:
            url = client.ads_authorize_url(state)
        except tt_errors.ClientConfigError:
            raise NotConfigured("Linking TikTok Ads accounts is not set up on this server yet (no Marketing API "
                                "app). Nothing was linked.", reason="ads_not_configured") from None
        audit.record("ads_link.started", actor_id=user.id, workspace_id=workspace.id)
        return url
    use_pkce = bool(current_app.config.get("TIKTOK_PKCE", True))
    verifier = pkce.new_verifier() if use_pkce else NO_PKCE
    state = store_transaction(user.id, workspace.id, provider=provider, session_ref=session_ref, secret=verifier,
                              keyring=keyring, now=now)
    audit.record("connect.started", actor_id=user.id, workspace_id=workspace.id)
    return client.authorize_url(state, pkce.challenge(verifier) if use_pkce else None)


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
                          expires_at=txn.expires_at, provider=txn.provider,
                          deletion_request_id=txn.deletion_request_id)


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
    code = _code_from(args, cancelled="nothing was connected", nothing="connected")
    verifier = open_pending(pending, keyring=keyring)
    try:
        tokens = client.exchange_code(code, verifier)
    except tt_errors.TikTokError as e:
        raise _tiktok_failure(e, doing="connecting", nothing="connected") from None

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
    conn.revoke_unconfirmed_at = None  # a new grant: the old one's story is over
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


def _code_from(args: Mapping[str, str], *, cancelled: str, nothing: str) -> str:
    """The authorization code of a callback (`code` or `auth_code`), or why there is none."""
    if args.get("error"):
        raise AccessDenied(f"You cancelled on TikTok, so {cancelled}.", reason=args["error"][:64])
    code = args.get("code") or args.get("auth_code")
    if not code:
        raise ConnectError(f"TikTok did not send an authorization code. Nothing was {nothing}. Please try again.",
                           reason="missing_code")
    return code


def _tiktok_failure(e: tt_errors.TikTokError, *, doing: str, nothing: str) -> ConnectError:
    """What to tell the user when TikTok fails or refuses mid-flow (`nothing`: "connected", "linked")."""
    if isinstance(e, (tt_errors.Unavailable, tt_errors.RateLimited, tt_errors.BadResponse)):
        return TikTokUnavailable(f"TikTok did not answer properly while we finished {doing}. Nothing was "
                                 f"{nothing}. Please try again in a minute.", reason=type(e).__name__)
    return ConnectError(f"TikTok refused to finish {doing} (the authorization may have expired or been used). "
                        f"Nothing was {nothing}. Please start again.", reason=type(e).__name__)


def open_pending(pending: PendingConnect, *, keyring) -> str | None:
    """What a pending transaction carries: the PKCE verifier of a connect (None when it was
    started without PKCE), or the sealed payload of an ads choice."""
    if pending.verifier_sealed is None:
        raise InvalidState("This sign-in is missing what we stored for it. Nothing was connected. "
                           "Please start again from Integrations.", reason="nothing_sealed")
    verifier = _open_sealed_pending(pending.verifier_sealed, provider=pending.provider,
                                    workspace_id=pending.workspace_id, state_hash=pending.state_hash, keyring=keyring)
    return None if verifier == NO_PKCE else verifier


# ------------------------------------------------------------------------- ads link


def finish_ads_link(pending: PendingConnect, args: Mapping[str, str], *, user: User, session_ref: str,
                    client: TikTokClient, keyring, now: datetime) -> AdsAccount | AdsChoice:
    """Exchange the Marketing API auth code. One advertiser: link it. Several: keep the
    token sealed in a "choose advertiser" transaction and return the choice to show."""
    if not access.can_manage(user, pending.workspace_id):
        raise NotAllowed("Only the workspace's admins can link a TikTok Ads account. Nothing was linked.",
                         reason="not_admin")
    code = _code_from(args, cancelled="no ads account was linked", nothing="linked")
    try:
        token = client.ads_exchange(code)
    except tt_errors.TikTokError as e:
        raise _tiktok_failure(e, doing="linking the ads account", nothing="linked") from None
    advertiser_ids = tuple(dict.fromkeys(a for a in token.advertiser_ids if a))
    if not advertiser_ids:
        raise ConnectError("TikTok did not authorize any advertiser account. Nothing was linked. Please start "
                           "again and pick at least one account.", reason="no_advertisers")
    if len(advertiser_ids) == 1:
        return _link_advertiser(pending.workspace_id, advertiser_ids[0], token.access_token, user=user,
                                client=client, keyring=keyring, now=now)
    payload = json.dumps({"token": token.access_token, "advertiser_ids": advertiser_ids})
    reference = store_transaction(user.id, pending.workspace_id, provider=PROVIDER_ADS_CHOICE,
                                  session_ref=session_ref, secret=payload, keyring=keyring, now=now)
    names = _advertiser_names(client, token.access_token)
    return AdsChoice(reference=reference, workspace_id=pending.workspace_id,
                     advertisers=tuple((a, names.get(a, "")) for a in advertiser_ids))


def choose_advertiser(pending: PendingConnect, advertiser_id: str | None, *, user: User, client: TikTokClient,
                      keyring, now: datetime) -> AdsAccount:
    """Link the advertiser the admin chose; it must be one TikTok authorized for this token."""
    if not access.can_manage(user, pending.workspace_id):
        raise NotAllowed("Only the workspace's admins can link a TikTok Ads account. Nothing was linked.",
                         reason="not_admin")
    payload = json.loads(open_pending(pending, keyring=keyring))
    if not advertiser_id or advertiser_id not in payload["advertiser_ids"]:
        raise ConnectError("That advertiser account is not one TikTok authorized. Nothing was linked. "
                           "Please start again from Integrations.", reason="advertiser_not_offered")
    return _link_advertiser(pending.workspace_id, advertiser_id, payload["token"], user=user, client=client,
                            keyring=keyring, now=now)


def _advertiser_names(client: TikTokClient, token: str) -> dict[str, str]:
    """Names for the choose page; the ids alone still work if TikTok can't list them now."""
    try:
        return {a["advertiser_id"]: a["advertiser_name"] for a in client.list_advertisers(token)}
    except tt_errors.TikTokError:
        return {}


def _link_advertiser(workspace_id: int, advertiser_id: str, token: str, *, user: User, client: TikTokClient,
                     keyring, now: datetime) -> AdsAccount:
    """Upsert the workspace's AdsAccount for `advertiser_id` with its sealed token."""
    try:
        info = client.get_advertiser_info(token, advertiser_id)
    except tt_errors.TikTokError as e:
        raise _tiktok_failure(e, doing="linking the ads account", nothing="linked") from None
    account = db.session.scalar(sa.select(AdsAccount).where(AdsAccount.workspace_id == workspace_id,
                                                            AdsAccount.advertiser_id == advertiser_id))
    if account is None:
        account = AdsAccount(workspace_id=workspace_id, advertiser_id=advertiser_id, connected_at=now)
        db.session.add(account)
    account.name = (info.name or account.name or f"Advertiser {advertiser_id}")[:200]
    account.currency = (info.currency or account.currency or "USD").upper()[:3]
    seal_ads_token(account, token, keyring=keyring)
    account.status = STATUS_ACTIVE
    account.disconnected_at = None
    account.last_error = None
    db.session.flush()
    audit.record("ads_link.succeeded", actor_id=user.id, workspace_id=workspace_id, advertiser_id=advertiser_id,
                 ads_account_id=account.id)
    return account


def new_session_ref() -> str:
    return secrets.token_urlsafe(32)


def safe_audit_failure(error: ConnectError | CryptoError, *, user: User | None, workspace_id: int | None,
                       flow: str = "connect") -> None:
    """Record a failed connect (`flow="connect"`) or ads link (`flow="ads_link"`): a reason, never a secret."""
    reason = getattr(error, "reason", type(error).__name__)
    event = getattr(error, "audit_event", "connect.failed").replace("connect.", f"{flow}.", 1)
    audit.record(event, actor_id=user.id if user else None, workspace_id=workspace_id, reason=reason)
    log.info("%s failed reason=%s user=%s", flow, reason, user.id if user else None)

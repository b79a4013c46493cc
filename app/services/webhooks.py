"""TikTok webhook events, after `app.tiktok.webhook` has checked the signature.

`authorization.removed` (the user, TikTok or our own revoke ended the grant; the token
is already dead when it arrives) is applied to every connection with that open_id, in
every workspace:

- already disconnected → only confirms a pending revocation (the sealed token goes);
- reason 5 ("developer revoked", i.e. our own revoke call from *another* workspace's
  disconnect) → that workspace did not ask to leave, so its connection is not
  disconnected and its data not scheduled for deletion: it moves to
  `needs_reconnect` with its dead tokens wiped;
- any other reason (the person removed the app in TikTok, the account was deleted,
  banned, …) → disconnected like a user disconnect, without a revoke call, and its
  purge scheduled after RETENTION_DAYS; `revoked_by_tiktok_at` marks it so the
  refresh-tokens job emails the owner and the client admins once (services/notices.py).

Delivery is at least once: each (event, user_openid, create_time) is processed once.
The key is remembered as a hash in a `WebhookDelivery` row (its own table, unique key)
inserted in the same transaction as the effects, so a duplicate is refused by the
unique constraint even when two deliveries race on different instances, and no
open_id is stored in the clear. Keys are forgotten after TikTok's retry window. Nothing
here calls TikTok, so the endpoint answers fast.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import TikTokConnection, WebhookDelivery
from app.models.connection import STATUS_DISCONNECTED, STATUS_NEEDS_RECONNECT
from app.services import audit
from app.services.disconnect import confirm_revoked_elsewhere, mark_disconnected
from app.services.token_sealing import wipe_tokens
from app.tiktok import errors as tt_errors
from app.tiktok import webhook as tt_webhook
from app.tiktok.types import WebhookEvent

log = logging.getLogger("app.webhooks")

AUTHORIZATION_REMOVED = "authorization.removed"
REASON_DEVELOPER_REVOKED = 5
DEDUP_TTL = timedelta(days=7)  # TikTok retries for up to 72 h


@dataclass
class Outcome:
    status: str  # "processed" | "duplicate" | "ignored"
    effects: dict[str, int] = field(default_factory=dict)


class Rejected(Exception):
    """The request is not a valid TikTok event; `status` is the HTTP answer."""

    def __init__(self, message: str, *, status: int):
        super().__init__(message)
        self.status = status


def receive(raw_body: bytes, signature_header: str | None, *, secret: str, client_key: str, now: datetime,
            retention_days: int) -> Outcome:
    """Authenticate (signature over the raw bytes, freshness, our client_key), then handle.

    Raises `Rejected`: 401 for anything unauthenticated or stale (nothing is parsed),
    400 for a correctly signed body we cannot read, 503 when no secret is configured."""
    try:
        tt_webhook.verify_signature(raw_body, signature_header, secret, now=now.timestamp())
    except tt_errors.ClientConfigError:
        log.error("webhook refused: TIKTOK_CLIENT_SECRET is not configured")
        raise Rejected("webhook secret not configured", status=503) from None
    except tt_errors.InvalidSignature as e:
        log.warning("webhook refused: %s", e.message)
        raise Rejected("invalid signature", status=401) from None
    try:
        event = tt_webhook.parse_event(raw_body, client_key=client_key)
    except tt_errors.InvalidSignature:
        log.warning("webhook refused: signed event for another client_key")
        raise Rejected("wrong client_key", status=401) from None
    except tt_errors.BadResponse as e:
        log.warning("webhook malformed after a valid signature: %s", e.message)
        raise Rejected("malformed event", status=400) from None
    return handle_event(event, now=now, retention_days=retention_days)


def dedup_key(event: WebhookEvent) -> str:
    raw = f"{event.event}\x1f{event.user_openid}\x1f{event.create_time}"
    return hashlib.sha256(raw.encode()).hexdigest()


def handle_event(event: WebhookEvent, *, now: datetime, retention_days: int) -> Outcome:
    if event.event != AUTHORIZATION_REMOVED:
        log.info("webhook ignored event=%s", event.event[:64])
        return Outcome("ignored")
    if not _first_delivery(event, now=now):
        log.info("webhook duplicate event=%s", event.event)
        return Outcome("duplicate")
    effects: dict[str, int] = {}
    conns = db.session.scalars(
        sa.select(TikTokConnection).where(TikTokConnection.open_id == event.user_openid).order_by(TikTokConnection.id)
    ).all()
    for conn in conns:
        effect = _apply_authorization_removed(conn, event, now=now, retention_days=retention_days)
        effects[effect] = effects.get(effect, 0) + 1
        audit.record("webhook.authorization_removed", workspace_id=conn.workspace_id, connection_id=conn.id,
                     reason=event.reason, effect=effect)
    log.info("webhook processed event=%s reason=%s connections=%d", event.event, event.reason, len(conns))
    return Outcome("processed", effects)


def _first_delivery(event: WebhookEvent, *, now: datetime) -> bool:
    try:
        with db.session.begin_nested():
            db.session.add(WebhookDelivery(key=dedup_key(event), received_at=now))
    except IntegrityError:
        return False
    return True


def _apply_authorization_removed(conn: TikTokConnection, event: WebhookEvent, *, now: datetime,
                                 retention_days: int) -> str:
    if conn.status == STATUS_DISCONNECTED:
        confirm_revoked_elsewhere(conn, reason="webhook")
        return "already_disconnected"
    if event.reason == REASON_DEVELOPER_REVOKED:
        wipe_tokens(conn)
        conn.status = STATUS_NEEDS_RECONNECT
        conn.last_error = "TikTok ended this authorization (the account was disconnected elsewhere)."[:500]
        return "needs_reconnect"
    mark_disconnected(conn, now=now, retention_days=retention_days, source="tiktok_webhook")
    conn.revoked_by_tiktok_at = now  # its people are emailed once (notices: revocation_alerts)
    confirm_revoked_elsewhere(conn, reason="webhook")  # the token is already dead: nothing to revoke
    return "disconnected"


def forget_expired_keys(*, now: datetime) -> int:
    """Dedup keys older than TikTok's retry window (called by the purge job)."""
    return db.session.execute(
        sa.delete(WebhookDelivery).where(WebhookDelivery.received_at < now - DEDUP_TTL)
    ).rowcount or 0

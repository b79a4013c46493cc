"""TikTok connections (a TikTok account linked to a workspace), ads accounts, and
pending OAuth transactions.

Token columns hold only sealed envelopes (see app/crypto); only
services/token_sealing.py seals and opens them, and they never appear in reprs.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so

from app.extensions import db
from app.models.base import UTCDateTime, utcnow

STATUS_ACTIVE = "active"
STATUS_NEEDS_RECONNECT = "needs_reconnect"
STATUS_DISCONNECTED = "disconnected"
CONNECTION_STATUSES = (STATUS_ACTIVE, STATUS_NEEDS_RECONNECT, STATUS_DISCONNECTED)


class TikTokConnection(db.Model):
    __tablename__ = "tiktok_connections"
    __data_inventory__ = {
        "what": "The connected TikTok account: its open_id, @handle, display name, avatar link, account type "
                "and the scopes granted; its access and refresh tokens, encrypted (AES-256-GCM).",
        "source_scopes": ["user.info.basic", "user.info.username", "user.account.type"],
        "deleted": "Tokens: revoked at TikTok and wiped at disconnect (kept sealed only until TikTok confirms "
                   "the revocation, for at most {revoke_give_up_days} days). The account record: {retention_days} days after the account is disconnected, or at the next nightly purge when deletion is requested.",
    }

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    workspace_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    owner_user_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    open_id: so.Mapped[str] = so.mapped_column(sa.String(128))
    username: so.Mapped[str] = so.mapped_column(sa.String(64), default="")
    display_name: so.Mapped[str] = so.mapped_column(sa.String(128), default="")
    avatar_url: so.Mapped[str | None] = so.mapped_column(sa.String(1024))
    is_business_account: so.Mapped[bool | None] = so.mapped_column()
    status: so.Mapped[str] = so.mapped_column(sa.String(20), default=STATUS_ACTIVE)
    granted_scopes: so.Mapped[str] = so.mapped_column(sa.Text, default="")  # comma list, as TikTok returned it

    access_token_sealed: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    refresh_token_sealed: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    access_expires_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime, index=True)
    refresh_expires_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    connected_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    token_refreshed_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    sync_requested_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    last_synced_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    next_sync_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime, index=True)
    disconnected_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    purge_after: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime, index=True)
    deletion_requested_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    last_error: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    refresh_failures: so.Mapped[int] = so.mapped_column(default=0)
    reconnect_alerted_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    # Last time the token-check job asked TikTok (token_info) whether the grant is alive.
    token_checked_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    expiry_reminded_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    # TikTok's webhook said the person removed our access (they were emailed once about it).
    revoked_by_tiktok_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    # Revocation TikTok has not confirmed yet: the sealed token is kept only for this.
    revoke_pending: so.Mapped[bool] = so.mapped_column(default=False)
    revoke_attempts: so.Mapped[int] = so.mapped_column(default=0)
    next_revoke_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    # Set when we stopped waiting: TikTok never confirmed within REVOKE_GIVE_UP_DAYS, so the
    # token was wiped anyway (and the purge's receipt says so).
    revoke_unconfirmed_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    __table_args__ = (
        sa.UniqueConstraint("workspace_id", "open_id"),
        sa.CheckConstraint(
            "status IN ('active', 'needs_reconnect', 'disconnected')", name="connection_status"
        ),
    )

    @property
    def scopes(self) -> list[str]:
        return [s for s in self.granted_scopes.split(",") if s]

    @property
    def is_disconnected(self) -> bool:
        return self.status == STATUS_DISCONNECTED

    @property
    def is_syncing(self) -> bool:
        """A sync was asked for and has not completed since."""
        if self.is_disconnected or self.sync_requested_at is None:
            return False
        return self.last_synced_at is None or self.last_synced_at < self.sync_requested_at

    def is_due_for_refresh(self, now: datetime, margin: timedelta = timedelta(hours=2)) -> bool:
        return (
            self.status == STATUS_ACTIVE
            and self.refresh_token_sealed is not None
            and (self.access_expires_at is None or self.access_expires_at <= now + margin)
        )

    def __repr__(self) -> str:  # never the token columns
        return f"<TikTokConnection {self.id} ws={self.workspace_id} @{self.username} {self.status}>"


class AdsAccount(db.Model):
    """A TikTok Ads advertiser linked to a workspace (Marketing API), for Spark Ads figures."""

    __tablename__ = "ads_accounts"
    __data_inventory__ = {
        "what": "A linked TikTok Ads advertiser: its advertiser ID, name, currency and encrypted access token.",
        "source": "marketing",
        "source_scopes": [],
        "deleted": "When the advertiser is unlinked or its workspace is removed; the token is wiped at unlinking.",
    }

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    workspace_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    advertiser_id: so.Mapped[str] = so.mapped_column(sa.String(64))
    name: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    currency: so.Mapped[str] = so.mapped_column(sa.String(3), default="USD")
    access_token_sealed: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    status: so.Mapped[str] = so.mapped_column(sa.String(20), default=STATUS_ACTIVE)
    connected_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    last_synced_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    disconnected_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    last_error: so.Mapped[str | None] = so.mapped_column(sa.String(500))

    __table_args__ = (sa.UniqueConstraint("workspace_id", "advertiser_id"),)

    def __repr__(self) -> str:
        return f"<AdsAccount {self.id} ws={self.workspace_id} {self.advertiser_id}>"


class OAuthTransaction(db.Model):
    """A pending connect (state + PKCE verifier), kept server-side.

    The browser's session only holds `session_ref`'s counterpart; the state is
    stored hashed and the verifier sealed, so neither sits in the database readable.
    Single use (deleted on callback), valid 10 minutes.

    A connect belongs to a signed-in user and a workspace. The public "Verify with
    TikTok" check of a data-deletion request has neither: it belongs to that request
    (and, like every transaction, to the browser session that started it).
    """

    __tablename__ = "oauth_transactions"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    # "tiktok-accounts" | "tiktok-ads" | "tiktok-ads-choice" | "deletion-verify"
    provider: so.Mapped[str] = so.mapped_column(sa.String(32))
    state_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    session_ref_hash: so.Mapped[str] = so.mapped_column(sa.String(64))
    verifier_sealed: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    user_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    workspace_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("workspaces.id", ondelete="CASCADE"))
    deletion_request_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("deletion_requests.id", ondelete="CASCADE"), index=True
    )
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    expires_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, index=True)

    __table_args__ = (
        sa.CheckConstraint(
            "(deletion_request_id IS NULL AND user_id IS NOT NULL AND workspace_id IS NOT NULL)"
            " OR (deletion_request_id IS NOT NULL AND user_id IS NULL AND workspace_id IS NULL)",
            name="transaction_owner",
        ),
    )

    def __repr__(self) -> str:
        return f"<OAuthTransaction {self.id} {self.provider} user={self.user_id}>"

"""Invitations to join a workspace, by email, with a role.

The emailed link carries a random token; only its SHA-256 is stored, so the table alone
opens nothing. An invite is bound to the address it was sent to, works once, and lapses
`expires_at`; resending gives it a new token (the old link stops working) and a new
expiry; revoking ends it.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
import sqlalchemy.orm as so

from app.extensions import db
from app.models.base import UTCDateTime, utcnow

if TYPE_CHECKING:
    from app.models.workspace import Workspace

INVITE_PENDING = "pending"
INVITE_EXPIRED = "expired"
INVITE_ACCEPTED = "accepted"
INVITE_REVOKED = "revoked"


class Invite(db.Model):
    __tablename__ = "invites"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    workspace_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    email: so.Mapped[str] = so.mapped_column(sa.String(254), index=True)  # normalised (accounts.normalise_email)
    # client_admin or creator: a membership on acceptance; agency: agency staff (User.is_agency).
    role: so.Mapped[str] = so.mapped_column(sa.String(20))
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)  # sha256 of the link's token, hex
    invited_by_user_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    sent_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)  # the current token's
    expires_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    accepted_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    accepted_user_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    revoked_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    workspace: so.Mapped[Workspace] = so.relationship()

    __table_args__ = (sa.CheckConstraint("role IN ('agency', 'client_admin', 'creator')", name="invite_role"),)

    def status(self, now: datetime) -> str:
        if self.accepted_at is not None:
            return INVITE_ACCEPTED
        if self.revoked_at is not None:
            return INVITE_REVOKED
        if self.expires_at <= now:
            return INVITE_EXPIRED
        return INVITE_PENDING

    def __repr__(self) -> str:  # never the token hash
        return f"<Invite {self.id} workspace={self.workspace_id} role={self.role}>"

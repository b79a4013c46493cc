"""Password reset links.

A link carries a random token; only its SHA-256 is stored, so the table holds nothing
that opens an account. A link works once (`used_at`) and until `expires_at` (an hour
after it was sent). Rows stay a while after they expire, so an old link is answered
"expired" or "already used" rather than "unknown"; requesting a new link clears the
long-dead ones.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from app.extensions import db
from app.models.base import UTCDateTime, utcnow


class PasswordReset(db.Model):
    __tablename__ = "password_resets"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)  # sha256(token), hex
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    expires_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, index=True)
    used_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<PasswordReset {self.id} user={self.user_id} used={self.used_at is not None}>"

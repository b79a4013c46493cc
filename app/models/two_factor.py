"""Two-factor sign-in: recovery codes and half-finished sign-ins.

Neither table holds anything usable on its own: recovery codes are stored as salted
SHA-256 digests, and a sign-in challenge only as the digest of the random reference
the browser's session carries.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from app.extensions import db
from app.models.base import UTCDateTime, utcnow

CHALLENGE_VERIFY = "verify"  # the user has two-factor on: ask for a code
CHALLENGE_SETUP = "setup"  # a workspace requires it and the user has none: set it up first


class RecoveryCode(db.Model):
    """One of a user's ten single-use recovery codes (shown once, when made)."""

    __tablename__ = "recovery_codes"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    salt: so.Mapped[str] = so.mapped_column(sa.String(32))
    code_hash: so.Mapped[str] = so.mapped_column(sa.String(64))  # sha256(salt + code), hex
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    used_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<RecoveryCode {self.id} user={self.user_id} used={self.used_at is not None}>"


class SignInChallenge(db.Model):
    """A sign-in whose password step passed and whose second step has not.

    The session cookie holds a random reference; only its SHA-256 is stored. Nothing
    is signed in until the second step passes; the row is deleted then, and is
    worthless after `expires_at`."""

    __tablename__ = "sign_in_challenges"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: so.Mapped[str] = so.mapped_column(sa.String(16))  # CHALLENGE_VERIFY | CHALLENGE_SETUP
    next_url: so.Mapped[str | None] = so.mapped_column(sa.String(2048))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    expires_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, index=True)

    def __repr__(self) -> str:
        return f"<SignInChallenge {self.id} user={self.user_id} {self.purpose}>"

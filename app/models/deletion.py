"""Public data-deletion requests and the anonymous receipts purges leave behind."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from app.extensions import db
from app.models.base import UTCDateTime, utcnow

REQUEST_RECEIVED = "received"
REQUEST_VERIFIED = "verified"
REQUEST_COMPLETED = "completed"


class DeletionRequest(db.Model):
    __tablename__ = "deletion_requests"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    reference: so.Mapped[str] = so.mapped_column(sa.String(32), unique=True)
    handle: so.Mapped[str] = so.mapped_column(sa.String(64), index=True)
    email: so.Mapped[str] = so.mapped_column(sa.String(254))
    status: so.Mapped[str] = so.mapped_column(sa.String(12), default=REQUEST_RECEIVED)
    verify_token_hash: so.Mapped[str | None] = so.mapped_column(sa.String(64), unique=True)
    verify_expires_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    verified_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    completed_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    __table_args__ = (
        sa.CheckConstraint("status IN ('received', 'verified', 'completed')", name="request_status"),
    )


class DeletionReceipt(db.Model):
    """What remains after a purge: a reference, counts and a time — nothing that identifies anyone."""

    __tablename__ = "deletion_receipts"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    reference: so.Mapped[str] = so.mapped_column(sa.String(32), unique=True)
    counts: so.Mapped[dict[str, Any]] = so.mapped_column(sa.JSON, default=dict)
    completed_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

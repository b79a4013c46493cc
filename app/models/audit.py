"""Audit trail of token and data events (never secrets)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from app.extensions import db
from app.models.base import UTCDateTime, utcnow


class AuditEvent(db.Model):
    __tablename__ = "audit_events"
    __data_inventory__ = {
        "what": "Audit trail of connects, token refreshes, disconnects and deletions: event, time, who acted "
                "and which account. Never tokens.",
        "source_scopes": ["user.info.basic"],
        "deleted": "References to an account are removed with its data: {retention_days} days after the account is disconnected, or at the next nightly purge when deletion is requested.",
    }

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow, index=True)
    event: so.Mapped[str] = so.mapped_column(sa.String(64))
    actor_user_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    workspace_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    # The audit reference to a connection: removed with the connection's data at purge.
    connection_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("tiktok_connections.id", ondelete="SET NULL"), index=True
    )
    detail: so.Mapped[dict[str, Any]] = so.mapped_column(sa.JSON, default=dict)
    ip: so.Mapped[str | None] = so.mapped_column(sa.String(64))

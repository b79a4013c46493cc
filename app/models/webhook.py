"""TikTok webhook deliveries already handled (de-duplication across instances)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from app.extensions import db
from app.models.base import UTCDateTime, utcnow


class WebhookDelivery(db.Model):
    """One row per webhook event applied: a SHA-256 digest of (event, user_openid,
    create_time), never the open_id itself. Inserted in the same transaction as the
    event's effects, so the unique key refuses a second delivery even when two race on
    different instances. Forgotten after TikTok's retry window (app/services/webhooks.py)."""

    __tablename__ = "webhook_deliveries"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    key: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    received_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow, index=True)

"""Dashboard panels rendered when an account's data changed, shared by every app instance."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from app.extensions import db
from app.models.base import UTCDateTime, utcnow


class DashboardPanel(db.Model):
    """One account's rendered dashboard panel (KPI tiles, charts, first page of posts) for
    one period, as the sync rendered it right after storing the account's new figures.

    `key` is a digest of everything the panel shows besides stored data that changes
    only with a sync (app/services/dashboard_panels.panel_key): the account's data version,
    the workspace's timezone and cadence target, the local date and the period. A view
    whose key matches is served from here instead of being computed again; any other
    view is computed as before. Rows are replaced at every sync of the account."""

    __tablename__ = "dashboard_panels"
    __data_inventory__ = {
        "what": "The performance dashboard's account panel as rendered after each sync (the same figures, "
                "captions and links the dashboard shows), kept so the first view after a sync is fast.",
        "source_scopes": ["user.info.stats", "user.insights", "video.list", "video.insights"],
        "deleted": "Replaced at every sync; deleted with the account's data: {retention_days} days after the "
                   "account is disconnected, or at the next nightly purge when deletion is requested.",
    }

    connection_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("tiktok_connections.id", ondelete="CASCADE"), primary_key=True
    )
    key: so.Mapped[str] = so.mapped_column(sa.String(64), primary_key=True)
    html: so.Mapped[str] = so.mapped_column(sa.Text)
    rendered_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

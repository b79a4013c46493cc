"""Who receives a workspace's weekly report beyond its members, who asked not to, and
the workspace's report settings (approval before sending)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from app.extensions import db
from app.models.base import UTCDateTime, utcnow

DEFAULT_APPROVAL_HOURS = 48


class ReportSettings(db.Model):
    """One row per workspace that changed a setting; a workspace without one uses the defaults."""

    __tablename__ = "report_settings"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    workspace_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("workspaces.id", ondelete="CASCADE"), unique=True)
    # Monday's report waits for an agency user's "Approve and send"; unsent after the window.
    approval_required: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())
    approval_window_hours: so.Mapped[int] = so.mapped_column(default=DEFAULT_APPROVAL_HOURS,
                                                             server_default=str(DEFAULT_APPROVAL_HOURS))
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        sa.CheckConstraint("approval_window_hours >= 1 AND approval_window_hours <= 336", name="approval_window"),
    )


class ReportAgencyRecipient(db.Model):
    """An agency staff member who asked for a workspace's weekly report."""

    __tablename__ = "report_agency_recipients"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    workspace_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (sa.UniqueConstraint("workspace_id", "user_id"),)


class ReportExternalRecipient(db.Model):
    """An address outside Logic Target that a workspace's admin added (normalised, lower case)."""

    __tablename__ = "report_external_recipients"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    workspace_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    email: so.Mapped[str] = so.mapped_column(sa.String(254))
    added_by_user_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (sa.UniqueConstraint("workspace_id", "email"),)


class ReportUnsubscribe(db.Model):
    """An address that unsubscribed from one workspace's reports (lower case)."""

    __tablename__ = "report_unsubscribes"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    workspace_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    email: so.Mapped[str] = so.mapped_column(sa.String(254))
    unsubscribed_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (sa.UniqueConstraint("workspace_id", "email"),)

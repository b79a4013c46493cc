"""Who receives a workspace's reports beyond its members, who asked not to, and the
workspace's report settings (cadence, delivery day and hour, creator cut, approval)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from app.extensions import db
from app.models.base import UTCDateTime, utcnow

DEFAULT_APPROVAL_HOURS = 48
CADENCE_WEEKLY, CADENCE_MONTHLY, CADENCE_BOTH = "weekly", "monthly", "both"
DEFAULT_DELIVERY_WEEKDAY = 0  # Monday (Python's weekday numbering)
DEFAULT_DELIVERY_HOUR = 9  # 09:00 in the workspace's timezone


class ReportSettings(db.Model):
    """One row per workspace that changed a setting; a workspace without one uses the defaults."""

    __tablename__ = "report_settings"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    workspace_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("workspaces.id", ondelete="CASCADE"), unique=True)
    # Monday's report waits for an agency user's "Approve and send"; unsent after the window.
    approval_required: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())
    approval_window_hours: so.Mapped[int] = so.mapped_column(default=DEFAULT_APPROVAL_HOURS,
                                                             server_default=str(DEFAULT_APPROVAL_HOURS))
    # Which reports: weekly, monthly or both.
    cadence: so.Mapped[str] = so.mapped_column(sa.String(8), default=CADENCE_WEEKLY, server_default=CADENCE_WEEKLY)
    # When, in the workspace's timezone: a week's report on the first such weekday after
    # it ends, a month's on the 1st of the next month, at this hour (services/report_periods.py).
    delivery_weekday: so.Mapped[int] = so.mapped_column(default=DEFAULT_DELIVERY_WEEKDAY,
                                                        server_default=str(DEFAULT_DELIVERY_WEEKDAY))
    delivery_hour: so.Mapped[int] = so.mapped_column(default=DEFAULT_DELIVERY_HOUR,
                                                     server_default=str(DEFAULT_DELIVERY_HOUR))
    # Creators get (and see) a report of their own accounts only, instead of the whole workspace's.
    creator_cut: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        sa.CheckConstraint("approval_window_hours >= 1 AND approval_window_hours <= 336", name="approval_window"),
        sa.CheckConstraint("cadence IN ('weekly', 'monthly', 'both')", name="cadence"),
        sa.CheckConstraint("delivery_weekday >= 0 AND delivery_weekday <= 6", name="delivery_weekday"),
        sa.CheckConstraint("delivery_hour >= 0 AND delivery_hour <= 23", name="delivery_hour"),
    )

    @property
    def kinds(self) -> tuple[str, ...]:
        """The report kinds this workspace gets ("weekly", "monthly")."""
        return {CADENCE_WEEKLY: ("weekly",), CADENCE_MONTHLY: ("monthly",)}.get(self.cadence, ("weekly", "monthly"))


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

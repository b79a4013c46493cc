"""Reports (one per workspace and period: an ISO week or a calendar month) and their
deliveries (one row per report and recipient)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from app.extensions import db
from app.models.base import UTCDateTime, utcnow

DELIVERY_PENDING = "pending"
DELIVERY_SENDING = "sending"
DELIVERY_SENT = "sent"
DELIVERY_FAILED = "failed"

# Approval before sending (a workspace setting): a report held for review waits until an
# agency user approves it, or expires unsent. None: not held (sent without review).
APPROVAL_WAITING = "waiting"
APPROVAL_APPROVED = "approved"
APPROVAL_EXPIRED = "expired"

KIND_WEEKLY = "weekly"
KIND_MONTHLY = "monthly"


class Report(db.Model):
    __tablename__ = "reports"
    __data_inventory__ = {
        "what": "Weekly and monthly reports per workspace: aggregate figures (followers, views, posts, engagement, "
                "Spark Ads totals, top 3 posts), for the whole workspace and for each account owner's own "
                "accounts (a creator's cut). No comment text, no data about viewers.",
        "source_scopes": ["video.list", "video.insights", "user.info.stats", "user.insights"],
        "deleted": "A purged account's part of stored reports goes with its data: {retention_days} days after the account is disconnected, or at the next nightly purge when deletion is requested.",
    }

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    workspace_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("workspaces.id", ondelete="CASCADE"))
    kind: so.Mapped[str] = so.mapped_column(sa.String(8), default=KIND_WEEKLY, server_default=KIND_WEEKLY)
    period_key: so.Mapped[str] = so.mapped_column(sa.String(8))  # "2026-W21" (a week) or "2026-05" (a month)
    period_start: so.Mapped[date] = so.mapped_column(sa.Date)
    period_end: so.Mapped[date] = so.mapped_column(sa.Date)
    figures: so.Mapped[dict[str, Any]] = so.mapped_column(sa.JSON, default=dict)
    generated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    approval_status: so.Mapped[str | None] = so.mapped_column(sa.String(12))
    approval_expires_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    approved_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    approved_by_user_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    client_note: so.Mapped[str | None] = so.mapped_column(sa.String(500))  # the approver's note, atop the report
    # When the schedule queued (or held for approval) this report's emails: the schedule
    # does each (workspace, period) once; a report built from its page has none yet.
    queued_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    # The names from when every report was weekly; queries and constructors still accept them.
    iso_week = so.synonym("period_key")
    week_start = so.synonym("period_start")
    week_end = so.synonym("period_end")

    deliveries: so.Mapped[list[ReportDelivery]] = so.relationship(
        back_populates="report", cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (
        sa.UniqueConstraint("workspace_id", "period_key"),
        sa.CheckConstraint("kind IN ('weekly', 'monthly')", name="report_kind"),
        sa.CheckConstraint("approval_status IN ('waiting', 'approved', 'expired')", name="approval_status"),
    )


class ReportConnection(db.Model):
    """Which connections a report's figures drew on: the connection's share of a
    stored report, removed when that connection's data is purged."""

    __tablename__ = "report_connections"
    __data_inventory__ = {
        "what": "Which connected accounts each report drew on.",
        "source_scopes": ["user.info.basic"],
        "deleted": "With the account's data: {retention_days} days after the account is disconnected, or at the next nightly purge when deletion is requested.",
    }

    report_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True
    )
    connection_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("tiktok_connections.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class ReportDelivery(db.Model):
    __tablename__ = "report_deliveries"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    report_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("reports.id", ondelete="CASCADE"))
    recipient_email: so.Mapped[str] = so.mapped_column(sa.String(254))
    recipient_user_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    status: so.Mapped[str] = so.mapped_column(sa.String(12), default=DELIVERY_PENDING)
    attempts: so.Mapped[int] = so.mapped_column(default=0)
    next_attempt_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime, index=True)
    claimed_until: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    message_id: so.Mapped[str | None] = so.mapped_column(sa.String(255))
    last_error: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    sent_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    report: so.Mapped[Report] = so.relationship(back_populates="deliveries")

    __table_args__ = (
        sa.UniqueConstraint("report_id", "recipient_email"),
        sa.CheckConstraint("status IN ('pending', 'sending', 'sent', 'failed')", name="delivery_status"),
    )

"""A workspace's brand on its reports: logo, accent colour, the sender's display name and
reply-to address, and whether report emails carry the PDF."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from app.extensions import db
from app.models.base import UTCDateTime, utcnow


class WorkspaceBrand(db.Model):
    """One row per workspace that set anything; a workspace without one uses the defaults.

    The logo's bytes live in the database, not on disk: every instance behind a load
    balancer serves and mails the same logo without a shared folder, and it goes with
    the workspace's other data in backups."""

    __tablename__ = "workspace_brands"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    workspace_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("workspaces.id", ondelete="CASCADE"), unique=True)
    logo: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary, deferred=True)
    logo_type: so.Mapped[str | None] = so.mapped_column(sa.String(20))  # image/png or image/jpeg, from magic bytes
    logo_width: so.Mapped[int | None] = so.mapped_column()
    logo_height: so.Mapped[int | None] = so.mapped_column()
    logo_sha256: so.Mapped[str | None] = so.mapped_column(sa.String(64))  # versions the logo's URL
    accent_color: so.Mapped[str | None] = so.mapped_column(sa.String(7))  # "#rrggbb", lower case
    sender_name: so.Mapped[str | None] = so.mapped_column(sa.String(80))
    reply_to: so.Mapped[str | None] = so.mapped_column(sa.String(254))
    attach_pdf: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        sa.CheckConstraint("logo_type IS NULL OR logo_type IN ('image/png', 'image/jpeg')", name="logo_type"),
    )

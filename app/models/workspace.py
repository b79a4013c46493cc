"""Workspaces (one client of the agency) and who belongs to them."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
import sqlalchemy.orm as so

from app.extensions import db
from app.models.base import UTCDateTime, utcnow

if TYPE_CHECKING:
    from app.models.user import User

ROLE_CLIENT_ADMIN = "client_admin"
ROLE_CREATOR = "creator"
ROLE_AGENCY = "agency"  # agency staff: a property of the user (User.is_agency), valid everywhere
MEMBER_ROLES = (ROLE_CLIENT_ADMIN, ROLE_CREATOR)
ALL_ROLES = (ROLE_AGENCY, ROLE_CLIENT_ADMIN, ROLE_CREATOR)


class Workspace(db.Model):
    __tablename__ = "workspaces"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(120), unique=True)
    timezone: so.Mapped[str] = so.mapped_column(sa.String(64), default="UTC")
    cadence_target: so.Mapped[int] = so.mapped_column(default=3)  # posts per week
    # Members (and agency staff) must sign in with a second factor; set by the workspace's admins.
    require_two_factor: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    memberships: so.Mapped[list[Membership]] = so.relationship(
        back_populates="workspace", cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (sa.CheckConstraint("cadence_target >= 0 AND cadence_target <= 100", name="cadence_range"),)

    def __repr__(self) -> str:
        return f"<Workspace {self.id} {self.name!r}>"


class Membership(db.Model):
    __tablename__ = "memberships"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    workspace_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    role: so.Mapped[str] = so.mapped_column(sa.String(20))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    user: so.Mapped[User] = so.relationship(back_populates="memberships")
    workspace: so.Mapped[Workspace] = so.relationship(back_populates="memberships")

    __table_args__ = (
        sa.UniqueConstraint("user_id", "workspace_id"),
        sa.CheckConstraint("role IN ('client_admin', 'creator')", name="member_role"),
    )

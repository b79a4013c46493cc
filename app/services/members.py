"""A workspace's members: list them, change a role, remove one.

A workspace that has client admins always keeps at least one: the last one can be
neither removed nor made a creator (`LastAdminError`). The check locks the workspace's
row first (PostgreSQL), so two admins demoting each other at once cannot both pass.
Removing a member ends every session of theirs at once (accounts.remove_member).
Nothing here commits: the request owns the transaction.
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlalchemy.orm as so

from app.extensions import db
from app.models import Membership, User, Workspace
from app.models.workspace import MEMBER_ROLES, ROLE_CLIENT_ADMIN
from app.services import accounts, audit

LAST_ADMIN = ("{email} is the last client admin of {workspace}. Make someone else a client admin first, "
              "then try again.")


class LastAdminError(Exception):
    def __init__(self, membership: Membership):
        self.message = LAST_ADMIN.format(email=membership.user.email, workspace=membership.workspace.name)
        super().__init__(self.message)


class MemberError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def list_members(workspace: Workspace) -> list[Membership]:
    """Client admins first, then creators; by email. Users loaded in the same query."""
    admins_first = sa.case((Membership.role == ROLE_CLIENT_ADMIN, 0), else_=1)
    return list(db.session.scalars(
        sa.select(Membership).join(User, User.id == Membership.user_id)
        .where(Membership.workspace_id == workspace.id)
        .options(so.contains_eager(Membership.user))
        .order_by(admins_first, User.email)))


def _keep_one_admin(membership: Membership) -> None:
    if membership.role != ROLE_CLIENT_ADMIN:
        return
    # Lock the workspace row: concurrent demotions in one workspace take turns.
    db.session.execute(sa.select(Workspace.id).where(Workspace.id == membership.workspace_id).with_for_update())
    admins = db.session.scalar(sa.select(sa.func.count(Membership.id)).where(
        Membership.workspace_id == membership.workspace_id, Membership.role == ROLE_CLIENT_ADMIN))
    if admins <= 1:
        raise LastAdminError(membership)


def change_role(membership: Membership, role: str, *, actor: User, ip: str | None = None) -> bool:
    """Set the member's role; False when it already was that role."""
    if role not in MEMBER_ROLES:
        raise MemberError("Choose client admin or creator.")
    if membership.role == role:
        return False
    _keep_one_admin(membership)
    before, membership.role = membership.role, role
    db.session.flush()
    audit.record("member.role_changed", actor_id=actor.id, workspace_id=membership.workspace_id, ip=ip,
                 member_id=membership.user_id, email=membership.user.email, before=before, after=role)
    return True


def remove(membership: Membership, *, actor: User, ip: str | None = None) -> None:
    """Take the member out of the workspace; their sessions end at once."""
    _keep_one_admin(membership)
    user, workspace = membership.user, membership.workspace
    audit.record("member.removed", actor_id=actor.id, workspace_id=workspace.id, ip=ip, member_id=user.id,
                 email=user.email, role=membership.role)
    accounts.remove_member(user, workspace)
    db.session.expire(workspace, ["memberships"])

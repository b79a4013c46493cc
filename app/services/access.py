"""Who may see and do what: the ONE place that scopes queries to a user's workspaces.

Every workspace-owned lookup goes through these functions, so "another workspace's id
gives 404" is one code path. Outsiders always get 404 (never 403), so ids cannot be
probed; insiders whose role is too small for an action get 403.
"""
from __future__ import annotations

import sqlalchemy as sa
from werkzeug.exceptions import Forbidden, NotFound

from app.extensions import db
from app.models import AdsAccount, Membership, TikTokConnection, User, Workspace
from app.models.connection import STATUS_DISCONNECTED
from app.models.ids import is_storable_id
from app.models.workspace import ROLE_AGENCY, ROLE_CLIENT_ADMIN, ROLE_CREATOR


def workspaces_query(user: User) -> sa.Select:
    """The workspaces `user` belongs to (all of them for agency staff), by name."""
    q = sa.select(Workspace).order_by(Workspace.name)
    if not user.is_agency:
        q = q.join(Membership, Membership.workspace_id == Workspace.id).where(Membership.user_id == user.id)
    return q


def _request_memo() -> dict | None:
    """A per-request memo (the shell, the route and the templates all ask the same
    questions); None outside a request, e.g. in jobs."""
    from flask import g, has_request_context

    if not has_request_context():
        return None
    if "access_memo" not in g:
        g.access_memo = {}
    return g.access_memo


def visible_workspaces(user: User) -> list[Workspace]:
    memo = _request_memo()
    key = ("workspaces", user.id)
    if memo is not None and key in memo:
        return memo[key]
    found = list(db.session.scalars(workspaces_query(user)))
    if memo is not None:
        memo[key] = found
    return found


def role_in(user: User, workspace_id: int) -> str | None:
    if user.is_agency:
        return ROLE_AGENCY
    memo = _request_memo()
    key = ("role", user.id, workspace_id)
    if memo is not None and key in memo:
        return memo[key]
    role = db.session.scalar(
        sa.select(Membership.role).where(Membership.user_id == user.id, Membership.workspace_id == workspace_id)
    )
    if memo is not None:
        memo[key] = role
    return role


def workspace_or_404(user: User, workspace_id: int | None) -> Workspace:
    # An id the column cannot hold is "not found" without asking the database (PostgreSQL
    # would raise on the literal).
    ws = db.session.get(Workspace, workspace_id) if is_storable_id(workspace_id) else None
    if ws is None or role_in(user, ws.id) is None:
        raise NotFound()
    return ws


def can_manage(user: User, workspace_id: int) -> bool:
    """Agency staff and the workspace's client admins manage every account of it."""
    return role_in(user, workspace_id) in (ROLE_AGENCY, ROLE_CLIENT_ADMIN)


def require_manager(user: User, workspace_id: int) -> None:
    if not can_manage(user, workspace_id):
        raise Forbidden("Only the workspace's admins can do that.")


def for_workspace(query: sa.Select, workspace: Workspace, user: User) -> sa.Select:
    """Scope a TikTokConnection query to `workspace`, and to a creator's own connections."""
    query = query.where(TikTokConnection.workspace_id == workspace.id)
    if role_in(user, workspace.id) == ROLE_CREATOR:
        query = query.where(TikTokConnection.owner_user_id == user.id)
    return query


def visible_connections(user: User, workspace: Workspace) -> list[TikTokConnection]:
    q = for_workspace(sa.select(TikTokConnection), workspace, user).order_by(
        TikTokConnection.connected_at, TikTokConnection.id
    )
    return list(db.session.scalars(q))


def connection_or_404(user: User, connection_id: int) -> TikTokConnection:
    """A connection the user may see, or 404 — whether it exists elsewhere or not."""
    conn = db.session.get(TikTokConnection, connection_id) if is_storable_id(connection_id) else None
    if conn is None:
        raise NotFound()
    role = role_in(user, conn.workspace_id)
    if role is None or (role == ROLE_CREATOR and conn.owner_user_id != user.id):
        raise NotFound()
    return conn


def visible_ads_accounts(user: User, workspace: Workspace) -> list[AdsAccount]:
    """The workspace's linked TikTok Ads advertisers, for its admins only (they link them and
    manage ad spend; creators see Spark Ads figures on the dashboard, not the accounts)."""
    if not can_manage(user, workspace.id):
        return []
    q = sa.select(AdsAccount).where(AdsAccount.workspace_id == workspace.id,
                                    AdsAccount.status != STATUS_DISCONNECTED)
    return list(db.session.scalars(q.order_by(AdsAccount.connected_at, AdsAccount.id)))

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


# Every page asks these questions, so their statements are built once: SQLAlchemy then
# neither rebuilds the expression nor recomputes its cache key per request.
_ALL_WORKSPACES = sa.select(Workspace).order_by(Workspace.name)
_MEMBER_WORKSPACES = (
    sa.select(Workspace, Membership.role)
    .join(Membership, Membership.workspace_id == Workspace.id)
    .where(Membership.user_id == sa.bindparam("user_id"))
    .order_by(Workspace.name)
)
_ROLE = sa.select(Membership.role).where(Membership.user_id == sa.bindparam("user_id"),
                                         Membership.workspace_id == sa.bindparam("workspace_id"))


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
    if user.is_agency:
        found = list(db.session.scalars(_ALL_WORKSPACES))
    else:
        # The member's role comes in the same query, so role_in() asks nothing more.
        rows = db.session.execute(_MEMBER_WORKSPACES, {"user_id": user.id}).all()
        found = [ws for ws, _ in rows]
        if memo is not None:
            memo.update({("role", user.id, ws.id): role for ws, role in rows})
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
    role = db.session.scalar(_ROLE, {"user_id": user.id, "workspace_id": workspace_id})
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


# The account switcher's list, scoped as for_workspace scopes (a creator: their own
# accounts) and built once: every dashboard view asks it.
_CONNECTION_NAMES = (sa.select(TikTokConnection.id, TikTokConnection.username, TikTokConnection.status)
                     .where(TikTokConnection.workspace_id == sa.bindparam("workspace_id"))
                     .order_by(TikTokConnection.connected_at, TikTokConnection.id))
_OWN_CONNECTION_NAMES = _CONNECTION_NAMES.where(TikTokConnection.owner_user_id == sa.bindparam("owner_id"))


def visible_connection_names(user: User, workspace: Workspace) -> list[sa.Row]:
    """(id, username, status) of the connections `user` may see in `workspace`, in
    visible_connections' order."""
    if role_in(user, workspace.id) == ROLE_CREATOR:
        return db.session.execute(_OWN_CONNECTION_NAMES, {"workspace_id": workspace.id, "owner_id": user.id}).all()
    return db.session.execute(_CONNECTION_NAMES, {"workspace_id": workspace.id}).all()


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


# ------------------------------------------------------------ public data-deletion requests
# A confirmed request belongs to the workspaces of the connected accounts it names
# (DeletionRequestMatch). Agency staff see every confirmed request, including those that
# name nothing connected; a workspace's client admins see those naming its accounts, and
# only those accounts; creators see none. Only agency staff decide (deletion_requests.py).

def visible_deletion_requests(user: User, workspace: Workspace) -> list:
    """The requests the queue page lists for `workspace` (its managers only): open ones
    first, oldest confirmation first, then the 100 most recent decisions."""
    from app.models import DeletionRequest, DeletionRequestMatch
    from app.models.deletion import REQUEST_IN_REVIEW, REQUEST_RECEIVED

    if not can_manage(user, workspace.id):
        return []
    q = sa.select(DeletionRequest).where(DeletionRequest.status != REQUEST_RECEIVED)
    if not user.is_agency:
        q = q.where(DeletionRequest.id.in_(
            sa.select(DeletionRequestMatch.request_id)
            .join(TikTokConnection, TikTokConnection.id == DeletionRequestMatch.connection_id)
            .where(TikTokConnection.workspace_id == workspace.id)))
    is_open = DeletionRequest.status == REQUEST_IN_REVIEW
    open_ = db.session.scalars(q.where(is_open).order_by(DeletionRequest.verified_at, DeletionRequest.id)).all()
    decided = db.session.scalars(q.where(~is_open).order_by(DeletionRequest.decided_at.desc(),
                                                            DeletionRequest.id.desc()).limit(100)).all()
    return list(open_) + list(decided)


def deletion_request_or_404(user: User, request_id: int):
    """A confirmed request the user may see (agency staff; members of a workspace whose
    account it names), or 404 — whether it exists or not."""
    from app.models import DeletionRequest, DeletionRequestMatch
    from app.models.deletion import REQUEST_RECEIVED

    req = db.session.get(DeletionRequest, request_id) if is_storable_id(request_id) else None
    if req is None or req.status == REQUEST_RECEIVED:
        raise NotFound()
    if user.is_agency:
        return req
    workspace_ids = db.session.scalars(
        sa.select(TikTokConnection.workspace_id).join(
            DeletionRequestMatch, DeletionRequestMatch.connection_id == TikTokConnection.id)
        .where(DeletionRequestMatch.request_id == req.id)).all()
    if not any(role_in(user, ws_id) is not None for ws_id in set(workspace_ids)):
        raise NotFound()
    return req


def visible_request_accounts(user: User, req) -> list[TikTokConnection]:
    """The connected accounts `req` names that `user` manages (all of them for agency staff)."""
    from app.models import DeletionRequestMatch

    conns = db.session.scalars(
        sa.select(TikTokConnection)
        .join(DeletionRequestMatch, DeletionRequestMatch.connection_id == TikTokConnection.id)
        .where(DeletionRequestMatch.request_id == req.id).order_by(TikTokConnection.id)).all()
    return [c for c in conns if user.is_agency or can_manage(user, c.workspace_id)]


# ------------------------------------------------------------ members and invites

def membership_or_404(user: User, membership_id: int) -> Membership:
    """A membership of a workspace `user` manages: 404 for outsiders (whether it exists or
    not), 403 for the workspace's creators."""
    m = db.session.get(Membership, membership_id) if is_storable_id(membership_id) else None
    if m is None or role_in(user, m.workspace_id) is None:
        raise NotFound()
    require_manager(user, m.workspace_id)
    return m


def invite_or_404(user: User, invite_id: int):
    """An invite of a workspace `user` manages: 404 for outsiders, 403 for creators."""
    from app.models import Invite

    inv = db.session.get(Invite, invite_id) if is_storable_id(invite_id) else None
    if inv is None or role_in(user, inv.workspace_id) is None:
        raise NotFound()
    require_manager(user, inv.workspace_id)
    return inv

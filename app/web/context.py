"""Per-request context for templates: the current workspace and the switcher."""
from __future__ import annotations

from flask import Flask, request, session
from flask_login import current_user
from werkzeug.exceptions import NotFound

from app.models import Workspace
from app.services import access
from app.web.ids import optional_id


def current_workspace() -> Workspace | None:
    """The workspace this request is about.

    `?workspace=<id>` picks one (404 if the user is not a member); otherwise the one
    chosen last in this session, else the user's first. Never read from HX-* headers.
    """
    # Cached on the request, not on `g`: an app context may outlive one request (tests).
    cache = request.environ
    if "lt.workspace" in cache:
        return cache["lt.workspace"]
    ws = None
    if current_user.is_authenticated:
        if "workspace" in request.args:
            ws = access.workspace_or_404(current_user, optional_id(request.args, "workspace"))
            session["workspace_id"] = ws.id
        else:
            remembered = session.get("workspace_id")
            if isinstance(remembered, int) and access.role_in(current_user, remembered) is not None:
                from app.extensions import db

                ws = db.session.get(Workspace, remembered)
            if ws is None:
                ws = next(iter(access.visible_workspaces(current_user)), None)
    cache["lt.workspace"] = ws
    return ws


def use_workspace(ws: Workspace) -> Workspace:
    """Make `ws` this request's (and the session's) workspace; the caller has checked access."""
    session["workspace_id"] = ws.id
    request.environ["lt.workspace"] = ws
    return ws


def init_app(app: Flask) -> None:
    from app.web import filters

    filters.init_app(app)

    @app.context_processor
    def _shell_context():
        if not current_user.is_authenticated:
            return {"current_workspace": None, "workspaces": [], "current_role": None}
        try:
            ws = current_workspace()
        except NotFound:  # rendering the 404 page for that very workspace id
            ws = None
        return {
            "current_workspace": ws,
            "workspaces": access.visible_workspaces(current_user),
            "current_role": access.role_in(current_user, ws.id) if ws else None,
        }

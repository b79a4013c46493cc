"""Per-request context for templates: the current workspace and the switcher.

The switcher is offered only on pages marked `@workspace_scoped`: its links keep the
page's own path arguments (e.g. the week of /reports/<week>) and change only
`?workspace=`. Public pages, actions and error pages have no switcher.
"""
from __future__ import annotations

from typing import Callable, TypeVar

from flask import Flask, current_app, has_request_context, request, session, url_for
from flask_login import current_user
from werkzeug.exceptions import NotFound
from werkzeug.routing import BuildError

from app.models import Workspace
from app.services import access
from app.web.ids import optional_id

F = TypeVar("F", bound=Callable)


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


def workspace_scoped(view: F | None = None, *, switch_to: str | None = None):
    """Mark a page that shows the current workspace, so the header offers switching.

    `@workspace_scoped`: the switcher opens this same page (same path arguments) in the
    other workspace. `@workspace_scoped(switch_to="performance.dashboard")`: it opens
    that page instead (for URLs whose other arguments belong to one workspace)."""

    def mark(fn: F) -> F:
        fn.workspace_switch_to = switch_to or ""  # type: ignore[attr-defined]
        return fn

    return mark(view) if view is not None else mark


def switch_links(workspaces: list[Workspace]) -> list[tuple[Workspace, str]]:
    """(workspace, URL of this page in it) for the switcher; empty where switching is
    not offered (unmarked pages, routing errors, a single workspace)."""
    endpoint = request.endpoint
    if len(workspaces) < 2 or not endpoint or request.routing_exception is not None:
        return []
    target = getattr(current_app.view_functions.get(endpoint), "workspace_switch_to", None)
    if target is None:
        return []
    args = dict(request.view_args or {}) if not target else {}
    try:
        return [(ws, url_for(target or endpoint, **args, workspace=ws.id)) for ws in workspaces]
    except BuildError:  # never let the header take a page down
        return []


def init_app(app: Flask) -> None:
    from app.web import filters

    filters.init_app(app)

    @app.context_processor
    def _shell_context():
        # Emails rendered by jobs have no request, hence no user: they get no page shell.
        if not has_request_context() or not current_user.is_authenticated:
            return {"current_workspace": None, "workspaces": [], "workspace_links": [], "current_role": None}
        try:
            ws = current_workspace()
        except NotFound:  # rendering the 404 page for that very workspace id
            ws = None
        workspaces = access.visible_workspaces(current_user)
        return {
            "current_workspace": ws,
            "workspaces": workspaces,
            "workspace_links": switch_links(workspaces),  # error pages pass [] explicitly
            "current_role": access.role_in(current_user, ws.id) if ws else None,
        }

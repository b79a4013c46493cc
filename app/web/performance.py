"""The performance dashboard: KPI tiles, charts, the posts table (htmx) and its CSV export.

Routes parse and authorise (access.connection_or_404; another workspace's account → 404),
then call services/dashboard.py. Every URL the table's links push also renders the whole
page when opened directly (render_page_or_partial). A custom range that cannot be shown
is a 400 that says what to fix: the page keeps the form (with what was typed) above the
default period's figures; the table fragment and the CSV answer with the message alone.
"""
from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template, request
from markupsafe import Markup
from flask_login import current_user, login_required
from werkzeug.exceptions import NotFound

from app.models import TikTokConnection, Workspace, utcnow
from app.services import access, dashboard, dashboard_panels, metrics
from app.web.context import current_workspace, use_workspace, workspace_scoped
from app.web.fragment_cache import fragment_cache
from app.web.htmx import fragment_response, is_fragment_request, render_page_or_partial
from app.web.ids import optional_id

bp = Blueprint("performance", __name__)


Selected = dashboard.AccountLink | TikTokConnection


def _selection(*, required: bool = False, listed: bool = True
               ) -> tuple[Workspace | None, list[dashboard.AccountName], Selected | None]:
    """The current workspace, its accounts this user may see (unless not `listed`: a
    fragment shows one account), and the one asked for (`?account=`, else the one just
    connected, else the first; 404 if `required` and none).

    An account of the current workspace is found in the (access-scoped) list of names and
    read as an AccountLink, which is all the panel reads of it. Any other id goes through
    access.connection_or_404, which 404s or leads to the account's own workspace."""
    ws = current_workspace()
    account_id = optional_id(request.args, "account")  # text, negative or too large: 404
    if not listed:  # a fragment: only the asked-for account, through the same access scope
        links = dashboard.account_links(current_user, ws, only=account_id) if ws else []
        names: list = links
    else:
        names = dashboard.account_names(current_user, ws) if ws else []
    if account_id is not None:
        listed_name = next((c for c in names if c.id == account_id), None)
        if listed_name is not None:
            selected: Selected | None = dashboard.account_link(account_id)
        else:
            selected = access.connection_or_404(current_user, account_id)
            if ws is None or selected.workspace_id != ws.id:
                if "workspace" in request.args:  # an explicit workspace that doesn't hold this account
                    raise NotFound()
                # A link to an account of another of the user's workspaces: show that workspace.
                ws = use_workspace(access.workspace_or_404(current_user, selected.workspace_id))
                names = dashboard.account_names(current_user, ws) if listed else []
        return ws, names if listed else [], selected
    connected = request.args.get("connected", "")
    chosen = next((c for c in names if connected and c.username == connected), None)
    chosen = chosen or next(iter(names), None)
    if required and chosen is None:
        raise NotFound()
    return ws, names, None if chosen is None else dashboard.account_link(chosen.id)


def _params(ws: Workspace | None, now) -> dashboard.TableParams:
    """The URL's dashboard state; dashboard.RangeError for a custom range that cannot be shown."""
    today = now.astimezone(metrics.workspace_tz(ws.timezone if ws else None)).date()
    return dashboard.parse_table_params(request.args, today=today)


def _page(ws, connections, selected, *, include_summary: bool = True):
    now = utcnow()
    context = {"connections": connections, "selected": selected, "connected": _just_connected(connections),
               "range_error": None, "status": 200}
    try:
        params = _params(ws, now)
    except dashboard.RangeError as e:
        context.update(range_error=e.message, status=400)
        params = dashboard.TableParams()
    if selected is None:
        return context
    tz = metrics.workspace_tz(ws.timezone)
    context.update(state=dashboard.connection_state(selected, tz), params=params,
                   window=params.window(now.astimezone(tz).date(), tz))
    if context["range_error"] and not include_summary:
        return context
    if include_summary and selected.last_synced_at is None:  # nothing stored yet: the page says when
        return context
    if include_summary:
        # In memory for repeated views; else the panel the sync rendered; else computed.
        key = dashboard_panels.panel_key(ws, selected, params, now)  # one key for both stores
        context["panel"] = fragment_cache().get_or_render(
            key, lambda: dashboard_panels.panel(selected, ws, params, now=now, key=key))
    else:
        def render_table():
            table = dashboard.posts_table(selected, ws, params, now=now)
            return current_app.jinja_env.get_template("performance/_posts_table.html").render(
                table=table, selected=selected)

        context["table_html"] = fragment_cache().get_or_render(("table", *_version(ws, selected, now), params),
                                                               render_table)
    return context


def _just_connected(connections: list[dashboard.AccountName]) -> str:
    """The username of `?connected=` (set by the connect callback) when it names a connected
    account this user sees in this workspace; else "" and no banner, whatever the text."""
    name = request.args.get("connected", "")
    return next((c.username for c in connections if name and c.username == name and not c.is_disconnected), "")


def _version(ws: Workspace, conn: Selected, now) -> tuple:
    """Everything the panel's content depends on besides the table parameters."""
    tz = metrics.workspace_tz(ws.timezone)
    return (conn.id, conn.username, conn.status, conn.last_synced_at, conn.sync_requested_at, conn.granted_scopes,
            ws.timezone, ws.cadence_target, now.astimezone(tz).date())


@bp.get("/performance", endpoint="dashboard")
@workspace_scoped
@login_required
def dashboard_page():
    ws, connections, selected = _selection()
    context = _page(ws, connections, selected)
    return render_template("performance/index.html", **context), context["status"]


@bp.get("/performance/posts")
@workspace_scoped(switch_to="performance.dashboard")  # its ?account= is one workspace's
@login_required
def posts():
    if not is_fragment_request():  # opened directly: the whole page
        ws, connections, selected = _selection(required=True)
        context = _page(ws, connections, selected)
        return render_page_or_partial("performance/index.html", "", **context)
    ws, _, selected = _selection(required=True, listed=False)
    context = _page(ws, [], selected, include_summary=False)
    if context["range_error"]:
        return fragment_response(_error_html(context["range_error"]), status=400)
    return fragment_response(context["table_html"])


def _error_html(message: str) -> str:
    return str(Markup('<p class="flash flash-error" role="alert">{}</p>').format(message))


@bp.get("/performance/export.csv")
@login_required
def export_csv():
    ws, _, selected = _selection(required=True, listed=False)
    try:
        params = _params(ws, utcnow())
    except dashboard.RangeError as e:
        return Response(e.message + "\n", status=400, mimetype="text/plain")
    rows = dashboard.export_rows(selected, ws, params, now=utcnow())
    return Response(dashboard.posts_csv(rows), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{dashboard.export_filename(selected, params)}"',
    })

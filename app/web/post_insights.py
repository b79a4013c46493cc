"""One post's page (`/performance/posts/<id>`), reached from the posts table and from the
weekly report's top creatives.

Only people who may see the post's account see it (access.connection_or_404: another
workspace's post, or another creator's, is 404 like a missing one). A purged account's
posts are gone, so their URLs are 404 too; a disconnected account's stay readable until
the purge, under a banner saying so.
"""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.exceptions import NotFound

from app.models import TikTokConnection, Workspace
from app.services import access, definitions, post_insights
from app.web.context import use_workspace, workspace_scoped
from app.web.errors import not_found

bp = Blueprint("post_insights", __name__)


def workspace_of(conn: TikTokConnection) -> Workspace:
    """The account's workspace, made this request's (the header shows it); 404 when the URL
    names another workspace with `?workspace=`."""
    ws = access.workspace_or_404(current_user, conn.workspace_id)
    if "workspace" in request.args and request.args["workspace"] != str(ws.id):
        raise NotFound()
    return use_workspace(ws)


@bp.get("/performance/posts/<id:post_id>")
@workspace_scoped(switch_to="performance.dashboard")  # a post belongs to one workspace
@login_required
def show(post_id: int):
    post, conn = post_insights.post_or_404(current_user, post_id)
    ws = workspace_of(conn)
    return render_template("posts/show.html", insights=post_insights.build(post, conn, ws), workspace=ws,
                           definitions=definitions.DEFINITIONS)


@bp.get("/performance/accounts/<id:connection_id>/posts/<item_id>")
@login_required
def by_item(connection_id: int, item_id: str):
    """A post by its TikTok item id (what stored weekly reports name): to its page."""
    conn = access.connection_or_404(current_user, connection_id)
    post_id = post_insights.post_id_for_item(conn, item_id)
    if post_id is None:  # the account is the user's to see, so saying why reveals nothing
        raise not_found(f"@{conn.username} has no stored post with TikTok id {item_id[:32]}: "
                        "TikTok no longer lists it, or its data was deleted.")
    return redirect(url_for("post_insights.show", post_id=post_id))

"""An account's audience page (`/performance/audience?account=<id>`): demographics, new and
lost followers per day, and the best time to post in the workspace's timezone.

Without `?account=` it shows the current workspace's first account the user may see;
an account the user may not see is 404 (access.connection_or_404).
"""
from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user, login_required

from app.models import utcnow
from app.services import access, audience, charts, definitions
from app.web.context import current_workspace, workspace_scoped
from app.web.ids import optional_id
from app.web.post_insights import workspace_of

bp = Blueprint("audience", __name__)


@bp.get("/performance/audience")
@workspace_scoped(switch_to="performance.dashboard")  # its ?account= is one workspace's
@login_required
def show():
    account_id = optional_id(request.args, "account")
    conn = access.connection_or_404(current_user, account_id) if account_id is not None else None
    ws = workspace_of(conn) if conn is not None else current_workspace()
    accounts = access.visible_connections(current_user, ws) if ws is not None else []
    conn = conn or next(iter(accounts), None)
    data = audience.build(conn, ws, now=utcnow()) if conn is not None else None
    return render_template("audience/show.html", audience=data, accounts=accounts, selected=conn, workspace=ws,
                           definitions=definitions.DEFINITIONS, charts=charts, short=charts.short_number)

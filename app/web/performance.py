"""The performance dashboard."""
from flask import Blueprint, render_template, request
from flask_login import current_user, login_required

from app.services import access
from app.web.context import current_workspace

bp = Blueprint("performance", __name__)


@bp.get("/performance")
@login_required
def dashboard():
    ws = current_workspace()
    connections = access.visible_connections(current_user, ws) if ws else []
    selected = None
    account_id = request.args.get("account", type=int)
    if account_id is not None:
        selected = access.connection_or_404(current_user, account_id)
        if ws is None or selected.workspace_id != ws.id:
            from werkzeug.exceptions import NotFound

            raise NotFound()
    elif connections:
        selected = connections[0]
    return render_template("performance/index.html", connections=connections, selected=selected,
                           connected=request.args.get("connected", "")[:64])

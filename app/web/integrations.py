"""The Integrations page: the TikTok card and the connected accounts."""
from flask import Blueprint, current_app, render_template
from flask_login import current_user, login_required

from app.services import access
from app.web.context import current_workspace, workspace_scoped

bp = Blueprint("integrations", __name__)


@bp.get("/settings/integrations")
@workspace_scoped
@login_required
def index():
    ws = current_workspace()
    connections = access.visible_connections(current_user, ws) if ws else []
    return render_template(
        "integrations/index.html",
        connections=connections,
        ads_accounts=access.visible_ads_accounts(current_user, ws) if ws else [],
        scopes=current_app.config["TIKTOK_SCOPES"],
        sandbox=current_app.config["TIKTOK_SANDBOX"],
        can_manage=bool(ws) and access.can_manage(current_user, ws.id),
        retention_days=current_app.config["RETENTION_DAYS"],
    )

"""Weekly reports."""
from flask import Blueprint, render_template
from flask_login import login_required

from app.web.context import current_workspace

bp = Blueprint("reports", __name__)


@bp.get("/reports")
@login_required
def index():
    return render_template("reports/index.html", workspace=current_workspace(), reports=[])

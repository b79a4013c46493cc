"""The signed-in home: agency staff land on the clients overview, everyone else on
their dashboard."""
from flask import Blueprint, redirect, url_for
from flask_login import current_user, login_required

bp = Blueprint("shell", __name__)


@bp.get("/")
@login_required
def home():
    if current_user.is_agency:
        return redirect(url_for("clients.index"))
    return redirect(url_for("performance.dashboard"))

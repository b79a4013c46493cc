"""The signed-in home: send people to their dashboard."""
from flask import Blueprint, redirect, url_for
from flask_login import login_required

bp = Blueprint("shell", __name__)


@bp.get("/")
@login_required
def home():
    return redirect(url_for("performance.dashboard"))

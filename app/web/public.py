"""Public pages (no sign-in): privacy, terms, security, data deletion."""
from flask import Blueprint, current_app, render_template

bp = Blueprint("public", __name__)


@bp.get("/privacy")
def privacy():
    return render_template("public/privacy.html", config=current_app.config)


@bp.get("/terms")
def terms():
    return render_template("public/terms.html", config=current_app.config)


@bp.get("/security")
def security():
    return render_template("public/security.html", config=current_app.config)


@bp.get("/data-deletion")
def data_deletion():
    return render_template("public/data_deletion.html", config=current_app.config)

"""Public pages (no sign-in): privacy, terms, security, data deletion.

The trust pages are built from the running configuration and the models (see
app/services/trust.py), so what they promise is what the code does.
"""
from flask import Blueprint, current_app, render_template

from app.services import trust

bp = Blueprint("public", __name__)


@bp.get("/privacy")
def privacy():
    return render_template("public/privacy.html", **trust.privacy_context(current_app.config))


@bp.get("/terms")
def terms():
    return render_template("public/terms.html", **trust.terms_context(current_app.config))


@bp.get("/security")
def security():
    return render_template("public/security.html", **trust.security_context(current_app.config))


@bp.get("/data-deletion")
def data_deletion():
    return render_template("public/data_deletion.html", config=current_app.config)

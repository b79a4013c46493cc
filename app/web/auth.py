"""Sign in and out."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from app.extensions import db, limiter
from app.services import accounts, audit

bp = Blueprint("auth", __name__)


def safe_next(target: str | None) -> str | None:
    """Only same-site paths: no scheme or host, no `//`, no backslashes or control characters
    (browsers read `\\` as `/`, and strip tabs/newlines, which opens redirects)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], deduct_when=lambda response: response.status_code != 303)
def login():
    if current_user.is_authenticated and request.method == "GET":
        return redirect(url_for("shell.home"))
    error = None
    if request.method == "POST":
        email = request.form.get("email", "")[:254]
        password = request.form.get("password", "")[:512]
        user = accounts.authenticate(email, password)
        if user is None:
            audit.record("login.failed", ip=request.remote_addr)
            db.session.commit()
            error = "That email and password don't match an account."
        else:
            next_url = safe_next(request.form.get("next"))
            session.clear()  # a fresh session at sign-in: nothing planted before it survives
            login_user(user)
            audit.record("login.succeeded", actor_id=user.id, ip=request.remote_addr)
            db.session.commit()
            return redirect(next_url or url_for("shell.home"), 303)
    return render_template("auth/login.html", error=error, next=safe_next(request.values.get("next")),
                           email=request.form.get("email", "")), (401 if error else 200)


@bp.post("/logout")
@login_required
def logout():
    accounts.end_all_sessions(current_user)  # copies of this cookie stop working too
    audit.record("logout", actor_id=current_user.id, ip=request.remote_addr)
    db.session.commit()
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    response = redirect(url_for("auth.login"), 303)
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response

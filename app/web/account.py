"""The account page: two-factor sign-in for oneself, and a workspace's requirement of it
(for the workspace's client admins and agency staff)."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user

from app.extensions import db
from app.models import utcnow
from app.models.ids import parse_id
from app.services import access, account_settings, accounts, audit, sign_in_limits, two_factor
from app.services.token_sealing import get_keyring
from app.web.context import current_workspace

bp = Blueprint("account", __name__)


def _page(template: str, status: int = 200, **context):
    response = make_response(render_template(template, **context), status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _index(status: int = 200, **context):
    ws = current_workspace()
    return _page("account/index.html", status,
                 codes_left=two_factor.recovery_codes_left(current_user) if current_user.two_factor_enabled else 0,
                 enrolling=current_user.totp_secret_sealed is not None and not current_user.two_factor_enabled,
                 required_by=two_factor.requiring_workspaces(current_user),
                 workspace=ws, can_manage=bool(ws) and access.can_manage(current_user, ws.id),
                 my_workspaces=account_settings.workspaces_with_roles(current_user), **context)


@bp.get("/account")
@login_required
def index():
    return _index()


@bp.post("/account/name")
@login_required
def change_name():
    try:
        changed = account_settings.rename(current_user, request.form.get("name", "")[:1000])
    except account_settings.SettingsError as e:
        db.session.rollback()
        return _index(422, name_error=e.message, name_value=request.form.get("name", "")[:1000])
    if changed:
        audit.record("account.name_changed", actor_id=current_user.id, ip=request.remote_addr)
        db.session.commit()
        flash("Your name is saved.", "success")
    return redirect(url_for("account.index"), 303)


@bp.post("/account/password")
@login_required
def change_password():
    """Needs the current password (wrong ones count against the account's sign-in limit). Every
    other session of the account ends; this one carries on under the new session version."""
    user = current_user._get_current_object()
    limits = sign_in_limits.for_app(current_app)
    keys = limits.password_keys(user.email, request.remote_addr)
    verdict = limits.check(*keys)
    if not verdict.allowed:
        audit.record("account.password_change_throttled", actor_id=user.id, ip=request.remote_addr)
        db.session.commit()
        response = _index(429, password_error="Too many attempts in a short time. Please wait a few minutes.")
        response.headers["Retry-After"] = str(verdict.retry_after)
        return response
    try:
        account_settings.change_password(user, current=request.form.get("current_password", "")[:512],
                                         new=request.form.get("new_password", "")[:1024],
                                         confirm=request.form.get("confirm_password", "")[:1024], now=utcnow())
    except account_settings.WrongPassword as e:
        db.session.rollback()
        limits.fail(*keys)
        audit.record("account.password_change_refused", actor_id=user.id, ip=request.remote_addr)
        db.session.commit()
        return _index(401, password_error=e.message)
    except account_settings.SettingsError as e:
        db.session.rollback()
        return _index(422, password_error=e.message)
    audit.record("account.password_changed", actor_id=user.id, ip=request.remote_addr)
    login_user(user)  # the new session version: copies of the old cookie stop working
    db.session.commit()
    flash("Your password is changed. Every other session of your account is signed out.", "success")
    return redirect(url_for("account.index"), 303)


@bp.post("/account/two-factor/start")
@login_required
def start_two_factor():
    try:
        two_factor.begin_enrollment(current_user, keyring=get_keyring(current_app))
    except two_factor.TwoFactorError as e:
        flash(e.message, "info")
        return redirect(url_for("account.index"), 303)
    db.session.commit()
    return redirect(url_for("account.two_factor_page"), 303)


def _enrol_context():
    secret = two_factor.pending_secret(current_user, keyring=get_keyring(current_app))
    if secret is None:
        return None
    return {"secret": two_factor.group_secret(secret),
            "qr": two_factor.qr_svg(two_factor.provisioning_uri(current_user, secret))}


@bp.get("/account/two-factor")
@login_required
def two_factor_page():
    context = _enrol_context()
    if context is None:
        return redirect(url_for("account.index"), 303)
    return _page("account/two_factor_setup.html", **context)


@bp.post("/account/two-factor/confirm")
@login_required
def confirm_two_factor():
    context = _enrol_context()
    if context is None:
        return redirect(url_for("account.index"), 303)
    try:
        codes = two_factor.confirm_enrollment(current_user, request.form.get("code", "")[:64],
                                              keyring=get_keyring(current_app), now=utcnow())
    except two_factor.TwoFactorError as e:
        db.session.rollback()
        return _page("account/two_factor_setup.html", 422, error=e.message, **context)
    audit.record("two_factor.enabled", actor_id=current_user.id, ip=request.remote_addr, during="account")
    # Sessions signed in with the password alone end; this one carries on under the new version.
    accounts.end_all_sessions(current_user)
    login_user(current_user._get_current_object())
    db.session.commit()
    return _page("account/recovery_codes.html", codes=codes, continue_url=url_for("account.index"),
                 just_enabled=True)


def _second_factor_guard():
    """Rate limit shared with the sign-in's second step: these forms check codes too."""
    limits = sign_in_limits.for_app(current_app)
    keys = limits.second_step_keys(current_user.id, request.remote_addr)
    return limits, keys, limits.check(*keys)


@bp.post("/account/two-factor/disable")
@login_required
def disable_two_factor():
    """Needs the password and a current code (or a recovery code)."""
    user = current_user._get_current_object()
    if not user.two_factor_enabled:
        return redirect(url_for("account.index"), 303)
    required_by = two_factor.requiring_workspaces(user)
    if required_by:
        return _index(409, disable_error=f"{required_by[0].name} requires two-factor sign-in, so it stays on.")
    limits, keys, verdict = _second_factor_guard()
    if not verdict.allowed:
        audit.record("two_factor.disable_throttled", actor_id=user.id, ip=request.remote_addr)
        db.session.commit()
        response = _index(429, disable_error="Too many attempts in a short time. Please wait a few minutes.")
        response.headers["Retry-After"] = str(verdict.retry_after)
        return response
    password_ok = user.check_password(request.form.get("password", "")[:512])
    outcome = two_factor.check_second_factor(user, request.form.get("code", "")[:64],
                                             keyring=get_keyring(current_app), now=utcnow())
    if not password_ok or outcome not in ("totp", "recovery"):
        db.session.rollback()  # a recovery code is not spent by a failed attempt
        limits.fail(*keys)
        audit.record("two_factor.disable_failed", actor_id=user.id, ip=request.remote_addr,
                     reason="password" if not password_ok else outcome)
        db.session.commit()
        return _index(401, disable_error="That password or code didn't work, so two-factor sign-in is still on.")
    two_factor.disable(user)
    audit.record("two_factor.disabled", actor_id=user.id, ip=request.remote_addr, with_code=outcome)
    db.session.commit()
    flash("Two-factor sign-in is off.", "success")
    return redirect(url_for("account.index"), 303)


@bp.post("/account/two-factor/recovery-codes")
@login_required
def renew_recovery_codes():
    """Ten new recovery codes (the old ones stop working); needs a current code from the app."""
    user = current_user._get_current_object()
    if not user.two_factor_enabled:
        return redirect(url_for("account.index"), 303)
    limits, keys, verdict = _second_factor_guard()
    if not verdict.allowed:
        response = _index(429, codes_error="Too many attempts in a short time. Please wait a few minutes.")
        response.headers["Retry-After"] = str(verdict.retry_after)
        return response
    code = request.form.get("code", "")[:64]
    if not two_factor.looks_like_totp(code) or two_factor.verify_code(
            user, code, keyring=get_keyring(current_app), now=utcnow()) != "ok":
        db.session.rollback()
        limits.fail(*keys)
        audit.record("two_factor.recovery_codes_refused", actor_id=user.id, ip=request.remote_addr)
        db.session.commit()
        return _index(401, codes_error="That code didn't work. Use the newest code from your app.")
    codes = two_factor.new_recovery_codes(user, now=utcnow())
    audit.record("two_factor.recovery_codes_renewed", actor_id=user.id, ip=request.remote_addr)
    db.session.commit()
    return _page("account/recovery_codes.html", codes=codes, continue_url=url_for("account.index"),
                 just_enabled=False)


@bp.post("/settings/workspace/two-factor")
@login_required
def workspace_requirement():
    """Require two-factor sign-in of a workspace's members (its client admins and agency staff only)."""
    ws = access.workspace_or_404(current_user, request.form.get("workspace_id", type=parse_id))
    access.require_manager(current_user, ws.id)
    required = request.form.get("require") == "on"
    try:
        two_factor.set_requirement(ws, required, by=current_user)
    except two_factor.TwoFactorError as e:
        flash(e.message, "error")
        return redirect(url_for("account.index", workspace=ws.id), 303)
    audit.record("workspace.two_factor_required" if required else "workspace.two_factor_optional",
                 actor_id=current_user.id, workspace_id=ws.id, ip=request.remote_addr)
    db.session.commit()
    flash(f"{ws.name}: two-factor sign-in is now {'required' if required else 'optional'} for members.", "success")
    return redirect(url_for("account.index", workspace=ws.id), 303)

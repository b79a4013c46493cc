"""Sign in and out.

Signing in is one step, or two when the person has two-factor sign-in on (or a
workspace of theirs requires it): the password step then records a server-side
challenge and keeps only a random reference to it in the session; nothing is signed
in (no `login_user`) until the second step passes. Until then every page but the
sign-in pages and the public ones sends the browser back to the second step.

Failed attempts are limited per account and per IP address (app/services/sign_in_limits.py).
"""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import (Blueprint, current_app, flash, make_response, redirect, render_template, request, session,
                   url_for)
from flask_login import current_user, login_required, login_user, logout_user

from app.extensions import db
from app.models import User, utcnow
from app.models.two_factor import CHALLENGE_SETUP, CHALLENGE_VERIFY
from app.services import accounts, audit, sign_in_limits, two_factor
from app.services.token_sealing import get_keyring
from app.web.htmx import redirect_after_action
from app.web import dev_surfaces

bp = Blueprint("auth", __name__)

CHALLENGE_KEY = "sign_in_challenge"  # the session's reference to its SignInChallenge
WRONG_PASSWORD = "That email and password don't match an account."
TOO_MANY = "Too many attempts in a short time. Please wait a few minutes and try again."
# Reachable while half signed in (password given, second step not yet) and while a
# workspace's requirement is unmet; everything else is refused.
_ALWAYS_OPEN_PREFIXES = ("auth.", "public.", "health.", "sandbox.", "tiktok_webhook.", "password_reset.")
_OPEN_UNTIL_SET_UP = {"account.index", "account.start_two_factor", "account.two_factor_page",
                      "account.confirm_two_factor"}


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


def _limits() -> sign_in_limits.SignInLimits:
    return sign_in_limits.for_app(current_app)


def _page(template: str, status: int = 200, *, retry_after: int | None = None, **context):
    response = make_response(render_template(template, **context), status)
    response.headers["Cache-Control"] = "no-store"  # sign-in pages may show a secret or codes
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


def _login_page(status: int = 200, *, error: str | None = None, retry_after: int | None = None):
    return _page("auth/login.html", status, retry_after=retry_after, error=error,
                 next=safe_next(request.values.get("next")), email=request.form.get("email", ""))


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated and request.method == "GET":
        return redirect(url_for("shell.home"))
    if request.method == "GET":
        return _login_page()
    email = request.form.get("email", "")[:254]
    password = request.form.get("password", "")[:512]
    limits, ip = _limits(), request.remote_addr
    keys = limits.password_keys(email, ip)
    verdict = limits.check(*keys)
    if not verdict.allowed:  # the same answer whether or not the account exists
        audit.record("login.throttled", ip=ip, limit=verdict.scope)
        db.session.commit()
        return _login_page(429, error=TOO_MANY, retry_after=verdict.retry_after)
    # A demo person's published password works only from this machine (or SANDBOX_CONTROL).
    user = None if dev_surfaces.demo_login_refused(email, password) else accounts.authenticate(email, password)
    if user is None:
        limits.fail(*keys)
        audit.record("login.failed", ip=ip)
        db.session.commit()
        return _login_page(401, error=WRONG_PASSWORD)
    next_url = safe_next(request.form.get("next"))
    session.clear()  # a fresh session at sign-in: nothing planted before it survives
    if user.two_factor_enabled or two_factor.setup_required(user):
        return _start_second_step(user, next_url)
    return _finish_sign_in(user, next_url)


def _start_second_step(user: User, next_url: str | None):
    purpose = CHALLENGE_VERIFY if user.two_factor_enabled else CHALLENGE_SETUP
    if purpose == CHALLENGE_SETUP:
        two_factor.begin_enrollment(user, keyring=get_keyring(current_app))
    session[CHALLENGE_KEY] = two_factor.start_challenge(user, purpose=purpose, next_url=next_url, now=utcnow())
    audit.record("login.password_accepted", actor_id=user.id, ip=request.remote_addr, next_step=purpose)
    db.session.commit()
    return redirect(url_for("auth.second_step" if purpose == CHALLENGE_VERIFY else "auth.setup_second_step"), 303)


def sign_in(user: User, **detail) -> None:
    """The one place a session becomes signed in: fresh session, failures forgotten, audited."""
    session.clear()
    login_user(user)
    _limits().forget(sign_in_limits.PASSWORD_ACCOUNT, sign_in_limits.account_key(user.email))
    audit.record("login.succeeded", actor_id=user.id, ip=request.remote_addr, **detail)


def _finish_sign_in(user: User, next_url: str | None, **detail):
    sign_in(user, **detail)
    db.session.commit()
    return redirect(next_url or url_for("shell.home"), 303)


def _challenge(purpose: str):
    """(challenge, user, None) for this session's live challenge of `purpose`, else
    (None, None, a response sending the browser where it belongs)."""
    challenge = two_factor.find_challenge(session.get(CHALLENGE_KEY), now=utcnow())
    user = db.session.get(User, challenge.user_id) if challenge else None
    if challenge is None or user is None or user.disabled:
        if session.pop(CHALLENGE_KEY, None):
            flash("Your sign-in timed out. Please sign in again.", "info")
        return None, None, redirect(url_for("auth.login"), 303)
    if challenge.purpose != purpose:
        other = "auth.second_step" if challenge.purpose == CHALLENGE_VERIFY else "auth.setup_second_step"
        return None, None, redirect(url_for(other), 303)
    return challenge, user, None


@bp.route("/login/two-factor", methods=["GET", "POST"])
def second_step():
    """A code from the authenticator app, or one of the recovery codes."""
    challenge, user, elsewhere = _challenge(CHALLENGE_VERIFY)
    if elsewhere:
        return elsewhere
    if request.method == "GET":
        return _page("auth/two_factor.html")
    limits, ip = _limits(), request.remote_addr
    keys = limits.second_step_keys(user.id, ip)
    verdict = limits.check(*keys)
    if not verdict.allowed:
        audit.record("login.two_factor_throttled", actor_id=user.id, ip=ip, limit=verdict.scope)
        db.session.commit()
        return _page("auth/two_factor.html", 429, retry_after=verdict.retry_after, error=TOO_MANY)
    outcome = two_factor.check_second_factor(user, request.form.get("code", "")[:64],
                                             keyring=get_keyring(current_app), now=utcnow())
    if outcome in ("wrong", "reused"):
        limits.fail(*keys)
        audit.record("login.two_factor_failed", actor_id=user.id, ip=ip, reason=outcome)
        db.session.commit()
        error = ("That code was already used. Wait for the next one in your app." if outcome == "reused"
                 else "That code didn't work. Try the newest code from your app, or a recovery code.")
        return _page("auth/two_factor.html", 401, error=error)
    if not two_factor.end_challenge(challenge):  # another request finished this sign-in first
        db.session.rollback()
        return redirect(url_for("auth.login"), 303)
    next_url = challenge.next_url
    sign_in(user, second_step=outcome)
    if outcome == "recovery":
        left = two_factor.recovery_codes_left(user)
        audit.record("login.recovery_code_used", actor_id=user.id, ip=ip, codes_left=left)
        flash(f"You signed in with a recovery code; it can't be used again ({left} left). "
              "You can make new ones on your account page.", "warning")
    db.session.commit()
    return redirect(next_url or url_for("shell.home"), 303)


@bp.route("/login/two-factor/setup", methods=["GET", "POST"])
def setup_second_step():
    """A workspace requires two-factor sign-in and this person has none yet: they set it up
    (scan, confirm a code) before anything else, then see their recovery codes once."""
    challenge, user, elsewhere = _challenge(CHALLENGE_SETUP)
    if elsewhere:
        return elsewhere
    keyring = get_keyring(current_app)
    secret = two_factor.pending_secret(user, keyring=keyring)
    if secret is None:  # turned on meanwhile (another tab), or the secret was replaced
        session.pop(CHALLENGE_KEY, None)
        flash("Please sign in again.", "info")
        return redirect(url_for("auth.login"), 303)
    context = {"secret": two_factor.group_secret(secret),
               "qr": two_factor.qr_svg(two_factor.provisioning_uri(user, secret)),
               "workspaces": two_factor.requiring_workspaces(user)}
    if request.method == "GET":
        return _page("auth/two_factor_setup.html", **context)
    try:
        codes = two_factor.confirm_enrollment(user, request.form.get("code", "")[:64], keyring=keyring,
                                              now=utcnow())
    except two_factor.TwoFactorError as e:
        db.session.rollback()
        return _page("auth/two_factor_setup.html", 422, error=e.message, **context)
    if not two_factor.end_challenge(challenge):
        db.session.rollback()
        return redirect(url_for("auth.login"), 303)
    audit.record("two_factor.enabled", actor_id=user.id, ip=request.remote_addr, during="sign-in")
    next_url = challenge.next_url
    sign_in(user, second_step="setup")
    db.session.commit()
    return _page("account/recovery_codes.html", codes=codes, continue_url=next_url or url_for("shell.home"),
                 just_enabled=True)


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


@bp.before_app_request
def _second_step_gate():
    """Half signed in: only the sign-in and public pages. Signed in but a workspace requires
    two-factor sign-in and it is off (e.g. the requirement came after this session began):
    only the pages that turn it on, and signing out."""
    endpoint = request.endpoint or ""
    if endpoint == "static" or endpoint.startswith(_ALWAYS_OPEN_PREFIXES):
        return None
    if current_user.is_authenticated:
        if endpoint not in _OPEN_UNTIL_SET_UP and two_factor.setup_required(current_user):
            flash("A workspace you belong to requires two-factor sign-in. Turn it on to continue.", "warning")
            return redirect_after_action(url_for("account.index"))
        return None
    if session.get(CHALLENGE_KEY):
        return redirect_after_action(url_for("auth.second_step"))
    return None

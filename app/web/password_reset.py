"""Forgotten passwords: ask for a link by email, then set a new password through it.

Both pages are public. Asking answers the same page and status whether or not an
account has the address, and the email (only for an account) is sent after that
answer has gone out (`call_on_close`: once the server has written the response), so
neither the time taken nor a mail failure tells addresses apart. A new password ends
every session of the account and sends the person to sign in with it, so two-factor
sign-in, when on, is asked for as usual.
"""
from __future__ import annotations

import logging

from flask import Blueprint, current_app, flash, make_response, redirect, render_template, request, session, url_for
from flask_login import logout_user
from flask_mail import Message

from app.extensions import db, limiter
from app.models import utcnow
from app.services import audit, mail, password_resets, sign_in_limits

bp = Blueprint("password_reset", __name__)
log = logging.getLogger("app.password_reset")

TOO_MANY = "Too many requests in a short time. Please wait a while and try again."


def _page(template: str, status: int = 200, *, retry_after: int | None = None, **context):
    response = make_response(render_template(template, **context), status)
    response.headers["Cache-Control"] = "no-store"
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


def _send_after_response(response, msg: Message) -> None:
    app = current_app._get_current_object()

    def send() -> None:
        with app.app_context():
            try:
                mail.send_one(msg)
            except mail.MailError as e:
                log.warning("password reset email not sent: %s", e)

    response.call_on_close(send)


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot():
    if request.method == "GET":
        return _page("auth/forgot_password.html", email="")
    email = request.form.get("email", "").strip()[:254]
    if "@" not in email:
        return _page("auth/forgot_password.html", 422, email=email,
                     error="Enter the email address you sign in with.")
    limits, ip = password_resets.limits_for(current_app), request.remote_addr
    keys = password_resets.request_keys(email, ip)
    verdict = limits.check(*keys)
    if not verdict.allowed:  # per address as typed: says nothing about whether it is ours
        audit.record("password.reset_throttled", ip=ip, limit=verdict.scope)
        db.session.commit()
        return _page("auth/forgot_password.html", 429, retry_after=verdict.retry_after, email=email, error=TOO_MANY)
    limits.fail(*keys)  # every request counts here, not only failures
    issued = password_resets.issue(email, now=utcnow())
    msg = password_resets.message_for(issued, password_resets.render_message(issued))
    if issued.user is not None:
        audit.record("password.reset_requested", actor_id=issued.user.id, ip=ip)
    db.session.commit()
    response = _page("auth/forgot_password_sent.html", email=email)
    if msg is not None:
        _send_after_response(response, msg)
    return response


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@limiter.limit("30 per minute")
def reset(token: str):
    """GET shows the form (link scanners only GET); only the POST spends the link."""
    now = utcnow()
    try:
        link = password_resets.find(token, now=now)
        if request.method == "GET":
            return _page("auth/reset_password.html", token=token)
        user = password_resets.complete(link, request.form.get("password", "")[:1024],
                                        request.form.get("confirm", "")[:1024], now=now)
    except password_resets.PasswordRejected as e:
        db.session.rollback()
        return _page("auth/reset_password.html", 422, token=token, error=e.message)
    except password_resets.ResetLinkError as e:
        db.session.rollback()
        return _page("auth/reset_link.html", e.status, kind=e.kind)
    audit.record("password.reset_completed", actor_id=user.id, ip=request.remote_addr)
    sign_in_limits.for_app(current_app).forget(sign_in_limits.PASSWORD_ACCOUNT,
                                               sign_in_limits.account_key(user.email))
    db.session.commit()
    logout_user()  # whoever this browser was signed in as: start clean
    session.clear()
    flash("Your password is changed and every session of your account is signed out. "
          "Sign in with your new password.", "success")
    return redirect(url_for("auth.login"), 303)

"""Public pages (no sign-in): privacy, terms, security, data deletion.

The trust pages are built from the running configuration and the models (see
app/services/trust.py), so what they promise is what the code does.
"""
from datetime import datetime, timezone

from flask import (Blueprint, abort, current_app, flash, make_response, redirect, render_template, request, session,
                   url_for)

import jobs
from app.extensions import db, limiter
from app.models.deletion import REQUEST_IN_REVIEW, REQUEST_RECEIVED, REQUEST_REJECTED
from app.services import audit, deletion_requests, mail, trust
from app.services.token_sealing import get_keyring
from app.tiktok import get_client
from app.web.deletion_reviews import schedule_deletion
from app.web.filters import date_long
from app.web.oauth_flow import session_ref

bp = Blueprint("public", __name__)


@bp.get("/privacy")
def privacy():
    return render_template("public/privacy.html", **trust.privacy_context(current_app.config))


@bp.get("/terms")
def terms():
    return render_template("public/terms.html", **trust.terms_context(current_app.config))


@bp.get("/security")
def security():
    return render_template("public/security.html", **trust.security_context(current_app.config, jobs.when))


def _deletion_limit() -> str:
    return current_app.config.get("DELETION_REQUEST_RATE_LIMIT", "5 per minute")


@bp.route("/data-deletion", methods=["GET", "POST"])
@limiter.limit(_deletion_limit, methods=["POST"])
def data_deletion():
    """The public deletion-request form. The answer never depends on whether the handle is ours.
    "Verify with TikTok" files the same request (and sends the same email), then goes to TikTok."""
    form = {"handle": request.form.get("handle", "")[:100], "email": request.form.get("email", "")[:300]}
    if request.method == "GET":
        return render_template("public/data_deletion.html", form=form, errors={}, config=current_app.config)
    try:
        filed = deletion_requests.create_request(*deletion_requests.validate(request.form.get("handle"),
                                                                             request.form.get("email")), now=_now())
        mail.send_one(deletion_requests.verification_message(filed))
    except deletion_requests.InvalidRequest as e:
        return render_template("public/data_deletion.html", form=form, errors=e.errors, config=current_app.config), 422
    except mail.MailError:
        db.session.rollback()
        errors = {"form": "We could not send the confirmation email just now. Nothing was recorded; please try again."}
        return render_template("public/data_deletion.html", form=form, errors=errors, config=current_app.config), 503
    db.session.commit()
    if request.form.get("method") == "tiktok":
        return _to_tiktok(filed.request)
    return redirect(url_for("public.data_deletion_status", reference=filed.request.reference), 303)


@bp.get("/data-deletion/<reference>")
def data_deletion_status(reference: str):
    req = deletion_requests.by_reference(reference)
    if req is None:
        abort(404)
    return _private(_status_page(req))


@bp.route("/data-deletion/verify/<token>", methods=["GET", "POST"])
@limiter.limit("30 per minute")
def data_deletion_verify(token: str):
    """GET shows a confirm button; only the POST changes anything (link scanners only GET)."""
    try:
        if request.method == "GET":
            req = deletion_requests.find_by_token(token, now=_now())
            if req.status == REQUEST_RECEIVED:
                return _private(render_template("public/data_deletion_confirm.html", req=req, token=token))
        else:
            req = deletion_requests.verify(token, now=_now())
    except deletion_requests.VerifyError as e:
        return _private(render_template("public/data_deletion_link.html", kind=e.kind), 410 if e.kind == "expired" else 404)
    db.session.commit()
    if request.method == "POST" and deletion_requests.notify_requester(req):
        db.session.commit()
    return _private(_status_page(req, just_verified=request.method == "POST"))


@bp.post("/data-deletion/<reference>/tiktok")
@limiter.limit("10 per minute")
def data_deletion_tiktok(reference: str):
    """"Verify with TikTok" from the status page."""
    req = deletion_requests.by_reference(reference)
    if req is None:
        abort(404)
    return _to_tiktok(req)


def tiktok_check_callback():
    """TikTok's answer to a "Verify with TikTok" check. TikTok allows one redirect URI, so
    `tiktok_auth.callback` hands over the states that belong to a deletion request."""
    app = current_app._get_current_object()
    try:
        pending = deletion_requests.take_tiktok_check(request.args.get("state"))
        db.session.commit()  # the state is spent before anything else, whatever happens next
        req = deletion_requests.check_tiktok_session(pending, session_ref=session.get("oauth_ref"), now=_now())
        check = deletion_requests.finish_tiktok_check(req, pending, request.args, client=get_client(app),
                                                      keyring=get_keyring(app), now=_now())
    except deletion_requests.TikTokCheckError as e:
        db.session.rollback()
        audit.record("deletion_request.tiktok_check_failed", reason=e.reason)
        db.session.commit()
        if e.request is None:
            return _callback(render_template("public/data_deletion_tiktok_failed.html", message=e.message), e.status)
        flash(e.message, "warning")
        return _callback(redirect(url_for("public.data_deletion_status", reference=e.request.reference), 303))
    db.session.commit()
    try:
        if check.matched:
            schedule_deletion(list(check.owned))
    finally:
        deletion_requests.revoke_check_token(check, client=get_client(app))
    if check.matched:
        if deletion_requests.notify_requester(req):
            db.session.commit()
        flash("TikTok confirmed the account is yours, so no review is needed: everything Logic Target holds for it "
              f"is deleted in the nightly run on {date_long(deletion_requests.deletion_day(req))}.", "success")
    else:
        flash("The TikTok account you signed in with did not match the account named in this request, so "
              f"nothing was deleted. {_UNCHANGED.get(req.status, '')}", "warning")
    return _callback(redirect(url_for("public.data_deletion_status", reference=req.reference), 303))


_UNCHANGED = {
    REQUEST_IN_REVIEW: "Your request stays in review.",
    REQUEST_RECEIVED: "Your request still waits for you to confirm it with the link we emailed.",
    REQUEST_REJECTED: "The decision on your request stands.",
}


def _to_tiktok(req):
    app = current_app._get_current_object()
    try:
        url = deletion_requests.begin_tiktok_check(req, session_ref=session_ref(), client=get_client(app),
                                                   keyring=get_keyring(app), now=_now(),
                                                   use_pkce=bool(app.config.get("TIKTOK_PKCE", True)))
    except deletion_requests.TikTokCheckError as e:
        db.session.rollback()
        flash(e.message, "warning")
        return redirect(url_for("public.data_deletion_status", reference=req.reference), 303)
    db.session.commit()
    return redirect(url, 302)  # a plain form post: the whole browser goes to TikTok


def _status_page(req, *, just_verified: bool = False) -> str:
    return render_template("public/data_deletion_status.html", req=req, just_verified=just_verified,
                           due=deletion_requests.answer_due(req), deletion_day=deletion_requests.deletion_day(req),
                           can_check=req.status in deletion_requests.TIKTOK_VERIFIABLE)


def _private(response, status: int | None = None):
    """Reference and token URLs are capabilities: never cached, never sent to another site as a
    Referer. Same-origin only, not no-referrer: these pages hold POST forms, and over HTTPS
    the CSRF check refuses a POST that comes without a same-origin Referer."""
    resp = make_response(response) if status is None else make_response(response, status)
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Referrer-Policy"] = "same-origin"
    return resp


def _callback(response, status: int | None = None):
    """TikTok's redirect back carries the authorization code in its URL: like the connect
    callback, it sends no Referer at all (it holds no form)."""
    resp = _private(response, status)
    resp.headers["Referrer-Policy"] = "no-referrer"
    return resp


def _now() -> datetime:
    return datetime.now(timezone.utc)

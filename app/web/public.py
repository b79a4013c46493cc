"""Public pages (no sign-in): privacy, terms, security, data deletion.

The trust pages are built from the running configuration and the models (see
app/services/trust.py), so what they promise is what the code does.
"""
from datetime import datetime, timezone

from flask import Blueprint, abort, current_app, make_response, redirect, render_template, request, url_for

from app.extensions import db, limiter
from app.services import deletion_requests, mail

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


def _deletion_limit() -> str:
    return current_app.config.get("DELETION_REQUEST_RATE_LIMIT", "5 per minute")


@bp.route("/data-deletion", methods=["GET", "POST"])
@limiter.limit(_deletion_limit, methods=["POST"])
def data_deletion():
    """The public deletion-request form. The answer never depends on whether the handle is ours."""
    form = {"handle": request.form.get("handle", "")[:100], "email": request.form.get("email", "")[:300]}
    if request.method == "GET":
        return render_template("public/data_deletion.html", form=form, errors={}, config=current_app.config)
    try:
        filed = deletion_requests.create_request(*deletion_requests.validate(request.form.get("handle"),
                                                                             request.form.get("email")), now=_now())
        mail.send_one(deletion_requests.verification_message(filed, base_url=current_app.config["APP_BASE_URL"]))
    except deletion_requests.InvalidRequest as e:
        return render_template("public/data_deletion.html", form=form, errors=e.errors, config=current_app.config), 422
    except mail.MailError:
        db.session.rollback()
        errors = {"form": "We could not send the confirmation email just now. Nothing was recorded; please try again."}
        return render_template("public/data_deletion.html", form=form, errors=errors, config=current_app.config), 503
    db.session.commit()
    return redirect(url_for("public.data_deletion_status", reference=filed.request.reference), 303)


@bp.get("/data-deletion/<reference>")
def data_deletion_status(reference: str):
    req = deletion_requests.by_reference(reference)
    if req is None:
        abort(404)
    return _private(render_template("public/data_deletion_status.html", req=req))


@bp.route("/data-deletion/verify/<token>", methods=["GET", "POST"])
@limiter.limit("30 per minute")
def data_deletion_verify(token: str):
    """GET shows a confirm button; only the POST changes anything (link scanners only GET)."""
    try:
        if request.method == "GET":
            req = deletion_requests.find_by_token(token, now=_now())
            if req.status == "received":
                return _private(render_template("public/data_deletion_confirm.html", req=req, token=token))
        else:
            req = deletion_requests.verify(token, now=_now())
    except deletion_requests.VerifyError as e:
        return _private(render_template("public/data_deletion_link.html", kind=e.kind), 410 if e.kind == "expired" else 404)
    db.session.commit()
    return _private(render_template("public/data_deletion_status.html", req=req, just_verified=request.method == "POST"))


def _private(response, status: int = 200):
    """Reference and token URLs are capabilities: never cached, never sent on as a Referer."""
    resp = make_response(response, status)
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Referrer-Policy"] = "no-referrer"
    return resp


def _now() -> datetime:
    return datetime.now(timezone.utc)

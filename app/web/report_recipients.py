"""A workspace's report settings — which reports, when, the creator cut, who receives
them — and the one-click unsubscribe link.

`/settings/report-recipients`: agency staff and the workspace's client admins (creators
403, outsiders 404). Both choose weekly, monthly or both, the delivery weekday and local
hour, and whether creators get their own cut, and add and remove outside addresses;
agency staff opt themselves in or out, and set approval before sending. Each list is
an htmx partial that its actions return. The changes are audited in
services/report_recipients.py; the views own the transaction.

`/unsubscribe/<token>`: public. GET shows a page with a button (link scanners open
links; a GET changes nothing); POST with `List-Unsubscribe=One-Click` (RFC 8058, what
mail providers send, with no cookie and no CSRF token: the route is exempt, the token
is the authority) unsubscribes that address from that workspace's report only.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.exceptions import Forbidden, NotFound

from app.extensions import csrf, db, limiter
from app.models import Membership, ReportExternalRecipient, User, Workspace, utcnow
from app.models.workspace import ROLE_CLIENT_ADMIN
from app.services import access, report_periods, report_recipients
from app.web.context import current_workspace, workspace_scoped
from app.web.htmx import is_fragment_request, partial_response
from app.web.ids import optional_id

bp = Blueprint("report_recipients", __name__)

ONE_CLICK_FIELD, ONE_CLICK_VALUE = "List-Unsubscribe", "One-Click"


def _managed_workspace() -> Workspace:
    """The form's workspace (404 to outsiders), for its managers only (403 to creators)."""
    ws = access.workspace_or_404(current_user, optional_id(request.form, "workspace_id"))
    access.require_manager(current_user, ws.id)
    return ws


def _require_agency() -> None:
    if not current_user.is_agency:
        raise Forbidden("Only agency staff can do that.")


def _context(ws: Workspace, **extra) -> dict:
    settings = report_recipients.settings_of(ws.id)
    agency = report_recipients.agency_recipients(ws.id)
    stopped = report_recipients.unsubscribes(ws.id)
    admins = list(db.session.scalars(
        sa.select(User).join(Membership, Membership.user_id == User.id)
        .where(Membership.workspace_id == ws.id, Membership.role == ROLE_CLIENT_ADMIN, User.disabled.is_(False))
        .order_by(User.email)))
    return {
        "workspace": ws,
        "settings": settings,
        "admins": admins,
        "agency": agency,
        "opted_in": any(u.id == current_user.id for u in agency),
        "is_agency": current_user.is_agency,
        "externals": report_recipients.external_recipients(ws.id),
        "max_external": report_recipients.MAX_EXTERNAL,
        "unsubscribes": stopped,
        "cadences": report_recipients.CADENCES,
        "weekdays": report_periods.WEEKDAYS,
        "schedule": report_periods.describe_delivery(settings.kinds, settings.delivery_weekday,
                                                     settings.delivery_hour, ws.timezone),
        "stopped": {u.email for u in stopped},
        "error": None,
        "email": "",
        "typed": None,
        **extra,
    }


def _after_change(ws: Workspace, partial: str, message: str, **extra):
    """htmx: the updated list partial with a toast; a plain form post: back to the page."""
    if is_fragment_request():
        return partial_response(partial, notify=("success", message), **_context(ws, **extra))
    flash(message, "success")
    return redirect(url_for("report_recipients.index", workspace=ws.id), 303)


def _refused(ws: Workspace, partial: str, message: str, **extra):
    if is_fragment_request():
        return partial_response(partial, status=422, **_context(ws, error=message, **extra))
    flash(message, "error")
    return redirect(url_for("report_recipients.index", workspace=ws.id), 303)


@bp.get("/settings/report-recipients")
@workspace_scoped
@login_required
def index():
    ws = current_workspace()
    if ws is None:
        raise NotFound()
    access.require_manager(current_user, ws.id)
    return render_template("settings/report_recipients.html", **_context(ws))


@bp.post("/settings/report-recipients/external")
@login_required
def add_external():
    ws = _managed_workspace()
    email = request.form.get("email", "")[:300]
    try:
        row = report_recipients.add_external(ws, email, by=current_user, now=utcnow(), ip=request.remote_addr)
    except report_recipients.RecipientError as e:
        db.session.rollback()
        return _refused(ws, "settings/_report_externals.html", str(e), email=email)
    db.session.commit()
    return _after_change(ws, "settings/_report_externals.html", f"{row.email} will receive the weekly report.")


@bp.post("/settings/report-recipients/external/<id:recipient_id>/remove")
@login_required
def remove_external(recipient_id: int):
    row = db.session.get(ReportExternalRecipient, recipient_id)
    if row is None:
        raise NotFound()
    ws = access.workspace_or_404(current_user, row.workspace_id)
    access.require_manager(current_user, ws.id)
    report_recipients.remove_external(ws, row, by=current_user, ip=request.remote_addr)
    db.session.commit()
    return _after_change(ws, "settings/_report_externals.html", f"{row.email} no longer receives the weekly report.")


@bp.post("/settings/report-recipients/agency")
@login_required
def agency_opt_in():
    ws = _managed_workspace()
    _require_agency()
    wanted = request.form.get("opt_in") == "on"
    report_recipients.set_agency_opt_in(ws, current_user, wanted, now=utcnow(), ip=request.remote_addr)
    db.session.commit()
    return _after_change(ws, "settings/_report_agency.html",
                         "You will receive this workspace's weekly report." if wanted
                         else "You no longer receive this workspace's weekly report.")


@bp.post("/settings/report-recipients/schedule")
@login_required
def schedule_settings():
    """Weekly, monthly or both; the delivery weekday and hour; the creator cut. Both kinds
    of manager choose them: it is the client's morning."""
    ws = _managed_workspace()
    form = request.form
    try:
        report_recipients.update_schedule(ws, cadence=form.get("cadence"), weekday=form.get("delivery_weekday"),
                                          at=form.get("delivery_time"), creator_cut=form.get("creator_cut") == "on",
                                          by=current_user, now=utcnow(), ip=request.remote_addr)
    except report_recipients.RecipientError as e:
        db.session.rollback()
        return _refused(ws, "settings/_report_schedule.html", str(e),
                        typed={k: form.get(k, "")[:20] for k in ("cadence", "delivery_weekday", "delivery_time")})
    db.session.commit()
    settings = report_recipients.settings_of(ws.id)
    return _after_change(ws, "settings/_report_schedule.html", "Saved: " + report_periods.describe_delivery(
        settings.kinds, settings.delivery_weekday, settings.delivery_hour, ws.timezone) + ".")


@bp.post("/settings/report-recipients/approval")
@login_required
def approval_settings():
    ws = _managed_workspace()
    _require_agency()
    hours = request.form.get("approval_window_hours", type=int)
    try:
        report_recipients.update_settings(ws, approval_required=request.form.get("approval_required") == "on",
                                          approval_window_hours=hours, by=current_user, now=utcnow(),
                                          ip=request.remote_addr)
    except report_recipients.RecipientError as e:
        db.session.rollback()
        return _refused(ws, "settings/_report_approval.html", str(e))
    db.session.commit()
    required = report_recipients.settings_of(ws.id).approval_required
    return _after_change(ws, "settings/_report_approval.html",
                         "Weekly reports now wait for an agency user's approval." if required
                         else "Weekly reports are sent without approval.")


# ------------------------------------------------------------------ public: unsubscribe


def _private(body, status: int = 200):
    """A token URL is a capability: never cached, never sent on as a Referer."""
    resp = make_response(body, status)
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Referrer-Policy"] = "no-referrer"
    return resp


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt
@limiter.limit("60 per minute")
def unsubscribe(token: str):
    sub = report_recipients.read_token(token)
    if sub is None:
        return _private(render_template("public/unsubscribe_invalid.html"), 404)
    ws = db.session.get(Workspace, sub.workspace_id)  # read_token checked that it exists
    done = None
    if request.method == "POST":
        if request.form.get(ONE_CLICK_FIELD) == ONE_CLICK_VALUE:
            report_recipients.unsubscribe(ws.id, sub.email, now=utcnow(), ip=request.remote_addr)
            done = "unsubscribed"
        elif request.form.get("action") == "resubscribe":
            report_recipients.resubscribe(ws.id, sub.email, ip=request.remote_addr)
            done = "resubscribed"
        else:
            abort(400)
        db.session.commit()
    return _private(render_template("public/unsubscribe.html", workspace=ws, email=sub.email, token=token, done=done,
                                    unsubscribed=report_recipients.is_unsubscribed(ws.id, sub.email)))

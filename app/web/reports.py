"""Weekly reports: the list, one report, and (for admins) build now, email preview and
"send me a test"; and, when the workspace wants approval before sending, agency
staff's "Approve and send" (with an optional note to the client). The figures are
built in services/report_figures.py, the emails in services/report_delivery.py; the
views own the transaction (build and approval commit here).

Scoping: the workspace comes from current_workspace() (`?workspace=`, 404 to
outsiders). Creators read only the reports of weeks in which a post of theirs
appears; any other week is 404 for them, as for outsiders.
"""
from __future__ import annotations

from flask import Blueprint, Response, flash, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.exceptions import Forbidden, NotFound

from app.extensions import db
from app.models import Report, Workspace, utcnow
from app.models.workspace import ROLE_CREATOR
from app.services import access, mail, report_delivery, report_figures
from app.web.context import current_workspace, workspace_scoped
from app.web.errors import not_found
from app.web.htmx import redirect_after_action

bp = Blueprint("reports", __name__)

# The preview is our own email HTML (no scripts), styled inline for mail clients:
# allow inline styles for this response only, and nothing else.
PREVIEW_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; frame-ancestors 'none'; sandbox"


def _week(week: str) -> report_figures.Week:
    try:
        return report_figures.parse_week(week)
    except report_figures.WeekError as e:
        raise not_found(str(e)) from None


def _workspace() -> Workspace:
    ws = current_workspace()
    if ws is None:
        raise NotFound()
    return ws


def _managed_report(week: str) -> tuple[Workspace, Report]:
    wk = _week(week)
    ws = _workspace()
    access.require_manager(current_user, ws.id)
    report = report_figures.get_report(ws, wk)
    if report is None:
        raise not_found(f"The report for {wk.iso} has not been generated yet.")
    return ws, report


def _show_url(ws: Workspace, week: str) -> str:
    return url_for("reports.show", week=week, workspace=ws.id)


@bp.get("/reports")
@workspace_scoped
@login_required
def index():
    ws = current_workspace()
    items = report_figures.list_reports(ws) if ws else []
    if ws and access.role_in(current_user, ws.id) == ROLE_CREATOR:
        items = report_figures.readable_by_creator(current_user, items)
    return render_template("reports/index.html", workspace=ws, reports=items,
                           can_manage=bool(ws) and access.can_manage(current_user, ws.id),
                           last_week=report_figures.previous_week(utcnow(), ws.timezone).iso if ws else None)


@bp.get("/reports/<week>")
@workspace_scoped
@login_required
def show(week: str):
    wk, ws = _week(week), _workspace()
    role, report = access.role_in(current_user, ws.id), report_figures.get_report(ws, wk)
    manage = access.can_manage(current_user, ws.id)
    if report is None:
        return render_template("reports/not_generated.html", workspace=ws, week=wk, can_manage=manage,
                               week_over=report_figures.week_is_over(wk, ws, now=utcnow()))
    if role == ROLE_CREATOR and not report_figures.creator_may_read(current_user, report):
        raise NotFound()
    return render_template("reports/show.html", workspace=ws, report=report, f=report.figures or {},
                           **report_figures.display_times(report),
                           can_manage=manage, deliveries=report_delivery.deliveries_of(report) if manage else [],
                           state=report_delivery.delivery_state(report, now=utcnow()),
                           can_approve=current_user.is_agency, note_max=report_delivery.NOTE_MAX)


@bp.post("/reports/<week>/build")
@login_required
def build(week: str):
    wk, ws = _week(week), _workspace()
    access.require_manager(current_user, ws.id)
    if not report_figures.week_is_over(wk, ws, now=utcnow()):
        flash(f"{wk.label} isn't over yet in {ws.timezone}; its report can be built once it has ended.", "error")
    else:
        report_figures.build_report(ws, wk, now=utcnow())
        db.session.commit()
        flash(f"Report for {wk.label} built.", "success")
    return redirect_after_action(_show_url(ws, wk.iso))


@bp.get("/reports/<week>/email")
@login_required
def email_preview(week: str):
    ws, report = _managed_report(week)
    response = Response(report_delivery.render_email_html(report, ws), mimetype="text/html")
    response.headers["Content-Security-Policy"] = PREVIEW_CSP
    return response


@bp.post("/reports/<week>/test-send")
@login_required
def test_send(week: str):
    ws, report = _managed_report(week)
    try:
        report_delivery.send_test(report, ws, current_user)
        level, message = "success", f"Test email sent to {current_user.email}."
    except mail.MailError as e:
        level, message = "error", f"The test email could not be sent ({e})."
    flash(message, level)
    return redirect_after_action(_show_url(ws, report.iso_week))


@bp.post("/reports/<week>/approve")
@login_required
def approve(week: str):
    """"Approve and send": agency staff only; queues the emails, which the jobs send."""
    ws, report = _managed_report(week)
    if not current_user.is_agency:
        raise Forbidden("Only agency staff approve reports.")
    try:
        queued = report_delivery.approve(report, current_user, note=request.form.get("note"), now=utcnow(),
                                         ip=request.remote_addr)
    except report_delivery.ApprovalError as e:
        db.session.rollback()
        flash(str(e), "error")
    else:
        db.session.commit()
        flash(f"Approved. {queued} email{'' if queued == 1 else 's'} queued; they go out within minutes.", "success")
    return redirect_after_action(_show_url(ws, report.iso_week))

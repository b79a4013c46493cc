"""Reports (weekly and monthly): the list of every built period, one report, and (for
admins) build now, email preview and "send me a test"; and, when the workspace wants
approval before sending, agency staff's "Approve and send" (with an optional note to
the client). The figures are built in services/report_figures.py, the emails in
services/report_delivery.py; the views own the transaction (build and approval commit
here). The URL variable keeps its first name, `week`, and takes any period key:
`/reports/2026-W21` is a week, `/reports/2026-05` a month.

Scoping: the workspace comes from current_workspace() (`?workspace=`, 404 to
outsiders). What each reader sees of a report — all of it, a creator's own cut, or
nothing (404, as for outsiders) — is report_figures.reader_cut, the rule the emails
follow too.
"""
from __future__ import annotations

from flask import Blueprint, Response, flash, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.exceptions import Forbidden, NotFound

from app.extensions import db
from app.models import Report, Workspace, utcnow
from app.models.workspace import ROLE_CREATOR
from app.services import access, mail, metrics, report_delivery, report_figures, report_periods, report_recipients
from app.web.context import current_workspace, workspace_scoped
from app.web.errors import not_found
from app.web.htmx import redirect_after_action

bp = Blueprint("reports", __name__)

PAGE_SIZE = 20
MAX_PAGE = 1000

# The preview is our own email HTML (no scripts), styled inline for mail clients:
# allow inline styles for this response only, and nothing else.
PREVIEW_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; frame-ancestors 'none'; sandbox"


# period_or_404, workspace_or_404 and Reader are shared with app/web/report_pdf.py, so a
# report's PDF is found and cut exactly as its page.
def period_or_404(key: str) -> report_periods.Period:
    """The week or month a URL names; 404 with the reason when it names none."""
    try:
        return report_periods.parse_period(key)
    except report_periods.PeriodError as e:
        raise not_found(str(e)) from None


def workspace_or_404() -> Workspace:
    """The request's workspace (context.current_workspace); 404 when the user has none."""
    ws = current_workspace()
    if ws is None:
        raise NotFound()
    return ws


def _managed_report(key: str) -> tuple[Workspace, Report]:
    period = period_or_404(key)
    ws = workspace_or_404()
    access.require_manager(current_user, ws.id)
    report = report_figures.get_report(ws, period)
    if report is None:
        raise not_found(f"The report for {period.key} has not been generated yet.")
    return ws, report


def _show_url(ws: Workspace, key: str) -> str:
    return url_for("reports.show", week=key, workspace=ws.id)


class Reader:
    """The signed-in person as a reader of one workspace's reports (report_figures.reader_cut)."""

    def __init__(self, ws: Workspace) -> None:
        self.role = access.role_in(current_user, ws.id)
        self.creator_cut = report_recipients.settings_of(ws.id).creator_cut
        self.owned = (report_figures.owned_connection_ids(current_user.id, ws.id)
                      if self.role == ROLE_CREATOR else set())

    def cut(self, report: Report) -> report_figures.Cut | None:
        return report_figures.reader_cut(report, role=self.role, user_id=current_user.id,
                                         creator_cut=self.creator_cut, owned=self.owned)


@bp.get("/reports")
@workspace_scoped
@login_required
def index():
    ws = current_workspace()
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)
    rows, has_next, hidden, states, settings, next_up = [], False, 0, {}, None, []
    if ws:
        reader = Reader(ws)
        if reader.role == ROLE_CREATOR:  # what a creator may read is decided per report (reader_cut)
            every = report_figures.list_reports(ws)
            readable = [(r, c) for r in every if (c := reader.cut(r)) is not None]
            hidden = len(every) - len(readable)
            rows = readable[(page - 1) * PAGE_SIZE:page * PAGE_SIZE]
            has_next = len(readable) > page * PAGE_SIZE
        else:  # everyone else reads every report whole: one page from the database
            found = report_figures.list_reports(ws, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
            rows = [(r, reader.cut(r)) for r in found[:PAGE_SIZE]]
            has_next = len(found) > PAGE_SIZE
        if access.can_manage(current_user, ws.id):
            states = report_delivery.delivery_states([r for r, _ in rows], now=utcnow())
        settings = report_recipients.settings_of(ws.id)
        tz = metrics.workspace_tz(ws.timezone)
        next_up = [report_periods.next_delivery(kind, utcnow(), tz, settings.delivery_weekday, settings.delivery_hour)
                   for kind in settings.kinds]
    return render_template("reports/index.html", workspace=ws, rows=rows, page=page, has_next=has_next,
                           hidden=hidden, states=states, state_labels=report_delivery.STATE_LABELS,
                           next_up=next_up, schedule=settings and report_periods.describe_delivery(
                               settings.kinds, settings.delivery_weekday, settings.delivery_hour, ws.timezone),
                           is_creator=bool(ws) and access.role_in(current_user, ws.id) == ROLE_CREATOR,
                           can_manage=bool(ws) and access.can_manage(current_user, ws.id),
                           last_week=report_figures.previous_week(utcnow(), ws.timezone).key if ws else None)


def _neighbours(ws: Workspace, report: Report, reader: Reader) -> tuple[Report | None, Report | None]:
    """The previous and next report of the same kind that this reader may open."""
    if reader.role != ROLE_CREATOR:
        return report_figures.neighbours(report)
    same = [r for r in report_figures.list_reports(ws) if r.kind == report.kind and reader.cut(r) is not None]
    older = [r for r in same if r.period_start < report.period_start]
    newer = [r for r in same if r.period_start > report.period_start]
    return (older[0] if older else None), (newer[-1] if newer else None)


@bp.get("/reports/<week>")
@workspace_scoped
@login_required
def show(week: str):
    period, ws = period_or_404(week), workspace_or_404()
    report = report_figures.get_report(ws, period)
    manage = access.can_manage(current_user, ws.id)
    if report is None:
        return render_template("reports/not_generated.html", workspace=ws, week=period, period=period,
                               can_manage=manage, week_over=report_figures.is_over(period, ws, now=utcnow()))
    reader = Reader(ws)
    cut = reader.cut(report)
    if cut is None:
        raise NotFound()
    previous, following = _neighbours(ws, report, reader)
    return render_template("reports/show.html", workspace=ws, report=report, f=cut.figures, cut=cut,
                           period=period, previous_report=previous, next_report=following,
                           **report_figures.display_times(report),
                           can_manage=manage, deliveries=report_delivery.deliveries_of(report) if manage else [],
                           state=report_delivery.delivery_state(report, now=utcnow()),
                           can_approve=current_user.is_agency, note_max=report_delivery.NOTE_MAX)


@bp.post("/reports/<week>/build")
@login_required
def build(week: str):
    period, ws = period_or_404(week), workspace_or_404()
    access.require_manager(current_user, ws.id)
    if not report_figures.is_over(period, ws, now=utcnow()):
        flash(f"{period.label} isn't over yet in {ws.timezone}; its report can be built once it has ended.", "error")
    else:
        report_figures.build_report(ws, period, now=utcnow())
        db.session.commit()
        flash(f"Report for {period.label} built.", "success")
    return redirect_after_action(_show_url(ws, period.key))


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
    return redirect_after_action(_show_url(ws, report.period_key))


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
    return redirect_after_action(_show_url(ws, report.period_key))

"""A report as a PDF download: `GET /reports/<week>.pdf`, readable by exactly the people
who can read the report's page (its workspace's members; a creator only for weeks with a
post of theirs), 404 to anyone else. 503, saying why, where the PDF engine cannot run.
"""
from __future__ import annotations

from flask import Blueprint, Response
from flask_login import current_user, login_required
from werkzeug.exceptions import NotFound, ServiceUnavailable

from app.models.workspace import ROLE_CREATOR
from app.services import access, report_figures, report_pdf
from app.web.context import current_workspace
from app.web.errors import not_found

bp = Blueprint("report_pdf", __name__)


@bp.get("/reports/<week>.pdf")
@login_required
def download(week: str):
    ws = current_workspace()
    if ws is None:
        raise NotFound()
    try:
        wk = report_figures.parse_week(week)
    except report_figures.WeekError as e:
        raise not_found(str(e)) from None
    report = report_figures.get_report(ws, wk)
    if report is None:
        raise not_found(f"The report for {wk.iso} has not been generated yet.")
    if access.role_in(current_user, ws.id) == ROLE_CREATOR and not report_figures.creator_may_read(current_user, report):
        raise NotFound()
    try:
        pdf = report_pdf.render(report, ws)
    except report_pdf.PdfUnavailable as e:
        raise ServiceUnavailable(f"The PDF engine is unavailable on this server, so no PDF can be made: {e}") from None
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{report_pdf.filename(report, ws)}"'
    return response

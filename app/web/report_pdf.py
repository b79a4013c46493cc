"""A report as a PDF download: `GET /reports/<week>.pdf` (a week "2026-W21" or a month
"2026-05"), readable by exactly the people who can read the report's page and showing
what its page shows them (report_figures.reader_cut: the whole workspace, or a creator's
own cut), 404 to anyone else. 503, saying why, where the PDF engine cannot run.
"""
from __future__ import annotations

from flask import Blueprint, Response
from flask_login import login_required
from werkzeug.exceptions import NotFound, ServiceUnavailable

from app.services import report_figures, report_pdf
from app.web.errors import not_found
# The report page's own lookups, so the PDF cannot drift from the page in who reads what.
from app.web.reports import Reader, period_or_404, workspace_or_404

bp = Blueprint("report_pdf", __name__)


@bp.get("/reports/<week>.pdf")  # named as on the report page: a week or a month
@login_required
def download(week: str):
    found, ws = period_or_404(week), workspace_or_404()
    report = report_figures.get_report(ws, found)
    if report is None:
        raise not_found(f"The report for {found.key} has not been generated yet.")
    cut = Reader(ws).cut(report)
    if cut is None:
        raise NotFound()
    try:
        pdf = report_pdf.render(report, ws, cut.figures, cut=cut)
    except report_pdf.PdfUnavailable as e:
        raise ServiceUnavailable(f"The PDF engine is unavailable on this server, so no PDF can be made: {e}") from None
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{report_pdf.filename(report, ws)}"'
    return response

"""A report as a PDF: the web page's figures template (reports/_figures.html) inside a
print layout (pdf/report.html), drawn by WeasyPrint, with the workspace's brand.

WeasyPrint needs system libraries (Pango, HarfBuzz, fontconfig) that pip cannot
install. It is imported on first use, never at start-up: without those libraries the
import raises OSError, and then `engine_problem()` says which library is missing, the
PDF link and route say the PDF engine is unavailable and why (503), `flask serve`
prints it once, and everything else works.

The PDF fetches nothing: the logo is inlined as a data: URI, the charts are inline SVG,
the styles are in the template, and the fetcher allows data: URIs only, so a URL in the
figures (a post's TikTok link) can never make the server fetch anything. Fonts come
from fontconfig and WeasyPrint embeds the glyphs it uses (a subset) in the file, so the
PDF reads the same on any machine.
"""
from __future__ import annotations

import logging
import threading
from types import ModuleType

from flask import render_template

from app.models import Report, Workspace
from app.services import branding, report_figures

log = logging.getLogger("app.reports")

_lock = threading.Lock()
_loaded: dict[str, object] = {}  # "module" or "problem", once per process


class PdfUnavailable(Exception):
    """The PDF engine cannot run here; the message says why and what to install."""


def _load() -> ModuleType:
    import weasyprint  # noqa: PLC0415 - lazily: its import loads Pango through ctypes

    return weasyprint


def _describe(error: BaseException) -> str:
    if isinstance(error, ImportError):
        return f"WeasyPrint is not installed ({error}); run `make install`."
    return (f"WeasyPrint cannot load a system library it needs: {error}. Install Pango, HarfBuzz and "
            "fontconfig (Debian/Ubuntu: apt-get install libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b "
            "libfontconfig1) and restart.")


def engine() -> ModuleType:
    """The weasyprint module, imported once; PdfUnavailable when it cannot load."""
    with _lock:
        if "module" not in _loaded and "problem" not in _loaded:
            try:
                _loaded["module"] = _load()
            except (OSError, ImportError) as e:  # OSError: a shared library cannot be found or opened
                _loaded["problem"] = _describe(e)
                log.warning("PDF engine unavailable: %s", _loaded["problem"])
        if "problem" in _loaded:
            raise PdfUnavailable(_loaded["problem"])
        return _loaded["module"]  # type: ignore[return-value]


def engine_problem() -> str | None:
    """None when PDFs can be made here; else one sentence on why not."""
    try:
        engine()
    except PdfUnavailable as e:
        return str(e)
    return None


def filename(report: Report, workspace: Workspace) -> str:
    """e.g. "brass-studio-2026-W21.pdf": ASCII letters, digits and dashes only."""
    slug = "".join(c if c.isascii() and c.isalnum() else "-" for c in workspace.name.lower())
    slug = "-".join(part for part in slug.split("-") if part) or "report"
    return f"{slug[:40]}-{report.iso_week}.pdf"


def render_html(report: Report, workspace: Workspace, figures: dict | None = None, *, cut=None) -> str:
    """The HTML that becomes the PDF (the same figures template as the page). `figures`:
    what this reader sees (`cut`, a report_figures.Cut: a creator's own), else the whole
    report's."""
    brand = branding.brand_of(workspace.id)
    f = figures if figures is not None else (report.figures or {})
    return render_template("pdf/report.html", report=report, workspace=workspace, f=f, cut=cut,
                           brand=brand, logo_src=branding.logo_data_uri(workspace.id) if brand.has_logo else None,
                           **report_figures.display_times(report))


def render(report: Report, workspace: Workspace, figures: dict | None = None, *, cut=None) -> bytes:
    """The report as PDF bytes; PdfUnavailable when the engine cannot run here."""
    wp = engine()
    html = render_html(report, workspace, figures, cut=cut)
    fetcher = wp.urls.URLFetcher(allowed_protocols={"data"}, allow_redirects=False, timeout=5)
    document = wp.HTML(string=html, url_fetcher=fetcher, media_type="print")
    return document.write_pdf()


def attachment(report: Report, workspace: Workspace, figures: dict | None = None, *,
               cut=None) -> tuple[str, bytes] | None:
    """(filename, PDF) for the report's emails when the workspace asked for it. Without a
    working engine the emails go without it (logged, and said on the branding page):
    figures that arrive matter more than the attachment."""
    if not branding.brand_of(workspace.id).attach_pdf:
        return None
    try:
        return filename(report, workspace), render(report, workspace, figures, cut=cut)
    except PdfUnavailable:
        log.warning("report mail without its PDF: engine unavailable report=%s", report.id)
        return None


def attach(msg, pdf: tuple[str, bytes] | None) -> None:
    if pdf is not None:
        msg.attach(pdf[0], "application/pdf", pdf[1], "attachment")

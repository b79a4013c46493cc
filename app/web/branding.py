"""A workspace's report branding: the settings page, the logo upload, and the logo and
accent stylesheet served to the workspace's report pages.

`/settings/branding` and its actions are for agency staff (it is the agency's brand on
the reports it hands its client): client admins and creators get 403, outsiders 404.
The logo and the accent stylesheet are served to every member of the workspace (they
appear on its report pages), 404 to anyone else. The views own the transaction.
"""
from __future__ import annotations

from flask import Blueprint, Flask, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.exceptions import Forbidden, NotFound

from app.extensions import db
from app.models import Workspace
from app.services import access, branding, report_pdf
from app.web.context import current_workspace, workspace_scoped
from app.web.ids import optional_id

bp = Blueprint("branding", __name__)

# A hard cap on the upload request, checked before the form is read (the CSRF check reads
# it first). Files between the logo limit and this get check_logo's friendlier message.
UPLOAD_REQUEST_MAX = 4 * 1024 * 1024
# What the logo response may do if a browser opened it as a page: nothing.
LOGO_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


@bp.url_value_preprocessor
def _limit_uploads(endpoint, _values) -> None:
    # Runs before every before_request function, so before Flask-WTF parses the body.
    if endpoint == "branding.upload_logo":
        request.max_content_length = UPLOAD_REQUEST_MAX


def _agency_workspace(ws: Workspace | None) -> Workspace:
    if ws is None:
        raise NotFound()
    if not current_user.is_agency:
        if access.role_in(current_user, ws.id) is None:
            raise NotFound()
        raise Forbidden("Only agency staff change a workspace's report branding.")
    return ws


def _form_workspace() -> Workspace:
    return _agency_workspace(access.workspace_or_404(current_user, optional_id(request.form, "workspace_id")))


def _page(ws: Workspace, *, errors: dict[str, str] | None = None, values: dict | None = None, status: int = 200):
    brand = branding.brand_of(ws.id)
    return render_template("settings/branding.html", workspace=ws, brand=brand, errors=errors or {},
                           values=values or {}, logo_max_kb=branding.LOGO_MAX_BYTES // 1024,
                           min_side=branding.LOGO_MIN_SIDE, max_side=branding.LOGO_MAX_SIDE,
                           min_contrast=branding.MIN_CONTRAST, default_accent=branding.DEFAULT_ACCENT, pdf_problem=report_pdf.engine_problem()), status


def _back(ws: Workspace):
    return redirect(url_for("branding.index", workspace=ws.id), 303)


@bp.get("/settings/branding")
@workspace_scoped
@login_required
def index():
    return _page(_agency_workspace(current_workspace()))


@bp.post("/settings/branding")
@login_required
def update():
    ws = _form_workspace()
    form = request.form
    values = {k: form.get(k, "")[:300] for k in ("accent_color", "sender_name", "reply_to")}
    errors = branding.update(ws, **values, attach_pdf=form.get("attach_pdf") == "on", by=current_user,
                             ip=request.remote_addr)
    if errors:
        db.session.rollback()
        return _page(ws, errors=errors, values={**values, "attach_pdf": form.get("attach_pdf") == "on"}, status=422)
    db.session.commit()
    flash("Report branding saved.", "success")
    return _back(ws)


@bp.post("/settings/branding/logo")
@login_required
def upload_logo():
    ws = _form_workspace()
    upload = request.files.get("logo")
    # Read one byte past the limit: enough to say "too big" without holding a huge file.
    data = upload.stream.read(branding.LOGO_MAX_BYTES + 1) if upload else b""
    if upload and len(data) > branding.LOGO_MAX_BYTES:
        data += upload.stream.read()  # for the size in the message; the request cap bounds it
    try:
        info = branding.set_logo(ws, data, by=current_user, ip=request.remote_addr)
    except branding.BrandError as e:
        db.session.rollback()
        return _page(ws, errors={"logo": str(e)}, status=422)
    db.session.commit()
    flash(f"Logo saved ({info.width}×{info.height} px). It appears on the report page, in the emails and in the PDF.",
          "success")
    return _back(ws)


@bp.post("/settings/branding/logo/remove")
@login_required
def remove_logo():
    ws = _form_workspace()
    removed = branding.remove_logo(ws, by=current_user, ip=request.remote_addr)
    db.session.commit()
    flash("Logo removed." if removed else "There was no logo to remove.", "success")
    return _back(ws)


def _member_workspace(workspace_id: int) -> Workspace:
    return access.workspace_or_404(current_user, workspace_id)


@bp.get("/brand/<id:workspace_id>/logo")
@login_required
def logo(workspace_id: int):
    ws = _member_workspace(workspace_id)
    found = branding.logo_of(ws.id)
    if found is None:
        raise NotFound()
    data, mime = found
    response = Response(data, mimetype=mime)
    # The type was checked from the file's bytes when it was stored; nosniff keeps browsers
    # from guessing another, and the CSP sandboxes it should anyone open it as a page.
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = LOGO_CSP
    response.headers["Content-Disposition"] = "inline; filename=logo." + ("png" if mime == "image/png" else "jpg")
    return response


@bp.get("/brand/<id:workspace_id>/accent.css")
@login_required
def accent_css(workspace_id: int):
    """The accent colour for the report page (its CSP allows no inline styles)."""
    brand = branding.brand_of(_member_workspace(workspace_id).id)
    css = (f":root {{ --report-accent: {brand.accent}; }}\n"
           f".report-brand-bar {{ border-top: 4px solid {brand.accent}; }}\n"
           f".report-brand-bar h1 {{ color: {brand.accent}; }}\n"
           f".report .client-note {{ border-left-color: {brand.accent}; }}\n")
    return Response(css, mimetype="text/css")


def init_app(app: Flask) -> None:
    # Report templates ask for the brand themselves (`brand_of(workspace.id)`), so views
    # that render them need no change to show it.
    app.add_template_global(branding.brand_of, "brand_of")
    app.register_blueprint(bp)

"""The clients overview and client workspaces: create one, change its settings.

Who may do what:
- the overview (`/clients`): agency staff (every workspace; it is their home page) and
  client admins (the workspaces they administer); creators, who manage no workspace,
  get 403;
- creating a workspace (`/clients/new`): agency staff only (403 for anyone else);
- a workspace's settings (`/workspaces/<id>/settings`): agency staff and that
  workspace's client admins; its creators get 403, everyone else 404. Deleting a
  workspace is not offered here.

The figures and the order come from services/clients_overview.py; checking and applying
settings from services/workspaces.py. These views own the transaction: each change is
committed with its audit event. A form with a mistake comes back with status 422, the
entries kept and a message next to each field at fault.
"""
from __future__ import annotations

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import Forbidden

from app.extensions import db
from app.models import Workspace, utcnow
from app.services import access, audit, clients_overview, workspaces
from app.web.context import use_workspace

bp = Blueprint("clients", __name__)


@bp.get("/clients")
@login_required
def index():
    now = utcnow()
    rows = clients_overview.overview(current_user, now=now)
    if not rows and not current_user.is_agency:
        raise Forbidden("The clients overview is for agency staff and client admins.")
    return render_template("clients/index.html", rows=rows, now=now)


def _require_agency() -> None:
    if not current_user.is_agency:
        raise Forbidden("Only agency staff can add a client workspace.")


def _form_page(template: str, status: int = 200, **context):
    return make_response(render_template(template, **context), status)


@bp.get("/clients/new")
@login_required
def new():
    _require_agency()
    return _form_page("clients/new.html", form=workspaces.blank_form(), errors={},
                      timezones=workspaces.timezone_names())


@bp.post("/clients/new")
@login_required
def create():
    _require_agency()
    checked = workspaces.check(request.form)
    if checked.ok:
        ws = workspaces.create(checked.settings)
        audit.record("workspace.created", actor_id=current_user.id, workspace_id=ws.id, ip=request.remote_addr,
                     name=ws.name, timezone=ws.timezone, cadence_target=ws.cadence_target)
        if _committed():
            use_workspace(ws)
            flash(f"{ws.name} is ready. Next: invite its client admin and creators, and connect its TikTok accounts.",
                  "success")
            return redirect(url_for("clients.settings", workspace_id=ws.id), 303)
        checked.errors["name"] = f"A workspace called “{checked.values['name']}” already exists. Choose another name."
    return _form_page("clients/new.html", 422, form=checked.values, errors=checked.errors,
                      timezones=workspaces.timezone_names())


def _committed() -> bool:
    """Commit; False when the unique name was taken meanwhile (by a request in between)."""
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return False
    return True


def _managed(workspace_id: int) -> Workspace:
    ws = access.workspace_or_404(current_user, workspace_id)
    access.require_manager(current_user, ws.id)
    return ws


def _settings_page(ws: Workspace, status: int = 200, *, form=None, errors=None):
    use_workspace(ws)
    return _form_page("clients/settings.html", status, workspace=ws, form=form or workspaces.form_of(ws),
                      errors=errors or {}, timezones=workspaces.timezone_names())


@bp.get("/workspaces/<id:workspace_id>/settings")
@login_required
def settings(workspace_id: int):
    return _settings_page(_managed(workspace_id))


@bp.post("/workspaces/<id:workspace_id>/settings")
@login_required
def update_settings(workspace_id: int):
    ws = _managed(workspace_id)
    checked = workspaces.check(request.form, workspace=ws)
    if not checked.ok:
        return _settings_page(ws, 422, form=checked.values, errors=checked.errors)
    changes = workspaces.apply(ws, checked.settings)
    if not changes:
        flash("Nothing changed.", "info")
        return redirect(url_for("clients.settings", workspace_id=ws.id), 303)
    audit.record("workspace.settings_changed", actor_id=current_user.id, workspace_id=ws.id, ip=request.remote_addr,
                 **{f"{field}_before": before for field, (before, _after) in changes.items()},
                 **{field: after for field, (_before, after) in changes.items()})
    if not _committed():
        ws = _managed(workspace_id)
        return _settings_page(ws, 422, form=checked.values, errors={
            "name": f"A workspace called “{checked.values['name']}” already exists. Choose another name."})
    flash(f"Saved the settings of {ws.name}.", "success")
    return redirect(url_for("clients.settings", workspace_id=ws.id), 303)

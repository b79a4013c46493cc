"""The review queue of public data-deletion requests (`/settings/deletion-requests`).

Agency staff see every confirmed request and decide: approve (the named accounts are
marked for deletion like "Delete all data for this account": deleted at the next purge
run) or reject with a reason the requester is shown. A workspace's client admins see
the requests naming its accounts, read-only. Creators get 403, people outside the
named workspaces 404 (scoping in app/services/access.py). Logic in
app/services/deletion_requests.py.
"""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.extensions import db
from app.models import DeletionRequest, TikTokConnection, User, Workspace
from app.models.deletion import DECIDED_BY_TIKTOK, REQUEST_IN_REVIEW
from app.services import access, deletion_requests, disconnect
from app.services.token_sealing import get_keyring
from app.tiktok import get_client
from app.web.context import current_workspace
from app.web.filters import date_long

bp = Blueprint("deletion_reviews", __name__)


@bp.get("/settings/deletion-requests")
@login_required
def index():
    return _page(_workspace())


@bp.post("/settings/deletion-requests/<id:request_id>/approve")
@login_required
def approve(request_id: int):
    req = access.deletion_request_or_404(current_user, request_id)
    try:
        conns = deletion_requests.approve(req, actor=current_user, now=_now())
    except deletion_requests.DecisionError as e:
        db.session.rollback()
        abort(e.status, e.message)
    db.session.commit()
    schedule_deletion(conns)
    _tell_requester(req)
    when = date_long(deletion_requests.deletion_day(req))
    flash(f"Approved request #{req.id}. The accounts it names are deleted in the nightly run on {when}; "
          "the requester is told.", "success")
    return redirect(url_for("deletion_reviews.index", **_back()), 303)


@bp.post("/settings/deletion-requests/<id:request_id>/reject")
@login_required
def reject(request_id: int):
    req = access.deletion_request_or_404(current_user, request_id)
    reason = request.form.get("reason", "")
    try:
        deletion_requests.reject(req, actor=current_user, reason=reason, now=_now())
    except deletion_requests.DecisionError as e:
        db.session.rollback()
        if e.status != 400:
            abort(e.status, e.message)
        return _page(_workspace(), error=(req.id, e.message), reason=reason[:2000], status=400)
    db.session.commit()
    _tell_requester(req)
    flash(f"Rejected request #{req.id}. Nothing is deleted; the requester is told why.", "success")
    return redirect(url_for("deletion_reviews.index", **_back()), 303)


def schedule_deletion(conns: list[TikTokConnection]) -> None:
    """Mark each account for the next purge run, exactly like "Delete all data for this
    account": disconnected at once (committed), then its grant revoked at TikTok."""
    app = current_app._get_current_object()
    for conn in conns:
        with disconnect.refresh_paused(conn.id, now=_now()):
            newly = disconnect.request_deletion(conn, now=_now(), retention_days=app.config["RETENTION_DAYS"],
                                                source="public_request")
            db.session.commit()
            if newly:
                disconnect.try_revoke(conn, client=get_client(app), keyring=get_keyring(app), now=_now())
                db.session.commit()


def _tell_requester(req: DeletionRequest) -> None:
    if deletion_requests.notify_requester(req):
        db.session.commit()


def _workspace() -> Workspace:
    ws = current_workspace()
    if ws is None:
        access.workspace_or_404(current_user, None)
    access.require_manager(current_user, ws.id)
    return ws


def _back() -> dict:
    ws = current_workspace()
    return {"workspace": ws.id} if ws is not None else {}


def _page(ws: Workspace, *, error: tuple[int, str] | None = None, reason: str = "", status: int = 200):
    requests_ = access.visible_deletion_requests(current_user, ws)
    rows = [_row(r) for r in requests_]
    return render_template("settings/deletion_requests.html", open_rows=[r for r in rows if r["open"]],
                           decided_rows=[r for r in rows if not r["open"]], can_decide=current_user.is_agency,
                           error=error, reason=reason), status


def _row(req: DeletionRequest) -> dict:
    accounts = access.visible_request_accounts(current_user, req)
    names = {w.id: w.name for w in access.visible_workspaces(current_user)}
    owners = {u.id: u.email for u in db.session.scalars(
        sa.select(User).where(User.id.in_({c.owner_user_id for c in accounts if c.owner_user_id})))}
    decider = db.session.get(User, req.decided_by_user_id) if req.decided_by_user_id else None
    return {
        "req": req,
        "open": req.status == REQUEST_IN_REVIEW,
        "handle": req.handle if req.email else "",  # forgotten once the requester was told
        "requester": _requester(req),
        "accounts": [{"username": c.username, "workspace": names.get(c.workspace_id, ""),
                      "owner": owners.get(c.owner_user_id, ""), "status": c.status} for c in accounts],
        "due": deletion_requests.answer_due(req),
        "deletion_day": deletion_requests.deletion_day(req),
        "decider": ("TikTok ownership check" if req.decided_via == DECIDED_BY_TIKTOK
                    else decider.email if decider else ""),
    }


def _requester(req: DeletionRequest) -> str:
    """Agency staff, who may have to write to the requester, see the address; client admins
    see enough to recognise it."""
    if not req.email:
        return ""
    if current_user.is_agency:
        return req.email
    local, _, domain = req.email.partition("@")
    return f"{local[:1]}…@{domain}"


def _now() -> datetime:
    return datetime.now(timezone.utc)

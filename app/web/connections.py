"""Actions on one connected account: Disconnect and "Delete all data for this account".

Both answer htmx with the updated row partial plus an HX-Trigger toast (the page's
list listens for `connections-changed`), and a plain form post with a 303 back to
Integrations. Scoping is `access.connection_or_404`: creators act on their own
connections only, admins and agency staff on every connection of the workspace,
everyone else gets 404. Logic lives in app/services/disconnect.py.

Each action commits "disconnected" before calling TikTok's revoke, then commits the
revoke's outcome (see the service's docstring for why).
"""
from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, current_app, flash, url_for
from flask_login import current_user, login_required

import jobs
from app.extensions import db
from app.services import access, disconnect
from app.services.token_sealing import get_keyring
from app.tiktok import get_client
from app.web.filters import date_long
from app.web.htmx import is_fragment_request, partial_response, redirect_after_action

bp = Blueprint("connections", __name__)

ROW = "integrations/_connection_row.html"


@bp.post("/connections/<id:connection_id>/disconnect")
@login_required
def disconnect_account(connection_id: int):
    conn = access.connection_or_404(current_user, connection_id)
    with disconnect.refresh_paused(conn.id, now=_now()):
        newly = disconnect.mark_disconnected(conn, now=_now(), retention_days=_retention(), actor_id=current_user.id)
        db.session.commit()
        outcome = _revoke(conn)
    if not newly:
        message = f"@{conn.username} was already disconnected."
    elif outcome.confirmed:
        message = f"Disconnected @{conn.username}. TikTok access is revoked; data is deleted by {date_long(conn.purge_after)}."
    else:
        message = (f"Disconnected @{conn.username}. TikTok didn't answer, so we keep retrying the revocation; "
                   "nothing is fetched from this account any more.")
    return _answer(conn, message)


@bp.post("/connections/<id:connection_id>/deletion")
@login_required
def request_deletion(connection_id: int):
    conn = access.connection_or_404(current_user, connection_id)
    with disconnect.refresh_paused(conn.id, now=_now()):
        disconnect.request_deletion(conn, now=_now(), retention_days=_retention(), actor_id=current_user.id)
        db.session.commit()
        _revoke(conn)
    return _answer(conn, f"All data of @{conn.username} will be deleted in the next nightly run ({jobs.when('purge')}).")


def _revoke(conn) -> disconnect.RevokeOutcome:
    outcome = disconnect.try_revoke(conn, client=get_client(current_app), keyring=get_keyring(current_app),
                                    now=_now())
    db.session.commit()
    return outcome


def _answer(conn, message: str):
    if is_fragment_request():
        return partial_response(ROW, c=conn, notify=("success", message), events={"connections-changed": None})
    flash(message, "success")
    return redirect_after_action(url_for("integrations.index", workspace=conn.workspace_id))


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _retention() -> int:
    return current_app.config["RETENTION_DAYS"]

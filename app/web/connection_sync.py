"""'Refresh now' on a connected account, and the row that polls itself while syncing.

"Refresh now" runs at most once per connection per REFRESH_NOW_MIN_INTERVAL_SECONDS
(services/refresh_throttle.py); inside that window it answers 429 with the row saying
when to try again (the page's htmx config swaps 429s). Otherwise the token vault
refreshes the token if due (committing the rotated pair itself), the route commits the
queued sync, and with no scheduler in this process the sync workflow runs here.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from flask import Blueprint, current_app, redirect, url_for
from flask_login import current_user, login_required

from app.extensions import db
from app.services import access, refresh_throttle, sync
from app.services.token_sealing import get_keyring
from app.tiktok import get_client
from app.web.htmx import is_fragment_request, partial_response
from app.workflows import sync as sync_workflow
from app.workflows import token_vault
from jobs.scheduler import wake

bp = Blueprint("connection_sync", __name__)
ROW = "integrations/_connection_row.html"


@bp.post("/connections/<id:connection_id>/refresh")
@login_required
def refresh(connection_id: int):
    conn = access.connection_or_404(current_user, connection_id)
    if conn.status != "active":
        return partial_response(ROW, c=conn, notify=("error", "Reconnect this account first; there is no access to refresh."))
    now = datetime.now(timezone.utc)
    interval = timedelta(seconds=current_app.config["REFRESH_NOW_MIN_INTERVAL_SECONDS"])
    wait = refresh_throttle.take_slot(conn.id, now=now, min_interval=interval)
    if wait:
        response = partial_response(ROW, status=429, c=conn, retry_in=wait,
                                    notify=("info", f"@{conn.username} was refreshed just now — try again in {wait} s."))
        response.headers["Retry-After"] = str(wait)
        return response
    client, keyring = get_client(current_app), get_keyring(current_app)
    outcome = token_vault.refresh(conn.id, client=client, keyring=keyring, now=now)  # if due; commits its own
    sync.request_sync(conn.id, now=now)
    db.session.commit()
    if not wake(current_app, "sync"):  # no scheduler in this process: sync right here
        sync_workflow.sync_connection(conn.id, client=client, keyring=keyring, now=now)
    conn = access.connection_or_404(current_user, connection_id)
    level, message = _message(conn, outcome)
    return partial_response(ROW, c=conn, notify=(level, message))


@bp.get("/connections/<id:connection_id>/row")
@login_required
def row(connection_id: int):
    conn = access.connection_or_404(current_user, connection_id)
    if not is_fragment_request():
        return redirect(url_for("integrations.index", workspace=conn.workspace_id) + f"#connection-{conn.id}")
    return partial_response(ROW, c=conn)


def _message(conn, outcome: token_vault.Outcome) -> tuple[str, str]:
    if conn.status == "needs_reconnect":
        return "error", f"TikTok no longer accepts our access to @{conn.username}. Reconnect it to resume syncing."
    if conn.is_syncing:
        return "info", f"@{conn.username} is syncing now."
    if conn.last_error:
        return "error", f"@{conn.username}: {conn.last_error}"
    token = "Token refreshed. " if outcome is token_vault.Outcome.REFRESHED else ""
    return "success", f"{token}@{conn.username} is up to date."

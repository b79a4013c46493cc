"""The audit trail of a workspace, for its admins: on screen and as CSV."""
from __future__ import annotations

import csv
import io
import re

import sqlalchemy as sa
from flask import Blueprint, render_template, request, send_file
from flask_login import current_user, login_required

from app.extensions import db
from app.models import TikTokConnection, User
from app.services import access, audit
from app.services.dashboard import csv_safe
from app.web.context import current_workspace, workspace_scoped

bp = Blueprint("audit", __name__)
PAGE_SIZE = 100
EXPORT_LIMIT = 10_000


def _context(limit: int, offset: int = 0):
    ws = current_workspace()
    if ws is None:
        access.workspace_or_404(current_user, None)
    access.require_manager(current_user, ws.id)
    events = audit.workspace_events(ws.id, limit=limit, offset=offset)
    # Names for actors and accounts in two queries, whatever the number of events.
    user_ids = {e.actor_user_id for e in events if e.actor_user_id}
    conn_ids = {e.connection_id for e in events if e.connection_id}
    users = dict(db.session.execute(sa.select(User.id, User.email).where(User.id.in_(user_ids))).all()) if user_ids else {}
    accounts = dict(db.session.execute(sa.select(TikTokConnection.id, TikTokConnection.username).where(
        TikTokConnection.id.in_(conn_ids))).all()) if conn_ids else {}
    rows = [{"at": e.at, "what": audit.describe(e), "event": e.event,
             "who": users.get(e.actor_user_id, "Logic Target" if e.actor_user_id is None else "removed user"),
             "account": f"@{accounts[e.connection_id]}" if e.connection_id in accounts else "",
             "detail": ", ".join(f"{k}: {v}" for k, v in sorted((e.detail or {}).items()))} for e in events]
    return ws, rows


@bp.get("/settings/audit")
@workspace_scoped
@login_required
def index():
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), 1000)
    ws, rows = _context(PAGE_SIZE + 1, (page - 1) * PAGE_SIZE)
    return render_template("settings/audit.html", rows=rows[:PAGE_SIZE], page=page, has_next=len(rows) > PAGE_SIZE)


@bp.get("/settings/audit.csv")
@login_required
def export_csv():
    ws, rows = _context(EXPORT_LIMIT)
    out = io.StringIO()
    out.write("\ufeff")  # so spreadsheets read the UTF-8 (names, handles) as UTF-8
    writer = csv.writer(out)
    writer.writerow(["time (UTC)", "event", "description", "by", "account", "detail"])
    for r in rows:
        writer.writerow([csv_safe(c) for c in (
            r["at"].strftime("%Y-%m-%d %H:%M:%S"), r["event"], r["what"], r["who"], r["account"], r["detail"])])
    # send_file writes the Content-Disposition: a quoted ASCII `filename` and, for any other
    # character, an RFC 5987 `filename*` (a header must be Latin-1; a workspace name need not be).
    return send_file(io.BytesIO(out.getvalue().encode("utf-8")), mimetype="text/csv", as_attachment=True,
                     download_name=download_name(ws.name))


def download_name(workspace_name: str) -> str:
    """`audit-café-łódź-東京.csv`: the workspace name in lower case, spaces as hyphens,
    without the characters a file name cannot hold on some systems (`"*/:<>?\\|`, controls)."""
    stem = re.sub(r'[\x00-\x1f\x7f"*/:<>?\\|]+', "", workspace_name).strip().lower()
    stem = re.sub(r"\s+", "-", stem) or "workspace"
    return f"audit-{stem}.csv"

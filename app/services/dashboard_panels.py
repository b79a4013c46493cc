"""The dashboard's account panel (KPI tiles, charts, first page of posts): computed,
rendered, and kept for the first view after a sync.

Computing the panel is most of a dashboard view's work, and what it shows changes only
when the account syncs (or the workspace's settings, or the local date, change). So the
sync renders the panel for each preset period right after storing the account's new
figures (`prerender`, called by app/workflows/sync.py) into the dashboard_panels table,
which every app instance reads: the first view after a sync, on any instance, reads one
row. A view nobody rendered yet (a custom period, a sorted table, a new local day, a
settings change) is computed as before. In front of both, each process keeps recent
fragments in memory (app/web/fragment_cache.py) for repeated views.

Nothing here checks access: callers have (the route through services/access.py; the
sync renders only for its own account). The panel shows the account's data the same way
to every reader, so one rendering serves them all. Never commits.
"""
from __future__ import annotations

import hashlib
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from markupsafe import Markup

from app.extensions import db
from app.models import DashboardPanel, TikTokConnection, Workspace
from app.services import charts, dashboard, definitions, metrics

Account = dashboard.AccountLink | TikTokConnection


def panel_key(workspace: Workspace, account: Account, params: dashboard.TableParams, now: datetime) -> str:
    """A digest of everything the panel depends on besides stored figures that only a sync
    changes: the account's data version (last sync, sync request, status, granted scopes),
    the workspace's timezone and cadence target, the local date (periods move at
    midnight) and the period and table parameters. Stable across processes."""
    tz = metrics.workspace_tz(workspace.timezone)
    parts = ("panel", account.id, account.username, account.status, account.last_synced_at,
             account.sync_requested_at, account.granted_scopes, workspace.timezone, workspace.cadence_target,
             now.astimezone(tz).date(), params)
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def render(account: Account, workspace: Workspace, params: dashboard.TableParams, *, now: datetime) -> str:
    """Compute and render the panel. It needs no context processors (page shell,
    workspace switcher), so it renders bare: in a request, the page's own render is the
    only one that runs them, and the sync can render it with only an app context."""
    board = dashboard.build_dashboard(account, workspace, params, now=now)
    return current_app.jinja_env.get_template("performance/_account_panel.html").render(
        board=board, table=board.table, selected=account, charts=charts, definitions=definitions)


def stored(connection_id: int, key: str) -> Markup | None:
    """The panel the sync rendered under `key`, if any."""
    html = db.session.scalar(sa.select(DashboardPanel.html).where(DashboardPanel.connection_id == connection_id,
                                                                  DashboardPanel.key == key))
    return None if html is None else Markup(html)


def panel(account: Account, workspace: Workspace, params: dashboard.TableParams, *, now: datetime,
          key: str | None = None) -> Markup:
    """The panel for a view: the sync's rendering when its key matches, else computed.
    `key`: panel_key's answer for these arguments, when the caller has it already."""
    found = stored(account.id, key or panel_key(workspace, account, params, now))
    return found if found is not None else Markup(render(account, workspace, params, now=now))


def prerender(connection_id: int, *, now: datetime) -> int:
    """Render the account's panel for each preset period (default comparison and table
    order) and keep them in place of the account's earlier ones; returns how many.
    Called after the sync's figures are committed. Disconnected accounts get none."""
    account = dashboard.account_link(connection_id)
    if account is None or account.is_disconnected or account.last_synced_at is None:
        return 0
    workspace = db.session.get(Workspace, account.workspace_id)
    rows = []
    for range_days in dashboard.RANGES:
        params = dashboard.TableParams(range_days=range_days)
        rows.append({"connection_id": connection_id, "key": panel_key(workspace, account, params, now),
                     "html": render(account, workspace, params, now=now), "rendered_at": now})
    forget([connection_id])
    db.session.execute(sa.insert(DashboardPanel), rows)
    return len(rows)


def forget(connection_ids: list[int]) -> int:
    """Drop the kept panels of these accounts (their figures changed some other way, e.g.
    Spark Ads rows from an ads account's sync); their next views are computed."""
    if not connection_ids:
        return 0
    result = db.session.execute(sa.delete(DashboardPanel).where(DashboardPanel.connection_id.in_(connection_ids)))
    return result.rowcount or 0

"""The sync renders the dashboard's panels for its new figures; the first view after a
sync (on any instance) reads them instead of computing them, and shows exactly what a
computed panel shows."""
import logging
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import DashboardPanel, TikTokConnection, utcnow
from app.services import dashboard, dashboard_panels
from jobs.runner import run_job
from tests.conftest import login
from tests.factories import make_connection, seed_performance
from tests.integration.test_performance import QueryCounter
from tests.integration.test_refresh_sync import NOW, register_data, sealed_connection


def seeded(people, username="brassorbit3"):
    conn = make_connection(people.workspace, people.admin, username=username)
    conn.granted_scopes = "user.info.basic,user.info.stats,user.insights,video.list,video.insights"
    seed_performance(conn, tz="Europe/London", days=120, posts=60, spark_posts=2)
    db.session.commit()
    return conn


def panel_of(html: str) -> str:
    """The account panel's markup within a whole page."""
    start = html.index('<div class="dash-head">')
    return html[start:html.index("</main>", start)]


def kept(conn_id) -> list[DashboardPanel]:
    return list(db.session.scalars(sa.select(DashboardPanel).where(DashboardPanel.connection_id == conn_id)))


def test_a_kept_panel_is_served_without_computing_and_equals_the_computed_one(app, client, people, monkeypatch):
    conn = seeded(people)
    login(client, people.admin)
    url = f"/performance?account={conn.id}&range=90"
    computed = client.get(url).get_data(as_text=True)  # nothing kept yet: computed

    with app.app_context():  # as the sync renders them: no request, only the app
        assert dashboard_panels.prerender(conn.id, now=utcnow()) == len(dashboard.RANGES)
        db.session.commit()

    def not_computed(*a, **k):
        raise AssertionError("the kept panel should have been served")

    monkeypatch.setattr(dashboard, "build_dashboard", not_computed)
    with QueryCounter(db.engine) as served:
        page = client.get(url).get_data(as_text=True)
    assert panel_of(page) == panel_of(computed)  # links are paths, figures identical
    assert "http://" not in panel_of(page).replace("https://www.tiktok.com", "")  # no absolute own links
    assert len(served.statements) <= 5  # user, workspaces, accounts, the kept panel (+ savepoint noise)


def test_a_view_the_sync_did_not_render_is_computed(app, client, people):
    conn = seeded(people)
    with app.app_context():
        dashboard_panels.prerender(conn.id, now=utcnow())
        db.session.commit()
    login(client, people.admin)
    calls = []
    original = dashboard.build_dashboard

    def counting(*a, **k):
        calls.append(1)
        return original(*a, **k)

    dashboard.build_dashboard = counting
    try:
        client.get(f"/performance?account={conn.id}&range=28")  # kept: not computed
        assert calls == []
        client.get(f"/performance?account={conn.id}&range=28&compare=year")  # never rendered: computed
        assert calls == [1]
        people.workspace.cadence_target = 7  # a setting the panel shows: the kept one no longer matches
        db.session.commit()
        client.get(f"/performance?account={conn.id}&range=28")
        assert calls == [1, 1]
    finally:
        dashboard.build_dashboard = original


def test_the_sync_keeps_panels_for_each_preset_period_and_replaces_them(app, people, requests_mock):
    conn = sealed_connection(app, people.workspace, people.creator, expires_in=86400)
    register_data(requests_mock)
    assert run_job(app, "sync", now=NOW).counts["synced"] == 1
    first = {p.key for p in kept(conn.id)}
    assert len(first) == len(dashboard.RANGES)
    conn = db.session.get(TikTokConnection, conn.id)
    conn.next_sync_at = None
    db.session.commit()
    assert run_job(app, "sync", now=NOW + timedelta(hours=1)).counts["synced"] == 1
    second = {p.key for p in kept(conn.id)}
    assert len(second) == len(dashboard.RANGES) and not first & second  # the earlier ones are gone


def test_a_panel_that_cannot_be_rendered_costs_the_sync_nothing(app, people, requests_mock, monkeypatch, caplog):
    conn = sealed_connection(app, people.workspace, people.creator, expires_in=86400)
    register_data(requests_mock)

    def broken(*a, **k):
        raise RuntimeError("template exploded")

    monkeypatch.setattr(dashboard_panels, "render", broken)
    with caplog.at_level(logging.ERROR):
        assert run_job(app, "sync", now=NOW).counts["synced"] == 1
    conn = db.session.get(TikTokConnection, conn.id)
    assert conn.last_synced_at == NOW  # the figures are stored
    assert kept(conn.id) == []
    record = next(r for r in caplog.records if "dashboard panels" in r.getMessage())
    assert record.exc_info and "template exploded" in str(record.exc_info[1])


def test_disconnected_accounts_get_no_kept_panels_and_the_purge_removes_them(app, people):
    conn = seeded(people)
    with app.app_context():
        dashboard_panels.prerender(conn.id, now=utcnow())
        db.session.commit()
    assert kept(conn.id)
    conn = db.session.get(TikTokConnection, conn.id)
    conn.status = "disconnected"
    conn.disconnected_at = utcnow() - timedelta(days=100)
    conn.purge_after = utcnow() - timedelta(days=1)
    db.session.commit()
    assert dashboard_panels.prerender(conn.id, now=utcnow()) == 0
    run_job(app, "purge", now=utcnow())
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DashboardPanel)) == 0


def test_an_ads_sync_drops_the_workspaces_kept_panels(app, people, monkeypatch):
    """Spark Ads rows from an ads account's sync change the dashboards of its workspace's
    accounts: their kept panels go, so the next views are computed with the new rows."""
    from types import SimpleNamespace

    from app.services import sync as sync_service
    from app.services.sync import SyncOutcome
    from app.workflows import sync as sync_workflow

    conn = seeded(people)
    elsewhere = make_connection(people.other_workspace, people.outsider, username="elsewhere")
    seed_performance(elsewhere, days=10, posts=3)
    db.session.commit()
    for c in (conn, elsewhere):
        dashboard_panels.prerender(c.id, now=utcnow())
        db.session.commit()
    plan = SimpleNamespace(workspace_id=people.workspace.id)
    monkeypatch.setattr(sync_service, "ads_plan", lambda *a, **k: plan)
    monkeypatch.setattr(sync_service, "fetch_ads", lambda *a, **k: object())
    monkeypatch.setattr(sync_service, "store_ads", lambda *a, **k: SyncOutcome("synced"))
    sync_workflow.sync_ads_account(1, client=None, keyring=None, now=utcnow())
    assert kept(conn.id) == []
    assert len(kept(elsewhere.id)) == len(dashboard.RANGES)  # another workspace's panels stay

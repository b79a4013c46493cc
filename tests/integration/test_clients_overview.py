"""The clients overview (agency staff's home) and client workspaces: create, settings.

The overview's query budget does not grow with the number of workspaces; what needs a
human comes first; its figures are the metric definitions' (the dashboard's window);
forms refuse bad entries with 422 and say why; every change is an audit event; who may
do what."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import AuditEvent, Report, ReportDelivery, ReportSettings, Workspace
from app.models.report import DELIVERY_FAILED, DELIVERY_PENDING, DELIVERY_SENT
from app.services import (accounts, clients_overview, dashboard, metrics, report_delivery, report_figures,
                          report_periods)
from tests.conftest import PASSWORD, login
from tests.factories import make_connection, seed_performance
from tests.integration.test_performance import QueryCounter

NOW = datetime.now(timezone.utc)


def text_of(response) -> str:
    return response.get_data(as_text=True)


def row_order(html: str) -> list[str]:
    return re.findall(r'<tr id="client-\d+" data-workspace="([^"]+)"', html)


def add_client(name: str, *, tz: str = "UTC", accounts_: int = 1, admin: bool = True, creator: bool = True,
               gap_day: int | None = 3, report_status: str | None = DELIVERY_SENT):
    """A workspace with its people, synced accounts (a day without daily views: the
    post-views fallback runs) and last week's report with a delivery."""
    ws = accounts.get_or_create_workspace(name, timezone=tz)
    slug = re.sub(r"\W+", "", name.lower())
    owner = None
    if admin:
        accounts.create_user(f"admin@{slug}.test", role="client_admin", workspace=ws, password=PASSWORD)
    if creator:
        owner, _ = accounts.create_user(f"creator@{slug}.test", role="creator", workspace=ws, password=PASSWORD)
    conns = []
    for i in range(accounts_):
        conn = make_connection(ws, owner, username=f"{slug}{i}")
        seed_performance(conn, tz=tz, days=25, posts=4, skip_days=(gap_day,) if gap_day else (), now=NOW)
        conns.append(conn)
    if report_status:
        week = report_figures.previous_week(NOW, tz)
        report = Report(workspace_id=ws.id, iso_week=week.iso, week_start=week.monday,
                        week_end=week.monday + timedelta(days=6), figures={}, generated_at=NOW)
        db.session.add(report)
        db.session.flush()
        db.session.add(ReportDelivery(report_id=report.id, recipient_email=f"admin@{slug}.test", status=report_status,
                                      last_error="550 no such user" if report_status == DELIVERY_FAILED else None))
    db.session.flush()
    return ws, conns


@pytest.fixture
def agency(app):
    user, _ = accounts.create_user("staff@agency.test", role="agency", workspace=None, password=PASSWORD)
    db.session.commit()
    return user


# ------------------------------------------------------------------ query budget


def test_the_page_takes_the_same_queries_for_one_workspace_or_ten(client, agency):
    add_client("Client 0")
    db.session.commit()
    login(client, agency)
    counts = {}
    for n in (1, 10):
        for i in range(1, n):
            add_client(f"Client {i}", tz=("Europe/London", "America/Los_Angeles", "Asia/Tokyo")[i % 3],
                       accounts_=1 + i % 3, report_status=(DELIVERY_SENT, DELIVERY_PENDING, DELIVERY_FAILED)[i % 3])
        db.session.commit()
        client.get("/clients")  # warm-up: session and caches
        with QueryCounter(db.engine) as q:
            r = client.get("/clients")
        assert r.status_code == 200
        assert len(row_order(text_of(r))) == n
        counts[n] = len(q.statements)
    assert counts[1] == counts[10], counts
    # Sign-in, the header's workspaces, the overview's own: accounts, snapshots, the
    # post-views fallback, latest reports, recipients.
    assert counts[10] <= 10, counts


# ------------------------------------------------------------------ order


def test_what_needs_a_human_comes_first(client, agency):
    add_client("Alpha")  # all well
    add_client("Bravo", report_status=DELIVERY_FAILED)
    _, (charlie,) = add_client("Charlie")
    charlie.last_error = "TikTok did not answer properly (Unavailable) (2026-12-01 08:00 UTC)"
    _, (delta,) = add_client("Delta")
    delta.status = "needs_reconnect"
    _, (zulu,) = add_client("zulu")
    zulu.status = "needs_reconnect"
    _, (stale,) = add_client("Echo")
    stale.last_synced_at = NOW - clients_overview.SYNC_STALE_AFTER - timedelta(minutes=1)
    add_client("Foxtrot", report_status=DELIVERY_PENDING)  # built, emails on their way: nobody needs to act
    db.session.commit()
    login(client, agency)
    html = text_of(client.get("/clients"))
    assert row_order(html) == ["Delta", "zulu", "Charlie", "Echo", "Bravo", "Alpha", "Foxtrot"]
    assert "1 account needs reconnecting" in html and "1 account is failing to sync" in html
    assert "report emails failed" in html


def test_a_report_waiting_for_approval_needs_a_human(app, agency):
    ws, _ = add_client("Waiting", report_status=None)
    add_client("Another")
    week = report_figures.previous_week(NOW, "UTC")
    db.session.add(Report(workspace_id=ws.id, iso_week=week.iso, week_start=week.monday,
                          week_end=week.monday + timedelta(days=6), figures={}, generated_at=NOW,
                          approval_status="waiting"))
    db.session.commit()
    rows = clients_overview.overview(agency, now=NOW)
    assert [r.workspace.name for r in rows] == ["Waiting", "Another"]
    assert rows[0].latest_report.status == clients_overview.REPORT_WAITING


def test_report_status_words():
    status = clients_overview.report_status
    assert status(sent=2, failed=0, pending=0) == "sent"
    assert status(sent=1, failed=0, pending=1) == "built"
    assert status(sent=0, failed=0, pending=0) == "built"  # built, nobody emailed yet
    assert status(sent=1, failed=1, pending=0) == "failed"
    assert status(sent=0, failed=0, pending=0, approval="waiting") == "waiting for approval"
    assert status(sent=0, failed=0, pending=0, approval="expired") == "not sent"


@pytest.mark.parametrize("reason", report_delivery.SKIPPED_REASONS)
def test_a_recipient_who_left_or_unsubscribed_is_not_a_failed_report(app, agency, reason):
    ws, _ = add_client("Left")
    report = db.session.scalar(sa.select(Report).where(Report.workspace_id == ws.id))
    db.session.add(ReportDelivery(report_id=report.id, recipient_email="gone@left.test", status=DELIVERY_FAILED,
                                  last_error=reason))
    db.session.commit()
    (row,) = clients_overview.overview(agency, now=NOW)
    assert row.latest_report.status == "sent" and not row.needs_attention


def test_a_report_past_its_approval_window_shows_as_not_sent_before_any_job_marks_it(app, agency):
    ws, _ = add_client("Late", report_status=None)
    week = report_figures.previous_week(NOW, "UTC")
    db.session.add(Report(workspace_id=ws.id, iso_week=week.iso, week_start=week.monday,
                          week_end=week.monday + timedelta(days=6), figures={}, generated_at=NOW - timedelta(days=3),
                          approval_status="waiting", approval_expires_at=NOW - timedelta(hours=1)))
    db.session.commit()
    (row,) = clients_overview.overview(agency, now=NOW)
    assert row.latest_report.status == clients_overview.REPORT_EXPIRED


# ------------------------------------------------------------------ figures


def test_views_and_followers_are_the_metric_definitions(client, agency):
    tz = "America/Los_Angeles"
    ws, (one, two) = add_client("Figures", tz=tz, accounts_=2, gap_day=None)
    window = metrics.last_complete_days(NOW, metrics.workspace_tz(tz))
    # This week one account's daily views rose from 500 to 800; the other's stayed at 500.
    db.session.execute(sa.text("UPDATE account_snapshots SET video_views = 800 WHERE connection_id = :c AND day >= :d"),
                       {"c": one.id, "d": window.start})
    db.session.commit()
    (row,) = clients_overview.overview(agency, now=NOW)
    assert row.window == window
    assert row.views.total == 7 * 800 + 7 * 500 and row.views.previous == 2 * 7 * 500
    assert row.views.change == pytest.approx((7 * 800 + 7 * 500) / (2 * 7 * 500) - 1)
    assert row.followers_delta == 2 * 7 * 10 and row.followers_previous_delta == 2 * 7 * 10  # 10 a day each
    # Account by account, what the dashboard shows for the same window.
    params = dashboard.parse_table_params({"range": "7"})
    dashboards = [dashboard.build_dashboard(c, ws, params, now=NOW) for c in (one, two)]
    assert row.views == metrics.combined_views([d.views for d in dashboards])
    assert row.followers_delta == sum(d.followers.delta for d in dashboards)
    login(client, agency)
    html = text_of(client.get("/clients"))
    assert "9,100" in html and "+30.0%" in html and "+140" in html and "week before +140" in html


def test_a_day_without_daily_views_falls_back_to_post_views_as_the_dashboard_does(app, agency):
    ws, (conn,) = add_client("Gap", tz="Asia/Tokyo", gap_day=2)
    db.session.commit()
    (row,) = clients_overview.overview(agency, now=NOW)
    board = dashboard.build_dashboard(conn, ws, dashboard.parse_table_params({"range": "7"}), now=NOW)
    assert row.views == board.views and row.views.missing_days == board.views.missing_days == 1
    assert row.views.change is None  # a week with a missing day is not compared


def test_accounts_counts_and_last_sync(app, agency):
    ws, (ok, failing, gone) = add_client("Counts", accounts_=3)
    failing.last_error = "TikTok rate limit reached (2026-12-01 08:00 UTC)"
    gone.status = "disconnected"
    make_connection(ws, None, status="needs_reconnect", username="lapsed")
    fresh = make_connection(ws, None, username="fresh", connected_at=NOW - timedelta(minutes=5))  # first sync due
    ok.last_synced_at = NOW - timedelta(minutes=3)
    failing.last_synced_at = NOW - timedelta(hours=1)
    gone.last_synced_at = NOW  # disconnected: left out
    db.session.commit()
    (row,) = clients_overview.overview(agency, now=NOW)
    assert row.accounts == clients_overview.AccountCounts(active=3, needs_reconnect=1, sync_failing=1)
    assert row.last_synced_at == ok.last_synced_at
    assert fresh.last_synced_at is None


# ------------------------------------------------------------------ the next report


def test_next_report_is_the_workspaces_own_delivery_moment_to_its_recipients(client, agency):
    ws, (conn,) = add_client("Monday", tz="Pacific/Honolulu")
    add_client("Empty", accounts_=0, report_status=None)
    outsider, _ = accounts.create_user("quiet@monday.test", role="creator", workspace=ws, password=PASSWORD)
    db.session.commit()
    login(client, agency)
    db.session.add(ReportSettings(workspace_id=ws.id, delivery_weekday=1, delivery_hour=7))  # Tuesdays 07:00
    db.session.commit()
    html = text_of(client.get("/clients"))
    rows = {r.workspace.name: r for r in clients_overview.overview(agency, now=NOW)}
    nr = rows["Monday"].next_report
    # Its own delivery moment, in its own timezone: the first Tuesday 07:00 in Honolulu after NOW.
    after = NOW.astimezone(ZoneInfo("Pacific/Honolulu"))
    assert nr.at > after and nr.at - after <= timedelta(days=7) and nr.at.weekday() == 1
    assert (nr.at.hour, nr.at.minute) == (7, 0) and nr.at.tzinfo.key == "Pacific/Honolulu"
    assert nr.week == report_periods.Week.containing(nr.at.date()).previous()
    assert f"{nr.at.strftime('%a %b')} {nr.at.day}, 07:00 Pacific/Honolulu · {nr.week.short_label}" in html
    assert "admin@monday.test" in nr.recipients and "quiet@monday.test" not in nr.recipients
    assert rows["Empty"].next_report.skipped and "None: no account connected" in html


def test_recipients_follow_the_report_delivery_rule(app, agency):
    """For a built report, the overview's batched rule names exactly report_delivery.recipients."""
    ws, (conn,) = add_client("Rule", tz="Europe/London", report_status=None)
    idle, _ = accounts.create_user("idle@rule.test", role="creator", workspace=ws, password=PASSWORD)
    make_connection(ws, idle, username="idle_acct")
    disabled, _ = accounts.create_user("off@rule.test", role="client_admin", workspace=ws, password=PASSWORD)
    disabled.disabled = True
    db.session.commit()
    week = report_figures.previous_week(NOW, ws.timezone)
    report = report_figures.build_report(ws, week, now=NOW)
    expected = sorted(r.email for r in report_delivery.recipients(report))
    assert expected == ["admin@rule.test", "creator@rule.test"]
    found = clients_overview.next_recipients({ws.id: week.window(metrics.workspace_tz(ws.timezone))})
    assert found[ws.id] == expected


# ------------------------------------------------------------------ who sees what


def test_agency_staff_land_on_the_overview_and_others_on_their_dashboard(client, people):
    login(client, people.agency)
    assert client.get("/").headers["Location"] == "/clients"
    html = text_of(client.get("/clients"))
    assert row_order(html) == ["Brass Studio", "Other Client"]
    assert '>Clients</a>' in html and 'href="/clients/new"' in html
    login(client, people.admin)
    assert client.get("/").headers["Location"] == "/performance"
    assert '>Clients</a>' not in text_of(client.get("/performance"))


def test_client_admins_see_their_own_workspaces_and_creators_none(client, people):
    login(client, people.admin)
    html = text_of(client.get("/clients"))
    assert row_order(html) == ["Brass Studio"] and "Add a client" not in html
    login(client, people.creator)
    assert client.get("/clients").status_code == 403


@pytest.mark.parametrize("who", ["admin", "creator", "outsider"])
def test_only_agency_staff_create_workspaces(client, people, who):
    login(client, getattr(people, who))
    assert client.get("/clients/new").status_code == 403
    r = client.post_form("/clients/new", {"name": "Sneaky", "timezone": "UTC", "cadence_target": "3"})
    assert r.status_code == 403
    assert db.session.scalar(sa.select(Workspace).where(Workspace.name == "Sneaky")) is None


# ------------------------------------------------------------------ creating


def test_agency_creates_a_workspace(client, people):
    login(client, people.agency)
    page = text_of(client.get("/clients/new"))
    for label in ("Name", "Timezone", "Weekly posting target", "Create workspace"):
        assert label in page
    r = client.post_form("/clients/new", {"name": "  Nova   Studio ", "timezone": "europe/berlin", "cadence_target": "5"})
    assert r.status_code == 303
    ws = db.session.scalar(sa.select(Workspace).where(Workspace.name == "Nova Studio"))
    assert (ws.timezone, ws.cadence_target, ws.require_two_factor) == ("Europe/Berlin", 5, False)
    assert r.headers["Location"] == f"/workspaces/{ws.id}/settings"
    settings = text_of(client.get(r.headers["Location"]))
    assert "Nova Studio is ready" in settings and 'value="Europe/Berlin"' in settings
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.event == "workspace.created"))
    assert (event.actor_user_id, event.workspace_id) == (people.agency.id, ws.id)
    assert event.detail == {"name": "Nova Studio", "timezone": "Europe/Berlin", "cadence_target": 5}
    assert "Nova Studio" in row_order(text_of(client.get("/clients")))


@pytest.mark.parametrize("form, field, message", [
    ({"name": ""}, "name", "Enter the client&#39;s name."),
    ({"name": "x" * 121}, "name", "Use at most 120 characters"),
    ({"name": "brass STUDIO"}, "name", "A workspace called “brass STUDIO” already exists"),
    ({"timezone": "Mars/Olympus_Mons"}, "timezone", "“Mars/Olympus_Mons” is not a timezone we know"),
    ({"timezone": ""}, "timezone", "Choose a timezone"),
    ({"cadence_target": "0"}, "cadence_target", "must be from 1 to 50 posts"),
    ({"cadence_target": "51"}, "cadence_target", "must be from 1 to 50 posts"),
    ({"cadence_target": "three"}, "cadence_target", "a whole number from 1 to 50"),
    ({"cadence_target": "-2"}, "cadence_target", "a whole number from 1 to 50"),
    ({"cadence_target": "٣"}, "cadence_target", "a whole number from 1 to 50"),
], ids=["empty-name", "long-name", "taken-name", "unknown-zone", "no-zone", "target-0", "target-51",
        "target-words", "target-negative", "target-other-digits"])
def test_create_refuses_bad_entries_with_422_and_says_why(client, people, form, field, message):
    login(client, people.agency)
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Workspace))
    data = {"name": "Valid Name", "timezone": "UTC", "cadence_target": "3", **form}
    r = client.post_form("/clients/new", data)
    html = text_of(r)
    assert r.status_code == 422
    assert message in html
    assert f'id="ws-{ {"name": "name", "timezone": "timezone", "cadence_target": "cadence"}[field] }-error"' in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Workspace)) == before
    assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.event == "workspace.created")) is None


# ------------------------------------------------------------------ settings


def test_a_client_admin_changes_the_settings_of_their_workspace(client, people):
    login(client, people.admin)
    ws = people.workspace
    page = text_of(client.get(f"/workspaces/{ws.id}/settings"))
    assert 'value="Europe/London"' in page and "Optional" in page and "#workspace-security" in page
    r = client.post_form(f"/workspaces/{ws.id}/settings",
                         {"name": "Brass Studio", "timezone": "Asia/Tokyo", "cadence_target": "7"})
    assert r.status_code == 303 and r.headers["Location"] == f"/workspaces/{ws.id}/settings"
    db.session.refresh(ws)
    assert (ws.name, ws.timezone, ws.cadence_target) == ("Brass Studio", "Asia/Tokyo", 7)
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.event == "workspace.settings_changed"))
    assert (event.actor_user_id, event.workspace_id) == (people.admin.id, ws.id)
    assert event.detail == {"timezone_before": "Europe/London", "timezone": "Asia/Tokyo",
                            "cadence_target_before": 3, "cadence_target": 7}
    assert "Saved the settings of Brass Studio" in text_of(client.get(r.headers["Location"]))


def test_saving_unchanged_settings_records_nothing(client, people):
    login(client, people.agency)
    ws = people.workspace
    r = client.post_form(f"/workspaces/{ws.id}/settings",
                         {"name": ws.name, "timezone": ws.timezone, "cadence_target": str(ws.cadence_target)})
    assert r.status_code == 303
    assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.event == "workspace.settings_changed")) is None


def test_settings_refuse_bad_entries_and_keep_what_was_typed(client, people):
    login(client, people.agency)
    ws = people.workspace
    r = client.post_form(f"/workspaces/{ws.id}/settings",
                         {"name": "other client", "timezone": "Nowhere/Land", "cadence_target": "80"})
    html = text_of(r)
    assert r.status_code == 422
    assert "Nothing was saved" in html and "already exists" in html and "not a timezone we know" in html
    assert "from 1 to 50" in html and 'value="Nowhere/Land"' in html and 'value="80"' in html
    db.session.refresh(ws)
    assert (ws.name, ws.timezone, ws.cadence_target) == ("Brass Studio", "Europe/London", 3)
    # Its own name, in another case, is not "taken".
    r = client.post_form(f"/workspaces/{ws.id}/settings", {"name": "BRASS studio", "timezone": "UTC",
                                                            "cadence_target": "3"})
    assert r.status_code == 303
    db.session.refresh(ws)
    assert ws.name == "BRASS studio"


def test_creators_and_outsiders_cannot_open_settings(client, people):
    login(client, people.creator)
    assert client.get(f"/workspaces/{people.workspace.id}/settings").status_code == 403
    login(client, people.outsider)
    assert client.get(f"/workspaces/{people.workspace.id}/settings").status_code == 404
    assert client.get("/workspaces/999999/settings").status_code == 404
    login(client, people.agency)
    assert client.get(f"/workspaces/{people.other_workspace.id}/settings").status_code == 200

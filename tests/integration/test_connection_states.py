"""The Integrations row states what is true of each connected account: syncing, synced
(when), sync failed (why and the next try), needs reconnect, disconnected (badge and purge
date) — and a failed sync never keeps saying "Syncing…" nor keeps polling."""
from datetime import datetime, timedelta, timezone

import pytest

from app.extensions import db
from app.services import connection_states
from tests.conftest import login
from tests.factories import make_connection

NOW = datetime.now(timezone.utc).replace(microsecond=0)


def row_html(client, conn) -> str:
    r = client.hx("get", f"/connections/{conn.id}/row")
    assert r.status_code == 200
    return r.get_data(as_text=True)


def badge(html: str) -> str:
    """The row's state badge (the page has other badges)."""
    start = html.index(' state-badge"')
    return html[html.index(">", start) + 1:html.index("</span>", start)]


def test_syncing_row_says_syncing_and_polls(app, client, people):
    conn = make_connection(people.workspace, people.creator, sync_requested_at=NOW, next_sync_at=NOW,
                           last_synced_at=NOW - timedelta(hours=1))
    db.session.commit()
    login(client, people.creator)
    html = row_html(client, conn)
    assert badge(html) == "Syncing…"
    assert 'hx-trigger="load delay:3s"' in html and "Sync failed" not in html


def test_synced_row_says_when_and_does_not_poll(app, client, people):
    conn = make_connection(people.workspace, people.creator, sync_requested_at=NOW - timedelta(hours=3),
                           last_synced_at=NOW - timedelta(hours=2), next_sync_at=NOW + timedelta(minutes=40))
    db.session.commit()
    login(client, people.creator)
    html = row_html(client, conn)
    assert badge(html) == "Synced"
    assert "Synced 2h ago" in html
    assert "hx-trigger" not in html and "Syncing" not in html


def test_failed_sync_after_refresh_says_why_and_next_try_not_syncing(app, client, people):
    """"Refresh now" asked for a sync, the attempt failed: the row stops polling and says so."""
    retry = datetime.now(timezone.utc) + timedelta(minutes=15, seconds=30)  # the test's moment, not the import's
    conn = make_connection(people.workspace, people.creator, sync_requested_at=NOW - timedelta(minutes=1),
                           last_synced_at=NOW - timedelta(days=1), next_sync_at=retry,
                           last_error=f"TikTok did not answer properly (Unavailable) ({NOW:%Y-%m-%d %H:%M} UTC)")
    db.session.commit()
    login(client, people.creator)
    html = row_html(client, conn)
    assert badge(html) == "Sync failed"
    assert "Syncing" not in html and "hx-trigger" not in html
    assert "Last problem: TikTok did not answer properly (Unavailable)" in html
    assert ("Next try in 15 min" in html or "Next try in 14 min" in html) and f"({retry:%H:%M} UTC)" in html
    assert "Last synced 1d ago" in html


def test_needs_reconnect_row_has_badge_reason_and_reconnect(app, client, people):
    make_connection(people.workspace, people.creator, status="needs_reconnect",
                    last_error="TikTok refused the refresh token (2026-12-01 09:00 UTC)",
                    last_synced_at=NOW - timedelta(days=2))
    db.session.commit()
    login(client, people.creator)
    html = client.get("/settings/integrations").get_data(as_text=True)
    assert badge(html) == "Needs reconnect"
    assert "TikTok no longer accepts our access (TikTok refused the refresh token)" in html
    assert ">Reconnect</button>" in html and "Refresh now" not in html
    assert "Last synced 2d ago" in html
    assert "1 needs reconnect</a>" in html  # the card's summary says so too, linking to the row


def test_disconnected_row_has_badge_and_purge_date(app, client, people):
    make_connection(people.workspace, people.creator, status="disconnected",
                    disconnected_at=datetime(2026, 11, 30, 10, 0, tzinfo=timezone.utc),
                    purge_after=datetime(2027, 2, 28, 10, 0, tzinfo=timezone.utc))
    db.session.commit()
    login(client, people.creator)
    html = client.get("/settings/integrations").get_data(as_text=True)
    assert badge(html) == "Disconnected"
    assert "Disconnected · data deleted by February 28, 2027" in html
    assert "Disconnected on November 30, 2026" in html
    assert "Refresh now" not in html and ">Disconnect</button>" not in html


def test_deletion_requested_row_says_next_nightly_purge(app, client, people):
    make_connection(people.workspace, people.creator, status="disconnected", disconnected_at=NOW,
                    purge_after=NOW + timedelta(days=90), deletion_requested_at=NOW)
    db.session.commit()
    login(client, people.creator)
    html = client.get("/settings/integrations").get_data(as_text=True)
    assert badge(html) == "Disconnected · deletion scheduled"
    assert "Data deletion scheduled for the next nightly run (daily 03:00 UTC)" in html


def test_connected_not_yet_synced_row(app, client, people):
    make_connection(people.workspace, people.creator)
    db.session.commit()
    login(client, people.creator)
    html = client.get("/settings/integrations").get_data(as_text=True)
    assert badge(html) == "Not synced yet"


@pytest.mark.parametrize("fields, state", [
    ({"sync_requested_at": NOW, "next_sync_at": None, "last_synced_at": None}, "syncing"),
    ({"sync_requested_at": NOW, "next_sync_at": NOW, "last_synced_at": NOW - timedelta(hours=1)}, "syncing"),
    # the sync the request asked for is running: last_error is an older failure's
    ({"sync_requested_at": NOW, "next_sync_at": NOW, "last_error": "old (2026-01-01 00:00 UTC)"}, "syncing"),
    ({"sync_requested_at": NOW, "next_sync_at": NOW + timedelta(minutes=15), "last_error": "x"}, "sync_failed"),
    ({"last_synced_at": NOW, "next_sync_at": NOW + timedelta(minutes=15), "last_error": "x"}, "sync_failed"),
    ({"last_synced_at": NOW, "next_sync_at": NOW + timedelta(minutes=15)}, "synced"),
    ({}, "not_synced"),
    ({"status": "needs_reconnect", "sync_requested_at": NOW}, "needs_reconnect"),
    ({"status": "disconnected", "sync_requested_at": NOW}, "disconnected"),
])
def test_row_state_is_read_from_the_columns(fields, state):
    from app.models import TikTokConnection
    conn = TikTokConnection(status=fields.pop("status", "active"), **fields)
    assert connection_states.row_state(conn).key == state


def test_when_next_reads_as_a_due_time():
    now = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
    assert connection_states.when_next(now + timedelta(minutes=15), now) == "in 15 min (09:15 UTC)"
    assert connection_states.when_next(now + timedelta(hours=5), now) == "in 5 h (14:00 UTC)"
    assert connection_states.when_next(now - timedelta(minutes=5), now) == "now"

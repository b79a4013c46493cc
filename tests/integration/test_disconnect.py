"""Disconnect and "Delete all data for this account": revoke at once, tokens gone,
disconnected even when TikTok is down (then revoke-retry with backoff), scoped like
every other connection action."""
import json
from datetime import datetime, timedelta, timezone

import pytest
import requests
import sqlalchemy as sa

from app.extensions import db
from app.models import AuditEvent, TikTokConnection
from app.services import disconnect
from jobs.runner import run_job
from tests.conftest import login
from tests.factories import make_connected, make_connection
from tests.tiktok_fixtures import BUSINESS, load

REVOKE = BUSINESS + "tt_user/oauth2/revoke/"


def revoke_ok(requests_mock):
    return requests_mock.post(REVOKE, json=load("revoke_success"))


def reload(conn_id):
    db.session.expire_all()
    return db.session.get(TikTokConnection, conn_id)


def test_disconnect_revokes_wipes_tokens_and_schedules_purge(app, client, people, requests_mock):
    conn = make_connected(app, people.workspace, people.creator, username="brassorbit3", access="act.SECRET-1")
    db.session.commit()
    mock = revoke_ok(requests_mock)
    login(client, people.admin)
    before = datetime.now(timezone.utc)
    r = client.hx("post", f"/connections/{conn.id}/disconnect")
    assert r.status_code == 200
    assert mock.call_count == 1
    sent = mock.last_request.json()
    assert sent["access_token"] == "act.SECRET-1"
    assert sent["client_id"] == app.config["TIKTOK_CLIENT_KEY"]
    conn = reload(conn.id)
    assert conn.status == "disconnected"
    assert conn.access_token_sealed is None and conn.refresh_token_sealed is None
    assert conn.revoke_pending is False
    expected = before + timedelta(days=app.config["RETENTION_DAYS"])
    assert abs((conn.purge_after - expected).total_seconds()) < 60
    assert conn.disconnected_at >= before
    html = r.get_data(as_text=True)
    assert html.lstrip().startswith(f'<li id="connection-{conn.id}"') and "<html" not in html
    assert "Disconnected · data deleted by" in html
    trigger = json.loads(r.headers["HX-Trigger"])
    assert "connections-changed" in trigger and trigger["notify"]["level"] == "success"
    assert "@brassorbit3" in trigger["notify"]["message"]
    assert "act.SECRET-1" not in html
    events = [e.event for e in db.session.scalars(sa.select(AuditEvent).where(AuditEvent.connection_id == conn.id))]
    assert "connection.disconnected" in events and "revoke.confirmed" in events


def test_disconnect_without_htmx_redirects_with_303(app, client, people, requests_mock):
    conn = make_connected(app, people.workspace, people.admin)
    db.session.commit()
    revoke_ok(requests_mock)
    login(client, people.admin)
    r = client.post_form(f"/connections/{conn.id}/disconnect")
    assert r.status_code == 303 and r.headers["Location"].startswith("/settings/integrations")
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "Disconnected @" in page and "Disconnected · data deleted by" in page


def test_disconnect_is_idempotent(app, client, people, requests_mock):
    conn = make_connected(app, people.workspace, people.admin)
    db.session.commit()
    mock = revoke_ok(requests_mock)
    login(client, people.admin)
    assert client.hx("post", f"/connections/{conn.id}/disconnect").status_code == 200
    first = reload(conn.id).purge_after
    r = client.hx("post", f"/connections/{conn.id}/disconnect")
    assert r.status_code == 200 and "already disconnected" in json.loads(r.headers["HX-Trigger"])["notify"]["message"]
    assert mock.call_count == 1
    assert reload(conn.id).purge_after == first


def test_token_already_invalid_counts_as_revoked(app, client, people, requests_mock):
    conn = make_connected(app, people.workspace, people.admin)
    db.session.commit()
    requests_mock.post(REVOKE, json=load("error_access_token_invalid"))
    # TikTok documents no code for "already dead": the client asks token_info, which refuses it too.
    requests_mock.post(REVOKE.replace("oauth2/revoke/", "token_info/get/"), json=load("error_access_token_invalid"))
    login(client, people.admin)
    assert client.hx("post", f"/connections/{conn.id}/disconnect").status_code == 200
    conn = reload(conn.id)
    assert conn.status == "disconnected" and conn.access_token_sealed is None and not conn.revoke_pending


@pytest.mark.parametrize("failure", [
    {"status_code": 500, "json": {"code": 50000, "message": "internal", "request_id": "x", "data": {}}},
    {"exc": requests.exceptions.ConnectTimeout},
    {"exc": requests.exceptions.ConnectionError},
], ids=["5xx", "timeout", "connection-error"])
def test_tiktok_down_still_disconnects_and_revoke_retry_finishes_later(app, client, people, requests_mock, failure):
    conn = make_connected(app, people.workspace, people.admin, access="act.KEEP-FOR-REVOKE")
    db.session.commit()
    requests_mock.post(REVOKE, **failure)
    login(client, people.admin)
    t0 = datetime.now(timezone.utc)
    r = client.hx("post", f"/connections/{conn.id}/disconnect")
    assert r.status_code == 200
    assert "keep retrying" in json.loads(r.headers["HX-Trigger"])["notify"]["message"]
    assert "Revoking access at TikTok" in r.get_data(as_text=True)
    conn = reload(conn.id)
    assert conn.status == "disconnected"
    assert conn.refresh_token_sealed is None  # only the access token is kept, sealed
    assert conn.access_token_sealed is not None and b"KEEP-FOR-REVOKE" not in conn.access_token_sealed
    assert conn.revoke_pending and conn.revoke_attempts == 1
    assert conn.next_revoke_at - t0 >= timedelta(minutes=9)

    # Not due yet: nothing happens.
    result = run_job(app, "revoke-retry", now=t0 + timedelta(minutes=5))
    assert not result.counts.get("revoked")
    # Still failing: backoff grows.
    first_next = reload(conn.id).next_revoke_at
    run_job(app, "revoke-retry", now=first_next)
    conn = reload(conn.id)
    assert conn.revoke_attempts == 2 and conn.next_revoke_at - first_next >= timedelta(minutes=19)
    # TikTok is back: the retry revokes with the kept token and destroys it.
    mock = requests_mock.post(REVOKE, json=load("revoke_success"))
    result = run_job(app, "revoke-retry", now=conn.next_revoke_at)
    assert result.counts["revoked"] == 1
    assert mock.last_request.json()["access_token"] == "act.KEEP-FOR-REVOKE"
    conn = reload(conn.id)
    assert conn.access_token_sealed is None and not conn.revoke_pending and conn.next_revoke_at is None
    assert run_job(app, "revoke-retry", now=conn.disconnected_at + timedelta(days=1)).counts.get("revoked") is None


def test_revoke_backoff_is_exponential_and_capped():
    assert disconnect.revoke_backoff(1) == timedelta(minutes=10)
    assert disconnect.revoke_backoff(2) == timedelta(minutes=20)
    assert disconnect.revoke_backoff(4) == timedelta(minutes=80)
    assert disconnect.revoke_backoff(7) == timedelta(hours=6)
    assert disconnect.revoke_backoff(500) == timedelta(hours=6)


def test_revoke_retry_keeps_going_past_one_bad_connection(app, people, requests_mock):
    now = datetime.now(timezone.utc)
    a = make_connection(people.workspace, people.admin, status="disconnected", revoke_pending=True,
                        access_token_sealed=b"not a sealed blob", next_revoke_at=now)
    b = make_connected(app, people.workspace, people.admin, access="act.B")
    disconnect.mark_disconnected(b, now=now, retention_days=90)
    db.session.commit()
    revoke_ok(requests_mock)
    result = run_job(app, "revoke-retry", now=now + timedelta(seconds=1))
    assert result.counts["nothing_to_revoke"] == 1 and result.counts["revoked"] == 1
    for conn_id in (a.id, b.id):
        c = reload(conn_id)
        assert c.access_token_sealed is None and not c.revoke_pending


def test_creator_may_disconnect_own_but_not_another_creators(app, client, people, requests_mock):
    own = make_connected(app, people.workspace, people.creator)
    other = make_connected(app, people.workspace, people.creator2)
    db.session.commit()
    mock = revoke_ok(requests_mock)
    login(client, people.creator)
    assert client.hx("post", f"/connections/{other.id}/disconnect").status_code == 404
    assert client.hx("post", f"/connections/{other.id}/deletion").status_code == 404
    assert reload(other.id).status == "active" and mock.call_count == 0
    assert client.hx("post", f"/connections/{own.id}/disconnect").status_code == 200
    assert reload(own.id).status == "disconnected"


@pytest.mark.parametrize("action", ["disconnect", "deletion"])
def test_outsider_gets_404_and_nothing_changes(app, client, people, requests_mock, action):
    conn = make_connected(app, people.workspace, people.admin)
    db.session.commit()
    login(client, people.outsider)
    assert client.hx("post", f"/connections/{conn.id}/{action}").status_code == 404
    assert client.hx("post", f"/connections/999999/{action}").status_code == 404
    assert reload(conn.id).status == "active" and reload(conn.id).access_token_sealed is not None


@pytest.mark.parametrize("action", ["disconnect", "deletion"])
def test_missing_csrf_token_is_refused(app, client, people, action):
    conn = make_connected(app, people.workspace, people.admin)
    db.session.commit()
    login(client, people.admin)
    r = client.post(f"/connections/{conn.id}/{action}", headers={"HX-Request": "true"})
    assert r.status_code == 400
    assert reload(conn.id).status == "active"


def test_delete_all_data_disconnects_and_marks_for_next_purge(app, client, people, requests_mock):
    conn = make_connected(app, people.workspace, people.admin, username="moontideco2")
    db.session.commit()
    mock = revoke_ok(requests_mock)
    login(client, people.admin)
    before = datetime.now(timezone.utc)
    r = client.hx("post", f"/connections/{conn.id}/deletion")
    assert r.status_code == 200 and mock.call_count == 1
    html = r.get_data(as_text=True)
    assert "Data deletion scheduled for the next nightly run (daily 03:00 UTC)" in html
    assert "Delete all data for this account" not in html  # asked already
    assert "next nightly run" in json.loads(r.headers["HX-Trigger"])["notify"]["message"]
    conn = reload(conn.id)
    assert conn.status == "disconnected" and conn.access_token_sealed is None
    assert conn.deletion_requested_at >= before and conn.purge_after <= datetime.now(timezone.utc)
    # Asking again is harmless.
    assert client.hx("post", f"/connections/{conn.id}/deletion").status_code == 200
    assert mock.call_count == 1


def test_delete_data_of_already_disconnected_account_moves_purge_forward(app, client, people, requests_mock):
    conn = make_connected(app, people.workspace, people.admin)
    db.session.commit()
    mock = revoke_ok(requests_mock)
    login(client, people.admin)
    client.hx("post", f"/connections/{conn.id}/disconnect")
    assert reload(conn.id).purge_after > datetime.now(timezone.utc) + timedelta(days=80)
    html = client.get("/settings/integrations").get_data(as_text=True)
    assert "Delete all data for this account" in html
    client.hx("post", f"/connections/{conn.id}/deletion")
    assert reload(conn.id).purge_after <= datetime.now(timezone.utc)
    assert mock.call_count == 1


def test_row_buttons_name_the_consequence(app, client, people):
    make_connected(app, people.workspace, people.admin, username="brassorbit3")
    db.session.commit()
    login(client, people.admin)
    html = client.get("/settings/integrations").get_data(as_text=True)
    days = app.config["RETENTION_DAYS"]
    assert f'hx-confirm="Disconnect @brassorbit3? Tokens are revoked now; data is deleted after {days} days."' in html
    assert "Delete all data for this account" in html


def test_disconnect_waits_for_a_refresh_in_flight(app, people, requests_mock):
    """While the refresh lease is held nobody else refreshes; once disconnected, the refresh job skips."""
    from app.leases import TOKEN_LEASE as LEASE_JOB
    from app.leases import acquire_lease

    conn = make_connected(app, people.workspace, people.admin)
    db.session.commit()
    now = datetime.now(timezone.utc)
    with disconnect.refresh_paused(conn.id, now=now) as held:
        assert held
        assert acquire_lease(LEASE_JOB, str(conn.id), now=now, ttl=timedelta(seconds=30)) is None
    assert acquire_lease(LEASE_JOB, str(conn.id), now=now, ttl=timedelta(seconds=30)) is not None

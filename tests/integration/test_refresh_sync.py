"""Token refresh, sync and "Refresh now" with TikTok stubbed at the HTTP boundary."""
from datetime import datetime, timedelta, timezone

import pytest
import requests
import sqlalchemy as sa

from app.extensions import db
from app.leases import TOKEN_LEASE, acquire_lease
from app.models import AccountSnapshot, AuditEvent, Post, TikTokConnection
from app.services import sync, token_sealing
from app.services.mail import outbox_messages
from app.tiktok import get_client
from app.tiktok.types import TokenSet
from app.workflows import token_vault
from jobs.runner import run_job
from tests.conftest import login
from tests.factories import make_connection
from tests.tiktok_fixtures import BUSINESS, load

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=timezone.utc)
OK = {"code": 0, "message": "OK", "request_id": "r"}


def sealed_connection(app, workspace, owner, *, expires_in=3600, access="act.OLD", refresh="rft.OLD", **kw):
    conn = make_connection(workspace, owner, **kw)
    tokens = TokenSet(access_token=access, refresh_token=refresh, open_id=conn.open_id, scopes=("video.list",),
                      expires_in=expires_in, refresh_expires_in=86400 * 300)
    token_sealing.seal_tokens(conn, tokens, keyring=token_sealing.get_keyring(app), now=NOW)
    conn.granted_scopes = "user.info.basic,user.info.username,user.info.stats,user.insights,video.list,video.insights"
    db.session.commit()
    return conn


def refresh_body(access="act.NEW", refresh="rft.NEW"):
    return {**OK, "data": {"access_token": access, "refresh_token": refresh, "open_id": "x", "expires_in": 86400,
                           "refresh_token_expires_in": 86400 * 200, "scope": "video.list", "token_type": "Bearer"}}


# TikTok documents no error code for a dead token, so the client asks token_info; these
# stand in for its answers (an undocumented code for a dead token, the scopes for a live one).
DEAD = {"code": 40105, "message": "access token is invalid or expired", "request_id": "r", "data": {}}


def token_info_says(requests_mock, *answers):
    return requests_mock.post(BUSINESS + "tt_user/token_info/get/", [{"json": a} for a in answers])


def alive(scope="user.info.basic,user.info.stats,user.insights,video.list,video.insights"):
    return {**OK, "data": {"app_id": "ck", "creator_id": "x", "scope": scope}}


def tokens_of(app, conn):
    ring = token_sealing.get_keyring(app)
    db.session.refresh(conn)
    return token_sealing.open_token(conn, "access", keyring=ring), token_sealing.open_token(conn, "refresh", keyring=ring)


def register_data(requests_mock, *, followers=1000):
    profile = load("business_get_success")
    profile["data"]["followers_count"] = followers
    requests_mock.get(BUSINESS + "business/get/", json=profile)
    page = load("video_list_page1")
    page["data"]["has_more"] = False
    requests_mock.get(BUSINESS + "business/video/list/", json=page)


# ------------------------------------------------------------------ refresh


def test_due_token_is_refreshed_and_rotated_together(app, people, requests_mock):
    conn = sealed_connection(app, people.workspace, people.creator, expires_in=3600)
    call = requests_mock.post(BUSINESS + "tt_user/oauth2/refresh_token/", json=refresh_body())
    result = run_job(app, "refresh-tokens", now=NOW)
    assert result.counts["refreshed"] == 1
    assert call.last_request.json()["refresh_token"] == "rft.OLD"
    assert tokens_of(app, conn) == ("act.NEW", "rft.NEW")
    assert conn.access_expires_at == NOW + timedelta(days=1)
    assert conn.refresh_expires_at == NOW + timedelta(days=200)  # read from TikTok, not assumed


def test_not_due_token_is_left_alone(app, people, requests_mock):
    sealed_connection(app, people.workspace, people.creator, expires_in=5 * 3600)
    assert run_job(app, "refresh-tokens", now=NOW).counts["refreshed"] == 0
    assert not requests_mock.called


def test_response_without_refresh_token_keeps_the_old_one(app, people, requests_mock):
    conn = sealed_connection(app, people.workspace, people.creator)
    body = refresh_body()
    del body["data"]["refresh_token"]
    requests_mock.post(BUSINESS + "tt_user/oauth2/refresh_token/", json=body)
    run_job(app, "refresh-tokens", now=NOW)
    assert tokens_of(app, conn) == ("act.NEW", "rft.OLD")  # never an empty token


def test_refused_refresh_needs_reconnect_and_alerts_once(app, people, requests_mock):
    conn = sealed_connection(app, people.workspace, people.creator)
    requests_mock.post(BUSINESS + "tt_user/oauth2/refresh_token/",
                       json={"code": 40106, "message": "invalid_grant", "request_id": "r", "data": {}})
    info = token_info_says(requests_mock, DEAD)
    first = run_job(app, "refresh-tokens", now=NOW)
    assert info.call_count == 1  # the undocumented code was resolved by asking, not guessed
    assert first.counts["needs_reconnect"] == 1 and first.counts["reconnect_alerts"] == 1
    db.session.refresh(conn)
    assert conn.status == "needs_reconnect" and conn.refresh_token_sealed is None
    outbox = app.config["MAIL_OUTBOX_DIR"]
    mails = outbox_messages(outbox)
    assert len(mails) == 2  # the creator who owns it and the workspace's client admin
    assert all(b"Reconnect @" in m for m in mails)
    again = run_job(app, "refresh-tokens", now=NOW + timedelta(hours=1))
    assert again.counts["reconnect_alerts"] == 0 and len(outbox_messages(outbox)) == 2  # never repeated
    # reconnected: one "recovered" notice, then quiet
    conn.status = "active"
    db.session.commit()
    assert run_job(app, "refresh-tokens", now=NOW + timedelta(hours=2)).counts["recovered"] == 1
    assert run_job(app, "refresh-tokens", now=NOW + timedelta(hours=3)).counts["recovered"] == 0
    assert len(outbox_messages(outbox)) == 4


@pytest.mark.parametrize("fault", [{"status_code": 503}, {"exc": requests.exceptions.ReadTimeout},
                                   {"json": {"code": 40100, "message": "limit", "request_id": "r", "data": {}}}])
def test_transient_refresh_failure_keeps_the_connection(app, people, requests_mock, fault):
    conn = sealed_connection(app, people.workspace, people.creator)
    requests_mock.post(BUSINESS + "tt_user/oauth2/refresh_token/", **fault)
    assert run_job(app, "refresh-tokens", now=NOW).counts["failed"] == 1
    db.session.refresh(conn)
    assert conn.status == "active" and conn.last_error and tokens_of(app, conn) == ("act.OLD", "rft.OLD")


def test_refresh_is_skipped_while_another_worker_holds_the_lease(app, people, requests_mock):
    conn = sealed_connection(app, people.workspace, people.creator)
    assert acquire_lease(TOKEN_LEASE, str(conn.id), now=NOW, ttl=token_vault.LEASE_TTL)
    outcome = token_vault.refresh(conn.id, client=get_client(app), keyring=token_sealing.get_keyring(app), now=NOW)
    assert outcome is token_vault.Outcome.BUSY and not requests_mock.called
    # a lease left by a dead worker expires and is taken over
    later = NOW + token_vault.LEASE_TTL + timedelta(seconds=1)
    requests_mock.post(BUSINESS + "tt_user/oauth2/refresh_token/", json=refresh_body())
    assert token_vault.refresh(conn.id, client=get_client(app), keyring=token_sealing.get_keyring(app),
                               now=later) is token_vault.Outcome.REFRESHED


def test_expiry_reminder_sent_once_within_14_days(app, people, requests_mock):
    conn = sealed_connection(app, people.workspace, people.creator, expires_in=86400)
    conn.refresh_expires_at = NOW + timedelta(days=10)
    db.session.commit()
    assert run_job(app, "refresh-tokens", now=NOW).counts["expiry_reminders"] == 1
    assert run_job(app, "refresh-tokens", now=NOW + timedelta(hours=1)).counts["expiry_reminders"] == 0
    mails = outbox_messages(app.config["MAIL_OUTBOX_DIR"])
    assert len(mails) == 2 and all(b"TikTok limits how long an authorization lasts" in m for m in mails)


# ------------------------------------------------------------------ sync


def test_sync_stores_snapshots_and_posts_and_is_idempotent(app, people, requests_mock):
    conn = sealed_connection(app, people.workspace, people.creator, expires_in=86400)
    register_data(requests_mock)
    assert run_job(app, "sync", now=NOW).counts["synced"] == 1
    snaps = db.session.scalar(sa.select(sa.func.count()).select_from(AccountSnapshot))
    posts = db.session.scalars(sa.select(Post)).all()
    assert snaps >= 1 and posts
    today = db.session.scalar(sa.select(AccountSnapshot).where(AccountSnapshot.day == NOW.date()))
    assert today.followers_count == 1000
    db.session.refresh(conn)
    assert conn.last_synced_at == NOW and conn.next_sync_at == NOW + sync.SYNC_INTERVAL
    conn.next_sync_at = None
    db.session.commit()
    assert run_job(app, "sync", now=NOW).counts["synced"] == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AccountSnapshot)) == snaps
    assert len(db.session.scalars(sa.select(Post)).all()) == len(posts)


@pytest.mark.parametrize("fault, expected", [
    ({"json": {"code": 40100, "message": "limit", "request_id": "r", "data": {}}, "headers": {"Retry-After": "120"}},
     "rate_limited"),
    ({"status_code": 500}, "failed"),
    ({"exc": requests.exceptions.ConnectTimeout}, "failed"),
    ({"text": "{not json"}, "failed"),
])
def test_sync_fault_keeps_earlier_data_and_recovers(app, people, requests_mock, fault, expected):
    conn = sealed_connection(app, people.workspace, people.creator, expires_in=86400 * 2)
    register_data(requests_mock, followers=1000)
    run_job(app, "sync", now=NOW)
    before = db.session.scalar(sa.select(AccountSnapshot.followers_count).where(AccountSnapshot.day == NOW.date()))
    requests_mock.get(BUSINESS + "business/get/", **fault)
    app.config["SYNC_RETRY_BASE_SECONDS"] = 0
    later = NOW + timedelta(hours=1)
    result = run_job(app, "sync", now=later)
    assert result.counts[expected] == 1, result
    db.session.refresh(conn)
    assert conn.status == "active" and conn.last_error
    if expected == "rate_limited":
        assert conn.next_sync_at == later + timedelta(seconds=120)
    assert db.session.scalar(sa.select(AccountSnapshot.followers_count).where(
        AccountSnapshot.day == NOW.date())) == before
    register_data(requests_mock, followers=1010)
    conn.next_sync_at = None
    db.session.commit()
    assert run_job(app, "sync", now=later).counts["synced"] == 1
    db.session.refresh(conn)
    assert conn.last_error is None


def test_invalid_token_gets_one_refresh_and_one_retry(app, people, requests_mock):
    conn = sealed_connection(app, people.workspace, people.creator, expires_in=86400)
    expired = {"code": 40105, "message": "access token expired", "request_id": "r", "data": {}}
    profile = load("business_get_success")
    requests_mock.get(BUSINESS + "business/get/", [{"json": expired}, {"json": profile}])
    page = load("video_list_page1")
    page["data"]["has_more"] = False
    requests_mock.get(BUSINESS + "business/video/list/", json=page)
    refresh = requests_mock.post(BUSINESS + "tt_user/oauth2/refresh_token/", json=refresh_body())
    token_info_says(requests_mock, DEAD)
    assert run_job(app, "sync", now=NOW).counts["synced"] == 1
    assert refresh.call_count == 1
    assert tokens_of(app, conn)[0] == "act.NEW"


def test_undocumented_code_with_a_live_token_is_not_a_reconnect(app, people, requests_mock):
    """A refusal TikTok does not document, while token_info says the token is alive and carries
    every scope, is a failed sync to try again, never a reason to make a person reconnect."""
    conn = sealed_connection(app, people.workspace, people.creator, expires_in=86400)
    requests_mock.get(BUSINESS + "business/get/",
                      json={"code": 40002, "message": "invalid params", "request_id": "r", "data": {}})
    refresh = requests_mock.post(BUSINESS + "tt_user/oauth2/refresh_token/", json=refresh_body())
    token_info_says(requests_mock, alive())
    assert run_job(app, "sync", now=NOW).counts["failed"] == 1
    db.session.refresh(conn)
    assert conn.status == "active" and refresh.call_count == 0


def test_undocumented_code_with_a_scope_removed_says_which(app, people, requests_mock):
    conn = sealed_connection(app, people.workspace, people.creator, expires_in=86400)
    requests_mock.get(BUSINESS + "business/get/",
                      json={"code": 40001, "message": "no permission", "request_id": "r", "data": {}})
    token_info_says(requests_mock, alive(scope="user.info.basic,video.list"))
    assert run_job(app, "sync", now=NOW).counts["failed"] == 1
    db.session.refresh(conn)
    assert conn.status == "active" and "permission" in conn.last_error


def test_revoked_token_ends_in_needs_reconnect(app, people, requests_mock):
    conn = sealed_connection(app, people.workspace, people.creator, expires_in=86400)
    revoked = {"code": 40104, "message": "access token invalid", "request_id": "r", "data": {}}
    requests_mock.get(BUSINESS + "business/get/", json=revoked)
    requests_mock.post(BUSINESS + "tt_user/oauth2/refresh_token/",
                       json={"code": 40106, "message": "invalid_grant", "request_id": "r", "data": {}})
    token_info_says(requests_mock, DEAD)
    assert run_job(app, "sync", now=NOW).counts["needs_reconnect"] == 1
    db.session.refresh(conn)
    assert conn.status == "needs_reconnect"
    assert db.session.scalar(sa.select(AuditEvent.event).where(AuditEvent.event == "token.refresh_refused"))


# ------------------------------------------------------------------ "Refresh now"


def test_refresh_now_returns_the_row_partial(app, client, people, requests_mock):
    conn = sealed_connection(app, people.workspace, people.creator, expires_in=3600)
    requests_mock.post(BUSINESS + "tt_user/oauth2/refresh_token/", json=refresh_body())
    register_data(requests_mock)
    login(client, people.creator)
    r = client.hx("post", f"/connections/{conn.id}/refresh")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert html.startswith("<li id=\"connection-") or f'id="connection-{conn.id}"' in html
    assert "<html" not in html and "Token refreshed just now" in html
    assert "\"notify\"" in r.headers["HX-Trigger"] and "HX-Request" in r.headers["Vary"]
    db.session.refresh(conn)
    assert conn.last_synced_at is not None and not conn.is_syncing


def test_refresh_now_is_scoped(app, client, people):
    conn = sealed_connection(app, people.workspace, people.creator)
    login(client, people.creator2)
    assert client.hx("post", f"/connections/{conn.id}/refresh").status_code == 404
    login(client, people.outsider)
    assert client.hx("post", f"/connections/{conn.id}/refresh").status_code == 404


def test_syncing_row_polls_and_settled_row_does_not(app, client, people):
    conn = sealed_connection(app, people.workspace, people.creator)
    conn.sync_requested_at = NOW
    db.session.commit()
    login(client, people.creator)
    row = client.hx("get", f"/connections/{conn.id}/row").get_data(as_text=True)
    assert 'hx-trigger="load delay:3s"' in row and "Syncing" in row
    conn.last_synced_at = NOW + timedelta(minutes=1)
    db.session.commit()
    row = client.hx("get", f"/connections/{conn.id}/row").get_data(as_text=True)
    assert "hx-trigger" not in row
    assert client.get(f"/connections/{conn.id}/row").status_code == 302  # direct visit: the page


def test_needs_reconnect_row_offers_reconnect(app, client, people):
    make_connection(people.workspace, people.creator, status="needs_reconnect")
    db.session.commit()
    login(client, people.creator)
    html = client.get("/settings/integrations").get_data(as_text=True)
    assert "Needs reconnect" in html and ">Reconnect</button>" in html and "Refresh now" not in html


def test_late_refresh_result_is_discarded_after_disconnect(app, people, requests_mock):
    """Disconnected while TikTok was answering the refresh → nothing written back."""
    conn = sealed_connection(app, people.workspace, people.creator)
    conn_id = conn.id

    def disconnect_meanwhile(request, context):
        # another session disconnects this account while our refresh call is in flight
        from sqlalchemy import create_engine, text

        engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
        with engine.begin() as c:
            c.execute(text("UPDATE tiktok_connections SET status='disconnected', access_token_sealed=NULL, "
                           "refresh_token_sealed=NULL WHERE id=:id"), {"id": conn_id})
        engine.dispose()
        return refresh_body()

    requests_mock.post(BUSINESS + "tt_user/oauth2/refresh_token/", json=disconnect_meanwhile)
    outcome = token_vault.refresh(conn_id, client=get_client(app), keyring=token_sealing.get_keyring(app), now=NOW)
    assert outcome is token_vault.Outcome.SKIPPED
    db.session.expire_all()
    conn = db.session.get(TikTokConnection, conn_id)
    assert conn.status == "disconnected" and conn.access_token_sealed is None and conn.refresh_token_sealed is None

"""token-check: a grant TikTok revoked without a webhook is noticed; scopes stay true."""
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from app.extensions import db
from app.models import AuditEvent, TikTokConnection
from app.services import token_sealing
from app.services.mail import outbox_messages
from app.tiktok.types import TokenSet
from jobs.runner import run_job
from tests.factories import make_connection
from tests.tiktok_fixtures import BUSINESS

NOW = datetime(2026, 6, 1, 4, 30, tzinfo=timezone.utc)
OK = {"code": 0, "message": "OK", "request_id": "r"}
# TikTok documents no code for a dead token; any refusal other than a throttle means "not usable".
DEAD = {"code": 40105, "message": "access token is invalid", "request_id": "r", "data": {}}
THROTTLED = {"code": 40100, "message": "Too many requests", "request_id": "r", "data": {}}
SCOPES = "user.info.basic,user.info.stats,user.insights,video.list,video.insights"


def sealed(app, people, **kw):
    conn = make_connection(people.workspace, people.creator, scopes=SCOPES, **kw)
    tokens = TokenSet(access_token="act.LIVE", refresh_token="rft.LIVE", open_id=conn.open_id, scopes=(),
                      expires_in=86400, refresh_expires_in=86400 * 300)
    token_sealing.seal_tokens(conn, tokens, keyring=token_sealing.get_keyring(app), now=NOW)
    db.session.commit()
    return conn


def test_silently_revoked_grant_needs_reconnect_and_owner_is_emailed_once(app, people, requests_mock):
    conn = sealed(app, people)
    info = requests_mock.post(BUSINESS + "tt_user/token_info/get/", json=DEAD)
    refresh = requests_mock.post(BUSINESS + "tt_user/oauth2/refresh_token/",
                                 json={"code": 40106, "message": "refresh token revoked", "request_id": "r",
                                       "data": {}})
    result = run_job(app, "token-check", now=NOW)
    assert result.counts["revoked"] == 1, result
    assert refresh.call_count == 1  # one refresh decides before anyone is told to reconnect
    body = info.request_history[0].json()
    assert body == {"app_id": app.config["TIKTOK_CLIENT_KEY"], "access_token": "act.LIVE"}
    db.session.refresh(conn)
    assert conn.status == "needs_reconnect" and conn.access_token_sealed is None

    outbox = app.config["MAIL_OUTBOX_DIR"]
    run_job(app, "refresh-tokens", now=NOW + timedelta(minutes=10))
    mails = outbox_messages(outbox)
    owner_mails = [m for m in mails if people.creator.email.encode() in m]
    assert len(owner_mails) == 1 and b"Reconnect @" in owner_mails[0]
    run_job(app, "token-check", now=NOW + timedelta(days=1))
    run_job(app, "refresh-tokens", now=NOW + timedelta(days=1, minutes=10))
    assert len(outbox_messages(outbox)) == len(mails)  # never repeated


def test_live_grant_updates_the_scopes_tiktok_reports(app, people, requests_mock):
    conn = sealed(app, people)
    requests_mock.post(BUSINESS + "tt_user/token_info/get/", json={**OK, "data": {
        "app_id": "ck", "creator_id": conn.open_id, "scope": "user.info.basic,video.list"}})
    result = run_job(app, "token-check", now=NOW)
    assert result.counts["scopes_changed"] == 1, result
    db.session.refresh(conn)
    assert conn.scopes == ["user.info.basic", "video.list"] and conn.status == "active"
    assert conn.token_checked_at == NOW
    assert db.session.scalar(sa.select(AuditEvent.event).where(AuditEvent.event == "connection.scopes_changed"))
    # Checked today: the next run the same day leaves it alone.
    assert run_job(app, "token-check", now=NOW + timedelta(hours=1)).counts["alive"] == 0


def test_expired_access_token_is_refreshed_not_reconnected(app, people, requests_mock):
    conn = sealed(app, people)
    requests_mock.post(BUSINESS + "tt_user/token_info/get/", json=DEAD)
    requests_mock.post(BUSINESS + "tt_user/oauth2/refresh_token/", json={**OK, "data": {
        "access_token": "act.NEW", "refresh_token": "rft.NEW", "open_id": conn.open_id, "expires_in": 86400,
        "refresh_token_expires_in": 86400 * 200, "scope": SCOPES, "token_type": "Bearer"}})
    assert run_job(app, "token-check", now=NOW).counts["refreshed"] == 1
    db.session.refresh(conn)
    assert conn.status == "active"


def test_a_throttle_or_outage_changes_nothing(app, people, requests_mock):
    conn = sealed(app, people)
    requests_mock.post(BUSINESS + "tt_user/token_info/get/", [{"json": THROTTLED}, {"status_code": 503}])
    assert run_job(app, "token-check", now=NOW).counts["unknown"] == 1
    assert run_job(app, "token-check", now=NOW + timedelta(minutes=5)).counts["unknown"] == 1
    db.session.refresh(conn)
    assert conn.status == "active" and conn.token_checked_at is None  # tried again next run

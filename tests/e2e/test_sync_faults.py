"""sync against the sandbox's fault injection: each fault leaves earlier data intact,
records the error, and the next run recovers."""
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import AccountSnapshot, Post, TikTokConnection
from jobs.runner import run_job
from tests.e2e.helpers import connect_account, sign_in

pytestmark = pytest.mark.e2e


def snapshot_of_data():
    rows = db.session.execute(sa.select(AccountSnapshot.day, AccountSnapshot.followers_count,
                                        AccountSnapshot.video_views).order_by(AccountSnapshot.day)).all()
    posts = db.session.execute(sa.select(Post.item_id, Post.views).order_by(Post.item_id)).all()
    return rows, posts


@pytest.mark.parametrize("kind, expected", [
    ("rate_limit", "rate_limited"),     # 40100 in an HTTP 200 body
    ("http_429", "rate_limited"),
    ("http_500", "failed"),
    ("http_503", "failed"),             # an HTML error page
    ("timeout", "failed"),
    ("malformed_json", "failed"),
])
def test_fault_keeps_data_and_next_run_recovers(live_server, kind, expected):
    app = live_server.app
    # No real waiting: quick retries at once, and a 40100 gives up this run at once instead of
    # sleeping out its Retry-After (waiting it out is tests/integration/test_sync_rate_limit.py's,
    # with the sleep injected).
    app.config.update(SYNC_RETRY_BASE_SECONDS=0, SYNC_RATE_LIMIT_WAIT_SECONDS=0)
    s, ws_id = sign_in(live_server)
    connect_account(live_server, s, ws_id)
    now = datetime.now(timezone.utc)
    assert run_job(app, "sync", now=now).counts["synced"] == 1
    with app.app_context():
        before = snapshot_of_data()
        assert before[0] and before[1]
    state = app.extensions["tiktok_sandbox"].sandbox_state
    # enough faults to outlast the quick retries inside one run
    state.inject_fault(endpoint="business/video/list/", kind=kind, count=3, delay=1, retry_after=30)
    # A read timeout well under the sandbox's delay, for the faulty run only (a short timeout on
    # the healthy runs would only make them flaky on a busy machine).
    app.config["TIKTOK_HTTP_TIMEOUT"] = 0.2
    app.extensions.pop("tiktok", None)  # the client is rebuilt with it
    later = now + timedelta(minutes=20)
    result = run_job(app, "sync", now=later)
    app.config["TIKTOK_HTTP_TIMEOUT"] = 10
    app.extensions.pop("tiktok", None)
    assert result.counts[expected] == 1, result
    with app.app_context():
        conn = db.session.scalar(sa.select(TikTokConnection))
        assert conn.status == "active" and conn.last_error
        assert snapshot_of_data() == before  # nothing written from a failed run
        if expected == "rate_limited":
            assert conn.next_sync_at >= later + timedelta(seconds=30)
    state.clear_faults()
    recovered = run_job(app, "sync", now=later + timedelta(hours=1))
    assert recovered.counts["synced"] == 1, recovered
    with app.app_context():
        assert db.session.scalar(sa.select(TikTokConnection.last_error)) is None


def test_revoked_token_stops_syncing_and_reconnect_recovers(live_server):
    """The revoked_token fault really revokes the grant at the sandbox, which also sends
    TikTok's authorization.removed webhook. Whichever reaches us first — the refused
    refresh (needs reconnect) or the webhook (disconnected) — syncing stops, nothing
    stored changes, and connecting the account again brings the same row back."""
    app = live_server.app
    s, ws_id = sign_in(live_server)
    connect_account(live_server, s, ws_id)
    now = datetime.now(timezone.utc)
    run_job(app, "sync", now=now)
    with app.app_context():
        before = snapshot_of_data()
    app.extensions["tiktok_sandbox"].sandbox_state.inject_fault(endpoint="business/get/", kind="revoked_token")
    result = run_job(app, "sync", now=now + timedelta(minutes=20))
    assert result.counts["needs_reconnect"] + result.counts["skipped"] == 1, result
    with app.app_context():
        status = db.session.scalar(sa.select(TikTokConnection.status))
        assert status in ("needs_reconnect", "disconnected")
        assert db.session.scalar(sa.select(TikTokConnection.access_token_sealed)) is None  # no dead token kept
        assert snapshot_of_data() == before
    page = s.get(live_server.url + "/settings/integrations").text
    assert ("Needs reconnect" in page and ">Reconnect</button>" in page) or "Disconnected" in page
    connect_account(live_server, s, ws_id)  # the same account again: same row, history kept
    assert run_job(app, "sync", now=now + timedelta(hours=1)).counts["synced"] == 1
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(TikTokConnection)) == 1
        assert db.session.scalar(sa.select(TikTokConnection.status)) == "active"

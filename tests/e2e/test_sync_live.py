"""sync and refresh-tokens against the live sandbox over real HTTP."""
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import AccountSnapshot, Post, PostMetric, TikTokConnection
from jobs.runner import run_job
from tests.e2e.helpers import connect_account, sign_in

pytestmark = pytest.mark.e2e


def table_dump(model):
    cols = [c for c in model.__table__.columns if c.name not in ("captured_at", "id")]
    return sorted(tuple(str(getattr(r, c.key)) for c in cols) for r in db.session.scalars(sa.select(model)))


def test_sync_fills_snapshots_and_is_idempotent(live_server):
    s, ws_id = sign_in(live_server)
    assert connect_account(live_server, s, ws_id).ok
    app = live_server.app
    now = datetime.now(timezone.utc)
    result = run_job(app, "sync", now=now)
    assert result.counts["synced"] == 1, result
    with app.app_context():
        conn = db.session.scalar(sa.select(TikTokConnection))
        assert conn.last_synced_at is not None and not conn.is_syncing
        snaps = db.session.scalar(sa.select(sa.func.count()).select_from(AccountSnapshot))
        assert snaps >= 59  # 60 days of daily history from the first sync
        posts = db.session.scalars(sa.select(Post)).all()
        assert len(posts) > 5 and all(len(p.item_id) == 19 for p in posts)
        assert any(p.full_video_watched_rate for p in posts)
        before = {m: table_dump(m) for m in (AccountSnapshot, Post, PostMetric)}
    # same moment again: nothing changes; not due, so force it due
    with app.app_context():
        db.session.execute(sa.update(TikTokConnection).values(next_sync_at=None, last_synced_at=None))
        db.session.commit()
    again = run_job(app, "sync", now=now)
    assert again.counts["synced"] == 1
    with app.app_context():
        after = {m: table_dump(m) for m in (AccountSnapshot, Post, PostMetric)}
    for model in before:
        assert after[model] == before[model], model.__name__


def test_refresh_tokens_rotates_against_the_sandbox(live_server):
    s, ws_id = sign_in(live_server)
    connect_account(live_server, s, ws_id)
    app = live_server.app
    later = datetime.now(timezone.utc) + timedelta(hours=23)  # within 2 h of the 24 h expiry
    result = run_job(app, "refresh-tokens", now=later)
    assert result.counts["refreshed"] == 1, result
    assert run_job(app, "refresh-tokens", now=later).counts["refreshed"] == 0  # not due any more
    # the new access token works at the sandbox
    assert run_job(app, "sync", now=later).counts["synced"] == 1

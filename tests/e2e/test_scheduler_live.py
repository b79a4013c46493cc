"""Jobs under the live in-process scheduler: a new connection syncs at once, no CLI."""
import time

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Post, TikTokConnection
from jobs.scheduler import start_scheduler
from tests.e2e.helpers import connect_account, sign_in

pytestmark = pytest.mark.e2e


def wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_new_connection_is_synced_by_the_scheduler(live_server):
    app = live_server.app
    scheduler = start_scheduler(app)
    try:
        assert start_scheduler(app) is scheduler  # never twice in one process
        assert {j.id for j in scheduler.get_jobs()} >= {"sync", "refresh-tokens"}
        s, ws_id = sign_in(live_server)
        landed = connect_account(live_server, s, ws_id)
        assert "is now syncing" in landed.text

        def synced():
            with app.app_context():
                conn = db.session.scalar(sa.select(TikTokConnection))
                done = conn is not None and conn.last_synced_at is not None
                db.session.remove()
                return done

        assert wait_for(synced), "the woken sync job did not run"
        with app.app_context():
            assert db.session.scalar(sa.select(sa.func.count()).select_from(Post)) > 0
    finally:
        scheduler.shutdown(wait=True)
        app.extensions.pop("scheduler", None)


def test_missed_period_jobs_catch_up_once_after_start(live_server):
    """A deploy across Monday 09:00: the in-memory store forgot the trigger, so
    weekly-reports and purge run once shortly after the scheduler starts."""
    app = live_server.app
    scheduler = start_scheduler(app)
    try:
        ids = {j.id: j for j in scheduler.get_jobs()}
        for name in ("weekly-reports", "purge"):
            catch_up = ids[f"{name}-catch-up"]
            assert catch_up.next_run_time is not None
            assert catch_up.trigger.__class__.__name__ == "DateTrigger"  # once, not repeating
        assert scheduler.get_job("sync").trigger.__class__.__name__ == "IntervalTrigger"
    finally:
        scheduler.shutdown(wait=True)
        app.extensions.pop("scheduler", None)

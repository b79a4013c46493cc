""""Refresh now" runs at most once per connection per REFRESH_NOW_MIN_INTERVAL_SECONDS,
so one person cannot spend the TikTok rate limit every workspace shares. Inside the
window the answer is 429 with the row saying when to try again; the window lives in
the database, so it holds across instances."""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import JobClaim
from app.services import refresh_throttle
from tests.conftest import Client, login
from tests.integration.test_refresh_sync import BUSINESS, refresh_body, register_data, sealed_connection


@pytest.fixture
def tiktok(requests_mock):
    requests_mock.post(BUSINESS + "tt_user/oauth2/refresh_token/", json=refresh_body())
    register_data(requests_mock)
    return requests_mock


def _refresh(client, conn):
    return client.hx("post", f"/connections/{conn.id}/refresh")


def test_a_second_refresh_within_the_interval_is_429_and_calls_tiktok_no_more(app, client, people, tiktok):
    conn = sealed_connection(app, people.workspace, people.creator, expires_in=3600)
    login(client, people.creator)
    assert _refresh(client, conn).status_code == 200
    calls = tiktok.call_count
    r = _refresh(client, conn)
    assert r.status_code == 429
    assert tiktok.call_count == calls  # neither a token refresh nor a sync
    html = r.get_data(as_text=True)
    assert html.lstrip().startswith(f'<li id="connection-{conn.id}"') and "<html" not in html
    wait = int(re.search(r"Refreshed just now — try again in (\d+) s", html).group(1))
    assert 1 <= wait <= 60 and r.headers["Retry-After"] == str(wait)
    notify = json.loads(r.headers["HX-Trigger"])["notify"]
    assert notify["level"] == "info" and f"try again in {wait} s" in notify["message"]
    assert "Refresh now" in html  # the row keeps its button


def test_the_window_is_per_connection(app, client, people, tiktok):
    first = sealed_connection(app, people.workspace, people.creator, expires_in=3600)
    second = sealed_connection(app, people.workspace, people.creator, expires_in=3600)
    login(client, people.creator)
    assert _refresh(client, first).status_code == 200
    assert _refresh(client, second).status_code == 200
    assert _refresh(client, first).status_code == 429


def test_the_window_holds_for_every_person_and_every_instance(app_factory, app, client, people, tiktok, db_backend):
    """Another person, on another app instance sharing the database, is throttled too."""
    conn = sealed_connection(app, people.workspace, people.creator, expires_in=3600)
    login(client, people.creator)
    assert _refresh(client, conn).status_code == 200
    other = app_factory(db_backend)  # same database (file or schema), separate process state
    other.test_client_class = Client
    with other.app_context():
        admin_client = other.test_client()
        login(admin_client, people.admin)
        assert _refresh(admin_client, conn).status_code == 429


def test_after_the_interval_a_refresh_runs_again(app, client, people, tiktok):
    conn = sealed_connection(app, people.workspace, people.creator, expires_in=3600)
    login(client, people.creator)
    assert _refresh(client, conn).status_code == 200
    db.session.execute(sa.update(JobClaim).where(JobClaim.job == refresh_throttle.JOB)
                       .values(expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
    db.session.commit()
    calls = tiktok.call_count
    assert _refresh(client, conn).status_code == 200 and tiktok.call_count > calls


def test_zero_turns_the_throttle_off(app, client, people, tiktok):
    app.config["REFRESH_NOW_MIN_INTERVAL_SECONDS"] = 0
    conn = sealed_connection(app, people.workspace, people.creator, expires_in=3600)
    login(client, people.creator)
    assert _refresh(client, conn).status_code == 200
    assert _refresh(client, conn).status_code == 200


def test_take_slot_counts_down(app):
    now = datetime(2026, 6, 1, 9, 0, tzinfo=timezone.utc)
    minute = timedelta(seconds=60)
    assert refresh_throttle.take_slot(7, now=now, min_interval=minute) == 0
    assert refresh_throttle.take_slot(7, now=now + timedelta(seconds=15.5), min_interval=minute) == 45
    assert refresh_throttle.take_slot(7, now=now + timedelta(seconds=59.9), min_interval=minute) == 1
    assert refresh_throttle.take_slot(7, now=now + minute, min_interval=minute) == 0  # a new window


def test_the_default_interval_is_a_minute_and_bad_values_stop_start_up(app, app_factory):
    from config import ConfigError

    assert app.config["REFRESH_NOW_MIN_INTERVAL_SECONDS"] == 60
    for bad in ("soon", "-1", "86401"):
        with pytest.raises(ConfigError, match="REFRESH_NOW_MIN_INTERVAL_SECONDS"):
            app_factory(REFRESH_NOW_MIN_INTERVAL_SECONDS=bad)


def test_htmx_swaps_the_429_row_but_never_an_error_page(client, people):
    """The page's htmx config swaps 429 (the throttled row); error responses to htmx carry
    HX-Reswap: none, so a rate-limited request elsewhere never replaces its target."""
    html = client.get("/login").get_data(as_text=True)
    config = json.loads(re.search(r'<meta name="htmx-config" content=\'([^\']+)\'', html).group(1))
    codes = [rule["code"] for rule in config["responseHandling"]]
    rule_429 = config["responseHandling"][codes.index("429")]
    assert codes.index("429") < codes.index("[45]..") and rule_429["swap"] is True and rule_429["error"] is False
    login(client, people.admin)
    r = client.get("/no-such-page", headers={"HX-Request": "true"})
    assert r.status_code == 404 and r.headers["HX-Reswap"] == "none"

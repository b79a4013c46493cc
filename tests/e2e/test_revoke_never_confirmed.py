"""TikTok's revoke fails for good (the sandbox's fault injection, over real HTTP): the
account is disconnected at once, revoke-retry keeps trying on the clock (time-machine
moves it), the nightly purge waits, and once REVOKE_GIVE_UP_DAYS have passed the token
is wiped, the purge deletes the account and its receipt says TikTok never confirmed."""
from datetime import datetime, timedelta, timezone

import pytest
import requests
import sqlalchemy as sa
import time_machine

from app.extensions import db
from app.models import AuditEvent, DeletionReceipt, TikTokConnection
from jobs.runner import run_job
from tests.e2e.helpers import connect_account, csrf, sign_in

pytestmark = pytest.mark.e2e

REVOKE = "tt_user/oauth2/revoke/"


def revoke_calls(url: str) -> int:
    counts = requests.get(url + "/sandbox/tiktok/_control/requests", timeout=5).json()["counts"]
    return counts.get(REVOKE, 0)


def connection(app, conn_id):
    with app.app_context():
        conn = db.session.get(TikTokConnection, conn_id)
        if conn is not None:
            db.session.expunge(conn)
        return conn


def test_revoke_that_never_succeeds_is_given_up_and_the_account_purged(live_server):
    app, url = live_server.app, live_server.url
    s, ws_id = sign_in(live_server, email="admin@brass.studio", role="client_admin", password="a-long-password")
    connect_account(live_server, s, ws_id, username="brassorbit3")
    with app.app_context():
        conn_id = db.session.scalar(sa.select(TikTokConnection.id))
    r = requests.post(url + "/sandbox/tiktok/_control/faults", timeout=5,
                      json={"endpoint": REVOKE, "kind": "http_500", "count": 100_000})
    assert r.status_code == 200
    requests.delete(url + "/sandbox/tiktok/_control/requests", timeout=5)

    token = csrf(s.get(url + "/settings/integrations").text)
    r = s.post(f"{url}/connections/{conn_id}/deletion", headers={"HX-Request": "true", "X-CSRFToken": token})
    assert r.status_code == 200 and "Revoking access at TikTok" in r.text
    conn = connection(app, conn_id)
    assert conn.status == "disconnected" and conn.revoke_pending and conn.access_token_sealed is not None
    disconnected_at = conn.disconnected_at
    deadline = disconnected_at + timedelta(days=app.config["REVOKE_GIVE_UP_DAYS"])

    # Day by day: the 03:00 purge finds the account due but still waiting for TikTok, and
    # revoke-retry tries at every attempt it scheduled (backing off, at most 6 h apart).
    day = (disconnected_at + timedelta(days=1)).replace(hour=3, minute=0, second=0, microsecond=0)
    attempts_seen = 1
    while True:
        conn = connection(app, conn_id)
        if not conn.revoke_pending:
            break
        due = conn.next_revoke_at
        while day < due:
            with time_machine.travel(day, tick=False):
                result = run_job(app, "purge")
            assert result.counts.get("connections_purged") is None, (day, result)
            assert connection(app, conn_id) is not None
            day += timedelta(days=1)
        assert due <= deadline
        with time_machine.travel(due + timedelta(seconds=1), tick=True):
            result = run_job(app, "revoke-retry")
        attempts_seen += 1
        assert attempts_seen < 60, "revoke-retry never gave up"
    assert result.counts == {"gave_up": 1}
    assert due == deadline  # the last attempt fell on the deadline, not 6 h after it

    conn = connection(app, conn_id)
    assert conn.access_token_sealed is None and conn.refresh_token_sealed is None
    assert deadline <= conn.revoke_unconfirmed_at < deadline + timedelta(minutes=1)
    assert revoke_calls(url) == conn.revoke_attempts == attempts_seen  # every attempt reached "TikTok"
    with time_machine.travel(deadline + timedelta(minutes=5), tick=True):
        page = s.get(url + "/settings/integrations").text
    assert "TikTok never confirmed the revocation" in page

    with time_machine.travel(day, tick=False):
        result = run_job(app, "purge")
    assert result.counts["connections_purged"] == 1, result
    assert day - disconnected_at < timedelta(days=app.config["RETENTION_DAYS"])
    assert connection(app, conn_id) is None
    with app.app_context():
        receipt = db.session.scalar(sa.select(DeletionReceipt))
        assert receipt.counts["tiktok_revocation"] == "never_confirmed"
        assert receipt.counts["complete"] is True and receipt.counts["source"] == "user_request"
        events = {e.event: e for e in db.session.scalars(sa.select(AuditEvent))}
        gave_up = events["revoke.unconfirmed"]
        assert gave_up.connection_id is None and gave_up.detail["deleted_account"] == receipt.reference
        assert gave_up.detail["attempts"] == attempts_seen
        assert "revoke.confirmed" not in events
    requests.delete(url + "/sandbox/tiktok/_control/faults", timeout=5)

"""Disconnect over real HTTP against the sandbox: the revoke reaches TikTok once, the old
token stops working, and the sandbox's signed authorization.removed (reason 5) webhook
is received, verified and handled idempotently."""
import json
import time

import pytest
import requests
import sqlalchemy as sa

from app.extensions import db
from app.models import AuditEvent, TikTokConnection
from app.sandbox.signing import sign
from app.services import token_sealing
from app.tiktok import TokenInvalid, get_client
from tests.e2e.helpers import connect_account, csrf, sign_in

pytestmark = pytest.mark.e2e


def _wait_for_delivery(url: str, timeout: float = 10.0) -> dict:
    """The sandbox delivers from a background thread (as TikTok does): poll its record."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        deliveries = requests.get(url + "/sandbox/tiktok/_control/webhooks", timeout=5).json()["deliveries"]
        if deliveries and (deliveries[-1]["status"] is not None or deliveries[-1]["error"]):
            return deliveries[-1]
        time.sleep(0.1)
    raise AssertionError("the sandbox never delivered its webhook")


def test_disconnect_revokes_at_sandbox_and_webhook_is_handled_once(live_server):
    s, ws_id = sign_in(live_server)
    landed = connect_account(live_server, s, ws_id, username="brassorbit3")
    assert "/performance" in landed.url
    app = live_server.app
    with app.app_context():
        conn = db.session.scalar(sa.select(TikTokConnection))
        conn_id, open_id = conn.id, conn.open_id
        old_token = token_sealing.open_token(conn, "access", keyring=token_sealing.get_keyring(app))
        client = get_client(app)
        assert client.get_business_profile(old_token, open_id, fields=("username",)).username == "brassorbit3"
    requests.delete(live_server.url + "/sandbox/tiktok/_control/requests", timeout=5)

    token = csrf(s.get(live_server.url + "/settings/integrations").text)
    r = s.post(f"{live_server.url}/connections/{conn_id}/disconnect",
               headers={"HX-Request": "true", "X-CSRFToken": token})
    assert r.status_code == 200 and "Disconnected · data deleted by" in r.text
    assert json.loads(r.headers["HX-Trigger"])["notify"]["level"] == "success"

    counts = requests.get(live_server.url + "/sandbox/tiktok/_control/requests", timeout=5).json()["counts"]
    assert sum(n for endpoint, n in counts.items() if "revoke" in endpoint) == 1
    with app.app_context():
        with pytest.raises(TokenInvalid):
            get_client(app).get_business_profile(old_token, open_id, fields=("username",))

    delivery = _wait_for_delivery(live_server.url)
    assert delivery["status"] == 200 and delivery["url"] == live_server.url + "/tiktok/webhook"
    body = json.loads(delivery["body"])
    assert body["event"] == "authorization.removed" and json.loads(body["content"]) == {"reason": 5}

    # TikTok delivers at least once: a redelivery (freshly signed) has no further effect.
    raw = delivery["body"].encode()
    secret = app.config["TIKTOK_CLIENT_SECRET"]
    again = requests.post(live_server.url + "/tiktok/webhook", data=raw, timeout=5,
                          headers={"Content-Type": "application/json", "TikTok-Signature": sign(secret, int(time.time()), raw)})
    assert again.status_code == 200 and again.json() == {"status": "duplicate"}
    with app.app_context():
        events = list(db.session.scalars(sa.select(AuditEvent).where(
            AuditEvent.event == "webhook.authorization_removed")))
        assert len(events) == 1 and events[0].detail == {"reason": 5, "effect": "already_disconnected"}
        conn = db.session.get(TikTokConnection, conn_id)
        assert conn.status == "disconnected" and conn.access_token_sealed is None
        assert conn.refresh_token_sealed is None and not conn.revoke_pending
    # A second disconnect is harmless and calls TikTok no more.
    token = csrf(s.get(live_server.url + "/settings/integrations").text)
    assert s.post(f"{live_server.url}/connections/{conn_id}/disconnect",
                  headers={"HX-Request": "true", "X-CSRFToken": token}).status_code == 200
    counts = requests.get(live_server.url + "/sandbox/tiktok/_control/requests", timeout=5).json()["counts"]
    assert sum(n for endpoint, n in counts.items() if "revoke" in endpoint) == 1


def test_sandbox_failing_then_revoke_retry_succeeds(live_server):
    from datetime import timedelta

    from jobs.runner import run_job

    s, ws_id = sign_in(live_server)
    connect_account(live_server, s, ws_id, username="moontideco2")
    with live_server.app.app_context():
        conn_id = db.session.scalar(sa.select(TikTokConnection.id))
    requests.post(live_server.url + "/sandbox/tiktok/_control/faults", timeout=5,
                  json={"endpoint": "tt_user/oauth2/revoke/", "kind": "http_503", "count": 1})
    token = csrf(s.get(live_server.url + "/settings/integrations").text)
    r = s.post(f"{live_server.url}/connections/{conn_id}/disconnect",
               headers={"HX-Request": "true", "X-CSRFToken": token})
    assert r.status_code == 200 and "Revoking access at TikTok" in r.text
    with live_server.app.app_context():
        conn = db.session.get(TikTokConnection, conn_id)
        assert conn.status == "disconnected" and conn.revoke_pending and conn.refresh_token_sealed is None
        due = conn.next_revoke_at
    result = run_job(live_server.app, "revoke-retry", now=due + timedelta(seconds=1))
    assert result.counts["revoked"] == 1
    with live_server.app.app_context():
        conn = db.session.get(TikTokConnection, conn_id)
        assert conn.access_token_sealed is None and not conn.revoke_pending
    assert _wait_for_delivery(live_server.url)["status"] == 200

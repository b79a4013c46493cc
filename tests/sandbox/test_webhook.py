"""authorization.removed webhook after revoke: sent in the background, signed like TikTok's."""
import hashlib
import hmac
import json
import queue
import time

from .conftest import ServedThread


class Receiver:
    """A tiny webhook endpoint that records raw bodies and headers (optionally slow to answer)."""

    def __init__(self, delay: float = 0.0):
        self.events: queue.Queue = queue.Queue()
        self.delay = delay
        self.served = ServedThread(self.wsgi)
        self.url = f"http://127.0.0.1:{self.served.port}/tiktok/webhook"

    def wsgi(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length)
        time.sleep(self.delay)
        self.events.put((environ["PATH_INFO"], environ.get("HTTP_TIKTOK_SIGNATURE"), raw))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]


def verify(secret: str, header: str, raw: bytes) -> bool:
    parts = dict(p.strip().split("=", 1) for p in header.split(","))
    mac = hmac.new(secret.encode(), parts["t"].encode() + b"." + raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(mac, parts["s"]) and abs(time.time() - int(parts["t"])) <= 300


def test_signing_matches_the_documented_test_vector():
    from app.sandbox.signing import sign

    body = (b'{"client_key":"ck","event":"authorization.removed","create_time":1615338610,'
            b'"user_openid":"oid","content":"{\\"reason\\": 1 }"}')
    assert sign("test_client_secret", 1633174587, body) == (
        "t=1633174587,s=cfb7570658a7da9b5611137c2f2266a9881ad7de86862ae56a6cf5d782d03556"
    )


def test_revoke_sends_signed_authorization_removed_without_blocking(make_sandbox):
    receiver = Receiver(delay=1.5)
    try:
        sbx = make_sandbox(webhook_url=receiver.url)
        data = sbx.connect()
        started = time.monotonic()
        assert sbx.revoke(data["access_token"])["code"] == 0
        assert time.monotonic() - started < 1.0  # the slow receiver does not hold up the revoke
        path, signature, raw = receiver.events.get(timeout=10)
        assert path == "/tiktok/webhook"
        assert verify(sbx.settings.client_secret, signature, raw)
        assert not verify("some other secret", signature, raw)
        event = json.loads(raw)
        assert event["event"] == "authorization.removed"
        assert event["client_key"] == sbx.settings.client_key
        assert event["user_openid"] == data["open_id"]
        assert isinstance(event["content"], str) and json.loads(event["content"]) == {"reason": 5}
        assert isinstance(event["create_time"], int)
        # A second revoke of the same grant is a no-op: no second event.
        assert sbx.revoke(data["access_token"])["code"] == 0
        assert receiver.events.empty()
    finally:
        receiver.served.stop()


def test_user_removing_the_app_sends_reason_1(make_sandbox):
    receiver = Receiver()
    try:
        sbx = make_sandbox(webhook_url=receiver.url)
        data = sbx.connect()
        resp = sbx.http.post(sbx.url("/_control/deauthorize"), json={"username": "brassorbit3"})
        assert resp.json()["grants_revoked"] == 1
        _, signature, raw = receiver.events.get(timeout=10)
        assert verify(sbx.settings.client_secret, signature, raw)
        assert json.loads(json.loads(raw)["content"]) == {"reason": 1}
        assert sbx.business_get(data["access_token"], data["open_id"]).json()["code"] == 40104
    finally:
        receiver.served.stop()


def test_unreachable_webhook_receiver_does_not_break_revoke(make_sandbox):
    sbx = make_sandbox(webhook_url="http://127.0.0.1:9/nothing-listens-here")
    data = sbx.connect()
    assert sbx.revoke(data["access_token"])["code"] == 0


def test_silent_revocation_sends_no_webhook_and_token_info_says_dead(make_sandbox):
    """TikTok API for Business apps get no documented deauthorization event: only token_info tells."""
    receiver = Receiver()
    try:
        sbx = make_sandbox(webhook_url=receiver.url)
        data = sbx.connect()
        other = sbx.connect(username="moontideco2")
        assert sbx.token_info(data["access_token"])["code"] == 0
        resp = sbx.http.post(sbx.url("/_control/deauthorize"), json={"username": "brassorbit3", "webhook": False})
        assert resp.status_code == 200 and resp.json() == {
            "open_id": data["open_id"], "grants_revoked": 1, "webhook": False}
        assert sbx.token_info(data["access_token"])["code"] == 40104
        assert sbx.business_get(data["access_token"], data["open_id"]).json()["code"] == 40104
        assert sbx.refresh(data["refresh_token"])["code"] == 40106
        assert sbx.token_info(other["access_token"])["code"] == 0  # only that user's grants died
        time.sleep(0.5)  # a webhook would have been sent by now (see the test above)
        assert receiver.events.empty()
        assert sbx.http.get(sbx.url("/_control/webhooks")).json()["deliveries"] == []
    finally:
        receiver.served.stop()


def test_silent_revocation_by_open_id(sandbox):
    data = sandbox.connect()
    resp = sandbox.http.post(sandbox.url("/_control/deauthorize"), json={"open_id": data["open_id"], "webhook": False})
    assert resp.json()["grants_revoked"] == 1
    assert sandbox.token_info(data["access_token"])["code"] == 40104


def test_webhook_flag_must_be_a_boolean(sandbox):
    sandbox.connect()
    resp = sandbox.http.post(sandbox.url("/_control/deauthorize"), json={"username": "brassorbit3", "webhook": "no"})
    assert resp.status_code == 400

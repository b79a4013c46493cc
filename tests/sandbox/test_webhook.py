"""authorization.removed webhook after revoke: sent in the background, signed like TikTok's."""
import hashlib
import hmac
import json
import queue
import threading
import time

from .conftest import ServedThread


class Receiver:
    """A tiny webhook endpoint that records raw bodies and headers. With `hold`, it answers
    only once `release` is set (a receiver slower than anything the sender may wait for)."""

    def __init__(self, hold: bool = False):
        self.events: queue.Queue = queue.Queue()
        self.release = threading.Event()
        if not hold:
            self.release.set()
        self.served = ServedThread(self.wsgi)
        self.url = f"http://127.0.0.1:{self.served.port}/tiktok/webhook"

    def wsgi(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length)
        self.release.wait(10)
        self.events.put((environ["PATH_INFO"], environ.get("HTTP_TIKTOK_SIGNATURE"), raw))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    def stop(self):
        self.release.set()
        self.served.stop()


def deliveries(sbx, count: int) -> list[dict]:
    """The sandbox's record of its webhook deliveries, once it holds `count` of them."""
    deadline = time.monotonic() + 10
    while True:
        found = sbx.http.get(sbx.url("/_control/webhooks")).json()["deliveries"]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.01)


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
    receiver = Receiver(hold=True)
    try:
        sbx = make_sandbox(webhook_url=receiver.url)
        data = sbx.connect()
        assert sbx.revoke(data["access_token"])["code"] == 0
        # The receiver answers only now, after the revoke has returned, and the delivery still
        # succeeds: the revoke cannot have waited for it (it would have timed out instead).
        receiver.release.set()
        path, signature, raw = receiver.events.get(timeout=10)
        assert [(d["status"], d["error"]) for d in deliveries(sbx, 1)] == [(200, None)]
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
        receiver.stop()


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
        receiver.stop()


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
        assert sbx.http.get(sbx.url("/_control/webhooks")).json()["deliveries"] == []
        # A webhook of the silent revocation would have been on its way before this one, which
        # is sent on purpose; once this one is in, nothing else came.
        sbx.http.post(sbx.url("/_control/deauthorize"), json={"username": "moontideco2"})
        _, _, raw = receiver.events.get(timeout=10)
        assert json.loads(raw)["user_openid"] == other["open_id"]
        assert receiver.events.empty()
        assert [json.loads(d["body"])["user_openid"] for d in deliveries(sbx, 1)] == [other["open_id"]]
    finally:
        receiver.stop()


def test_silent_revocation_by_open_id(sandbox):
    data = sandbox.connect()
    resp = sandbox.http.post(sandbox.url("/_control/deauthorize"), json={"open_id": data["open_id"], "webhook": False})
    assert resp.json()["grants_revoked"] == 1
    assert sandbox.token_info(data["access_token"])["code"] == 40104


def test_webhook_flag_must_be_a_boolean(sandbox):
    sandbox.connect()
    resp = sandbox.http.post(sandbox.url("/_control/deauthorize"), json={"username": "brassorbit3", "webhook": "no"})
    assert resp.status_code == 400

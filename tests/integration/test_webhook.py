"""POST /tiktok/webhook: signature over the raw body before anything else, our client_key,
then authorization.removed → disconnect without a revoke call; duplicates are harmless."""
import json
import time
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import AuditEvent, TikTokConnection
from app.tiktok.webhook import signature, signature_header
from tests.conftest import TEST_CLIENT_KEY, TEST_CLIENT_SECRET
from tests.factories import make_connected, make_connection


def body(open_id="open-hooked", *, event="authorization.removed", reason=1, create_time=1780000000,
         client_key=TEST_CLIENT_KEY) -> bytes:
    return json.dumps({"client_key": client_key, "event": event, "create_time": create_time,
                       "user_openid": open_id, "content": json.dumps({"reason": reason})}).encode()


def post(client, raw: bytes, *, t: int | None = None, header: str | None = "sign", secret=TEST_CLIENT_SECRET):
    t = int(time.time()) if t is None else t
    headers = {"Content-Type": "application/json"}
    if header == "sign":
        headers["TikTok-Signature"] = signature_header(raw, t, secret)
    elif header is not None:
        headers["TikTok-Signature"] = header
    return client.post("/tiktok/webhook", data=raw, headers=headers)


def reload(conn_id):
    db.session.expire_all()
    return db.session.get(TikTokConnection, conn_id)


def audit_count(event="webhook.authorization_removed"):
    return db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.event == event))


def test_signature_matches_the_documented_test_vector():
    raw = (b'{"client_key":"ck","event":"authorization.removed","create_time":1615338610,'
           b'"user_openid":"oid","content":"{\\"reason\\": 1 }"}')
    assert signature(raw, 1633174587, "test_client_secret") == \
        "cfb7570658a7da9b5611137c2f2266a9881ad7de86862ae56a6cf5d782d03556"


def test_valid_event_disconnects_every_workspaces_connection_without_revoke(app, client, people, requests_mock):
    a = make_connected(app, people.workspace, people.admin, open_id="open-hooked")
    b = make_connected(app, people.other_workspace, people.outsider, open_id="open-hooked")
    untouched = make_connected(app, people.workspace, people.admin, open_id="open-other")
    db.session.commit()
    before = datetime.now(timezone.utc)
    r = post(client, body(reason=1))
    assert r.status_code == 200 and r.get_json() == {"status": "processed"}
    assert requests_mock.call_count == 0  # no TikTok call: the token is already dead
    for conn_id in (a.id, b.id):
        c = reload(conn_id)
        assert c.status == "disconnected" and c.access_token_sealed is None and c.refresh_token_sealed is None
        assert not c.revoke_pending
        assert c.purge_after - before >= timedelta(days=app.config["RETENTION_DAYS"]) - timedelta(minutes=1)
    assert reload(untouched.id).status == "active"
    ev = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.event == "webhook.authorization_removed"))
    assert ev.detail == {"reason": 1, "effect": "disconnected"}


def test_duplicates_are_processed_once(app, client, people):
    conn = make_connected(app, people.workspace, people.admin, open_id="open-hooked")
    db.session.commit()
    raw = body()
    statuses = [post(client, raw).get_json()["status"] for _ in range(3)]
    assert statuses == ["processed", "duplicate", "duplicate"]
    assert audit_count() == 1
    first_purge = reload(conn.id).purge_after
    # An older event arriving late (out of order) is a different delivery but changes nothing.
    assert post(client, body(create_time=1770000000)).get_json()["status"] == "processed"
    assert reload(conn.id).purge_after == first_purge


def test_reason_5_our_own_revoke_leaves_other_workspaces_to_reconnect(app, client, people):
    """Our revoke from W1 ends the grant; W2 did not ask to leave: needs_reconnect, data kept."""
    w1 = make_connection(people.workspace, people.admin, open_id="open-hooked", status="disconnected",
                         purge_after=datetime.now(timezone.utc) + timedelta(days=90))
    w2 = make_connected(app, people.other_workspace, people.outsider, open_id="open-hooked")
    db.session.commit()
    assert post(client, body(reason=5)).status_code == 200
    c2 = reload(w2.id)
    assert c2.status == "needs_reconnect" and c2.access_token_sealed is None and c2.purge_after is None
    assert reload(w1.id).status == "disconnected"


def test_webhook_confirms_a_pending_revocation(app, client, people, requests_mock):
    from app.services import disconnect

    conn = make_connected(app, people.workspace, people.admin, open_id="open-hooked")
    disconnect.mark_disconnected(conn, now=datetime.now(timezone.utc), retention_days=90)
    db.session.commit()
    assert reload(conn.id).revoke_pending
    assert post(client, body(reason=5)).status_code == 200
    c = reload(conn.id)
    assert not c.revoke_pending and c.access_token_sealed is None


@pytest.mark.parametrize("case", ["bad-signature", "wrong-secret", "missing-header", "stale", "future",
                                  "reserialized", "garbage-header", "repeated-t"])
def test_unauthenticated_requests_get_401_and_change_nothing(app, client, people, case):
    conn = make_connected(app, people.workspace, people.admin, open_id="open-hooked")
    db.session.commit()
    raw, now = body(), int(time.time())
    if case == "bad-signature":
        r = post(client, raw, header=f"t={now},s={'0' * 64}")
    elif case == "wrong-secret":
        r = post(client, raw, secret="not-our-secret")
    elif case == "missing-header":
        r = post(client, raw, header=None)
    elif case == "stale":
        r = post(client, raw, t=now - 301)
    elif case == "future":
        r = post(client, raw, t=now + 301)
    elif case == "reserialized":
        header = signature_header(raw, now, TEST_CLIENT_SECRET)
        r = post(client, json.dumps(json.loads(raw), indent=2).encode(), header=header)
    elif case == "garbage-header":
        r = post(client, raw, header="nonsense")
    else:
        sig = signature(raw, now, TEST_CLIENT_SECRET)
        r = post(client, raw, header=f"t={now},t={now},s={sig}")
    assert r.status_code == 401
    assert reload(conn.id).status == "active" and audit_count() == 0


def test_wrong_client_key_is_refused(app, client, people):
    conn = make_connected(app, people.workspace, people.admin, open_id="open-hooked")
    db.session.commit()
    r = post(client, body(client_key="someone_elses_app"))
    assert r.status_code == 401
    assert reload(conn.id).status == "active"


@pytest.mark.parametrize("raw", [
    b"{not json",
    json.dumps({"client_key": TEST_CLIENT_KEY, "event": "authorization.removed", "create_time": 1,
                "user_openid": "open-hooked", "content": {"reason": 1}}).encode(),  # content not a JSON string
    json.dumps({"client_key": TEST_CLIENT_KEY, "event": "authorization.removed", "create_time": "soon",
                "user_openid": "open-hooked", "content": "{}"}).encode(),
    json.dumps([1, 2, 3]).encode(),
], ids=["not-json", "content-object", "create-time-string", "array"])
def test_malformed_but_signed_body_is_400_and_changes_nothing(app, client, people, raw, caplog):
    conn = make_connected(app, people.workspace, people.admin, open_id="open-hooked")
    db.session.commit()
    r = post(client, raw)
    assert r.status_code == 400
    assert reload(conn.id).status == "active"
    assert "webhook malformed" in caplog.text


def test_unknown_event_is_acknowledged_and_ignored(app, client, people):
    conn = make_connected(app, people.workspace, people.admin, open_id="open-hooked")
    db.session.commit()
    r = post(client, body(event="video.publish.completed"))
    assert r.status_code == 200 and r.get_json() == {"status": "ignored"}
    assert reload(conn.id).status == "active"


def test_unknown_open_id_is_fine(app, client, people):
    assert post(client, body(open_id="open-nobody")).status_code == 200


def test_body_is_capped(app, client, people):
    raw = b"{" + b" " * (app.config["MAX_CONTENT_LENGTH"] + 10) + b"}"
    assert post(client, raw).status_code == 413


def test_webhook_needs_no_csrf_token_or_session(app, client, people):
    make_connected(app, people.workspace, people.admin, open_id="open-hooked")
    db.session.commit()
    r = client.post("/tiktok/webhook", data=body(),
                    headers={"TikTok-Signature": signature_header(body(), int(time.time()), TEST_CLIENT_SECRET)})
    assert r.status_code == 200

"""Connect a TikTok account (steps 1–3): state and PKCE kept server-side, every
failure a clear page that links nothing, tokens sealed before they touch the DB."""
import base64
import hashlib
import json
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import sqlalchemy as sa
import time_machine
from itsdangerous import URLSafeTimedSerializer

from app.extensions import db
from app.models import AuditEvent, OAuthTransaction, TikTokConnection
from app.services import token_sealing
from tests.conftest import TEST_CLIENT_SECRET, login
from tests.db_dump import assert_secrets_absent, raw_database_bytes
from tests.tiktok_fixtures import BUSINESS, profile_body, register_connect, token_body


def start_connect(client, workspace):
    r = client.post_form("/tiktok/auth/connect", {"workspace_id": workspace.id})
    assert r.status_code == 302
    url = r.headers["Location"]
    return url, {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def count(model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_connect_redirects_to_tiktok_with_pkce(app, client, people):
    login(client, people.admin)
    url, q = start_connect(client, people.workspace)
    assert url.startswith("https://www.tiktok.com/v2/auth/authorize/?")
    assert q["client_key"] == app.config["TIKTOK_CLIENT_KEY"]
    assert q["response_type"] == "code"
    assert q["scope"] == ",".join(app.config["TIKTOK_SCOPES"])
    assert q["redirect_uri"] == app.config["TIKTOK_REDIRECT_URI"]
    assert q["code_challenge_method"] == "S256"
    assert len(q["code_challenge"]) == 64 and int(q["code_challenge"], 16) >= 0  # lowercase hex sha256
    assert len(base64.urlsafe_b64decode(q["state"] + "==")) >= 16  # ≥128 bits
    assert q["state"] != client.csrf_token()
    txn = db.session.scalar(sa.select(OAuthTransaction))
    assert txn.state_hash == hashlib.sha256(q["state"].encode()).hexdigest()
    assert txn.user_id == people.admin.id and txn.workspace_id == people.workspace.id


def test_session_cookie_holds_no_verifier_or_state(app, client, people):
    login(client, people.admin)
    _, q = start_connect(client, people.workspace)
    cookie = client.get_cookie("session").value
    data = URLSafeTimedSerializer(app.secret_key, salt="cookie-session", signer_kwargs={
        "key_derivation": "hmac", "digest_method": hashlib.sha1}).loads(cookie)
    dumped = json.dumps(data)
    assert q["state"] not in dumped
    assert set(data) <= {"_user_id", "_fresh", "_id", "csrf_token", "oauth_ref", "workspace_id", "_flashes"}
    # and the database holds neither in the clear
    txn = db.session.scalar(sa.select(OAuthTransaction))
    assert q["state"].encode() not in (txn.verifier_sealed or b"")


def test_full_connect_links_account_and_lands_on_dashboard(app, client, people, requests_mock):
    token, profile = register_connect(requests_mock)
    login(client, people.creator)
    _, q = start_connect(client, people.workspace)
    r = client.get("/tiktok/auth/callback", query_string={"code": "c0de*!x", "scopes": "x", "state": q["state"]})
    assert r.status_code == 302, r.get_data(as_text=True)
    assert r.headers["Referrer-Policy"] == "no-referrer"
    conn = db.session.scalar(sa.select(TikTokConnection))
    assert r.headers["Location"].endswith(
        f"/performance?workspace={people.workspace.id}&account={conn.id}&connected=brassorbit3")
    body = token.last_request.json()
    assert body["auth_code"] == "c0de*!x"  # decoded once, never re-encoded
    assert body["client_secret"] == TEST_CLIENT_SECRET and body["grant_type"] == "authorization_code"
    assert body["redirect_uri"] == app.config["TIKTOK_REDIRECT_URI"]
    assert hashlib.sha256(body["code_verifier"].encode()).hexdigest() == q["code_challenge"]
    assert profile.last_request.headers["Access-Token"] == "act.ACCESS1*!"
    assert conn.username == "brassorbit3" and conn.owner_user_id == people.creator.id
    assert conn.status == "active" and conn.is_syncing
    assert conn.access_expires_at > datetime.now(timezone.utc) + timedelta(hours=23)
    # sealed: not in the row, but opens with the right key and row binding
    assert b"ACCESS1" not in conn.access_token_sealed and b"REFRESH1" not in conn.refresh_token_sealed
    ring = token_sealing.get_keyring(app)
    assert token_sealing.open_token(conn, "access", keyring=ring) == "act.ACCESS1*!"
    assert token_sealing.open_token(conn, "refresh", keyring=ring) == "rft.REFRESH1*!"
    assert count(OAuthTransaction) == 0
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "Connected. @brassorbit3 is now syncing. First report appears within ~15 minutes." in page
    assert db.session.scalar(sa.select(AuditEvent.event).where(AuditEvent.event == "connect.succeeded"))


def test_granted_scopes_stored_as_tiktok_returned_them(client, people, requests_mock):
    register_connect(requests_mock, scope="user.info.basic,video.list,user.info.username")
    login(client, people.admin)
    _, q = start_connect(client, people.workspace)
    client.get("/tiktok/auth/callback", query_string={"code": "c", "state": q["state"]})
    conn = db.session.scalar(sa.select(TikTokConnection))
    assert conn.scopes == ["user.info.basic", "video.list", "user.info.username"]
    html = client.get("/settings/integrations").get_data(as_text=True)
    assert "Scopes: 3" in html
    assert "Not granted: video.insights, comment.list" in html  # the user sees what they unticked


def test_auth_code_parameter_is_accepted_too(client, people, requests_mock):
    token, _ = register_connect(requests_mock)
    login(client, people.admin)
    _, q = start_connect(client, people.workspace)
    r = client.get("/tiktok/auth/callback", query_string={"auth_code": "ac-1", "state": q["state"]})
    assert r.status_code == 302 and token.last_request.json()["auth_code"] == "ac-1"


def test_same_account_again_updates_the_row(app, client, people, requests_mock):
    register_connect(requests_mock)
    login(client, people.admin)
    for access in ("act.FIRST", "act.SECOND"):
        requests_mock.post(BUSINESS + "tt_user/oauth2/token/", json={
            "code": 0, "message": "OK", "request_id": "r", "data": {
                "access_token": access, "refresh_token": "rft." + access, "open_id": "open-brass",
                "expires_in": 86400, "refresh_token_expires_in": 31536000, "scope": "user.info.basic",
                "token_type": "Bearer"}})
        _, q = start_connect(client, people.workspace)
        assert client.get("/tiktok/auth/callback", query_string={"code": "c", "state": q["state"]}).status_code == 302
    assert count(TikTokConnection) == 1
    conn = db.session.scalar(sa.select(TikTokConnection))
    assert token_sealing.open_token(conn, "access", keyring=token_sealing.get_keyring(app)) == "act.SECOND"


@pytest.mark.parametrize("case", ["missing", "unknown", "reused", "expired", "other_session", "other_user",
                                  "signed_out"])
def test_bad_state_is_400_and_links_nothing(app, client, people, requests_mock, case):
    token, _ = register_connect(requests_mock)
    login(client, people.admin)
    _, q = start_connect(client, people.workspace)
    args = {"code": "c", "state": q["state"]}
    if case == "missing":
        args.pop("state")
    elif case == "unknown":
        args["state"] = "x" * 43
    elif case == "reused":
        register_connect(requests_mock)
        assert client.get("/tiktok/auth/callback", query_string=args).status_code == 302
        db.session.execute(sa.delete(TikTokConnection))
        db.session.commit()
        token.reset()
    elif case == "other_session":
        client = app.test_client()
        login(client, people.admin)
    elif case == "other_user":
        client = app.test_client()
        login(client, people.creator)
    elif case == "signed_out":
        client.post_form("/logout", {"csrf_token": client.csrf_token("/performance")})
    if case == "expired":
        with time_machine.travel(datetime.now(timezone.utc) + timedelta(minutes=11)):
            r = client.get("/tiktok/auth/callback", query_string=args)
    else:
        r = client.get("/tiktok/auth/callback", query_string=args)
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert "Nothing was connected" in html
    assert not token.called or case == "reused" and token.call_count == 0
    assert count(TikTokConnection) == 0
    # spent whenever the state names it; a missing or unknown state can't, and it expires in 10 min
    assert count(OAuthTransaction) == (1 if case in ("missing", "unknown") else 0)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.event == "connect.invalid_state")) == 1


def test_two_connects_in_one_session_finish_in_any_order(client, people, requests_mock):
    login(client, people.admin)
    _, first = start_connect(client, people.workspace)
    _, second = start_connect(client, people.workspace)
    register_connect(requests_mock, open_id="open-two", username="moontideco2")
    r2 = client.get("/tiktok/auth/callback", query_string={"code": "c2", "state": second["state"]})
    assert r2.status_code == 302
    register_connect(requests_mock, open_id="open-one", username="brassorbit3")
    r1 = client.get("/tiktok/auth/callback", query_string={"code": "c1", "state": first["state"]})
    assert r1.status_code == 302
    names = set(db.session.scalars(sa.select(TikTokConnection.username)))
    assert names == {"brassorbit3", "moontideco2"}


def test_access_denied_returns_to_integrations_with_a_message(client, people, requests_mock):
    token, _ = register_connect(requests_mock)
    login(client, people.admin)
    _, q = start_connect(client, people.workspace)
    r = client.get("/tiktok/auth/callback", query_string={"error": "access_denied", "error_description": "no",
                                                          "state": q["state"]})
    assert r.status_code == 303 and r.headers["Location"].endswith("/settings/integrations")
    assert "You cancelled on TikTok" in client.get("/settings/integrations").get_data(as_text=True)
    assert not token.called and count(TikTokConnection) == 0
    assert db.session.scalar(sa.select(AuditEvent.event).where(AuditEvent.event == "connect.denied"))


@pytest.mark.parametrize("fault, status", [
    ({"json": {"code": 40106, "message": "invalid_grant: code expired", "request_id": "r", "data": {}}}, 400),
    ({"json": {"code": 40101, "message": "invalid_client", "request_id": "r", "data": {}}}, 400),
    ({"status_code": 503, "text": "busy"}, 502),
    ({"exc": requests.exceptions.ReadTimeout}, 502),
    ({"exc": requests.exceptions.ConnectionError}, 502),
    ({"text": "<html>oops</html>"}, 502),
    ({"json": {"code": 40100, "message": "rate limited", "request_id": "r", "data": {}}}, 502),
])
def test_tiktok_refusing_or_failing_is_a_clear_page(client, people, requests_mock, fault, status):
    requests_mock.post(BUSINESS + "tt_user/oauth2/token/", **fault)
    login(client, people.admin)
    _, q = start_connect(client, people.workspace)
    r = client.get("/tiktok/auth/callback", query_string={"code": "c", "state": q["state"]})
    assert r.status_code == status
    html = r.get_data(as_text=True)
    assert "Nothing was connected" in html and "Traceback" not in html
    assert count(TikTokConnection) == 0
    assert db.session.scalar(sa.select(AuditEvent.event).where(AuditEvent.event == "connect.failed"))


def test_profile_failure_still_keeps_the_tokens(client, people, requests_mock):
    register_connect(requests_mock)
    requests_mock.get(BUSINESS + "business/get/", status_code=500)
    login(client, people.admin)
    _, q = start_connect(client, people.workspace)
    r = client.get("/tiktok/auth/callback", query_string={"code": "c", "state": q["state"]})
    assert r.status_code == 302
    conn = db.session.scalar(sa.select(TikTokConnection))
    assert conn.username.startswith("tiktok-") and conn.access_token_sealed


def test_outsider_cannot_connect_into_another_workspace(client, people):
    login(client, people.outsider)
    r = client.post_form("/tiktok/auth/connect", {"workspace_id": people.workspace.id})
    assert r.status_code == 404 and count(OAuthTransaction) == 0


def test_no_secret_reaches_logs_or_audit(client, people, requests_mock, caplog):
    caplog.set_level("DEBUG")
    register_connect(requests_mock)
    login(client, people.admin)
    _, q = start_connect(client, people.workspace)
    client.get("/tiktok/auth/callback", query_string={"code": "SECRETCODE", "state": q["state"]})
    text = caplog.text + json.dumps([e.detail for e in db.session.scalars(sa.select(AuditEvent))])
    for secret in ("SECRETCODE", q["state"], "ACCESS1", "REFRESH1", TEST_CLIENT_SECRET):
        assert secret not in text


def test_token_copied_to_another_row_does_not_open(app, client, people, requests_mock):
    login(client, people.admin)
    for open_id, user in (("open-a", "a"), ("open-b", "b")):
        register_connect(requests_mock, open_id=open_id, username=user)
        _, q = start_connect(client, people.workspace)
        client.get("/tiktok/auth/callback", query_string={"code": "c", "state": q["state"]})
    a, b = db.session.scalars(sa.select(TikTokConnection).order_by(TikTokConnection.id)).all()
    b.refresh_token_sealed = a.refresh_token_sealed
    from app.crypto import DecryptError

    with pytest.raises(DecryptError):
        token_sealing.open_token(b, "refresh", keyring=token_sealing.get_keyring(app))
    a.access_token_sealed, a.refresh_token_sealed = a.refresh_token_sealed, a.access_token_sealed
    with pytest.raises(DecryptError):
        token_sealing.open_token(a, "access", keyring=token_sealing.get_keyring(app))


def test_after_connecting_no_secret_is_in_the_database_logs_or_pages(client, people, requests_mock, caplog):
    """The raw database (file bytes, or every PostgreSQL row as text),
    the logs at DEBUG and the pages shown afterwards hold no token, secret, code or verifier."""
    caplog.set_level("DEBUG")
    access, refresh, code = "act.RAWSCAN-ACCESS-7f3e", "rft.RAWSCAN-REFRESH-9c1d", "RAWSCAN-CODE-4b2a"
    token = requests_mock.post(BUSINESS + "tt_user/oauth2/token/",
                               json=token_body(access=access, refresh=refresh))
    requests_mock.get(BUSINESS + "business/get/", json=profile_body())
    login(client, people.admin)
    _, q = start_connect(client, people.workspace)
    r = client.get("/tiktok/auth/callback", query_string={"code": code, "state": q["state"]})
    assert r.status_code == 302
    secrets = {"access token": access, "refresh token": refresh, "client secret": TEST_CLIENT_SECRET,
               "code": code, "verifier": token.last_request.json()["code_verifier"], "state": q["state"]}
    pages = [client.get(r.headers["Location"]), client.get("/settings/integrations"), client.get("/performance")]
    assert [p.status_code for p in pages] == [200, 200, 200]
    assert "@brassorbit3" in pages[1].get_data(as_text=True)
    assert_secrets_absent(raw_database_bytes(), secrets)
    assert_secrets_absent(caplog.text, secrets)
    for page in pages:
        assert_secrets_absent(page.get_data(), secrets)

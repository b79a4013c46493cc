"""The OAuth + PKCE round trip over real HTTP: our app ↔ the TikTok sandbox."""
import re

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import TikTokConnection
from app.services import token_sealing
from tests.e2e.helpers import csrf, sign_in

pytestmark = pytest.mark.e2e


def _form_fields(html: str) -> dict:
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))


@pytest.fixture
def signed_in(live_server):
    return sign_in(live_server)


def _start(live_server, s, ws_id):
    token = csrf(s.get(live_server.url + "/settings/integrations").text)
    r = s.post(live_server.url + "/tiktok/auth/connect", data={"csrf_token": token, "workspace_id": ws_id},
               allow_redirects=False)
    assert r.status_code == 302
    assert r.headers["Location"].startswith(live_server.url + "/sandbox/tiktok/v2/auth/authorize/?")
    consent = s.get(r.headers["Location"])
    assert consent.status_code == 200 and "would like to access your TikTok account" in consent.text
    return consent


def test_grant_on_sandbox_links_account_with_sealed_tokens(live_server, signed_in):
    s, ws_id = signed_in
    consent = _start(live_server, s, ws_id)
    scopes = re.findall(r'name="scope" value="([^"]+)" checked', consent.text)
    fields = {**_form_fields(consent.text), "username": "brassorbit3", "action": "grant",
              "scope": [sc for sc in scopes if sc != "comment.list"]}  # untick one
    r = s.post(live_server.url + "/sandbox/tiktok/v2/auth/authorize/decide", data=fields, allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"].startswith(live_server.url + "/tiktok/auth/callback?")
    landed = s.get(r.headers["Location"])
    assert landed.url.startswith(live_server.url + "/performance?")
    assert "Connected. @brassorbit3 is now syncing. First report appears within ~15 minutes." in landed.text
    with live_server.app.app_context():
        conn = db.session.scalar(sa.select(TikTokConnection))
        assert conn.username == "brassorbit3"
        assert "comment.list" not in conn.scopes and len(conn.scopes) == len(scopes) - 1
        token = token_sealing.open_token(conn, "access", keyring=token_sealing.get_keyring(live_server.app))
        assert token.startswith("act.")
        assert token.encode() not in conn.access_token_sealed
    # the same state can't be replayed
    again = s.get(r.headers["Location"])
    assert again.status_code == 400 and "Nothing was connected" in again.text


def test_deny_on_sandbox_returns_to_integrations(live_server, signed_in):
    s, ws_id = signed_in
    consent = _start(live_server, s, ws_id)
    fields = {**_form_fields(consent.text), "username": "brassorbit3", "action": "deny"}
    r = s.post(live_server.url + "/sandbox/tiktok/v2/auth/authorize/decide", data=fields)
    assert r.url == live_server.url + "/settings/integrations"
    assert "You cancelled on TikTok" in r.text
    with live_server.app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(TikTokConnection)) == 0

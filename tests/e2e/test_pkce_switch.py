"""TIKTOK_PKCE: on (the default) the consent URL carries TikTok's hex S256 challenge and the
exchange sends the verifier; off sends neither. Both connect through the sandbox over HTTP."""
import contextlib
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import TikTokConnection
from app.tiktok import get_client, pkce
from tests.conftest import running_app
from tests.e2e.helpers import connect_account, sign_in

pytestmark = pytest.mark.e2e


@pytest.fixture
def server_with(tmp_path):
    with contextlib.ExitStack() as started:
        yield lambda **extra: started.enter_context(running_app(tmp_path, **extra))


def record_token_requests(app) -> list[dict]:
    """Every JSON body our TikTok client posts to the token endpoint (the real HTTP call goes on)."""
    client = get_client(app)
    bodies: list[dict] = []
    send = client._session.request

    def spy(method, url, **kw):
        if url.endswith("tt_user/oauth2/token/"):
            bodies.append(dict(kw.get("json") or {}))
        return send(method, url, **kw)

    client._session.request = spy
    return bodies


def consent_query(live, session, ws_id) -> dict:
    from tests.e2e.helpers import csrf

    token = csrf(session.get(live.url + "/settings/integrations").text)
    r = session.post(live.url + "/tiktok/auth/connect", data={"csrf_token": token, "workspace_id": ws_id},
                     allow_redirects=False)
    return {k: v[0] for k, v in parse_qs(urlsplit(r.headers["Location"]).query).items()}


@pytest.mark.parametrize("setting", [None, "true", "false"])
def test_pkce_switch_connects_through_the_sandbox(server_with, setting):
    live = server_with(**({} if setting is None else {"TIKTOK_PKCE": setting}))
    on = setting != "false"
    bodies = record_token_requests(live.app)
    s, ws_id = sign_in(live)

    query = consent_query(live, s, ws_id)
    assert ("code_challenge" in query) is on and ("code_challenge_method" in query) is on
    if on:
        assert pkce.is_challenge(query["code_challenge"]) and query["code_challenge_method"] == "S256"

    assert connect_account(live, s, ws_id).ok
    assert len(bodies) == 1
    assert ("code_verifier" in bodies[0]) is on
    if on:  # and the sandbox accepted it: its hex SHA-256 matched the challenge of that connect
        assert pkce.is_valid_verifier(bodies[0]["code_verifier"])
    with live.app.app_context():
        conn = db.session.scalar(sa.select(TikTokConnection))
        assert conn is not None and conn.status == "active" and conn.username == "brassorbit3"

"""Permissions unticked on TikTok's consent page are named where the user lands after
connecting, each with what will not show without it; the Integrations row keeps saying so."""
import html as html_lib

import sqlalchemy as sa

from app.extensions import db
from app.models import TikTokConnection
from app.services import scope_effects
from config import DEFAULT_SCOPES
from tests.conftest import login
from tests.integration.test_connect import start_connect
from tests.tiktok_fixtures import register_connect


def connect_granting(client, people, requests_mock, granted: list[str]):
    register_connect(requests_mock, scope=",".join(granted))
    requests_mock.post("https://business-api.tiktok.com/open_api/v1.3/business/video/list/", json={})
    login(client, people.admin)
    _, q = start_connect(client, people.workspace)
    r = client.get("/tiktok/auth/callback", query_string={"code": "c", "state": q["state"]})
    assert r.status_code == 302 and "/performance?" in r.headers["Location"]
    return client.get(r.headers["Location"]).get_data(as_text=True)


def test_callback_names_the_ungranted_scopes_and_what_will_not_show(app, client, people, requests_mock):
    requested = app.config["TIKTOK_SCOPES"]
    granted = [s for s in requested if s not in ("user.insights", "video.insights")]
    landing = html_lib.unescape(connect_granting(client, people, requests_mock, granted))
    assert "@brassorbit3 is connected without 2 permissions" in landing
    for scope in ("user.insights", "video.insights"):
        effect = scope_effects.EFFECTS[scope]
        assert f"{effect.permission} <code>{scope}</code>" in landing
        assert effect.missing in landing
    assert "needs the Insights permission" in landing  # the tiles' wording, explained up front
    assert "Reconnect and grant them" in landing
    for scope in granted:  # only what is missing is listed
        assert f"<code>{scope}</code>" not in landing
    # The warning is shown once (a flash), and the Integrations row keeps the same facts.
    row = html_lib.unescape(client.get("/settings/integrations").get_data(as_text=True))
    assert "is connected without" not in row
    missing = [s for s in requested if s not in granted]
    assert f"Not granted: {', '.join(missing)}" in row
    assert scope_effects.EFFECTS["user.insights"].missing in row
    assert ">Reconnect to grant</button>" in row


def test_all_scopes_granted_lands_without_a_warning(app, client, people, requests_mock):
    landing = connect_granting(client, people, requests_mock, list(app.config["TIKTOK_SCOPES"]))
    assert "is connected without" not in landing
    conn = db.session.scalar(sa.select(TikTokConnection))
    assert set(conn.scopes) == set(app.config["TIKTOK_SCOPES"])
    row = client.get("/settings/integrations").get_data(as_text=True)
    assert "Not granted" not in row and "Reconnect to grant" not in row


def test_every_default_scope_has_its_effect_worded():
    for scope in DEFAULT_SCOPES.split(","):
        assert scope in scope_effects.EFFECTS, f"say in scope_effects.py what {scope} feeds"


def test_not_granted_keeps_request_order_and_covers_unknown_scopes():
    missing = scope_effects.not_granted(["video.list", "x.custom", "user.insights", "video.list"], ["video.list"])
    assert [e.scope for e in missing] == ["x.custom", "user.insights"]
    assert missing[0].missing == scope_effects.UNKNOWN_EFFECT

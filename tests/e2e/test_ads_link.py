"""Link a TikTok Ads advertiser over real HTTP: our app ↔ the sandbox's Marketing API portal."""
import re

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import AdsAccount, OAuthTransaction
from app.sandbox import demo_data
from app.services import token_sealing
from app.tiktok import get_client
from tests.e2e.helpers import csrf, sign_in

pytestmark = pytest.mark.e2e


def _consent(live_server, s, ws_id):
    token = csrf(s.get(live_server.url + "/settings/integrations").text)
    r = s.post(live_server.url + "/tiktok/ads/connect", data={"csrf_token": token, "workspace_id": ws_id},
               allow_redirects=False)
    assert r.status_code == 302
    assert r.headers["Location"].startswith(live_server.url + "/sandbox/tiktok/portal/auth?")
    consent = s.get(r.headers["Location"])
    assert consent.status_code == 200 and "wants to access your TikTok Ads Manager data" in consent.text
    return re.search(r'name="nonce" value="([^"]+)"', consent.text).group(1)


def _decide(live_server, s, nonce, **fields):
    return s.post(live_server.url + "/sandbox/tiktok/portal/auth/decide", data={"nonce": nonce, **fields})


@pytest.fixture
def admin(live_server):
    return sign_in(live_server, email="ana@brass.studio", role="client_admin", password="demo-ana-pass-1")


def test_two_advertisers_granted_then_one_chosen_is_linked_with_a_sealed_token(live_server, admin):
    s, ws_id = admin
    nonce = _consent(live_server, s, ws_id)
    chooser = _decide(live_server, s, nonce, accounts="brassorbit3, moontideco2", action="grant")
    assert chooser.url.startswith(live_server.url + "/tiktok/ads/callback?")
    assert chooser.status_code == 200 and "Choose the advertiser account" in chooser.text
    moontide = demo_data.advertiser_id_for("moontideco2")
    assert moontide in chooser.text and demo_data.advertiser_id_for("brassorbit3") in chooser.text
    choice = re.search(r'name="choice" value="([^"]+)"', chooser.text).group(1)
    landed = s.post(live_server.url + "/tiktok/ads/advertiser",
                    data={"csrf_token": csrf(chooser.text), "choice": choice, "advertiser_id": moontide})
    assert landed.url.startswith(live_server.url + "/settings/integrations")
    assert "Linked TikTok Ads account" in landed.text and moontide in landed.text
    with live_server.app.app_context():
        acct = db.session.scalar(sa.select(AdsAccount))
        assert acct.advertiser_id == moontide and acct.workspace_id == ws_id and len(acct.currency) == 3
        token = token_sealing.open_ads_token(acct, keyring=token_sealing.get_keyring(live_server.app))
        assert token and token.encode() not in acct.access_token_sealed
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OAuthTransaction)) == 0
    # the stored token is the one the sandbox issued: it reads that advertiser
    with live_server.app.app_context():
        assert get_client(live_server.app).get_advertiser_info(token, moontide).advertiser_id == moontide


def test_one_advertiser_is_linked_at_once(live_server, admin):
    s, ws_id = admin
    nonce = _consent(live_server, s, ws_id)
    landed = _decide(live_server, s, nonce, accounts="brassorbit3", action="grant")
    assert landed.url.startswith(live_server.url + "/settings/integrations")
    brass = demo_data.advertiser_id_for("brassorbit3")
    assert "Linked TikTok Ads account" in landed.text and brass in landed.text
    with live_server.app.app_context():
        assert db.session.scalars(sa.select(AdsAccount.advertiser_id)).all() == [brass]


def test_cancel_on_the_portal_returns_to_integrations_with_a_message(live_server, admin):
    s, ws_id = admin
    nonce = _consent(live_server, s, ws_id)
    back = _decide(live_server, s, nonce, accounts="brassorbit3", action="deny")
    assert back.url == live_server.url + "/settings/integrations"
    assert "You cancelled on TikTok, so no ads account was linked." in back.text
    with live_server.app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AdsAccount)) == 0


def test_creator_cannot_start_an_ads_link(live_server):
    s, ws_id = sign_in(live_server)  # a creator
    page = s.get(live_server.url + "/settings/integrations").text
    assert "Link TikTok Ads account" not in page
    r = s.post(live_server.url + "/tiktok/ads/connect", data={"csrf_token": csrf(page), "workspace_id": ws_id},
               allow_redirects=False)
    assert r.status_code == 403

"""Link a TikTok Ads advertiser (Marketing API): admins only, state kept server-side,
the token sealed to its workspace and advertiser, every failure a page that links nothing."""
import hashlib
import json
import re
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import sqlalchemy as sa
import time_machine
from itsdangerous import URLSafeTimedSerializer

from app.crypto import DecryptError
from app.extensions import db
from app.models import AdsAccount, AuditEvent, OAuthTransaction
from app.services import token_sealing
from tests.conftest import login
from tests.db_dump import assert_secrets_absent, raw_database_bytes
from tests.tiktok_fixtures import BUSINESS, load

BRASS, MOONTIDE = "7001234567890123456", "7009876543210987654"
INFO = {BRASS: ("Brass Orbit Ads", "EUR"), MOONTIDE: ("Moontide Co Ads", "GBP")}
ADS_SECRET = "test_ads_secret_value"


def register_ads(requests_mock, advertiser_ids=(BRASS,), token="ads.TOKEN-5e8a*!"):
    body = load("ads_access_token_success")
    body["data"].update(access_token=token, advertiser_ids=list(advertiser_ids))
    exchange = requests_mock.post(BUSINESS + "oauth2/access_token/", json=body)
    requests_mock.get(BUSINESS + "oauth2/advertiser/get/", json=load("ads_advertiser_get_success"))

    def info(request, context):
        (advertiser_id,) = json.loads(request.qs["advertiser_ids"][0])
        name, currency = INFO[advertiser_id]
        return {"code": 0, "message": "OK", "request_id": "r", "data": {"list": [
            {"advertiser_id": advertiser_id, "name": name, "currency": currency, "timezone": "Etc/GMT"}]}}

    info_route = requests_mock.get(BUSINESS + "advertiser/info/", json=info)
    return exchange, info_route


def start_ads(client, workspace):
    r = client.post_form("/tiktok/ads/connect", {"workspace_id": workspace.id})
    assert r.status_code == 302, r.status_code
    return r.headers["Location"], {k: v[0] for k, v in parse_qs(urlsplit(r.headers["Location"]).query).items()}


def callback(client, **args):
    return client.get("/tiktok/ads/callback", query_string=args)


def count(model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def audit_events(prefix="ads_link."):
    return list(db.session.scalars(sa.select(AuditEvent.event).where(AuditEvent.event.startswith(prefix))))


def choice_form(html: str) -> dict:
    return {"choice": re.search(r'name="choice" value="([^"]+)"', html).group(1)}


def test_connect_redirects_to_the_marketing_api_with_its_own_state(app, client, people):
    login(client, people.admin)
    url, q = start_ads(client, people.workspace)
    assert url.startswith(app.config["TIKTOK_ADS_AUTH_URL"] + "?")
    assert q["app_id"] == app.config["TIKTOK_ADS_APP_ID"]
    assert q["redirect_uri"] == app.config["TIKTOK_ADS_REDIRECT_URI"]
    assert q["state"] != client.csrf_token() and len(q["state"]) >= 22
    txn = db.session.scalar(sa.select(OAuthTransaction))
    assert txn.provider == "tiktok-ads" and txn.verifier_sealed is None  # no PKCE on the Marketing API
    assert txn.state_hash == hashlib.sha256(q["state"].encode()).hexdigest()
    assert (txn.user_id, txn.workspace_id) == (people.admin.id, people.workspace.id)


def test_one_advertiser_is_linked_with_a_sealed_token(app, client, people, requests_mock):
    exchange, _ = register_ads(requests_mock)
    login(client, people.admin)
    _, q = start_ads(client, people.workspace)
    r = callback(client, auth_code="ADS-CODE-1", state=q["state"])
    assert r.status_code == 303 and r.headers["Referrer-Policy"] == "no-referrer"
    assert urlsplit(r.headers["Location"]).path == "/settings/integrations"
    assert exchange.last_request.json()["auth_code"] == "ADS-CODE-1"
    acct = db.session.scalar(sa.select(AdsAccount))
    assert (acct.workspace_id, acct.advertiser_id, acct.name, acct.currency) == (
        people.workspace.id, BRASS, "Brass Orbit Ads", "EUR")
    assert b"TOKEN-5e8a" not in acct.access_token_sealed
    assert token_sealing.open_ads_token(acct, keyring=token_sealing.get_keyring(app)) == "ads.TOKEN-5e8a*!"
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "Linked TikTok Ads account Brass Orbit Ads" in page
    card = page[page.index('id="ads-accounts"'):]
    assert "Brass Orbit Ads" in card and BRASS in card and "EUR" in card and "Linked " in card
    assert count(OAuthTransaction) == 0 and audit_events() == ["ads_link.started", "ads_link.succeeded"]


def test_several_advertisers_ask_which_one_and_keep_the_token_server_side(app, client, people, requests_mock):
    register_ads(requests_mock, advertiser_ids=(BRASS, MOONTIDE))
    login(client, people.admin)
    _, q = start_ads(client, people.workspace)
    r = callback(client, auth_code="ADS-CODE-2", state=q["state"])
    assert r.status_code == 200 and r.headers["Referrer-Policy"] == "no-referrer"
    html = r.get_data(as_text=True)
    assert "Choose the advertiser account" in html and "Brass Orbit Ads" in html and "Moontide Co Ads" in html
    assert count(AdsAccount) == 0
    # the pending token is sealed in the database, not in the cookie or the page
    assert "TOKEN-5e8a" not in html
    cookie = client.get_cookie("session").value
    data = URLSafeTimedSerializer(app.secret_key, salt="cookie-session", signer_kwargs={
        "key_derivation": "hmac", "digest_method": hashlib.sha1}).loads(cookie)
    assert "TOKEN-5e8a" not in json.dumps(data)
    txn = db.session.scalar(sa.select(OAuthTransaction))
    assert txn.provider == "tiktok-ads-choice" and b"TOKEN-5e8a" not in txn.verifier_sealed

    r = client.post_form("/tiktok/ads/advertiser", {**choice_form(html), "advertiser_id": MOONTIDE})
    assert r.status_code == 303
    acct = db.session.scalar(sa.select(AdsAccount))
    assert (acct.advertiser_id, acct.name, acct.currency) == (MOONTIDE, "Moontide Co Ads", "GBP")
    assert token_sealing.open_ads_token(acct, keyring=token_sealing.get_keyring(app)) == "ads.TOKEN-5e8a*!"
    assert count(OAuthTransaction) == 0
    # the choice is single use
    again = client.post_form("/tiktok/ads/advertiser", {**choice_form(html), "advertiser_id": BRASS})
    assert again.status_code == 400 and count(AdsAccount) == 1


@pytest.mark.parametrize("case", ["not_offered", "missing", "other_user", "expired"])
def test_a_bad_advertiser_choice_links_nothing(app, client, people, requests_mock, case):
    register_ads(requests_mock, advertiser_ids=(BRASS, MOONTIDE))
    login(client, people.admin)
    _, q = start_ads(client, people.workspace)
    form = choice_form(callback(client, auth_code="c", state=q["state"]).get_data(as_text=True))
    form["advertiser_id"] = {"not_offered": "7000000000000000001", "missing": ""}.get(case, BRASS)
    if case == "other_user":
        client = app.test_client()
        login(client, people.agency)
    if case == "expired":
        with time_machine.travel(datetime.now(timezone.utc) + timedelta(minutes=11)):
            r = client.post_form("/tiktok/ads/advertiser", form)
    else:
        r = client.post_form("/tiktok/ads/advertiser", form)
    assert r.status_code == 400
    assert "Nothing was linked" in r.get_data(as_text=True) or "Nothing was connected" in r.get_data(as_text=True)
    assert count(AdsAccount) == 0 and count(OAuthTransaction) == 0
    assert {"ads_link.failed", "ads_link.invalid_state"} & set(audit_events())


def test_linking_the_same_advertiser_again_replaces_the_token(app, client, people, requests_mock):
    login(client, people.admin)
    for token in ("ads.FIRST", "ads.SECOND"):
        register_ads(requests_mock, token=token)
        _, q = start_ads(client, people.workspace)
        assert callback(client, auth_code="c", state=q["state"]).status_code == 303
    acct = db.session.scalar(sa.select(AdsAccount))
    assert count(AdsAccount) == 1
    assert token_sealing.open_ads_token(acct, keyring=token_sealing.get_keyring(app)) == "ads.SECOND"


def test_access_denied_returns_to_integrations_with_a_message(client, people, requests_mock):
    exchange, _ = register_ads(requests_mock)
    login(client, people.admin)
    _, q = start_ads(client, people.workspace)
    r = callback(client, error="access_denied", state=q["state"])
    assert r.status_code == 303 and r.headers["Location"].endswith("/settings/integrations")
    assert "You cancelled on TikTok, so no ads account was linked." in client.get(
        "/settings/integrations").get_data(as_text=True)
    assert not exchange.called and count(AdsAccount) == 0 and "ads_link.denied" in audit_events()


@pytest.mark.parametrize("case", ["missing", "unknown", "accounts_state", "other_session", "signed_out", "expired"])
def test_bad_state_is_400_and_links_nothing(app, client, people, requests_mock, case):
    exchange, _ = register_ads(requests_mock)
    login(client, people.admin)
    _, q = start_ads(client, people.workspace)
    args = {"auth_code": "c", "state": q["state"]}
    if case == "missing":
        args.pop("state")
    elif case == "unknown":
        args["state"] = "x" * 43
    elif case == "accounts_state":  # mix-up: an Accounts transaction's state on the ads callback
        r = client.post_form("/tiktok/auth/connect", {"workspace_id": people.workspace.id})
        args["state"] = parse_qs(urlsplit(r.headers["Location"]).query)["state"][0]
    elif case == "other_session":
        client = app.test_client()
        login(client, people.admin)
    elif case == "signed_out":
        client.post_form("/logout", {"csrf_token": client.csrf_token("/performance")})
    if case == "expired":
        with time_machine.travel(datetime.now(timezone.utc) + timedelta(minutes=11)):
            r = callback(client, **args)
    else:
        r = callback(client, **args)
    assert r.status_code == 400
    assert "Nothing was" in r.get_data(as_text=True)
    assert not exchange.called and count(AdsAccount) == 0
    assert "ads_link.invalid_state" in audit_events()


@pytest.mark.parametrize("fault, status", [
    ({"json": {"code": 40106, "message": "invalid_grant: auth_code expired", "request_id": "r", "data": {}}}, 400),
    ({"status_code": 503, "text": "busy"}, 502),
    ({"exc": requests.exceptions.ReadTimeout}, 502),
    ({"text": "<html>oops</html>"}, 502),
])
def test_tiktok_refusing_or_failing_is_a_clear_page(client, people, requests_mock, fault, status):
    register_ads(requests_mock)
    requests_mock.post(BUSINESS + "oauth2/access_token/", **fault)
    login(client, people.admin)
    _, q = start_ads(client, people.workspace)
    r = callback(client, auth_code="c", state=q["state"])
    assert r.status_code == status
    html = r.get_data(as_text=True)
    assert "Nothing was linked" in html and "Traceback" not in html
    assert count(AdsAccount) == 0 and "ads_link.failed" in audit_events()


def test_advertiser_info_failing_links_nothing(client, people, requests_mock):
    register_ads(requests_mock)
    requests_mock.get(BUSINESS + "advertiser/info/", status_code=500)
    login(client, people.admin)
    _, q = start_ads(client, people.workspace)
    r = callback(client, auth_code="c", state=q["state"])
    assert r.status_code == 502 and count(AdsAccount) == 0


def test_no_advertiser_authorized_is_a_clear_page(client, people, requests_mock):
    register_ads(requests_mock, advertiser_ids=())
    login(client, people.admin)
    _, q = start_ads(client, people.workspace)
    r = callback(client, auth_code="c", state=q["state"])
    assert r.status_code == 400 and "did not authorize any advertiser" in r.get_data(as_text=True)


def test_creator_sees_no_button_and_cannot_start_or_finish_a_link(client, people, requests_mock):
    register_ads(requests_mock)
    login(client, people.creator)
    assert "Link TikTok Ads account" not in client.get("/settings/integrations").get_data(as_text=True)
    r = client.post_form("/tiktok/ads/connect", {"workspace_id": people.workspace.id})
    assert r.status_code == 403 and count(OAuthTransaction) == 0


def test_admin_demoted_before_the_callback_links_nothing(client, people, requests_mock):
    from app.models import Membership

    register_ads(requests_mock)
    login(client, people.admin)
    _, q = start_ads(client, people.workspace)
    db.session.execute(sa.update(Membership).where(Membership.user_id == people.admin.id).values(role="creator"))
    db.session.commit()
    r = callback(client, auth_code="c", state=q["state"])
    assert r.status_code == 403 and count(AdsAccount) == 0 and "ads_link.not_allowed" in audit_events()


def test_outsider_gets_404_and_does_not_see_the_accounts(client, people, requests_mock):
    register_ads(requests_mock)
    login(client, people.admin)
    _, q = start_ads(client, people.workspace)
    callback(client, auth_code="c", state=q["state"])
    login(client, people.outsider)
    assert client.post_form("/tiktok/ads/connect", {"workspace_id": people.workspace.id}).status_code == 404
    assert "Brass Orbit Ads" not in client.get("/settings/integrations").get_data(as_text=True)


def test_agency_can_link_for_any_workspace(client, people, requests_mock):
    register_ads(requests_mock)
    login(client, people.agency)
    _, q = start_ads(client, people.other_workspace)
    assert callback(client, auth_code="c", state=q["state"]).status_code == 303
    assert db.session.scalar(sa.select(AdsAccount.workspace_id)) == people.other_workspace.id


def test_token_moved_to_another_ads_account_does_not_open(app, client, people, requests_mock):
    register_ads(requests_mock, advertiser_ids=(BRASS, MOONTIDE))
    login(client, people.admin)
    for advertiser_id in (BRASS, MOONTIDE):
        _, q = start_ads(client, people.workspace)
        form = choice_form(callback(client, auth_code="c", state=q["state"]).get_data(as_text=True))
        assert client.post_form("/tiktok/ads/advertiser", {**form, "advertiser_id": advertiser_id}).status_code == 303
    a, b = db.session.scalars(sa.select(AdsAccount).order_by(AdsAccount.id)).all()
    b.access_token_sealed = a.access_token_sealed
    with pytest.raises(DecryptError):
        token_sealing.open_ads_token(b, keyring=token_sealing.get_keyring(app))
    db.session.rollback()


def test_no_ads_secret_in_the_database_logs_or_pages(client, people, requests_mock, caplog):
    caplog.set_level("DEBUG")
    register_ads(requests_mock, advertiser_ids=(BRASS, MOONTIDE), token="ads.RAWSCAN-TOKEN-31c7")
    login(client, people.admin)
    _, q = start_ads(client, people.workspace)
    chooser = callback(client, auth_code="ADS-RAWSCAN-CODE-0d9e", state=q["state"])
    pages = [chooser]
    form = choice_form(chooser.get_data(as_text=True))
    pages.append(client.post_form("/tiktok/ads/advertiser", {**form, "advertiser_id": BRASS},
                                  follow_redirects=True))
    pages.append(client.get("/performance"))
    assert [p.status_code for p in pages] == [200, 200, 200]
    secrets = {"ads token": "ads.RAWSCAN-TOKEN-31c7", "auth code": "ADS-RAWSCAN-CODE-0d9e",
               "ads secret": ADS_SECRET, "state": q["state"]}
    assert_secrets_absent(raw_database_bytes(), secrets)
    assert_secrets_absent(caplog.text, secrets)
    for page in pages:
        assert_secrets_absent(page.get_data(), secrets)

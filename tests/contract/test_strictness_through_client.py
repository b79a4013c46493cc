"""The sandbox's strict checks as the product's client meets them (sandbox leg only: requests-mock
cannot refuse anything). tests/sandbox/ pins each check with raw HTTP; these pin the typed error the
client turns each refusal into."""
from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import json
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest

from app.tiktok import ClientConfigError, InvalidGrant, ScopeMissing, TokenInvalid, pkce
from app.tiktok import fields as documented
from app.tiktok.client import profile_fields_for


def with_challenge(url: str, challenge: str) -> str:
    parts = urlsplit(url)
    query = [(k, challenge if k == "code_challenge" else v) for k, v in parse_qsl(parts.query)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def test_rfc7636_base64url_challenge_makes_exchange_code_fail_with_invalid_grant(sandbox_leg):
    client, live = sandbox_leg.client, sandbox_leg.live
    verifier = pkce.new_verifier()
    # RFC 7636 S256 (base64url, no padding), computed by hand; TikTok's S256 is hex.
    rfc_challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()
    with pytest.raises(ValueError):
        client.authorize_url("state-1", rfc_challenge)  # the client itself never builds such a URL
    url = with_challenge(client.authorize_url("state-1", pkce.challenge(verifier)), rfc_challenge)
    assert f"code_challenge={rfc_challenge}" in url
    code = live.consent_code(url)
    with pytest.raises(InvalidGrant):
        client.exchange_code(code, verifier)


def test_wrong_verifier_and_reused_code_fail_with_invalid_grant(sandbox_leg):
    client, live = sandbox_leg.client, sandbox_leg.live
    verifier = pkce.new_verifier()
    code = live.consent_code(client.authorize_url("state-2", pkce.challenge(verifier)))
    with pytest.raises(InvalidGrant):
        client.exchange_code(code, pkce.new_verifier())
    with pytest.raises(InvalidGrant):  # burnt by the failed attempt
        client.exchange_code(code, verifier)


def test_expired_code_fails_with_invalid_grant(sandbox_leg):
    client, live = sandbox_leg.client, sandbox_leg.live
    verifier = pkce.new_verifier()
    code = live.consent_code(client.authorize_url("state-3", pkce.challenge(verifier)))
    live.state.advance_clock(live.settings.code_ttl + 1)
    with pytest.raises(InvalidGrant):
        client.exchange_code(code, verifier)


def test_redirect_uri_other_than_the_authorized_one_fails_with_invalid_grant(sandbox_leg):
    verifier = pkce.new_verifier()
    code = sandbox_leg.live.consent_code(sandbox_leg.client.authorize_url("state-4", pkce.challenge(verifier)))
    other = sandbox_leg.new_client(redirect_uri=sandbox_leg.client.redirect_uri + "/")
    with pytest.raises(InvalidGrant):
        other.exchange_code(code, verifier)


def test_wrong_client_secret_is_a_client_config_error(sandbox_leg):
    wrong = sandbox_leg.new_client(client_secret="not-the-registered-secret")
    with pytest.raises(ClientConfigError):
        sandbox_leg.connect(wrong)


def test_reused_refresh_token_fails_with_invalid_grant_and_kills_the_grant(sandbox_leg):
    client = sandbox_leg.client
    first = sandbox_leg.connect()
    second = sandbox_leg.track(client.refresh(first.refresh_token))
    with pytest.raises(InvalidGrant):
        client.refresh(first.refresh_token)
    # Reuse means the token leaked: the rotated pair dies with it.
    with pytest.raises(InvalidGrant):
        client.refresh(second.refresh_token)
    with pytest.raises(TokenInvalid):
        client.get_business_profile(second.access_token, second.open_id)


def test_unticked_scope_is_scope_missing_and_granted_fields_still_work(sandbox_leg):
    client, live = sandbox_leg.client, sandbox_leg.live
    verifier = pkce.new_verifier()
    ticked = [s for s in client.scopes if s != "user.info.stats"]
    code = live.consent_code(client.authorize_url("state-5", pkce.challenge(verifier)), scopes=ticked)
    tokens = sandbox_leg.track(client.exchange_code(code, verifier))
    assert "user.info.stats" not in tokens.scopes and tokens.missing_scopes(client.scopes) == ("user.info.stats",)
    with pytest.raises(ScopeMissing):
        client.get_business_profile(tokens.access_token, tokens.open_id)
    profile = client.get_business_profile(tokens.access_token, tokens.open_id,
                                          fields=profile_fields_for(tokens.scopes))
    assert profile.followers_count is None and profile.username == sandbox_leg.username
    assert dataclasses.asdict(profile)["daily"] == ()


# --- PKCE switch (TIKTOK_PKCE=false sends neither challenge nor verifier) -------------------------

@pytest.fixture
def lenient_pkce(sandbox_leg):
    """The sandbox as a web app that does not require PKCE (TikTok's web docs name none)."""
    settings = sandbox_leg.live.settings
    before, settings.require_pkce = settings.require_pkce, False
    yield sandbox_leg
    settings.require_pkce = before


def test_without_pkce_consent_and_exchange_work_where_tiktok_does_not_require_it(lenient_pkce):
    client, live = lenient_pkce.client, lenient_pkce.live
    url = client.authorize_url("state-6", None)
    assert "code_challenge" not in url
    code = live.consent_code(url)
    tokens = lenient_pkce.track(client.exchange_code(code, None))
    assert tokens.open_id and client.token_info(tokens.access_token).creator_id == tokens.open_id


def test_without_pkce_an_app_that_requires_it_gets_tiktoks_error_page_not_a_redirect(sandbox_leg):
    page = sandbox_leg.live.http.get(sandbox_leg.client.authorize_url("state-7", None), allow_redirects=False)
    assert page.status_code == 400 and "Location" not in page.headers
    assert "code_challenge" in page.text


def test_a_challenge_sent_without_its_verifier_fails_the_exchange(sandbox_leg):
    client, live = sandbox_leg.client, sandbox_leg.live
    code = live.consent_code(client.authorize_url("state-8", pkce.challenge(pkce.new_verifier())))
    with pytest.raises(InvalidGrant):
        client.exchange_code(code, None)


# --- more than 100 Spark Ads: the report's ad_ids filter takes at most 100 -------------------------

def test_more_than_100_spark_ads_are_reported_in_batches_the_sandbox_accepts(sandbox_leg):
    client, live = sandbox_leg.client, sandbox_leg.live
    extra = live.http.post(live.base + "/_control/ads", json={"username": sandbox_leg.username,
                                                               "extra_spark_ads": 130})
    assert extra.status_code == 200, extra.text[:300]
    ads = client.ads_exchange(sandbox_leg.ads_code())
    sandbox_leg.remember(ads.access_token)
    advertiser_id = ads.advertiser_ids[0]
    spark = client.list_spark_ads(ads.access_token, advertiser_id)
    ids = [ad.ad_id for ad in spark]
    assert len(ids) > documented.REPORT_MAX_AD_IDS

    # TikTok refuses one request naming them all…
    today = sandbox_leg.today
    refused = sandbox_leg.raw_get(
        "report/integrated/get/", ads.access_token, advertiser_id=advertiser_id, report_type="BASIC",
        service_type="AUCTION", data_level="AUCTION_AD", dimensions=["ad_id", "stat_time_day"], metrics=["spend"],
        start_date=(today - dt.timedelta(days=13)).isoformat(), end_date=today.isoformat(),
        filtering=[{"field_name": "ad_ids", "filter_type": "IN", "filter_value": json.dumps(ids)}])
    assert refused["code"] != 0, refused

    # …and the client's batches get every ad's rows.
    rows = client.ads_daily_report(ads.access_token, advertiser_id, today - dt.timedelta(days=13), today, ad_ids=ids)
    assert {row.ad_id for row in rows} - set(ids[: documented.REPORT_MAX_AD_IDS]), "no row beyond the first batch"
    assert len({(row.ad_id, row.day) for row in rows}) == len(rows)

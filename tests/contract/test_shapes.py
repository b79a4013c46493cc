"""The canonical fixture bodies and the sandbox's live answers have the same JSON shape.

The client runs its normal calls against the live sandbox through a `requests.Session` whose response
hook records every raw body, so the sandbox answers exactly the parameters the client sends. Each
fixture is then compared with the live body of the same endpoint (or the same error code):
envelope keys, `data` keys, item keys of lists, and the kind of every value (object, array, bool or
scalar; a JSON number and a numeric string are both scalars, since TikTok sends either). A fixture
edited away from the sandbox, or a sandbox answer edited away from the fixtures, fails here.
"""
from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from app.sandbox import signing
from app.tiktok import (
    ClientConfigError,
    InvalidGrant,
    RateLimited,
    ScopeMissing,
    TokenInvalid,
    Unavailable,
    pkce,
    webhook,
)

ENVELOPE = {"code", "message", "request_id", "data"}

SUCCESS = [
    ("token_success", "tt_user/oauth2/token/"),
    ("refresh_success", "tt_user/oauth2/refresh_token/"),
    ("revoke_success", "tt_user/oauth2/revoke/"),
    ("business_get_success", "business/get/"),
    ("video_list_page1", "business/video/list/"),
    ("ads_access_token_success", "oauth2/access_token/"),
    ("ads_advertiser_get_success", "oauth2/advertiser/get/"),
    ("ads_advertiser_info_success", "advertiser/info/"),
    ("ads_ad_get_page1", "ad/get/"),
    ("ads_report_page1", "report/integrated/get/"),
]
ERRORS = ["error_rate_limited", "error_scope_missing", "error_invalid_client", "error_access_token_invalid",
          "error_access_token_expired", "error_invalid_grant", "error_other", "error_internal"]

# Where TikTok returns more keys than the fixture holds, by design: the `metrics` block of
# business/get/ has no per-metric selection (TIKTOK_API.md §7.3 lists more daily metrics than the
# product reads), so the fixture's daily rows only need to be a subset of the live ones.
SUBSET_PATHS = {"data.metrics[]"}


def kind(value) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, bool):
        return "bool"
    return "scalar"


def merged(items: list[dict]) -> dict:
    """All keys of a list's items, each with its first non-null value."""
    out: dict = {}
    for item in items:
        for key, value in item.items():
            if out.get(key) is None:
                out[key] = value
    return out


def assert_same_shape(fixture, live, path: str = "") -> None:
    where = path or "body"
    if fixture is None or live is None:
        return  # null is allowed for any field ("no figure")
    assert kind(fixture) == kind(live), f"{where}: fixture has {kind(fixture)}, sandbox has {kind(live)}"
    if isinstance(fixture, dict):
        fk, lk = set(fixture), set(live)
        if path in SUBSET_PATHS:
            assert fk <= lk, f"{where}: keys only in the fixture: {sorted(fk - lk)}"
        else:
            assert fk == lk, f"{where}: only in fixture {sorted(fk - lk)}, only in sandbox {sorted(lk - fk)}"
        for key in fk & lk:
            assert_same_shape(fixture[key], live[key], f"{path}.{key}" if path else key)
    elif isinstance(fixture, list) and fixture:
        assert live, f"{where}: the sandbox sent an empty list, nothing to compare"
        kinds = {kind(v) for v in fixture} | {kind(v) for v in live if v is not None}
        assert len(kinds - {"scalar"}) <= 1 and not ({"object"} < kinds), f"{where}: mixed item kinds {kinds}"
        if all(isinstance(v, dict) for v in fixture + live):
            for side in (fixture, live):  # every item of one answer has the same keys
                assert len({frozenset(v) for v in side}) == 1 or path in SUBSET_PATHS, f"{where}: ragged items"
            assert_same_shape(merged(fixture), merged(live), f"{path}[]")


class Recorder:
    """Every JSON body the client received, by endpoint, in order."""

    def __init__(self) -> None:
        self.bodies: list[tuple[str, dict]] = []
        self.session = requests.Session()
        self.session.hooks["response"].append(self.record)

    def record(self, response, *args, **kwargs):
        path = urlsplit(response.url).path
        if "/open_api/v1.3/" in path:
            try:
                body = response.json()
            except ValueError:
                return
            self.bodies.append((path.split("/open_api/v1.3/", 1)[1], body))

    def success(self, endpoint: str) -> dict:
        found = [b for e, b in self.bodies if e == endpoint and b.get("code") == 0]
        assert found, f"no successful {endpoint} answer was recorded"
        return found[0]

    def error(self, code: int) -> dict:
        found = [b for _, b in self.bodies if b.get("code") == code]
        assert found, f"the sandbox never answered with code {code}"
        return found[0]


def run_flow(leg, recorder: Recorder) -> None:
    client = leg.new_client(session=recorder.session)
    today = leg.today

    def expect(error_class, fn, *args, **kwargs):
        with pytest.raises(error_class):
            fn(*args, **kwargs)

    tokens = leg.connect(client)
    client.get_business_profile(tokens.access_token, tokens.open_id,
                                start_date=today - dt.timedelta(days=6), end_date=today)
    client.list_videos(tokens.access_token, tokens.open_id)
    ads = client.ads_exchange(leg.ads_code())
    advertiser_id = ads.advertiser_ids[0]
    client.list_advertisers(ads.access_token)
    spark = client.list_spark_ads(ads.access_token, advertiser_id)
    client.ads_daily_report(ads.access_token, advertiser_id, today - dt.timedelta(days=29), today,
                            ad_ids=[ad.ad_id for ad in spark])  # also calls advertiser/info/
    # errors
    leg.inject("business/get/", "rate_limit")
    expect(RateLimited, client.get_business_profile, tokens.access_token, tokens.open_id)
    leg.inject("business/get/", "http_500")
    expect(Unavailable, client.get_business_profile, tokens.access_token, tokens.open_id)
    expect(ClientConfigError, leg.connect, leg.new_client(client_secret="wrong", session=recorder.session))
    # 40002: a parameter the client never sends wrong (max_count > 20), so sent by hand
    recorder.session.get(leg.live.api + "business/video/list/",
                         params={"business_id": tokens.open_id, "max_count": 50},
                         headers={"Access-Token": tokens.access_token})
    fresh = leg.track(client.refresh(tokens.refresh_token))
    expect(InvalidGrant, client.refresh, tokens.refresh_token)  # reused: also revokes the grant
    expect(TokenInvalid, client.get_business_profile, fresh.access_token, fresh.open_id)  # 40104
    verifier = pkce.new_verifier()  # 40001: a grant without user.info.stats asked for followers_count
    code = leg.live.consent_code(client.authorize_url("s", pkce.challenge(verifier)),
                                 scopes=[s for s in client.scopes if s != "user.info.stats"])
    limited = client.exchange_code(code, verifier)
    expect(ScopeMissing, client.get_business_profile, limited.access_token, limited.open_id)
    last = leg.connect(client)
    client.revoke(limited.access_token)
    leg.live.state.advance_clock(leg.live.settings.access_ttl + 1)  # last: expires every access token
    expect(TokenInvalid, client.get_business_profile, last.access_token, last.open_id)  # 40105


@pytest.fixture(scope="module")
def recorded(new_sandbox_leg) -> Recorder:
    """The client's whole surface, run once against the live sandbox, every raw body recorded."""
    leg, recorder = new_sandbox_leg(), Recorder()
    try:
        run_flow(leg, recorder)
    finally:
        leg.close()
        recorder.session.close()
        leg.live.state.reset()
    return recorder


@pytest.mark.parametrize("fixture_name, endpoint", SUCCESS, ids=[name for name, _ in SUCCESS])
def test_fixture_has_the_shape_of_the_sandbox_answer(recorded, fixture_body, fixture_name, endpoint):
    fixture, live = fixture_body(fixture_name), recorded.success(endpoint)
    assert set(fixture) == set(live) == ENVELOPE
    assert fixture["code"] == live["code"] == 0 and fixture["message"] == live["message"] == "OK"
    assert isinstance(fixture["request_id"], str) and isinstance(live["request_id"], str)
    assert_same_shape(fixture["data"], live["data"], "data")


@pytest.mark.parametrize("fixture_name", ERRORS)
def test_error_fixture_has_the_code_and_envelope_of_the_sandbox_error(recorded, fixture_body, fixture_name):
    fixture = fixture_body(fixture_name)
    live = recorded.error(fixture["code"])
    assert set(fixture) == set(live) == ENVELOPE
    assert fixture["data"] == live["data"] == {}
    assert isinstance(live["message"], str) and live["message"]


def test_fixture_files_are_all_checked_or_explained():
    checked = {name for name, _ in SUCCESS} | set(ERRORS) | {
        "ads_ad_get_page2", "ads_report_page2", "video_list_page2", "video_list_page3",  # served by the mock leg
        "refresh_success_without_refresh_token",  # RFC 6749 §6 case the sandbox never produces (it rotates)
        "oauth_error_invalid_grant",  # OAuth-style flat error: Login Kit, not the Business API the sandbox serves
        "webhook_authorization_removed",  # test_webhook_body_... below
    }
    folder = Path(__file__).resolve().parents[1] / "fixtures" / "tiktok"
    on_disk = {p.stem for p in folder.glob("*.json")}
    assert on_disk == checked, f"unchecked fixtures: {sorted(on_disk - checked)}; gone: {sorted(checked - on_disk)}"


def test_webhook_body_the_sandbox_signs_matches_the_fixture_and_verifies_in_the_client(live_sandbox, fixture_body):
    fixture = fixture_body("webhook_authorization_removed")
    t = int(time.time())
    raw = signing.authorization_removed(live_sandbox.settings.client_key, "open-id-1", 5, t)
    header = signing.sign(live_sandbox.settings.client_secret, t, raw)
    webhook.verify_signature(raw, header, live_sandbox.settings.client_secret, now=t)
    event = webhook.parse_event(raw, client_key=live_sandbox.settings.client_key)
    assert event.event == fixture["event"] == "authorization.removed" and event.reason == 5
    live = json.loads(raw)
    assert_same_shape(fixture, live)
    assert json.loads(fixture["content"]).keys() == json.loads(live["content"]).keys() == {"reason"}


def test_the_recording_saw_every_endpoint_the_client_uses(recorded):
    seen = {endpoint for endpoint, _ in recorded.bodies}
    assert {endpoint for _, endpoint in SUCCESS} <= seen

"""The canonical fixture bodies and the sandbox's live answers have the same JSON shape.

Each fixture is the answer to one request; the flow below sends that same request to the live
sandbox (through the client where the client can send it, by hand otherwise) under a label, and a
`requests.Session` response hook records every raw body. The fixture is then compared with the live
body of its label: envelope keys, `data` keys, item keys of lists, and the kind of every value
(object, array, bool or scalar; a JSON number and a numeric string are both scalars, since TikTok
sends either). Because TikTok answers only the fields asked for, the keys must match exactly. A
fixture edited away from the sandbox, or a sandbox answer edited away from the fixtures, fails here.
"""
from __future__ import annotations

import contextlib
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
from app.tiktok import fields as documented
from app.tiktok.client import REPORT_METRICS
from tests.tiktok_fixtures import load as load_fixture

ENVELOPE = {"code", "message", "request_id", "data"}

#: fixture → the label of the live answer it is compared with (pages 2 and 3 have page 1's shape).
SUCCESS = {
    "token_success": "token_success",
    "refresh_success": "refresh_success",
    "revoke_success": "revoke_success",
    "token_info_success": "token_info_success",
    "business_get_success": "business_get_success",
    "business_get_audience_activity": "business_get_audience_activity",
    "business_get_demographics": "business_get_demographics",
    "video_list_page1": "video_list_page1",
    "video_list_page2": "video_list_page1",
    "video_list_page3": "video_list_page1",
    "video_list_insights": "video_list_insights",
    "ads_access_token_success": "ads_access_token_success",
    "ads_advertiser_get_success": "ads_advertiser_get_success",
    "ads_advertiser_info_success": "ads_advertiser_info_success",
    "ads_ad_get_page1": "ads_ad_get",
    "ads_ad_get_page2": "ads_ad_get",
    "ads_report_page1": "ads_report",
    "ads_report_page2": "ads_report",
}
#: Error fixtures, each compared with the sandbox's answer in the situation it stands for. Codes must
#: match too: the documented ones are TikTok's, the undocumented ones are declared as the sandbox's.
ERRORS = [
    "error_rate_limited", "error_internal", "error_invalid_client", "error_auth_code_invalid", "error_other",
    "error_undocumented_40104", "error_undocumented_40105", "error_undocumented_40001", "error_undocumented_40106",
]


def kind(value) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, bool):
        return "bool"
    return "scalar"


def merged(items: list[dict]) -> dict:
    """All keys of a list's items, each with its first non-null, non-empty value."""
    out: dict = {}
    for item in items:
        for key, value in item.items():
            if out.get(key) in (None, []):
                out[key] = value
    return out


def assert_same_shape(fixture, live, path: str = "") -> None:
    where = path or "body"
    if fixture is None or live is None:
        return  # null is allowed for any field ("no figure")
    assert kind(fixture) == kind(live), f"{where}: fixture has {kind(fixture)}, sandbox has {kind(live)}"
    if isinstance(fixture, dict):
        fk, lk = set(fixture), set(live)
        assert fk == lk, f"{where}: only in fixture {sorted(fk - lk)}, only in sandbox {sorted(lk - fk)}"
        for key in fk & lk:
            assert_same_shape(fixture[key], live[key], f"{path}.{key}" if path else key)
    elif isinstance(fixture, list) and fixture:
        assert live, f"{where}: the sandbox sent an empty list, nothing to compare"
        kinds = {kind(v) for v in fixture} | {kind(v) for v in live if v is not None}
        assert len(kinds - {"scalar"}) <= 1 and not ({"object"} < kinds), f"{where}: mixed item kinds {kinds}"
        if all(isinstance(v, dict) for v in fixture + live):
            for side in (fixture, live):  # every item of one answer has the same keys
                assert len({frozenset(v) for v in side}) == 1, f"{where}: ragged items"
            assert_same_shape(merged(fixture), merged(live), f"{path}[]")


def request_fields(fixture: dict) -> list[str]:
    """The `fields` a business/get/ or video/list/ fixture answers: its keys (daily rows' keys included)."""
    data = fixture["data"]
    if "videos" in data:
        return list(dict.fromkeys(key for video in data["videos"] for key in video))
    names = [key for key in data if key != "metrics"]
    names += [key for row in data.get("metrics", []) for key in row if key != "date"]
    return list(dict.fromkeys(names))


def date_range(fixture: dict) -> tuple[dt.date, dt.date]:
    days = sorted(dt.date.fromisoformat(row["date"]) for row in fixture["data"]["metrics"])
    return days[0], days[-1]


class Recorder:
    """Every JSON body the client (or a hand-made request on its session) received, by label, in order."""

    def __init__(self) -> None:
        self.bodies: list[tuple[str | None, str, dict]] = []
        self.current: str | None = None
        self.failures: list[str] = []  # steps that did not raise what they should (see run_flow)
        self.session = requests.Session()
        self.session.hooks["response"].append(self.record)

    @contextlib.contextmanager
    def label(self, name: str):
        self.current = name
        try:
            yield
        finally:
            self.current = None

    def record(self, response, *args, **kwargs):
        path = urlsplit(response.url).path
        if "/open_api/v1.3/" in path:
            try:
                body = response.json()
            except ValueError:
                return
            self.bodies.append((self.current, path.split("/open_api/v1.3/", 1)[1], body))

    def success(self, label: str) -> dict:
        found = [b for lab, _, b in self.bodies if lab == label and b.get("code") == 0]
        assert found, f"no successful answer was recorded for {label}"
        # A paged call's last page may be empty; compare with one that has items if there is one.
        full = [b for b in found if any(isinstance(v, list) and v for v in (b.get("data") or {}).values())]
        return (full or found)[-1]

    def error(self, label: str) -> dict:
        found = [b for lab, _, b in self.bodies if lab == label and b.get("code") not in (0, None)]
        assert found, f"the sandbox never refused anything for {label}"
        return found[0]


def run_flow(leg, recorder: Recorder, load) -> None:
    client = leg.new_client(session=recorder.session)
    today = leg.today
    failures: list[str] = []

    def attempt(label: str, fn, *args, expect: type[BaseException] | None = None, **kwargs):
        """Run one step under its label; a step that fails differently is noted, and the flow goes on."""
        with recorder.label(label):
            try:
                result = fn(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - recorded, then reported by the tests that need it
                if expect is None or not isinstance(exc, expect):
                    failures.append(f"{label}: {type(exc).__name__}: {exc}")
                return None
        if expect is not None:
            failures.append(f"{label}: expected {expect.__name__}, the call succeeded")
        return result

    tokens = attempt("token_success", leg.connect, client)
    assert tokens is not None, failures
    access, open_id = tokens.access_token, tokens.open_id
    attempt("token_info_success", client.token_info, access)
    for name in ("business_get_success", "business_get_audience_activity", "business_get_demographics"):
        fixture = load(name)
        dates = date_range(fixture) if "metrics" in fixture["data"] else (None, None)
        attempt(name, client.get_business_profile, access, open_id, fields=request_fields(fixture),
                start_date=dates[0], end_date=dates[1])
    page = attempt("video_list_page1", client.list_videos, access, open_id,
                   fields=request_fields(load("video_list_page1")))
    ids = [v.item_id for v in page.videos][:4] if page else []
    attempt("video_list_insights", client.list_videos, access, open_id,
            fields=request_fields(load("video_list_insights")), video_ids=ids or ["7380000000000000005"])

    ads = attempt("ads_access_token_success", client.ads_exchange, leg.ads_code())
    assert ads is not None, failures
    leg.remember(ads.access_token)
    advertiser_id = ads.advertiser_ids[0]
    attempt("ads_advertiser_get_success", client.list_advertisers, ads.access_token)
    attempt("ads_advertiser_info_success", client.get_advertiser_info, ads.access_token, advertiser_id)
    ad_fields = list(dict.fromkeys(k for ad in load("ads_ad_get_page1")["data"]["list"] for k in ad))
    with recorder.label("ads_ad_get"):  # the fixture's fields, which include the status the client never asks
        recorder.session.get(leg.api + "ad/get/", headers={"Access-Token": ads.access_token}, params={
            "advertiser_id": advertiser_id, "fields": json.dumps(ad_fields), "page": 1, "page_size": 1000,
            "filtering": json.dumps({"primary_status": documented.STATUS_ALL})})
    spark = client.list_spark_ads(ads.access_token, advertiser_id)
    attempt("ads_report", client.ads_daily_report, ads.access_token, advertiser_id, today - dt.timedelta(days=29),
            today, ad_ids=[ad.ad_id for ad in spark])

    # errors, each in the situation its fixture stands for
    leg.inject("business/get/", "rate_limit")
    attempt("error_rate_limited", client.get_business_profile, access, open_id, expect=RateLimited)
    leg.inject("business/get/", "http_500")
    attempt("error_internal", client.get_business_profile, access, open_id, expect=Unavailable)
    attempt("error_invalid_client", leg.connect, leg.new_client(client_secret="wrong", session=recorder.session),
            expect=ClientConfigError)
    verifier = pkce.new_verifier()
    code = leg.live.consent_code(client.authorize_url("s", pkce.challenge(verifier)))
    attempt("error_auth_code_invalid", client.exchange_code, code, verifier)
    attempt("error_auth_code_invalid", client.exchange_code, code, verifier, expect=InvalidGrant)  # used code
    with recorder.label("error_other"):  # a field TikTok does not document, sent by hand
        recorder.session.get(leg.api + "business/get/", headers={"Access-Token": access},
                             params={"business_id": open_id, "fields": json.dumps(["display_name", "metrics"])})
    rotated = attempt("refresh_success", client.refresh, tokens.refresh_token, access_token=access)
    attempt("error_undocumented_40106", client.refresh, tokens.refresh_token, expect=InvalidGrant)  # reused
    if rotated is not None:  # the reuse killed the grant: its newest token is refused now
        attempt("error_undocumented_40104", client.get_business_profile, rotated.access_token, rotated.open_id,
                expect=TokenInvalid)
    verifier = pkce.new_verifier()  # a grant without user.info.stats, asked for followers_count
    code = leg.live.consent_code(client.authorize_url("s", pkce.challenge(verifier)),
                                 scopes=[s for s in client.scopes if s != "user.info.stats"])
    limited = client.exchange_code(code, verifier)
    attempt("error_undocumented_40001", client.get_business_profile, limited.access_token, limited.open_id,
            fields=["followers_count"], expect=ScopeMissing)
    attempt("revoke_success", client.revoke, limited.access_token)
    last = leg.connect(client)
    leg.live.state.advance_clock(leg.live.settings.access_ttl + 1)  # expires every access token
    attempt("error_undocumented_40105", client.get_business_profile, last.access_token, last.open_id,
            expect=TokenInvalid)
    recorder.failures = failures


@pytest.fixture(scope="module")
def recorded(new_sandbox_leg, fixture_body) -> Recorder:
    """The client's whole surface, run once against the live sandbox, every raw body recorded."""
    leg, recorder = new_sandbox_leg(), Recorder()
    try:
        run_flow(leg, recorder, fixture_body)
    finally:
        leg.close()
        recorder.session.close()
        leg.live.state.reset()
    return recorder


@pytest.fixture(scope="module")
def fixture_body():  # module scope for `recorded` (the conftest one is per test)
    return load_fixture


@pytest.mark.parametrize("fixture_name", sorted(SUCCESS))
def test_fixture_has_the_shape_of_the_sandbox_answer(recorded, fixture_body, fixture_name):
    fixture, live = fixture_body(fixture_name), recorded.success(SUCCESS[fixture_name])
    assert set(fixture) == set(live) == ENVELOPE
    assert fixture["code"] == live["code"] == 0 and fixture["message"] == live["message"] == "OK"
    assert isinstance(fixture["request_id"], str) and isinstance(live["request_id"], str)
    assert_same_shape(fixture["data"], live["data"], "data")


def test_the_report_fixtures_hold_exactly_the_metrics_the_client_asks_for(fixture_body):
    for name in ("ads_report_page1", "ads_report_page2"):
        for row in fixture_body(name)["data"]["list"]:
            assert set(row["metrics"]) == set(REPORT_METRICS), name


@pytest.mark.parametrize("fixture_name", ERRORS)
def test_error_fixture_has_the_code_and_envelope_of_the_sandbox_error(recorded, fixture_body, fixture_name):
    fixture = fixture_body(fixture_name)
    live = recorded.error(fixture_name)
    assert set(fixture) == set(live) == ENVELOPE
    assert fixture["data"] == live["data"] == {}
    assert isinstance(live["message"], str) and live["message"]
    assert type(live["code"]) is int and live["code"] == fixture["code"], (
        f"{fixture_name}: the sandbox answers {live['code']} ({live['message']!r}) where the fixture says "
        f"{fixture['code']}")


def test_the_recorded_flow_went_as_expected(recorded):
    """Each step raised what it should (a sandbox that answers differently shows up here by name)."""
    assert recorded.failures == []


def test_fixture_files_are_all_checked_or_explained():
    checked = set(SUCCESS) | set(ERRORS) | {
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
    seen = {endpoint for _, endpoint, _ in recorded.bodies}
    assert {"tt_user/oauth2/token/", "tt_user/oauth2/refresh_token/", "tt_user/oauth2/revoke/", "tt_user/token_info/get/",
            "business/get/", "business/video/list/", "oauth2/access_token/", "oauth2/advertiser/get/",
            "advertiser/info/", "ad/get/", "report/integrated/get/"} <= seen

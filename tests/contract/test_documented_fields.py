"""The client asks TikTok only for documented names.

`app/tiktok/fields.py` is the one cited list of TikTok's documented request fields. These tests
read every request the client actually sends during a sync-like sequence (requests-mock's history
on the mock leg, a response hook on the client's session on the sandbox leg) and fail on any
`business/get/` or `business/video/list/` field, `ad/get/` field or report metric outside that
list. The client's own guard (a ValueError before sending) is not trusted here: the wire is.
"""
from __future__ import annotations

import datetime as dt
import json
import types
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from app.tiktok import TikTokError
from app.tiktok import accounts as client_module
from app.tiktok import fields as documented
from app.tiktok.client import (
    DEFAULT_PROFILE_FIELDS,
    DEFAULT_VIDEO_FIELDS,
    REPORT_METRICS,
    SPARK_AD_FIELDS,
    SYNC_VIDEO_FIELDS,
    insight_fields_for,
    profile_fields_for,
    video_fields_for,
)

#: Every scope TikTok's field tables name: a creator who granted all of them gets the full ask.
ALL_SCOPES = sorted({*documented.BUSINESS_GET_FIELDS.values(), *documented.VIDEO_FIELDS.values()})
API_PREFIX = "/open_api/v1.3/"


class Sent:
    """One request as it went over the wire: method, endpoint, exact query, JSON body."""

    def __init__(self, method: str, url: str, body: bytes | str | None) -> None:
        self.method = method
        parts = urlsplit(url)
        self.endpoint = parts.path.split(API_PREFIX, 1)[1] if API_PREFIX in parts.path else parts.path
        self.query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    def json_param(self, name: str, default=None):
        return json.loads(self.query[name]) if name in self.query else default


class Wire:
    """What the client sent: requests-mock's history on the mock leg, a session hook on the sandbox leg."""

    def __init__(self, leg) -> None:
        self.leg = leg
        self.session = requests.Session()
        self.hooked: list[Sent] = []
        self.session.hooks["response"].append(
            lambda response, *a, **k: self.hooked.append(Sent(response.request.method, response.request.url,
                                                              response.request.body)))
        self.client = leg.new_client(session=self.session)

    def sent(self) -> list[Sent]:
        if self.leg.name == "mock":
            history = [Sent(r.method, r.url, r.body) for r in self.leg.mocker.request_history]
            assert len(history) == len(self.hooked), "a request bypassed the client's session"
            return history
        return list(self.hooked)

    def close(self) -> None:
        self.session.close()


def undocumented_names(sent: list[Sent]) -> list[str]:
    """Every name a request carried that TikTok does not document, as 'endpoint param: name'."""
    problems = []

    def check(request: Sent, param: str, table, default) -> None:
        names = request.json_param(param, default)
        assert isinstance(names, list), (request.endpoint, param, names)
        problems.extend(f"{request.endpoint} {param}: {name}" for name in documented.undocumented(table, names))

    for request in sent:
        if request.endpoint == "business/get/":
            check(request, "fields", documented.BUSINESS_GET_FIELDS, list(documented.BUSINESS_GET_DEFAULT_FIELDS))
        elif request.endpoint == "business/video/list/":
            check(request, "fields", documented.VIDEO_FIELDS, list(documented.VIDEO_DEFAULT_FIELDS))
        elif request.endpoint == "ad/get/":
            check(request, "fields", documented.AD_GET_FIELDS, [])
        elif request.endpoint == "report/integrated/get/":
            check(request, "metrics", documented.REPORT_METRICS, [])
    return problems


def sync_like(leg, client) -> None:
    """What a sync asks of TikTok, with every scope granted: profile, insights, posts, refresh by id, ads."""
    tokens = leg.connect(client)
    assert set(ALL_SCOPES) <= set(tokens.scopes), "the test grant must carry every scope the tables name"
    access, open_id, today = tokens.access_token, tokens.open_id, leg.today
    client.token_info(access)
    client.get_business_profile(access, open_id, start_date=today - dt.timedelta(days=6), end_date=today,
                                fields=insight_fields_for(ALL_SCOPES))
    client.get_business_profile(access, open_id)  # the default profile fields
    client.get_business_profile(access, open_id, fields=profile_fields_for(ALL_SCOPES))
    videos = list(client.iter_videos(access, open_id, fields=video_fields_for(ALL_SCOPES)))
    assert videos
    ids = [v.item_id for v in videos][: documented.VIDEO_FILTER_MAX_IDS]
    client.list_videos(access, open_id, fields=video_fields_for(ALL_SCOPES), video_ids=ids)
    client.list_videos(access, open_id)  # the default video fields
    ads = client.ads_exchange(leg.ads_code())
    leg.remember(ads.access_token)
    advertiser_id = ads.advertiser_ids[0]
    client.list_advertisers(ads.access_token)
    spark = client.list_spark_ads(ads.access_token, advertiser_id)
    client.ads_daily_report(ads.access_token, advertiser_id, today - dt.timedelta(days=40), today,
                            ad_ids=[ad.ad_id for ad in spark])


def test_a_sync_sends_only_documented_fields_and_metrics(tiktok):
    wire = Wire(tiktok)
    try:
        sync_like(tiktok, wire.client)
        sent = wire.sent()
    finally:
        wire.close()
    seen = {request.endpoint for request in sent}
    for endpoint in ("business/get/", "business/video/list/", "ad/get/", "report/integrated/get/"):
        assert endpoint in seen, f"the sequence never reached {endpoint}: nothing was checked there"
    assert undocumented_names(sent) == []

    # The rest of what TikTok documents about these requests, checked on the same wire.
    for request in sent:
        if request.endpoint == "business/video/list/" and "filters" in request.query:
            filters = request.json_param("filters")
            assert set(filters) == {"video_ids"} and 1 <= len(filters["video_ids"]) <= documented.VIDEO_FILTER_MAX_IDS
        if request.endpoint == "ad/get/":
            assert request.json_param("filtering") == {"primary_status": documented.STATUS_ALL}
        if request.endpoint == "report/integrated/get/":
            rules = {rule["field_name"]: rule for rule in request.json_param("filtering")}
            assert json.loads(rules["ad_status"]["filter_value"]) == [documented.STATUS_ALL]
            assert len(json.loads(rules["ad_ids"]["filter_value"])) <= documented.REPORT_MAX_AD_IDS
    by_id = [r for r in sent if r.endpoint == "business/video/list/" and "filters" in r.query]
    assert by_id, "the refresh by video_ids was never sent"


def test_the_wire_check_catches_an_undocumented_field(tiktok, monkeypatch):
    """Prove the check bites: with `metrics` back in the client's table (as it once was), the request
    goes out, TikTok refuses it, and `undocumented_names` names it."""
    wire = Wire(tiktok)
    try:
        tokens = tiktok.connect(wire.client)
        loose = types.SimpleNamespace(**{
            name: getattr(documented, name) for name in dir(documented) if not name.startswith("__")})
        loose.BUSINESS_GET_FIELDS = {**documented.BUSINESS_GET_FIELDS, "metrics": "user.insights"}
        monkeypatch.setattr(client_module, "documented", loose)
        with pytest.raises(TikTokError):  # 40002 on both legs; token_info says the token is fine
            wire.client.get_business_profile(tokens.access_token, tokens.open_id, fields=["display_name", "metrics"],
                                             start_date=tiktok.today - dt.timedelta(days=1), end_date=tiktok.today)
        sent = wire.sent()
    finally:
        wire.close()
    assert undocumented_names(sent) == ["business/get/ fields: metrics"]


def test_undocumented_names_reads_every_endpoint_it_guards():
    def sent(endpoint: str, **params) -> Sent:
        query = "&".join(f"{k}={json.dumps(v)}" for k, v in params.items())
        return Sent("GET", f"https://business-api.tiktok.com{API_PREFIX}{endpoint}?{query}", None)

    assert undocumented_names([
        sent("business/get/", fields=["display_name", "metrics"]),
        sent("business/video/list/", fields=["item_id", "views"]),
        sent("ad/get/", fields=["ad_id", "spark"]),
        sent("report/integrated/get/", metrics=["spend", "roas"]),
        sent("advertiser/info/", fields=["whatever"]),  # not a table this module guards
    ]) == ["business/get/ fields: metrics", "business/video/list/ fields: views", "ad/get/ fields: spark",
           "report/integrated/get/ metrics: roas"]


# --- the tables themselves ------------------------------------------------------------------------

TABLES = {
    "PROFILE_FIELDS": documented.PROFILE_FIELDS,
    "DAILY_METRIC_FIELDS": documented.DAILY_METRIC_FIELDS,
    "DEMOGRAPHIC_FIELDS": documented.DEMOGRAPHIC_FIELDS,
    "BUSINESS_GET_FIELDS": documented.BUSINESS_GET_FIELDS,
    "VIDEO_FIELDS": documented.VIDEO_FIELDS,
    "AD_GET_FIELDS": documented.AD_GET_FIELDS,
    "REPORT_METRICS": documented.REPORT_METRICS,
}

#: The Accounts API scope names TikTok's token and token_info answers carry.
ACCOUNTS_SCOPES = {"user.info.basic", "user.info.username", "user.info.profile", "user.info.stats",
                   "user.account.type", "user.insights", "video.list", "video.insights"}


@pytest.mark.parametrize("name", sorted(TABLES))
def test_no_table_has_a_metrics_field(name):
    """business/get/ has no request field called `metrics`: daily figures are asked for by name."""
    assert "metrics" not in TABLES[name]


def test_business_get_fields_are_profile_daily_and_demographics_without_overlap():
    profile, daily, demo = (set(documented.PROFILE_FIELDS), set(documented.DAILY_METRIC_FIELDS),
                            set(documented.DEMOGRAPHIC_FIELDS))
    assert not (profile & daily or profile & demo or daily & demo)
    assert profile | daily | demo == set(documented.BUSINESS_GET_FIELDS)
    assert set(documented.BUSINESS_GET_DEFAULT_FIELDS) <= profile
    assert set(documented.VIDEO_DEFAULT_FIELDS) <= set(documented.VIDEO_FIELDS)


def test_every_field_needs_a_known_scope():
    for table in (documented.BUSINESS_GET_FIELDS, documented.VIDEO_FIELDS):
        assert set(table.values()) <= ACCOUNTS_SCOPES, set(table.values()) - ACCOUNTS_SCOPES


@pytest.mark.parametrize(("what", "names", "table"), [
    ("SYNC_VIDEO_FIELDS", SYNC_VIDEO_FIELDS, documented.VIDEO_FIELDS),
    ("DEFAULT_VIDEO_FIELDS", DEFAULT_VIDEO_FIELDS, documented.VIDEO_FIELDS),
    ("DEFAULT_PROFILE_FIELDS", DEFAULT_PROFILE_FIELDS, documented.PROFILE_FIELDS),
    ("SPARK_AD_FIELDS", SPARK_AD_FIELDS, documented.AD_GET_FIELDS),
    ("REPORT_METRICS", REPORT_METRICS, documented.REPORT_METRICS),
    ("insight_fields_for(every scope)", insight_fields_for(ALL_SCOPES), documented.BUSINESS_GET_FIELDS),
    ("profile_fields_for(every scope)", profile_fields_for(ALL_SCOPES), documented.PROFILE_FIELDS),
    ("video_fields_for(every scope)", video_fields_for(ALL_SCOPES), documented.VIDEO_FIELDS),
])
def test_what_the_client_asks_for_is_a_subset_of_the_documented_tables(what, names, table):
    assert names, f"{what} is empty"
    assert documented.undocumented(table, names) == [], what
    assert len(set(names)) == len(tuple(names)), f"{what} names a field twice"

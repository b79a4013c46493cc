"""The sandbox accepts exactly TikTok's documented names (app.tiktok.fields) and answers every one.

A sandbox that accepts a name TikTok refuses lets every test pass while production shows nothing
(a client once asked business/get/ for a field called `metrics`, which TikTok does not have).
"""
import datetime as dt

import pytest

from app.tiktok.fields import (
    AD_GET_FIELDS,
    BUSINESS_GET_FIELDS,
    DAILY_METRIC_FIELDS,
    DEMOGRAPHIC_FIELDS,
    PROFILE_FIELDS,
    REPORT_METRICS,
    VIDEO_FIELDS,
)

INVALID_PARAMS = 40002
# Every scope a documented field needs, for the account's consent.
EVERY_SCOPE = ",".join(sorted(set(BUSINESS_GET_FIELDS.values()) | set(VIDEO_FIELDS.values())))


def report_params(advertiser_id, today, metrics):
    return dict(advertiser_id=advertiser_id, report_type="BASIC", data_level="AUCTION_AD", service_type="AUCTION",
                dimensions=["ad_id", "stat_time_day"], metrics=metrics, page_size=1000,
                start_date=(today - dt.timedelta(days=30)).isoformat(), end_date=today.isoformat())


def call(sandbox, endpoint, names):
    """Ask `endpoint` for `names` (fields, or the report's metrics) with a fully consented token."""
    today = sandbox.state.today()
    if endpoint in ("business/get/", "business/video/list/"):
        acct = sandbox.connect(request_scopes=EVERY_SCOPE)
        if endpoint == "business/get/":
            return sandbox.business_get(acct["access_token"], acct["open_id"], names).json()
        return sandbox.video_list(acct["access_token"], acct["open_id"], names).json()
    ads = sandbox.ads_connect("brassorbit3")
    advertiser = ads["advertiser_ids"][0]
    if endpoint == "ad/get/":
        return sandbox.get("ad/get/", ads["access_token"], advertiser_id=advertiser, fields=names, page_size=1000)
    return sandbox.get("report/integrated/get/", ads["access_token"], **report_params(advertiser, today, names))


@pytest.mark.parametrize("endpoint, documented", [
    ("business/get/", "display_name"), ("business/video/list/", "item_id"),
    ("ad/get/", "ad_id"), ("report/integrated/get/", "spend"),
])
@pytest.mark.parametrize("undocumented", ["metrics", "follower_count", "website_clicks_total", ""])
def test_undocumented_names_are_invalid_params(sandbox, endpoint, documented, undocumented):
    body = call(sandbox, endpoint, [documented, undocumented])
    assert body["code"] == INVALID_PARAMS, body
    assert body["message"].startswith("invalid params:") and repr(undocumented) in body["message"]
    assert body["data"] == {}


def test_metrics_refusal_says_how_to_ask_for_daily_metrics(sandbox):
    body = call(sandbox, "business/get/", ["metrics"])
    assert body["code"] == INVALID_PARAMS and '"video_views"' in body["message"]


@pytest.mark.parametrize("endpoint", ["business/get/", "business/video/list/", "ad/get/", "report/integrated/get/"])
def test_names_must_be_a_json_array_of_strings(sandbox, endpoint):
    assert call(sandbox, endpoint, [["item_id"]])["code"] == INVALID_PARAMS


def test_every_business_get_field_is_answered_in_its_place(sandbox):
    body = call(sandbox, "business/get/", list(BUSINESS_GET_FIELDS))
    assert body["code"] == 0, body
    data = body["data"]
    # brassorbit3 is a Business account with ≥100 followers: nothing is withheld.
    assert set(data) == set(PROFILE_FIELDS) | set(DEMOGRAPHIC_FIELDS) | {"metrics"}
    assert data["metrics"] and all(set(row) == {"date", "followers_count", *DAILY_METRIC_FIELDS}
                                   for row in data["metrics"])


def test_every_video_field_is_answered(sandbox):
    body = call(sandbox, "business/video/list/", list(VIDEO_FIELDS))
    assert body["code"] == 0, body
    assert body["data"]["videos"] and all(set(v) == set(VIDEO_FIELDS) for v in body["data"]["videos"])


def test_every_ad_field_is_answered_and_is_the_default(sandbox):
    body = call(sandbox, "ad/get/", list(AD_GET_FIELDS))
    assert body["code"] == 0 and all(set(ad) == set(AD_GET_FIELDS) for ad in body["data"]["list"])
    ads = sandbox.ads_connect("brassorbit3")
    default = sandbox.get("ad/get/", ads["access_token"], advertiser_id=ads["advertiser_ids"][0])
    assert all(set(ad) == set(AD_GET_FIELDS) for ad in default["data"]["list"])


def test_every_report_metric_is_answered_as_a_string(sandbox):
    body = call(sandbox, "report/integrated/get/", sorted(REPORT_METRICS))
    assert body["code"] == 0, body
    rows = body["data"]["list"]
    assert rows and all(set(r["metrics"]) == set(REPORT_METRICS) for r in rows)
    assert all(isinstance(v, str) for r in rows for v in r["metrics"].values())


def test_field_names_come_from_the_client_s_cited_table():
    # One table for client and sandbox: the sandbox keeps no copy of its own.
    from app.sandbox import ads, business

    assert not hasattr(business, "ACCOUNT_FIELDS") and business.VIDEO_FIELDS is VIDEO_FIELDS
    assert ads.AD_GET_FIELDS is AD_GET_FIELDS and ads.REPORT_METRICS is REPORT_METRICS


def test_refusal_uses_the_configured_http_status(make_sandbox):
    strict = make_sandbox(error_http_status=400)
    acct = strict.connect()
    resp = strict.business_get(acct["access_token"], acct["open_id"], ["metrics"])
    assert resp.status_code == 400 and resp.json()["code"] == INVALID_PARAMS

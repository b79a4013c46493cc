"""Marketing API stand-in: advertiser authorization, ads with identity types, daily report."""
import datetime as dt
import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from .conftest import ADS_REDIRECT_URI


def ads_connect(sbx, accounts="brassorbit3, moontideco2"):
    return sbx.ads_connect(accounts)


def get(sbx, path, token, **params):
    return sbx.get(path, token, **params)


def test_portal_auth_refuses_unregistered_redirect_uri(sandbox):
    resp = sandbox.http.get(sandbox.url("/portal/auth"), params={
        "app_id": sandbox.settings.ads_app_id, "state": "s", "redirect_uri": ADS_REDIRECT_URI + "/"})
    assert resp.status_code == 400 and "Location" not in resp.headers and "<code>redirect_uri</code>" in resp.text


def test_access_token_with_wrong_secret_is_invalid_client(sandbox):
    body = sandbox.post_json("oauth2/access_token/", {"app_id": sandbox.settings.ads_app_id, "secret": "x",
                                                      "auth_code": "whatever"}).json()
    assert body["code"] == 40101


def test_ads_auth_code_is_single_use(sandbox):
    page = sandbox.http.get(sandbox.url("/portal/auth"), params={
        "app_id": sandbox.settings.ads_app_id, "state": "s", "redirect_uri": ADS_REDIRECT_URI})
    nonce = re.search(r'name="nonce" value="([^"]+)"', page.text).group(1)
    resp = sandbox.http.post(sandbox.url("/portal/auth/decide"), data={"nonce": nonce, "accounts": "brassorbit3",
                                                                       "action": "grant"}, allow_redirects=False)
    code = parse_qs(urlsplit(resp.headers["Location"]).query)["auth_code"][0]
    body = {"app_id": sandbox.settings.ads_app_id, "secret": sandbox.settings.ads_secret, "auth_code": code}
    assert sandbox.post_json("oauth2/access_token/", body).json()["code"] == 0
    assert sandbox.post_json("oauth2/access_token/", body).json()["code"] == 40110


def test_advertisers_and_currency(sandbox):
    data = ads_connect(sandbox)
    assert len(data["advertiser_ids"]) == 2
    listed = get(sandbox, "oauth2/advertiser/get/", data["access_token"],
                 app_id=sandbox.settings.ads_app_id, secret=sandbox.settings.ads_secret)
    assert [a["advertiser_id"] for a in listed["data"]["list"]] == data["advertiser_ids"]
    assert all(a["advertiser_name"] for a in listed["data"]["list"])
    info = get(sandbox, "advertiser/info/", data["access_token"], advertiser_ids=data["advertiser_ids"][:1])
    assert info["data"]["list"][0]["currency"] == "USD" and info["data"]["list"][0]["name"]


def test_ads_include_spark_identities_pointing_at_demo_posts(sandbox):
    ads_data = ads_connect(sandbox, "brassorbit3")
    ads = get(sandbox, "ad/get/", ads_data["access_token"], advertiser_id=ads_data["advertiser_ids"][0],
              page=1, page_size=100)["data"]["list"]
    kinds = {a["identity_type"] for a in ads}
    assert "CUSTOMIZED_USER" in kinds and kinds & {"AUTH_CODE", "TT_USER", "BC_AUTH_TT"}
    account = sandbox.connect()
    ids, cursor = set(), None
    while True:
        page = sandbox.video_list(account["access_token"], account["open_id"], ["item_id"], max_count=20,
                                  **({"cursor": cursor} if cursor else {})).json()["data"]
        ids |= {v["item_id"] for v in page["videos"]}
        cursor = page["cursor"]
        if not page["has_more"]:
            break
    spark = [a for a in ads if a["identity_type"] != "CUSTOMIZED_USER"]
    # Most name their post by tiktok_item_id; some TT_USER / BC_AUTH_TT ads only by video_id.
    assert spark and all((a["tiktok_item_id"] or a["video_id"]) in ids for a in spark)


def test_report_values_are_strings_with_dashes_and_page_info(sandbox):
    data = ads_connect(sandbox, "brassorbit3")
    end = sandbox.state.today()
    start = end - dt.timedelta(days=30)
    body = get(sandbox, "report/integrated/get/", data["access_token"], advertiser_id=data["advertiser_ids"][0],
               report_type="BASIC", data_level="AUCTION_AD", service_type="AUCTION",
               dimensions=["ad_id", "stat_time_day"], metrics=["spend", "impressions", "clicks", "ctr", "cpm"],
               start_date=start.isoformat(), end_date=end.isoformat(), page=1, page_size=1000)
    assert body["code"] == 0
    rows = body["data"]["list"]
    assert rows and body["data"]["page_info"]["total_number"] == len(rows)
    assert body["data"]["page_info"]["total_page"] == 1
    for row in rows:
        assert re.fullmatch(r"\d{4}-\d\d-\d\d 00:00:00", row["dimensions"]["stat_time_day"])
        assert all(isinstance(v, str) for v in row["metrics"].values())
    assert any(row["metrics"]["ctr"] == "-" for row in rows)
    assert any(re.fullmatch(r"\d+\.\d\d", row["metrics"]["spend"]) and row["metrics"]["spend"] != "0.00" for row in rows)


def test_report_paging(sandbox):
    data = ads_connect(sandbox, "brassorbit3")
    end = sandbox.state.today()
    params = dict(advertiser_id=data["advertiser_ids"][0], report_type="BASIC", data_level="AUCTION_AD",
                  dimensions=["ad_id", "stat_time_day"], metrics=["spend"],
                  start_date=(end - dt.timedelta(days=30)).isoformat(), end_date=end.isoformat())
    total = get(sandbox, "report/integrated/get/", data["access_token"], page_size=1000, **params)["data"]
    first = get(sandbox, "report/integrated/get/", data["access_token"], page=1, page_size=5, **params)["data"]
    assert len(first["list"]) == 5 and first["page_info"]["total_page"] == -(-len(total["list"]) // 5)


@pytest.mark.parametrize("days", [31, 60])
def test_report_window_over_30_days_is_refused(sandbox, days):
    data = ads_connect(sandbox, "brassorbit3")
    end = sandbox.state.today()
    body = get(sandbox, "report/integrated/get/", data["access_token"], advertiser_id=data["advertiser_ids"][0],
               report_type="BASIC", data_level="AUCTION_AD", dimensions=["ad_id", "stat_time_day"],
               metrics=["spend"], start_date=(end - dt.timedelta(days=days)).isoformat(), end_date=end.isoformat())
    assert body["code"] == 40002


def test_other_advertiser_is_refused(sandbox):
    data = ads_connect(sandbox, "brassorbit3")
    body = get(sandbox, "ad/get/", data["access_token"], advertiser_id="7999999999999999999")
    assert body["code"] == 40001


# -- deleted ads, STATUS_ALL, ad_ids limits, video_id-only Spark Ads, >100 ads -------------------

SPARK = {"AUTH_CODE", "TT_USER", "BC_AUTH_TT"}
DELETED = "AD_STATUS_DELETE"


def report(sbx, token, advertiser_id, filtering=None, metrics=("spend", "impressions"), days=30, **extra):
    end = sbx.state.today()
    params = dict(advertiser_id=advertiser_id, report_type="BASIC", data_level="AUCTION_AD", service_type="AUCTION",
                  dimensions=["ad_id", "stat_time_day"], metrics=list(metrics), page_size=1000,
                  start_date=(end - dt.timedelta(days=days)).isoformat(), end_date=end.isoformat(), **extra)
    if filtering is not None:
        params["filtering"] = filtering
    return get(sbx, "report/integrated/get/", token, **params)


def ad_ids_filter(ids):
    return {"field_name": "ad_ids", "filter_type": "IN", "filter_value": json.dumps(ids)}


STATUS_ALL_FILTER = {"field_name": "ad_status", "filter_type": "IN", "filter_value": '["STATUS_ALL"]'}


def all_ads(sbx, data, advertiser=0, **filtering):
    body = get(sbx, "ad/get/", data["access_token"], advertiser_id=data["advertiser_ids"][advertiser],
               page_size=1000, **({"filtering": filtering} if filtering else {}))
    assert body["code"] == 0, body
    return body["data"]["list"]


@pytest.mark.parametrize("username", ["brassorbit3", "moontideco2", "quietfern7"])
def test_ad_get_hides_deleted_ads_unless_status_all(sandbox, username):
    data = ads_connect(sandbox, username)
    default = all_ads(sandbox, data)
    every = all_ads(sandbox, data, primary_status="STATUS_ALL")
    assert not [a for a in default if a["secondary_status"] == DELETED]
    deleted = [a for a in every if a["secondary_status"] == DELETED]
    assert deleted and all(a["identity_type"] in SPARK and a["operation_status"] == "DISABLE" for a in deleted)
    assert {a["ad_id"] for a in every} == {a["ad_id"] for a in default} | {a["ad_id"] for a in deleted}
    only_deleted = all_ads(sandbox, data, primary_status="STATUS_DELETE")
    assert [a["ad_id"] for a in only_deleted] == [a["ad_id"] for a in deleted]


@pytest.mark.parametrize("username", ["brassorbit3", "moontideco2", "quietfern7"])
def test_report_leaves_deleted_ads_out_unless_status_all(sandbox, username):
    data = ads_connect(sandbox, username)
    advertiser = data["advertiser_ids"][0]
    deleted = {a["ad_id"] for a in all_ads(sandbox, data, primary_status="STATUS_DELETE")}
    default = report(sandbox, data["access_token"], advertiser)["data"]["list"]
    assert default and not {r["dimensions"]["ad_id"] for r in default} & deleted
    every = report(sandbox, data["access_token"], advertiser, [STATUS_ALL_FILTER])["data"]["list"]
    rows = [r for r in every if r["dimensions"]["ad_id"] in deleted]
    # The deleted Spark Ad spent money in recent weeks: TikTok's default hides real spend.
    assert sum(float(r["metrics"]["spend"]) for r in rows) > 0
    assert len(every) == len(default) + len(rows)
    # Both filters together: the deleted ad's rows by id.
    both = report(sandbox, data["access_token"], advertiser, [ad_ids_filter(sorted(deleted)), STATUS_ALL_FILTER])
    assert {r["dimensions"]["ad_id"] for r in both["data"]["list"]} == deleted
    hidden = report(sandbox, data["access_token"], advertiser, [ad_ids_filter(sorted(deleted))])
    assert hidden["code"] == 0 and hidden["data"]["list"] == []


@pytest.mark.parametrize("username", ["brassorbit3", "moontideco2", "quietfern7"])
def test_a_spark_ad_names_its_post_only_by_video_id(sandbox, username):
    ads = all_ads(sandbox, ads_connect(sandbox, username))
    account = sandbox.connect(username=username)
    public = set()
    cursor = None
    while True:
        page = sandbox.video_list(account["access_token"], account["open_id"], ["item_id"], max_count=20,
                                  **({"cursor": cursor} if cursor else {})).json()["data"]
        public |= {v["item_id"] for v in page["videos"]}
        cursor = page["cursor"]
        if not page["has_more"]:
            break
    video_only = [a for a in ads if a["identity_type"] in {"TT_USER", "BC_AUTH_TT"} and a["tiktok_item_id"] == ""]
    assert video_only and all(a["video_id"] in public for a in video_only)
    # Non-Spark ads carry an ad-library video id that is no post.
    assert all(a["video_id"] and a["video_id"] not in public for a in ads if a["identity_type"] == "CUSTOMIZED_USER")


@pytest.mark.parametrize("filtering", [
    {"ad_ids": [str(7_000_000_000_000_000_000 + i) for i in range(101)]},
    {"ad_ids": []},
    {"primary_status": "STATUS_EVERYTHING"},
    {"status": "STATUS_ALL"},                 # not a filter of ad/get/
])
def test_bad_ad_get_filtering_is_invalid_params(sandbox, filtering):
    data = ads_connect(sandbox, "brassorbit3")
    body = get(sandbox, "ad/get/", data["access_token"], advertiser_id=data["advertiser_ids"][0], filtering=filtering)
    assert body["code"] == 40002


def test_ad_get_filtering_must_be_a_json_object(sandbox):
    data = ads_connect(sandbox, "brassorbit3")
    body = get(sandbox, "ad/get/", data["access_token"], advertiser_id=data["advertiser_ids"][0],
               filtering=[{"field_name": "ad_ids", "filter_type": "IN", "filter_value": "[]"}])
    assert body["code"] == 40002


def test_ad_get_by_up_to_100_ad_ids(sandbox):
    data = ads_connect(sandbox, "brassorbit3")
    every = all_ads(sandbox, data, primary_status="STATUS_ALL")
    wanted = [a["ad_id"] for a in every][:3]
    padding = [str(7_000_000_000_000_000_000 + i) for i in range(100 - len(wanted))]
    got = all_ads(sandbox, data, ad_ids=wanted + padding, primary_status="STATUS_ALL")
    assert sorted(a["ad_id"] for a in got) == sorted(wanted)


@pytest.mark.parametrize("filtering", [
    [ad_ids_filter([str(7_000_000_000_000_000_000 + i) for i in range(101)])],
    [ad_ids_filter([])],
    [{"field_name": "ad_ids", "filter_type": "IN", "filter_value": ["1"]}],          # must be a JSON string
    [{"field_name": "ad_ids", "filter_type": "MATCH", "filter_value": '["1"]'}],
    [{"field_name": "ad_status", "filter_type": "IN", "filter_value": '["EVERYTHING"]'}],
    [{"field_name": "campaign_name", "filter_type": "IN", "filter_value": '["x"]'}],
    [{"field_name": "ad_ids", "filter_value": '["1"]'}],
    [STATUS_ALL_FILTER, STATUS_ALL_FILTER],
    {"ad_status": "STATUS_ALL"},                                                       # a list, not an object
])
def test_bad_report_filtering_is_invalid_params(sandbox, filtering):
    data = ads_connect(sandbox, "brassorbit3")
    assert report(sandbox, data["access_token"], data["advertiser_ids"][0], filtering)["code"] == 40002


def test_more_than_100_spark_ads_through_the_control_endpoint(sandbox):
    resp = sandbox.http.post(sandbox.url("/_control/ads"), json={"username": "@BrassOrbit3", "extra_spark_ads": 130})
    assert resp.status_code == 200 and resp.json()["extra_spark_ads"] == {"brassorbit3": 130}
    data = ads_connect(sandbox, "brassorbit3")
    advertiser = data["advertiser_ids"][0]
    assert resp.json()["advertisers"] == {"brassorbit3": advertiser}
    every = all_ads(sandbox, data, primary_status="STATUS_ALL")
    spark = [a["ad_id"] for a in every if a["identity_type"] in SPARK]
    assert len(spark) > 130
    # One request may name at most 100 ad ids ...
    assert report(sandbox, data["access_token"], advertiser, [ad_ids_filter(spark), STATUS_ALL_FILTER])["code"] == 40002
    # ... so a client batches, and every Spark Ad delivered in the last 30 days.
    seen = set()
    for i in range(0, len(spark), 100):
        body = report(sandbox, data["access_token"], advertiser, [ad_ids_filter(spark[i:i + 100]), STATUS_ALL_FILTER])
        assert body["code"] == 0, body
        seen |= {r["dimensions"]["ad_id"] for r in body["data"]["list"]}
    extra = {a["ad_id"] for a in every if a["ad_name"].startswith("Spark boost #")}
    assert len(extra) == 130 and extra <= seen
    # Reset forgets them.
    sandbox.http.post(sandbox.url("/_control/reset"))
    assert sandbox.http.get(sandbox.url("/_control/ads")).json()["extra_spark_ads"] == {}
    data = ads_connect(sandbox, "brassorbit3")
    assert len(all_ads(sandbox, data, primary_status="STATUS_ALL")) == len(every) - 130


def test_more_than_100_spark_ads_through_the_settings(make_sandbox):
    sbx = make_sandbox(extra_spark_ads={"moontideco2": 101})
    data = ads_connect(sbx, "brassorbit3, moontideco2")
    assert len(all_ads(sbx, data, advertiser=1)) - len(all_ads(sbx, data, advertiser=0)) > 90
    sbx.http.post(sbx.url("/_control/reset"))  # settings survive a reset
    assert sbx.http.get(sbx.url("/_control/ads")).json()["extra_spark_ads"] == {"moontideco2": 101}


@pytest.mark.parametrize("body", [{"username": "brassorbit3"}, {"extra_spark_ads": 5},
                                  {"username": "brassorbit3", "extra_spark_ads": -1},
                                  {"username": "brassorbit3", "extra_spark_ads": "130"}])
def test_control_ads_rejects_bad_bodies(sandbox, body):
    assert sandbox.http.post(sandbox.url("/_control/ads"), json=body).status_code == 400

"""Marketing API stand-in: advertiser authorization, ads with identity types, daily report."""
import datetime as dt
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
    assert sandbox.post_json("oauth2/access_token/", body).json()["code"] == 40106


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

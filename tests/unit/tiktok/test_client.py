"""TikTokClient against requests-mock serving the canonical fixtures in tests/fixtures/tiktok/."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask import Flask

from app.tiktok import (
    AdsReportRow,
    AdvertiserInfo,
    ClientConfigError,
    InvalidGrant,
    SparkAd,
    TikTokClient,
    TokenSet,
    Video,
    get_client,
    pkce,
)
from app.tiktok.client import (
    DEFAULT_PROFILE_FIELDS,
    DEFAULT_TIMEOUT,
    DEFAULT_VIDEO_FIELDS,
    profile_fields_for,
    report_windows,
    video_fields_for,
)


def query(request) -> dict[str, list[str]]:
    """The exact query of a recorded request (requests-mock's `.qs` lowercases values)."""
    return parse_qs(urlsplit(request.url).query, keep_blank_values=True)


def only(values: list[str]) -> str:
    assert len(values) == 1
    return values[0]


# --- authorize URL ------------------------------------------------------------------

def test_authorize_url_carries_exact_params_and_never_the_verifier(client, tt):
    verifier = pkce.new_verifier()
    state = pkce.new_state()
    url = client.authorize_url(state, pkce.challenge(verifier))

    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == tt.AUTH_URL
    params = parse_qs(parts.query, keep_blank_values=True)
    assert {key: only(value) for key, value in params.items()} == {
        "client_key": tt.CLIENT_KEY,
        "response_type": "code",
        "scope": ",".join(tt.SCOPES),
        "redirect_uri": tt.REDIRECT_URI,
        "state": state,
        "code_challenge": pkce.challenge(verifier),
        "code_challenge_method": "S256",
    }
    assert verifier not in url
    assert tt.CLIENT_SECRET not in url
    assert "client_id" not in params


def test_authorize_url_redirect_uri_is_the_configured_constant_byte_for_byte(tt):
    odd = "https://app.logictarget.test/tiktok/auth/callback/?"[:-1]  # trailing slash kept
    client = tt.make_client(redirect_uri=odd)
    url = client.authorize_url("s", pkce.challenge(pkce.new_verifier()))
    assert only(parse_qs(urlsplit(url).query)["redirect_uri"]) == odd


def test_authorize_url_refuses_a_verifier_in_place_of_the_challenge(client):
    verifier = pkce.new_verifier()
    with pytest.raises(ValueError) as excinfo:
        client.authorize_url("state", verifier)
    assert verifier not in str(excinfo.value)


def test_authorize_url_appends_to_an_auth_url_with_a_query(tt):
    client = tt.make_client(auth_url="http://127.0.0.1:5000/sandbox/tiktok/v2/auth/authorize/?app=web")
    url = client.authorize_url("s", pkce.challenge(pkce.new_verifier()))
    assert url.startswith("http://127.0.0.1:5000/sandbox/tiktok/v2/auth/authorize/?app=web&client_key=")


# --- token endpoints ------------------------------------------------------------------

def test_exchange_code_posts_json_and_returns_tokenset(client, tt, requests_mock):
    route = requests_mock.post(tt.BASE + "tt_user/oauth2/token/", json=tt.load("token_success.json"))
    verifier = pkce.new_verifier()
    code = "Tk1*Z!xq~0-ab.cd%2A"  # TikTok codes contain * and !; passed through untouched

    tokens = client.exchange_code(code, verifier)

    sent = route.last_request
    assert sent.method == "POST"
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.json() == {
        "client_id": tt.CLIENT_KEY,
        "client_secret": tt.CLIENT_SECRET,
        "grant_type": "authorization_code",
        "auth_code": code,
        "redirect_uri": tt.REDIRECT_URI,
        "code_verifier": verifier,
    }
    assert sent.timeout == DEFAULT_TIMEOUT
    assert "Authorization" not in sent.headers
    data = tt.load("token_success.json")["data"]
    assert tokens == TokenSet(
        access_token=data["access_token"],
        refresh_token=data["refresh_token"],
        open_id=data["open_id"],
        scopes=tuple(data["scope"].split(",")),
        expires_in=86400,
        refresh_expires_in=31536000,
        token_type="Bearer",
    )
    assert tokens.missing_scopes(["video.list", "video.publish"]) == ("video.publish",)


def test_exchange_code_refuses_invalid_verifier_before_sending(client, requests_mock):
    with pytest.raises(ValueError):
        client.exchange_code("code", "too-short")
    assert requests_mock.call_count == 0


@pytest.mark.parametrize(
    ("fixture", "status"),
    [
        ("error_invalid_grant.json", 200),
        ("oauth_error_invalid_grant.json", 400),
        ("oauth_error_invalid_grant.json", 200),
        ("error_access_token_expired.json", 200),  # on a grant endpoint this means the grant was refused
    ],
)
def test_exchange_code_refused_is_invalid_grant(client, tt, requests_mock, fixture, status):
    requests_mock.post(tt.BASE + "tt_user/oauth2/token/", json=tt.load(fixture), status_code=status)
    with pytest.raises(InvalidGrant) as excinfo:
        client.exchange_code("code", pkce.new_verifier())
    assert excinfo.value.log_id


def test_exchange_code_with_wrong_app_credentials_is_client_config_error(client, tt, requests_mock):
    requests_mock.post(tt.BASE + "tt_user/oauth2/token/", json=tt.load("error_invalid_client.json"))
    with pytest.raises(ClientConfigError) as excinfo:
        client.exchange_code("code", pkce.new_verifier())
    assert excinfo.value.code == 40101


def test_refresh_returns_the_rotated_refresh_token(client, tt, requests_mock):
    route = requests_mock.post(tt.BASE + "tt_user/oauth2/refresh_token/", json=tt.load("refresh_success.json"))

    tokens = client.refresh(tt.REFRESH_TOKEN)

    assert route.last_request.json() == {
        "client_id": tt.CLIENT_KEY,
        "client_secret": tt.CLIENT_SECRET,
        "grant_type": "refresh_token",
        "refresh_token": tt.REFRESH_TOKEN,
    }
    data = tt.load("refresh_success.json")["data"]
    assert tokens.refresh_token == data["refresh_token"] != tt.REFRESH_TOKEN
    assert tokens.access_token == data["access_token"]
    assert tokens.refresh_expires_in == 31527314  # read from the response, never assumed
    assert tokens.expires_in == 86400


def test_refresh_without_refresh_token_in_response_keeps_the_old_one(client, tt, requests_mock):
    requests_mock.post(
        tt.BASE + "tt_user/oauth2/refresh_token/", json=tt.load("refresh_success_without_refresh_token.json")
    )
    tokens = client.refresh(tt.REFRESH_TOKEN)
    assert tokens.refresh_token == tt.REFRESH_TOKEN
    assert tokens.access_token == "act.fixtureAccessToken3mQ5s1"
    assert tokens.expires_in == 7200
    assert tokens.refresh_expires_in is None  # not stated: the stored horizon still holds


def test_login_kit_style_lifetime_name_is_accepted(client, tt, requests_mock):
    body = tt.load("refresh_success.json")
    data = body["data"]
    data["refresh_expires_in"] = data.pop("refresh_token_expires_in")
    requests_mock.post(tt.BASE + "tt_user/oauth2/refresh_token/", json=body)
    assert client.refresh(tt.REFRESH_TOKEN).refresh_expires_in == 31527314


@pytest.mark.parametrize("fixture", ["error_invalid_grant.json", "oauth_error_invalid_grant.json"])
def test_refused_refresh_is_invalid_grant(client, tt, requests_mock, fixture):
    requests_mock.post(tt.BASE + "tt_user/oauth2/refresh_token/", json=tt.load(fixture), status_code=400)
    with pytest.raises(InvalidGrant):
        client.refresh(tt.REFRESH_TOKEN)


def test_revoke_posts_the_access_token(client, tt, requests_mock):
    route = requests_mock.post(tt.BASE + "tt_user/oauth2/revoke/", json=tt.load("revoke_success.json"))
    assert client.revoke(tt.ACCESS_TOKEN) is None
    assert route.last_request.json() == {
        "client_id": tt.CLIENT_KEY,
        "client_secret": tt.CLIENT_SECRET,
        "access_token": tt.ACCESS_TOKEN,
    }


# --- Accounts API data ----------------------------------------------------------------

def test_business_profile_sends_access_token_header_and_json_fields(client, tt, requests_mock):
    route = requests_mock.get(tt.BASE + "business/get/", json=tt.load("business_get_success.json"))

    profile = client.get_business_profile(
        tt.ACCESS_TOKEN, tt.BUSINESS_ID, start_date=dt.date(2026, 5, 29), end_date=dt.date(2026, 5, 31)
    )

    sent = route.last_request
    assert sent.headers["Access-Token"] == tt.ACCESS_TOKEN
    assert "Authorization" not in sent.headers
    params = {key: only(value) for key, value in query(sent).items()}
    assert params["business_id"] == tt.BUSINESS_ID
    assert params["start_date"] == "2026-05-29" and params["end_date"] == "2026-05-31"
    fields = json.loads(params["fields"])
    assert fields == [*DEFAULT_PROFILE_FIELDS, "metrics"]  # daily rows come as the `metrics` field

    assert profile.business_id == profile.open_id == tt.BUSINESS_ID
    assert (profile.username, profile.display_name, profile.is_business_account) == ("brassorbit3", "Brass Orbit", True)
    assert (profile.followers_count, profile.following_count, profile.total_likes, profile.videos_count) == (
        48210, 312, 1420398, 187,
    )
    assert profile.avatar_url.startswith("https://")
    assert [day.date for day in profile.daily] == [dt.date(2026, 5, 29), dt.date(2026, 5, 30), dt.date(2026, 5, 31)]
    quirky = profile.daily[0]
    assert quirky.video_views == 13250 and quirky.likes == 1710 and quirky.followers_count == 47982
    assert quirky.profile_views is None and quirky.daily_lost_followers is None


def test_business_profile_without_dates_sends_none_and_custom_fields_as_json(client, tt, requests_mock):
    route = requests_mock.get(tt.BASE + "business/get/", json={"code": 0, "message": "OK", "request_id": "r", "data": {
        "display_name": "X", "profile_image": None}})
    profile = client.get_business_profile(tt.ACCESS_TOKEN, tt.BUSINESS_ID, fields=["display_name", "profile_image"])
    params = query(route.last_request)
    assert "start_date" not in params and "end_date" not in params
    assert only(params["fields"]) == '["display_name","profile_image"]'
    assert profile.daily == () and profile.followers_count is None


def test_business_profile_without_dates_asks_no_metrics(client, tt, requests_mock):
    route = requests_mock.get(tt.BASE + "business/get/", json=tt.load("business_get_success.json"))
    client.get_business_profile(tt.ACCESS_TOKEN, tt.BUSINESS_ID)
    assert json.loads(only(query(route.last_request)["fields"])) == list(DEFAULT_PROFILE_FIELDS)


def test_metrics_field_is_only_sent_with_a_date_range(client, tt, requests_mock):
    route = requests_mock.get(tt.BASE + "business/get/", json=tt.load("business_get_success.json"))
    fields = profile_fields_for(["user.info.basic", "user.insights"])
    client.get_business_profile(tt.ACCESS_TOKEN, tt.BUSINESS_ID, fields=fields)
    assert json.loads(only(query(route.last_request)["fields"])) == ["display_name", "profile_image"]
    client.get_business_profile(tt.ACCESS_TOKEN, tt.BUSINESS_ID, fields=fields,
                                start_date=dt.date(2026, 5, 1), end_date=dt.date(2026, 5, 2))
    assert json.loads(only(query(route.last_request)["fields"])) == ["display_name", "profile_image", "metrics"]


def test_fields_follow_granted_scopes():
    basic = ["user.info.basic", "video.list"]
    assert profile_fields_for(basic) == ("display_name", "profile_image")
    assert "metrics" in profile_fields_for([*basic, "user.insights"])
    assert "followers_count" in profile_fields_for([*basic, "user.info.stats"])
    assert "full_video_watched_rate" not in video_fields_for(basic)
    assert set(video_fields_for([*basic, "video.insights"])) == set(DEFAULT_VIDEO_FIELDS)
    assert video_fields_for(["user.info.basic"]) == ()


def test_business_profile_needs_both_dates(client):
    with pytest.raises(ValueError):
        client.get_business_profile("t", "b", start_date=dt.date(2026, 5, 1))
    with pytest.raises(ValueError):
        client.get_business_profile("t", "b", start_date=dt.date(2026, 5, 2), end_date=dt.date(2026, 5, 1))


def test_list_videos_parses_one_page(client, tt, requests_mock):
    route = requests_mock.get(tt.BASE + "business/video/list/", json=tt.load("video_list_page1.json"))

    page = client.list_videos(tt.ACCESS_TOKEN, tt.BUSINESS_ID, max_count=20)

    params = query(route.last_request)
    assert "cursor" not in params
    assert only(params["max_count"]) == "20"
    assert "full_video_watched_rate" in json.loads(only(params["fields"]))
    assert page.has_more is True and page.cursor == 1748599999000
    first = page.videos[0]
    assert first.item_id == "7380000000000000005" and isinstance(first.item_id, str)
    assert first.create_time == dt.datetime(2025, 5, 31, 14, 0, tzinfo=dt.timezone.utc)
    assert first.create_time.tzinfo is not None
    assert (first.video_views, first.likes, first.reach, first.full_video_watched_rate) == (21000, 2100, 16800, 0.31)
    assert first.is_ad is False


def test_big_numeric_item_id_stays_exact_text(client, tt, requests_mock):
    body = '{"code":0,"message":"OK","request_id":"r","data":{"videos":[{"item_id":7380000000000000123}],"has_more":false}}'
    requests_mock.get(tt.BASE + "business/video/list/", text=body)
    assert client.list_videos("t", "b").videos[0].item_id == "7380000000000000123"


@pytest.mark.parametrize("max_count", [0, 21])
def test_list_videos_max_count_is_bounded(client, max_count):
    with pytest.raises(ValueError):
        client.list_videos("t", "b", max_count=max_count)


def test_iter_videos_follows_cursors_through_short_pages(client, tt, requests_mock):
    route = requests_mock.get(tt.BASE + "business/video/list/", [
        {"json": tt.load("video_list_page1.json")},
        {"json": tt.load("video_list_page2.json")},
        {"json": tt.load("video_list_page3.json")},
    ])

    videos = list(client.iter_videos(tt.ACCESS_TOKEN, tt.BUSINESS_ID, max_count=20))

    assert [v.item_id for v in videos] == [
        "7380000000000000005", "7380000000000000004", "7380000000000000003", "7380000000000000002",
    ]
    cursors = [query(r).get("cursor") for r in route.request_history]
    assert cursors == [None, ["1748599999000"], ["1748499999000"]]
    assert videos[2].full_video_watched_rate == 0.22  # string in the fixture
    assert videos[3].reach is None and videos[3].full_video_watched_rate is None and videos[3].is_ad is True


def test_iter_videos_stops_on_a_repeated_cursor(client, tt, requests_mock, caplog):
    page = tt.load("video_list_page1.json")
    route = requests_mock.get(tt.BASE + "business/video/list/", json=page)
    videos = list(client.iter_videos(tt.ACCESS_TOKEN, tt.BUSINESS_ID))
    assert route.call_count == 2
    assert len(videos) == 4
    assert "repeated cursor" in caplog.text


def test_iter_videos_stops_when_has_more_comes_without_cursor(client, tt, requests_mock):
    body = tt.load("video_list_page1.json")
    body["data"]["cursor"] = None
    route = requests_mock.get(tt.BASE + "business/video/list/", json=body)
    assert len(list(client.iter_videos("t", "b"))) == 2
    assert route.call_count == 1


def test_iter_videos_is_lazy(client, tt, requests_mock):
    route = requests_mock.get(tt.BASE + "business/video/list/", json=tt.load("video_list_page1.json"))
    first = next(client.iter_videos("t", "b"))
    assert isinstance(first, Video)
    assert route.call_count == 1


# --- Marketing API --------------------------------------------------------------------

def test_ads_authorize_url(client, tt):
    url = client.ads_authorize_url("ads-state")
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == tt.ADS_AUTH_URL
    assert {k: only(v) for k, v in parse_qs(parts.query).items()} == {
        "app_id": tt.ADS_APP_ID, "state": "ads-state", "redirect_uri": tt.ADS_REDIRECT_URI,
    }
    assert tt.ADS_SECRET not in url


def test_ads_exchange(client, tt, requests_mock):
    route = requests_mock.post(tt.BASE + "oauth2/access_token/", json=tt.load("ads_access_token_success.json"))
    token = client.ads_exchange("ads-auth-code")
    assert route.last_request.json() == {"app_id": tt.ADS_APP_ID, "secret": tt.ADS_SECRET, "auth_code": "ads-auth-code"}
    assert token.access_token == "fixtureAdsAccessTokenQ8v2n5Xb"
    assert token.advertiser_ids == ("7001234567890123456", "7009876543210987654")
    assert token.scopes == ("4", "5", "8")
    assert "fixtureAdsAccessToken" not in repr(token)


def test_ads_calls_without_ads_settings_are_client_config_errors(tt, requests_mock):
    client = tt.make_client(ads_app_id=None, ads_secret=None)
    for call in (lambda: client.ads_authorize_url("s"), lambda: client.ads_exchange("c"),
                 lambda: client.list_advertisers("t")):
        with pytest.raises(ClientConfigError):
            call()
    assert requests_mock.call_count == 0


def test_list_advertisers(client, tt, requests_mock):
    route = requests_mock.get(tt.BASE + "oauth2/advertiser/get/", json=tt.load("ads_advertiser_get_success.json"))
    assert client.list_advertisers("ads-token") == [
        {"advertiser_id": "7001234567890123456", "advertiser_name": "Brass Orbit Ads"},
        {"advertiser_id": "7009876543210987654", "advertiser_name": "Moontide Co Ads"},
    ]
    sent = route.last_request
    assert sent.headers["Access-Token"] == "ads-token"
    assert {k: only(v) for k, v in query(sent).items()} == {"app_id": tt.ADS_APP_ID, "secret": tt.ADS_SECRET}


def test_get_advertiser_info(client, tt, requests_mock):
    route = requests_mock.get(tt.BASE + "advertiser/info/", json=tt.load("ads_advertiser_info_success.json"))
    info = client.get_advertiser_info("ads-token", tt.ADVERTISER_ID)
    assert info == AdvertiserInfo(tt.ADVERTISER_ID, "Brass Orbit Ads", "EUR", "Europe/Berlin")
    assert json.loads(only(query(route.last_request)["advertiser_ids"])) == [tt.ADVERTISER_ID]


def test_list_spark_ads_pages_and_keeps_only_spark_identity_types(client, tt, requests_mock):
    route = requests_mock.get(tt.BASE + "ad/get/", [
        {"json": tt.load("ads_ad_get_page1.json")}, {"json": tt.load("ads_ad_get_page2.json")},
    ])
    ads = client.list_spark_ads("ads-token", tt.ADVERTISER_ID)
    assert [(a.ad_id, a.identity_type, a.tiktok_item_id) for a in ads] == [
        ("1800000000000000101", "AUTH_CODE", "7380000000000000005"),
        ("1800000000000000103", "TT_USER", "7380000000000000004"),
        ("1800000000000000104", "BC_AUTH_TT", "7380000000000000003"),
    ]
    assert all(isinstance(a, SparkAd) and a.is_spark and a.advertiser_id == tt.ADVERTISER_ID for a in ads)
    assert [only(query(r)["page"]) for r in route.request_history] == ["1", "2"]
    assert only(query(route.last_request)["advertiser_id"]) == tt.ADVERTISER_ID


def test_ads_daily_report_parses_metric_strings_and_dashes(client, tt, requests_mock):
    requests_mock.get(tt.BASE + "advertiser/info/", json=tt.load("ads_advertiser_info_success.json"))
    route = requests_mock.get(tt.BASE + "report/integrated/get/", [
        {"json": tt.load("ads_report_page1.json")}, {"json": tt.load("ads_report_page2.json")},
    ])

    rows = client.ads_daily_report(
        "ads-token", tt.ADVERTISER_ID, dt.date(2026, 5, 30), dt.date(2026, 5, 31),
        ad_ids=["1800000000000000101", "1800000000000000103"],
    )

    assert rows == [
        AdsReportRow("1800000000000000101", dt.date(2026, 5, 30), 12000, 240, Decimal("36.50"), Decimal("2.00"),
                     Decimal("3.04"), "EUR"),
        AdsReportRow("1800000000000000103", dt.date(2026, 5, 30), None, None, Decimal("0.00"), None, None, "EUR"),
        AdsReportRow("1800000000000000101", dt.date(2026, 5, 31), 9800, 150, Decimal("30.10"), Decimal("1.53"),
                     Decimal("3.07"), "EUR"),
    ]
    params = {k: only(v) for k, v in query(route.request_history[0]).items()}
    assert params["report_type"] == "BASIC" and params["service_type"] == "AUCTION"
    assert params["data_level"] == "AUCTION_AD"
    assert json.loads(params["dimensions"]) == ["ad_id", "stat_time_day"]
    assert {"spend", "impressions", "clicks", "ctr", "cpm"} <= set(json.loads(params["metrics"]))
    assert (params["start_date"], params["end_date"], params["page"]) == ("2026-05-30", "2026-05-31", "1")
    filtering = json.loads(params["filtering"])
    assert filtering[0]["field_name"] == "ad_ids" and filtering[0]["filter_type"] == "IN"
    assert json.loads(filtering[0]["filter_value"]) == ["1800000000000000101", "1800000000000000103"]


def test_ads_daily_report_splits_long_ranges_into_30_day_windows(client, tt, requests_mock):
    empty = {"code": 0, "message": "OK", "request_id": "r",
             "data": {"list": [], "page_info": {"page": 1, "page_size": 1000, "total_number": 0, "total_page": 0}}}
    route = requests_mock.get(tt.BASE + "report/integrated/get/", json=empty)
    rows = client.ads_daily_report("t", tt.ADVERTISER_ID, dt.date(2026, 1, 1), dt.date(2026, 3, 6), currency="USD")
    windows = [(only(query(r)["start_date"]), only(query(r)["end_date"])) for r in route.request_history]
    assert windows == [("2026-01-01", "2026-01-30"), ("2026-01-31", "2026-03-01"), ("2026-03-02", "2026-03-06")]
    assert rows == []
    assert "filtering" not in query(route.last_request)


def test_ads_daily_report_with_no_ads_asks_nothing(client, requests_mock):
    assert client.ads_daily_report("t", "a", dt.date(2026, 1, 1), dt.date(2026, 1, 2), ad_ids=[]) == []
    assert requests_mock.call_count == 0


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (dt.date(2026, 1, 1), dt.date(2026, 1, 1), 1),
        (dt.date(2026, 1, 1), dt.date(2026, 1, 30), 1),
        (dt.date(2026, 1, 1), dt.date(2026, 1, 31), 2),
        (dt.date(2026, 1, 1), dt.date(2026, 12, 31), 13),
        (dt.date(2026, 1, 2), dt.date(2026, 1, 1), 0),
    ],
)
def test_report_windows_cover_the_range_without_gaps(start, end, expected):
    windows = report_windows(start, end)
    assert len(windows) == expected
    for (a_start, a_end), (b_start, _) in zip(windows, windows[1:]):
        assert b_start == a_end + dt.timedelta(days=1)
    assert all((w_end - w_start).days < 30 for w_start, w_end in windows)
    if windows:
        assert windows[0][0] == start and windows[-1][1] == end


# --- construction -----------------------------------------------------------------------

def test_get_client_builds_from_config_once_and_caches_it(tt):
    app = Flask("tiktok-client-test")
    app.config.update(
        TIKTOK_AUTH_URL=tt.AUTH_URL, TIKTOK_BUSINESS_API_BASE=tt.BASE, TIKTOK_ADS_AUTH_URL=tt.ADS_AUTH_URL,
        TIKTOK_CLIENT_KEY=tt.CLIENT_KEY, TIKTOK_CLIENT_SECRET=tt.CLIENT_SECRET, TIKTOK_REDIRECT_URI=tt.REDIRECT_URI,
        TIKTOK_SCOPES=list(tt.SCOPES), TIKTOK_ADS_APP_ID=tt.ADS_APP_ID, TIKTOK_ADS_SECRET=tt.ADS_SECRET,
        TIKTOK_ADS_REDIRECT_URI=tt.ADS_REDIRECT_URI, TIKTOK_HTTP_TIMEOUT=7.5,
    )
    client = get_client(app)
    assert isinstance(client, TikTokClient)
    assert get_client(app) is client is app.extensions["tiktok"]
    assert client.timeout == (3.05, 7.5)
    assert client.redirect_uri == tt.REDIRECT_URI and client.scopes == tuple(tt.SCOPES)
    assert tt.CLIENT_SECRET not in repr(client)


def test_default_session_pools_connections_and_never_retries(client):
    adapter = client._session.get_adapter("https://business-api.tiktok.com/")
    assert adapter.max_retries.total == 0


def test_injected_session_is_used(tt, requests_mock):
    session = requests.Session()
    client = tt.make_client(session=session, timeout=(1, 2))
    route = requests_mock.post(tt.BASE + "tt_user/oauth2/revoke/", json=tt.load("revoke_success.json"))
    client.revoke("t")
    assert route.last_request.timeout == (1, 2)
    assert client._session is session


@pytest.mark.parametrize(
    "overrides",
    [{"client_secret": ""}, {"client_key": ""}, {"redirect_uri": ""}, {"scopes": []}, {"scopes": ["a,b"]}],
)
def test_bad_settings_fail_at_construction(tt, overrides):
    with pytest.raises(ClientConfigError):
        tt.make_client(**overrides)


def test_base_url_without_trailing_slash_still_joins(tt, requests_mock):
    client = tt.make_client(business_api_base=tt.BASE.rstrip("/"))
    requests_mock.post(tt.BASE + "tt_user/oauth2/revoke/", json=tt.load("revoke_success.json"))
    client.revoke("t")

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
    RateLimited,
    SparkAd,
    TikTokClient,
    TikTokError,
    TokenInvalid,
    TokenSet,
    Unavailable,
    Video,
    get_client,
    pkce,
)
from app.tiktok import fields as documented
from app.tiktok.client import (
    DEFAULT_PROFILE_FIELDS,
    DEFAULT_TIMEOUT,
    DEFAULT_VIDEO_FIELDS,
    REPORT_METRICS,
    SPARK_AD_FIELDS,
    SYNC_VIDEO_FIELDS,
    insight_fields_for,
    profile_fields_for,
    report_windows,
    video_fields_for,
)
from app.tiktok.types import TokenInfo

ALL_SCOPES = sorted({*documented.BUSINESS_GET_FIELDS.values(), *documented.VIDEO_FIELDS.values()})


def query(request) -> dict[str, list[str]]:
    """The exact query of a recorded request (requests-mock's `.qs` lowercases values)."""
    return parse_qs(urlsplit(request.url).query, keep_blank_values=True)


def only(values: list[str]) -> str:
    assert len(values) == 1
    return values[0]


def ok(data: dict) -> dict:
    return {"code": 0, "message": "OK", "request_id": "r", "data": data}


def token_info_route(requests_mock, tt, *, scope: str | None = None, **kwargs):
    """`tt_user/token_info/get/` answering `kwargs` (a requests-mock response) or a live token with `scope`."""
    if not kwargs:
        body = tt.load("token_info_success.json")
        if scope is not None:
            body["data"]["scope"] = scope
        kwargs = {"json": body}
    return requests_mock.post(tt.BASE + "tt_user/token_info/get/", **kwargs)


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


def test_authorize_url_without_a_challenge_sends_no_pkce_parameters(client, tt):
    url = client.authorize_url("s", None)
    params = parse_qs(urlsplit(url).query, keep_blank_values=True)
    assert "code_challenge" not in params and "code_challenge_method" not in params
    assert only(params["scope"]) == ",".join(tt.SCOPES) and only(params["state"]) == "s"


def test_authorize_url_scopes_narrow_the_request(client):
    url = client.authorize_url("s", pkce.challenge(pkce.new_verifier()), scopes=["user.info.basic"])
    assert only(parse_qs(urlsplit(url).query)["scope"]) == "user.info.basic"
    url = client.authorize_url("s", None, scopes=("user.info.basic", "video.list"))
    assert only(parse_qs(urlsplit(url).query)["scope"]) == "user.info.basic,video.list"


@pytest.mark.parametrize("scopes", [[], ["a,b"], ["user.info.basic", ""], ["two words"]])
def test_authorize_url_refuses_scopes_that_are_not_scope_names(client, scopes):
    with pytest.raises(ValueError):
        client.authorize_url("s", None, scopes=scopes)


def test_authorize_url_needs_a_state(client):
    with pytest.raises(ValueError):
        client.authorize_url("", None)


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


def test_exchange_code_without_a_verifier_sends_none(client, tt, requests_mock):
    route = requests_mock.post(tt.BASE + "tt_user/oauth2/token/", json=tt.load("token_success.json"))
    client.exchange_code("code*!", None)
    assert "code_verifier" not in route.last_request.json()
    assert route.last_request.json()["auth_code"] == "code*!"


def test_exchange_code_refuses_invalid_verifier_before_sending(client, requests_mock):
    with pytest.raises(ValueError):
        client.exchange_code("code", "too-short")
    with pytest.raises(ValueError):
        client.exchange_code("", pkce.new_verifier())
    assert requests_mock.call_count == 0


@pytest.mark.parametrize(
    ("fixture", "status"),
    [
        ("error_auth_code_invalid.json", 200),  # 40110: the one documented code for a refused code
        ("error_auth_code_invalid.json", 400),
        ("oauth_error_invalid_grant.json", 400),
        ("oauth_error_invalid_grant.json", 200),
    ],
)
def test_exchange_code_refused_is_invalid_grant(client, tt, requests_mock, fixture, status):
    requests_mock.post(tt.BASE + "tt_user/oauth2/token/", json=tt.load(fixture), status_code=status)
    with pytest.raises(InvalidGrant) as excinfo:
        client.exchange_code("code", pkce.new_verifier())
    assert excinfo.value.log_id


def test_exchange_code_oauth_style_token_invalid_means_the_grant_was_refused(client, tt, requests_mock):
    body = {"error": "access_token_invalid", "error_description": "bad", "log_id": "L"}
    requests_mock.post(tt.BASE + "tt_user/oauth2/token/", json=body, status_code=401)
    with pytest.raises(InvalidGrant):
        client.exchange_code("code", None)


@pytest.mark.parametrize("fixture", ["error_undocumented_40106.json", "error_undocumented_40104.json",
                                     "error_other.json"])
def test_exchange_code_with_an_undocumented_code_is_a_plain_tiktok_error(client, tt, requests_mock, fixture):
    """No token to ask token_info about: an unknown code on the exchange is not read as anything."""
    requests_mock.post(tt.BASE + "tt_user/oauth2/token/", json=tt.load(fixture))
    info = token_info_route(requests_mock, tt)
    with pytest.raises(TikTokError) as excinfo:
        client.exchange_code("code", pkce.new_verifier())
    assert type(excinfo.value) is TikTokError and excinfo.value.code == tt.load(fixture)["code"]
    assert info.call_count == 0


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


@pytest.mark.parametrize("fixture", ["error_auth_code_invalid.json", "oauth_error_invalid_grant.json"])
def test_refresh_refused_with_a_known_answer_is_invalid_grant_without_asking_token_info(
    client, tt, requests_mock, fixture
):
    requests_mock.post(tt.BASE + "tt_user/oauth2/refresh_token/", json=tt.load(fixture), status_code=400)
    info = token_info_route(requests_mock, tt)
    with pytest.raises(InvalidGrant):
        client.refresh(tt.REFRESH_TOKEN, access_token=tt.ACCESS_TOKEN)
    assert info.call_count == 0


def test_refresh_undocumented_code_without_an_access_token_is_invalid_grant(client, tt, requests_mock):
    requests_mock.post(tt.BASE + "tt_user/oauth2/refresh_token/", json=tt.load("error_undocumented_40106.json"))
    info = token_info_route(requests_mock, tt)
    with pytest.raises(InvalidGrant) as excinfo:
        client.refresh(tt.REFRESH_TOKEN)
    assert excinfo.value.code == 40106 and excinfo.value.log_id == "20260601120000INVALIDGRANT00001"
    assert info.call_count == 0


def test_refresh_undocumented_code_with_a_dead_access_token_is_invalid_grant(client, tt, requests_mock):
    requests_mock.post(tt.BASE + "tt_user/oauth2/refresh_token/", json=tt.load("error_undocumented_40106.json"))
    info = token_info_route(requests_mock, tt, json=tt.load("error_undocumented_40104.json"))
    with pytest.raises(InvalidGrant) as excinfo:
        client.refresh(tt.REFRESH_TOKEN, access_token=tt.ACCESS_TOKEN)
    assert excinfo.value.code == 40106  # the refresh's own code and id, not token_info's
    assert info.last_request.json() == {"app_id": tt.CLIENT_KEY, "access_token": tt.ACCESS_TOKEN}


def test_refresh_undocumented_code_with_a_live_access_token_stays_a_plain_error(client, tt, requests_mock):
    """The grant is alive: this refusal is something else, and reconnecting would be wrong."""
    requests_mock.post(tt.BASE + "tt_user/oauth2/refresh_token/", json=tt.load("error_undocumented_40106.json"))
    info = token_info_route(requests_mock, tt)
    with pytest.raises(TikTokError) as excinfo:
        client.refresh(tt.REFRESH_TOKEN, access_token=tt.ACCESS_TOKEN)
    assert type(excinfo.value) is TikTokError and excinfo.value.code == 40106
    assert info.call_count == 1


@pytest.mark.parametrize("answer", [
    {"json": {"code": 40100, "message": "slow", "request_id": "r", "data": {}}},
    {"status_code": 503, "text": "<html>down</html>"},
    {"exc": requests.exceptions.ConnectTimeout},
], ids=["throttled", "5xx", "timeout"])
def test_refresh_undocumented_code_when_token_info_cannot_tell_stays_a_plain_error(client, tt, requests_mock, answer):
    requests_mock.post(tt.BASE + "tt_user/oauth2/refresh_token/", json=tt.load("error_undocumented_40106.json"))
    token_info_route(requests_mock, tt, **answer)
    with pytest.raises(TikTokError) as excinfo:
        client.refresh(tt.REFRESH_TOKEN, access_token=tt.ACCESS_TOKEN)
    assert type(excinfo.value) is TikTokError and excinfo.value.code == 40106


@pytest.mark.parametrize(("answer", "error_class"), [
    ({"json": {"code": 40100, "message": "slow", "request_id": "r", "data": {}}}, RateLimited),
    ({"status_code": 502, "text": ""}, Unavailable),
    ({"json": {"code": 40101, "message": "bad app", "request_id": "r", "data": {}}}, ClientConfigError),
], ids=["throttled", "5xx", "client-config"])
def test_refresh_typed_failures_pass_through_without_token_info(client, tt, requests_mock, answer, error_class):
    requests_mock.post(tt.BASE + "tt_user/oauth2/refresh_token/", **answer)
    info = token_info_route(requests_mock, tt)
    with pytest.raises(error_class):
        client.refresh(tt.REFRESH_TOKEN, access_token=tt.ACCESS_TOKEN)
    assert info.call_count == 0


def test_revoke_posts_the_access_token(client, tt, requests_mock):
    route = requests_mock.post(tt.BASE + "tt_user/oauth2/revoke/", json=tt.load("revoke_success.json"))
    assert client.revoke(tt.ACCESS_TOKEN) is None
    assert route.last_request.json() == {
        "client_id": tt.CLIENT_KEY,
        "client_secret": tt.CLIENT_SECRET,
        "access_token": tt.ACCESS_TOKEN,
    }


def test_revoke_of_a_token_tiktok_already_refuses_is_token_invalid(client, tt, requests_mock):
    requests_mock.post(tt.BASE + "tt_user/oauth2/revoke/", json=tt.load("error_undocumented_40104.json"))
    token_info_route(requests_mock, tt, json=tt.load("error_undocumented_40104.json"))
    with pytest.raises(TokenInvalid):
        client.revoke(tt.ACCESS_TOKEN)


def test_revoke_refused_for_a_live_token_is_a_plain_error(client, tt, requests_mock):
    requests_mock.post(tt.BASE + "tt_user/oauth2/revoke/", json=tt.load("error_other.json"))
    token_info_route(requests_mock, tt)
    with pytest.raises(TikTokError) as excinfo:
        client.revoke(tt.ACCESS_TOKEN)
    assert type(excinfo.value) is TikTokError


# --- token_info -------------------------------------------------------------------------

def test_token_info_posts_app_id_and_token_and_returns_scopes(client, tt, requests_mock):
    route = token_info_route(requests_mock, tt)
    info = client.token_info(tt.ACCESS_TOKEN)
    sent = route.last_request
    assert sent.method == "POST" and sent.headers["Content-Type"] == "application/json"
    assert sent.json() == {"app_id": tt.CLIENT_KEY, "access_token": tt.ACCESS_TOKEN}
    data = tt.load("token_info_success.json")["data"]
    assert info == TokenInfo(app_id=data["app_id"], creator_id=data["creator_id"],
                             scopes=tuple(data["scope"].split(",")))
    assert tt.ACCESS_TOKEN not in repr(info)


@pytest.mark.parametrize("fixture", [
    "error_undocumented_40104.json", "error_undocumented_40105.json", "error_undocumented_40001.json",
    "error_undocumented_40106.json", "error_other.json",
    # 40110 is mapped to InvalidGrant elsewhere; on token_info it too means "not usable".
    "error_auth_code_invalid.json",
])
@pytest.mark.parametrize("status", [200, 400, 401])
def test_token_info_refusal_means_the_token_is_dead(client, tt, requests_mock, fixture, status):
    token_info_route(requests_mock, tt, json=tt.load(fixture), status_code=status)
    with pytest.raises(TokenInvalid) as excinfo:
        client.token_info(tt.ACCESS_TOKEN)
    assert excinfo.value.code == tt.load(fixture)["code"]
    assert excinfo.value.log_id == tt.load(fixture)["request_id"]


@pytest.mark.parametrize(("answer", "error_class"), [
    ({"json": {"code": 40100, "message": "slow", "request_id": "r", "data": {}}}, RateLimited),
    ({"json": {"code": 40101, "message": "bad app", "request_id": "r", "data": {}}}, ClientConfigError),
    ({"status_code": 500, "text": ""}, Unavailable),
    ({"exc": requests.exceptions.ReadTimeout}, Unavailable),
], ids=["throttled", "client-config", "5xx", "timeout"])
def test_token_info_that_cannot_tell_keeps_its_own_error(client, tt, requests_mock, answer, error_class):
    token_info_route(requests_mock, tt, **answer)
    with pytest.raises(error_class) as excinfo:
        client.token_info(tt.ACCESS_TOKEN)
    assert type(excinfo.value) is error_class


@pytest.mark.parametrize(("data", "expected"), [
    ({"app_id": 7000000000000000042, "creator_id": "oid", "scope": "video.list, user.info.basic,video.list"},
     TokenInfo("7000000000000000042", "oid", ("video.list", "user.info.basic"))),
    ({"scope": ["user.info.basic", "user.insights"]}, TokenInfo(None, None, ("user.info.basic", "user.insights"))),
    ({"app_id": "", "creator_id": "", "scope": ""}, TokenInfo(None, None, ())),
])
def test_token_info_reads_scopes_as_text_or_list(data, expected):
    assert TokenInfo.from_api(data) == expected


def test_token_info_needs_a_token(client, requests_mock):
    with pytest.raises(ValueError):
        client.token_info("")
    assert requests_mock.call_count == 0


# --- fields -------------------------------------------------------------------------------

def test_profile_fields_follow_granted_scopes():
    assert profile_fields_for(["user.info.basic", "video.list"]) == ("display_name", "profile_image")
    assert "followers_count" in profile_fields_for(["user.info.basic", "user.info.stats"])
    assert "is_verified" in profile_fields_for(["user.info.profile"])
    every = profile_fields_for(ALL_SCOPES)
    assert set(every) == set(documented.PROFILE_FIELDS)
    # Profile only: never a daily metric or a demographic, whatever the scopes.
    assert not set(every) & (set(documented.DAILY_METRIC_FIELDS) | set(documented.DEMOGRAPHIC_FIELDS))


def test_insight_fields_follow_granted_scopes():
    assert insight_fields_for(["user.info.basic"]) == ("display_name", "profile_image")
    with_insights = insight_fields_for(["user.info.basic", "user.insights"])
    assert set(with_insights) == {"display_name", "profile_image", *documented.DAILY_METRIC_FIELDS,
                                  *documented.DEMOGRAPHIC_FIELDS}
    assert set(insight_fields_for(ALL_SCOPES)) == set(documented.BUSINESS_GET_FIELDS)
    assert "metrics" not in insight_fields_for(ALL_SCOPES)


def test_video_fields_follow_granted_scopes():
    basic = ["user.info.basic", "video.list"]
    assert "item_id" in video_fields_for(basic) and "favorites" in video_fields_for(basic)
    assert not {"full_video_watched_rate", "video_view_retention", "total_time_watched"} & set(video_fields_for(basic))
    assert set(video_fields_for([*basic, "video.insights"])) == set(SYNC_VIDEO_FIELDS) == set(DEFAULT_VIDEO_FIELDS)
    assert video_fields_for(["user.info.basic", "video.insights"]) == ()  # no video.list, no call
    assert list(video_fields_for(ALL_SCOPES)) == [f for f in documented.VIDEO_FIELDS if f in SYNC_VIDEO_FIELDS]


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
    assert params.keys() == {"business_id", "fields", "start_date", "end_date"}
    assert params["business_id"] == tt.BUSINESS_ID
    assert params["start_date"] == "2026-05-29" and params["end_date"] == "2026-05-31"
    assert json.loads(params["fields"]) == list(DEFAULT_PROFILE_FIELDS) == list(documented.PROFILE_FIELDS)
    assert params["fields"].startswith('["display_name","profile_image"')  # compact JSON text

    assert profile.business_id == profile.open_id == tt.BUSINESS_ID
    assert (profile.username, profile.display_name, profile.is_business_account) == ("brassorbit3", "Brass Orbit", True)
    assert (profile.followers_count, profile.following_count, profile.total_likes, profile.videos_count) == (
        48210, 312, 1420398, 187,
    )
    assert profile.avatar_url.startswith("https://p16-sign-va.tiktokcdn.com/")


def test_business_profile_reads_every_daily_metric_by_name(client, tt, requests_mock):
    requests_mock.get(tt.BASE + "business/get/", json=tt.load("business_get_success.json"))
    profile = client.get_business_profile(tt.ACCESS_TOKEN, tt.BUSINESS_ID, fields=insight_fields_for(ALL_SCOPES),
                                          start_date=dt.date(2026, 5, 29), end_date=dt.date(2026, 5, 31))
    assert [day.date for day in profile.daily] == [dt.date(2026, 5, 29), dt.date(2026, 5, 30), dt.date(2026, 5, 31)]
    quirky, normal, _ = profile.daily
    assert (normal.video_views, normal.unique_video_views, normal.profile_views, normal.likes, normal.comments,
            normal.shares) == (15200, 11020, 410, 1900, 88, 51)
    assert (normal.followers_count, normal.daily_total_followers, normal.daily_new_followers,
            normal.daily_lost_followers, normal.engaged_audience) == (48100, 118, 140, 22, 930)
    assert normal.clicks == {"bio_link_clicks": 37, "phone_number_clicks": 2, "email_clicks": 5, "address_clicks": 1,
                             "app_download_clicks": 0, "lead_submissions": 3}
    # Strings parse, "-" and null are "no figure", never 0.
    assert quirky.video_views == 13250 and quirky.unique_video_views == 9870 and quirky.followers_count == 47982
    assert quirky.profile_views is None and quirky.daily_lost_followers is None and quirky.daily_total_followers is None
    assert quirky.clicks == {"email_clicks": 4, "app_download_clicks": 0}
    assert quirky.audience_activity == ()  # not in this answer


def test_business_profile_reads_hourly_audience_activity_per_day(client, tt, requests_mock):
    route = requests_mock.get(tt.BASE + "business/get/", json=tt.load("business_get_audience_activity.json"))
    profile = client.get_business_profile(tt.ACCESS_TOKEN, tt.BUSINESS_ID, fields=["audience_activity"],
                                          start_date=dt.date(2026, 5, 29), end_date=dt.date(2026, 5, 31))
    assert json.loads(only(query(route.last_request)["fields"])) == ["audience_activity"]
    first = profile.daily[0]
    assert first.date == dt.date(2026, 5, 29)
    assert [hour for hour, _ in first.audience_activity] == list(range(24))  # "0".."23" as numbers
    assert first.audience_activity[:2] == ((0, 36), (1, 54))
    assert first.video_views is None and first.clicks == {}


def test_audience_activity_is_sorted_and_skips_entries_without_figures(client, tt, requests_mock):
    day = {"date": "2026-05-30", "audience_activity": [
        {"hour": "13", "count": 5}, {"hour": "2", "count": "7"}, {"hour": "4", "count": "-"}, {"hour": None, "count": 1},
    ]}
    requests_mock.get(tt.BASE + "business/get/", json=ok({"metrics": [day]}))
    profile = client.get_business_profile("t", "b", fields=["audience_activity"])
    assert profile.daily[0].audience_activity == ((2, 7), (13, 5))


@pytest.mark.parametrize("entry", [{"hour": "24", "count": 1}, {"hour": "-1", "count": 1}, {"hour": "x", "count": 1},
                                   "not an object"])
def test_audience_activity_outside_a_day_is_bad_response(client, tt, requests_mock, entry):
    from app.tiktok import BadResponse

    requests_mock.get(tt.BASE + "business/get/", json=ok({"metrics": [{"date": "2026-05-30",
                                                                       "audience_activity": [entry]}]}))
    with pytest.raises(BadResponse):
        client.get_business_profile("t", "b", fields=["audience_activity"])


def test_business_profile_reads_demographics_as_label_share_pairs(client, tt, requests_mock):
    route = requests_mock.get(tt.BASE + "business/get/", json=tt.load("business_get_demographics.json"))
    profile = client.get_business_profile(tt.ACCESS_TOKEN, tt.BUSINESS_ID,
                                          fields=list(documented.DEMOGRAPHIC_FIELDS))
    assert "start_date" not in query(route.last_request)
    demographics = profile.demographics
    assert demographics.ages[0] == ("18-24", 0.4127) and demographics.ages[-1] == ("55+", 0.0429)
    assert demographics.genders == (("Female", 0.6211), ("Male", 0.3602), ("Other", 0.0187))
    assert demographics.countries[0] == ("US", 0.4411)
    assert demographics.cities == (("London", 0.0812), ("New York", 0.0733), ("Berlin", 0.0411))
    assert bool(demographics) and profile.daily == ()


def test_demographics_entries_without_label_or_share_are_skipped_and_absent_is_empty(client, tt, requests_mock):
    data = {"audience_countries": [{"country": "US", "percentage": "0.5"}, {"country": None, "percentage": 0.1},
                                   {"country": "GB", "percentage": "-"}]}
    requests_mock.get(tt.BASE + "business/get/", json=ok(data))
    profile = client.get_business_profile("t", "b", fields=["audience_countries"])
    assert profile.demographics.countries == (("US", 0.5),)
    assert profile.demographics.ages == () and profile.demographics.cities == ()
    requests_mock.get(tt.BASE + "business/get/", json=ok({"display_name": "x"}))
    assert not client.get_business_profile("t", "b", fields=["display_name"]).demographics


@pytest.mark.parametrize("fields", [["metrics"], ["display_name", "metrics"], ["followers"], ["item_id"],
                                    ["audience_activity", "audience_types"]])
def test_business_profile_refuses_undocumented_fields_before_sending(client, requests_mock, fields):
    with pytest.raises(ValueError) as excinfo:
        client.get_business_profile("t", "b", fields=fields, start_date=dt.date(2026, 5, 1), end_date=dt.date(2026, 5, 2))
    assert "fields.py" in str(excinfo.value)
    assert requests_mock.call_count == 0


def test_business_profile_without_dates_sends_none_and_custom_fields_as_json(client, tt, requests_mock):
    route = requests_mock.get(tt.BASE + "business/get/", json=ok({"display_name": "X", "profile_image": None}))
    profile = client.get_business_profile(tt.ACCESS_TOKEN, tt.BUSINESS_ID, fields=["display_name", "profile_image"])
    params = query(route.last_request)
    assert "start_date" not in params and "end_date" not in params
    assert only(params["fields"]) == '["display_name","profile_image"]'
    assert profile.daily == () and profile.followers_count is None and profile.avatar_url is None


def test_daily_metrics_without_dates_leave_the_range_to_tiktok(client, tt, requests_mock):
    """Without dates TikTok answers its default range (the 7 days ending yesterday): the client adds none."""
    route = requests_mock.get(tt.BASE + "business/get/", json=tt.load("business_get_success.json"))
    client.get_business_profile(tt.ACCESS_TOKEN, tt.BUSINESS_ID, fields=["video_views", "daily_new_followers"])
    params = query(route.last_request)
    assert "start_date" not in params and "end_date" not in params
    assert json.loads(only(params["fields"])) == ["video_views", "daily_new_followers"]


def test_business_profile_needs_both_dates_in_order(client, requests_mock):
    with pytest.raises(ValueError):
        client.get_business_profile("t", "b", start_date=dt.date(2026, 5, 1))
    with pytest.raises(ValueError):
        client.get_business_profile("t", "b", end_date=dt.date(2026, 5, 1))
    with pytest.raises(ValueError):
        client.get_business_profile("t", "b", start_date=dt.date(2026, 5, 2), end_date=dt.date(2026, 5, 1))
    assert requests_mock.call_count == 0


@pytest.mark.parametrize(("url", "kept"), [
    ("https://p16.tiktokcdn.com/a.jpeg", True),
    ("HTTPS://p16.tiktokcdn.com/a.jpeg", True),
    ("http://p16.tiktokcdn.com/a.jpeg", False),
    ("javascript:alert(1)", False),
    ("data:image/svg+xml;base64,PHN2Zz4=", False),
    ("//p16.tiktokcdn.com/a.jpeg", False),
    ("", False),
])
def test_media_urls_are_kept_only_when_https(client, tt, requests_mock, url, kept):
    requests_mock.get(tt.BASE + "business/get/", json=ok({"profile_image": url}))
    requests_mock.get(tt.BASE + "business/video/list/", json=ok({"videos": [
        {"item_id": "7380000000000000001", "thumbnail_url": url, "share_url": url}], "has_more": False}))
    assert client.get_business_profile("t", "b", fields=["profile_image"]).avatar_url == (url if kept else None)
    video = client.list_videos("t", "b", fields=["item_id", "thumbnail_url", "share_url"]).videos[0]
    assert (video.thumbnail_url, video.share_url) == ((url, url) if kept else (None, None))


def test_http_media_urls_are_kept_only_for_the_local_sandbox(tt, requests_mock):
    url = "http://127.0.0.1:5000/sandbox/tiktok/static/avatar.svg"
    requests_mock.get(tt.BASE + "business/get/", json=ok({"profile_image": url}))
    requests_mock.get(tt.BASE + "business/video/list/", json=ok({"videos": [
        {"item_id": "7380000000000000001", "thumbnail_url": url, "share_url": "javascript:alert(1)"}]}))
    sandbox_client = tt.make_client(allow_http_media=True)
    assert sandbox_client.get_business_profile("t", "b", fields=["profile_image"]).avatar_url == url
    video = sandbox_client.list_videos("t", "b", fields=["item_id", "thumbnail_url", "share_url"]).videos[0]
    assert video.thumbnail_url == url and video.share_url is None  # still never javascript:
    assert "avatar" not in repr(sandbox_client.get_business_profile("t", "b", fields=["profile_image"]))


def test_list_videos_parses_one_page(client, tt, requests_mock):
    route = requests_mock.get(tt.BASE + "business/video/list/", json=tt.load("video_list_page1.json"))

    page = client.list_videos(tt.ACCESS_TOKEN, tt.BUSINESS_ID, max_count=20)

    params = query(route.last_request)
    assert "cursor" not in params and "filters" not in params
    assert only(params["max_count"]) == "20"
    assert json.loads(only(params["fields"])) == list(SYNC_VIDEO_FIELDS)
    assert page.has_more is True and page.cursor == 1748599999000
    first = page.videos[0]
    assert first.item_id == "7380000000000000005" and isinstance(first.item_id, str)
    assert first.create_time == dt.datetime(2025, 5, 31, 14, 0, tzinfo=dt.timezone.utc)
    assert first.create_time.tzinfo is not None
    assert (first.video_views, first.likes, first.reach, first.full_video_watched_rate) == (21000, 2100, 16800, 0.31)
    assert (first.favorites, first.video_duration, first.media_type) == (240, 20.001, "VIDEO")
    assert first.is_ad is False
    assert first.thumbnail_url.startswith("https://") and first.share_url.startswith("https://www.tiktok.com/@")


def test_list_videos_reads_the_video_insights(client, tt, requests_mock):
    requests_mock.get(tt.BASE + "business/video/list/", json=tt.load("video_list_insights.json"))
    videos = client.list_videos(tt.ACCESS_TOKEN, tt.BUSINESS_ID, video_ids=["7380000000000000005"]).videos
    newest, _, strings, idle = videos
    assert (newest.total_time_watched, newest.average_time_watched, newest.new_followers, newest.profile_views) == (
        170520.4, 8.12, 61, 540)
    assert newest.video_view_retention[0] == (0, 1.0)  # TikTok sends the second as a string
    assert [second for second, _ in newest.video_view_retention] == [0, 1, 2, 3, 5, 8, 13]
    assert all(type(second) is int and type(share) is float for second, share in newest.video_view_retention)
    assert newest.impression_sources == (("For You", 0.78), ("Follow", 0.09), ("Personal Profile", 0.07),
                                         ("Search", 0.06))
    assert dict(newest.audience_types) == {"NEW_VIEWER": 0.82, "RETURN_VIEWER": 0.18, "FOLLOWER_PERCENT": 0.21,
                                           "NON_FOLLOWER_PERCENT": 0.79}
    assert (strings.total_time_watched, strings.average_time_watched, strings.new_followers, strings.profile_views) == (
        61200.5, 6.8, 12, None)
    assert (idle.total_time_watched, idle.video_view_retention, idle.impression_sources, idle.audience_types) == (
        None, (), (), ())


def test_video_favorites_are_also_read_from_the_sdks_misspelling(client, tt, requests_mock):
    requests_mock.get(tt.BASE + "business/video/list/", json=ok({"videos": [
        {"item_id": "7380000000000000001", "favorities": "12"},
        {"item_id": "7380000000000000002", "favorites": 3, "favorities": 99},
        {"item_id": "7380000000000000003"},
    ]}))
    videos = client.list_videos("t", "b", fields=["item_id", "favorites"]).videos
    assert [v.favorites for v in videos] == [12, 3, None]


def test_video_view_retention_is_sorted_and_ignores_gaps(client, tt, requests_mock):
    requests_mock.get(tt.BASE + "business/video/list/", json=ok({"videos": [{"item_id": "7380000000000000001",
        "video_view_retention": [{"second": "10", "percentage": 0.2}, {"second": "2", "percentage": "0.7"},
                                 {"second": "3", "percentage": None}]}]}))
    video = client.list_videos("t", "b", fields=["item_id", "video_view_retention"]).videos[0]
    assert video.video_view_retention == ((2, 0.7), (10, 0.2))


def test_list_videos_by_id_sends_filters(client, tt, requests_mock):
    route = requests_mock.get(tt.BASE + "business/video/list/", json=tt.load("video_list_insights.json"))
    ids = [f"73800000000000000{n:02d}" for n in range(20)]
    client.list_videos(tt.ACCESS_TOKEN, tt.BUSINESS_ID, video_ids=ids)
    params = query(route.last_request)
    assert json.loads(only(params["filters"])) == {"video_ids": ids}
    assert only(params["filters"]).startswith('{"video_ids":["')  # compact JSON text
    client.list_videos(tt.ACCESS_TOKEN, tt.BUSINESS_ID, video_ids=(7380000000000000005,))
    assert json.loads(only(query(route.last_request)["filters"])) == {"video_ids": ["7380000000000000005"]}


@pytest.mark.parametrize("count", [0, 21])
def test_list_videos_by_id_takes_1_to_20_ids(client, requests_mock, count):
    with pytest.raises(ValueError):
        client.list_videos("t", "b", video_ids=[str(7380000000000000000 + n) for n in range(count)])
    assert requests_mock.call_count == 0


@pytest.mark.parametrize("fields", [["metrics"], ["item_id", "views"], ["followers_count"], ["audience_ages"]])
def test_list_videos_refuses_undocumented_fields_before_sending(client, requests_mock, fields):
    with pytest.raises(ValueError) as excinfo:
        client.list_videos("t", "b", fields=fields)
    assert "fields.py" in str(excinfo.value)
    assert requests_mock.call_count == 0


def test_list_videos_always_asks_item_id_with_other_fields(client, tt, requests_mock):
    route = requests_mock.get(tt.BASE + "business/video/list/", json=tt.load("video_list_page1.json"))
    client.list_videos("t", "b", fields=["caption", "likes"])
    assert json.loads(only(query(route.last_request)["fields"])) == ["item_id", "caption", "likes"]
    client.list_videos("t", "b", fields=["item_id"])
    assert json.loads(only(query(route.last_request)["fields"])) == ["item_id"]


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
    assert videos[2].full_video_watched_rate == 0.22 and videos[2].favorites == 88  # strings in the fixture
    assert videos[2].video_duration == 15.2
    assert videos[3].reach is None and videos[3].full_video_watched_rate is None and videos[3].is_ad is True
    assert videos[3].favorites is None


def test_iter_videos_passes_fields_to_every_page(client, tt, requests_mock):
    route = requests_mock.get(tt.BASE + "business/video/list/", [
        {"json": tt.load("video_list_page1.json")}, {"json": tt.load("video_list_page2.json")},
        {"json": tt.load("video_list_page3.json")},
    ])
    fields = video_fields_for(["video.list"])
    list(client.iter_videos("t", "b", fields=fields))
    assert {only(query(r)["fields"]) for r in route.request_history} == {json.dumps(list(fields), separators=(",", ":"))}


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


def test_list_spark_ads_asks_every_status_and_keeps_only_spark_identity_types(client, tt, requests_mock):
    route = requests_mock.get(tt.BASE + "ad/get/", [
        {"json": tt.load("ads_ad_get_page1.json")}, {"json": tt.load("ads_ad_get_page2.json")},
    ])
    ads = client.list_spark_ads("ads-token", tt.ADVERTISER_ID)
    assert [(a.ad_id, a.identity_type, a.post_item_id) for a in ads] == [
        ("1800000000000000101", "AUTH_CODE", "7380000000000000005"),
        ("1800000000000000103", "TT_USER", "7380000000000000004"),
        ("1800000000000000104", "BC_AUTH_TT", "7380000000000000003"),
        ("1800000000000000105", "AUTH_CODE", "7380000000000000002"),  # deleted, still ours
    ]
    assert all(isinstance(a, SparkAd) and a.is_spark and a.advertiser_id == tt.ADVERTISER_ID for a in ads)
    by_video_id = ads[1]
    assert by_video_id.tiktok_item_id is None and by_video_id.video_id == "7380000000000000004"
    assert ads[0].video_id is None  # "" is no id
    assert [only(query(r)["page"]) for r in route.request_history] == ["1", "2"]
    for sent in route.request_history:
        params = {k: only(v) for k, v in query(sent).items()}
        assert params["advertiser_id"] == tt.ADVERTISER_ID
        assert json.loads(params["filtering"]) == {"primary_status": "STATUS_ALL"}
        assert json.loads(params["fields"]) == list(SPARK_AD_FIELDS)
        assert sent.headers["Access-Token"] == "ads-token"


def test_spark_ad_post_item_id_prefers_tiktok_item_id():
    ad = SparkAd.from_api({"ad_id": "1", "identity_type": "TT_USER", "tiktok_item_id": "7380000000000000009",
                           "video_id": "7380000000000000008"}, advertiser_id="a")
    assert ad.post_item_id == "7380000000000000009"
    ad = SparkAd.from_api({"ad_id": "1", "identity_type": "TT_USER", "tiktok_item_id": None, "video_id": ""},
                          advertiser_id="a")
    assert ad.post_item_id is None


STATUS_FILTER = {"field_name": "ad_status", "filter_type": "IN", "filter_value": '["STATUS_ALL"]'}


def test_ads_daily_report_parses_metric_strings_and_dashes(client, tt, requests_mock):
    requests_mock.get(tt.BASE + "advertiser/info/", json=tt.load("ads_advertiser_info_success.json"))
    route = requests_mock.get(tt.BASE + "report/integrated/get/", [
        {"json": tt.load("ads_report_page1.json")}, {"json": tt.load("ads_report_page2.json")},
    ])

    rows = client.ads_daily_report(
        "ads-token", tt.ADVERTISER_ID, dt.date(2026, 5, 30), dt.date(2026, 5, 31),
        ad_ids=["1800000000000000101", "1800000000000000103", "1800000000000000105"],
    )

    assert [(r.ad_id, r.day) for r in rows] == [
        ("1800000000000000101", dt.date(2026, 5, 30)), ("1800000000000000103", dt.date(2026, 5, 30)),
        ("1800000000000000101", dt.date(2026, 5, 31)), ("1800000000000000105", dt.date(2026, 5, 31)),
    ]
    assert rows[0] == AdsReportRow(
        "1800000000000000101", dt.date(2026, 5, 30), impressions=12000, clicks=240, spend=Decimal("36.50"),
        ctr=Decimal("2.00"), cpm=Decimal("3.04"), currency="EUR", reach=9100, frequency=Decimal("1.32"),
        video_play_actions=11500, video_watched_2s=6100, video_watched_6s=3900, video_views_p100=1450, likes=820,
        comments=41, shares=19, follows=33, profile_visits=210,
    )
    assert rows[1] == AdsReportRow("1800000000000000103", dt.date(2026, 5, 30), spend=Decimal("0.00"), currency="EUR")
    params = {k: only(v) for k, v in query(route.request_history[0]).items()}
    assert params["report_type"] == "BASIC" and params["service_type"] == "AUCTION"
    assert params["data_level"] == "AUCTION_AD"
    assert json.loads(params["dimensions"]) == ["ad_id", "stat_time_day"]
    assert json.loads(params["metrics"]) == list(REPORT_METRICS)
    assert (params["start_date"], params["end_date"], params["page"]) == ("2026-05-30", "2026-05-31", "1")
    filtering = json.loads(params["filtering"])
    assert filtering == [
        {"field_name": "ad_ids", "filter_type": "IN",
         "filter_value": json.dumps(["1800000000000000101", "1800000000000000103", "1800000000000000105"])},
        STATUS_FILTER,
    ]


def test_ads_daily_report_splits_long_ranges_into_30_day_windows_and_asks_every_status(client, tt, requests_mock):
    empty = ok({"list": [], "page_info": {"page": 1, "page_size": 1000, "total_number": 0, "total_page": 0}})
    route = requests_mock.get(tt.BASE + "report/integrated/get/", json=empty)
    rows = client.ads_daily_report("t", tt.ADVERTISER_ID, dt.date(2026, 1, 1), dt.date(2026, 3, 6), currency="USD")
    windows = [(only(query(r)["start_date"]), only(query(r)["end_date"])) for r in route.request_history]
    assert windows == [("2026-01-01", "2026-01-30"), ("2026-01-31", "2026-03-01"), ("2026-03-02", "2026-03-06")]
    assert rows == []
    # No ad_ids filter, but deleted ads are still asked for.
    assert all(json.loads(only(query(r)["filtering"])) == [STATUS_FILTER] for r in route.request_history)


def test_ads_daily_report_batches_ad_ids_by_100(client, tt, requests_mock):
    empty = ok({"list": [], "page_info": {"page": 1, "page_size": 1000, "total_number": 0, "total_page": 0}})
    route = requests_mock.get(tt.BASE + "report/integrated/get/", json=empty)
    ids = [str(1800000000000000000 + n) for n in range(230)]
    client.ads_daily_report("t", tt.ADVERTISER_ID, dt.date(2026, 1, 1), dt.date(2026, 2, 15), ad_ids=ids,
                            currency="USD")
    asked = []
    for sent in route.request_history:
        ad_filter, status = json.loads(only(query(sent)["filtering"]))
        assert status == STATUS_FILTER and ad_filter["field_name"] == "ad_ids" and ad_filter["filter_type"] == "IN"
        batch = json.loads(ad_filter["filter_value"])
        assert 1 <= len(batch) <= documented.REPORT_MAX_AD_IDS
        asked.append((tuple(batch), only(query(sent)["start_date"])))
    assert len(route.request_history) == 3 * 2  # 3 batches × 2 windows
    assert sorted(len(b) for b in {batch for batch, _ in asked}) == [30, 100, 100]
    assert sorted(i for batch in {batch for batch, _ in asked} for i in batch) == sorted(ids)  # each id once
    assert {start for _, start in asked} == {"2026-01-01", "2026-01-31"}


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
    assert client.allow_http_media is False  # only the sandbox serves http media
    assert tt.CLIENT_SECRET not in repr(client)


def test_get_client_allows_http_media_for_the_sandbox_only(tt):
    app = Flask("tiktok-client-test")
    app.config.update(
        TIKTOK_AUTH_URL=tt.AUTH_URL, TIKTOK_BUSINESS_API_BASE=tt.BASE, TIKTOK_ADS_AUTH_URL=tt.ADS_AUTH_URL,
        TIKTOK_CLIENT_KEY=tt.CLIENT_KEY, TIKTOK_CLIENT_SECRET=tt.CLIENT_SECRET, TIKTOK_REDIRECT_URI=tt.REDIRECT_URI,
        TIKTOK_SCOPES="user.info.basic, video.list", TIKTOK_SANDBOX=True,
    )
    client = get_client(app)
    assert client.allow_http_media is True and client.scopes == ("user.info.basic", "video.list")


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

"""Every fault kind maps to its typed error, and no secret reaches a log line or an exception."""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from app.tiktok import (
    BadResponse,
    ClientConfigError,
    InvalidGrant,
    RateLimited,
    ScopeMissing,
    TikTokError,
    TokenInvalid,
    TokenSet,
    Unavailable,
    interpret_response,
    pkce,
)
from app.tiktok.client import DEFAULT_TIMEOUT, RedactQuerySecrets, install_log_redaction

PROFILE = "business/get/"
VIDEOS = "business/video/list/"
ADVERTISERS = "oauth2/advertiser/get/"
TOKEN_INFO = "tt_user/token_info/get/"


def call_profile(client, tt):
    return client.get_business_profile(tt.ACCESS_TOKEN, tt.BUSINESS_ID)


def call_videos(client, tt):
    return client.list_videos(tt.ACCESS_TOKEN, tt.BUSINESS_ID)


def call_advertisers(client, tt):
    return client.list_advertisers(tt.ACCESS_TOKEN)


DATA_CALLS = [(PROFILE, call_profile), (VIDEOS, call_videos), (ADVERTISERS, call_advertisers)]


# --- fault kinds → typed errors ---------------------------------------------------------

@pytest.mark.parametrize(("path", "call"), DATA_CALLS)
def test_40100_in_http_200_is_rate_limited_with_default_retry_after(client, tt, requests_mock, path, call):
    requests_mock.get(tt.BASE + path, json=tt.load("error_rate_limited.json"), status_code=200)
    with pytest.raises(RateLimited) as excinfo:
        call(client, tt)
    error = excinfo.value
    assert error.retry_after == 60.0
    assert error.code == 40100
    assert error.log_id == "20260601120000RATELIMITED000001"
    assert error.retryable is True


def test_40100_on_a_token_endpoint_is_rate_limited_too(client, tt, requests_mock):
    requests_mock.post(tt.BASE + "tt_user/oauth2/refresh_token/", json=tt.load("error_rate_limited.json"))
    with pytest.raises(RateLimited):
        client.refresh(tt.REFRESH_TOKEN)


@pytest.mark.parametrize(
    ("status", "kwargs"),
    [
        (429, {"text": ""}),
        (429, {"json": {"error": {"code": "rate_limit_exceeded", "message": "slow down", "log_id": "L1"}}}),
        (429, {"text": "<html>Too Many Requests</html>"}),
        (200, {"json": {"code": "40100", "message": "string code", "request_id": "r"}}),
    ],
)
def test_http_429_and_variants_are_rate_limited(client, tt, requests_mock, status, kwargs):
    requests_mock.get(tt.BASE + PROFILE, status_code=status, **kwargs)
    with pytest.raises(RateLimited):
        call_profile(client, tt)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"Retry-After": "2.5"}, 2.5),
        ({"X-RateLimit-Reset": "30"}, 30.0),
        ({"X-RateLimit-Reset": "1780000090"}, 90.0),  # epoch seconds
        ({"Retry-After": email.utils.formatdate(1780000120, usegmt=True)}, 120.0),
        ({"Retry-After": "soon"}, 60.0),
        ({"Retry-After": "-5"}, 0.0),
        ({"Retry-After": "nan"}, 60.0),
        ({}, 60.0),
    ],
)
def test_retry_after_comes_from_headers_when_present(headers, expected):
    with pytest.raises(RateLimited) as excinfo:
        interpret_response(429, headers, b"", now=1780000000.0)
    assert excinfo.value.retry_after == pytest.approx(expected)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
@pytest.mark.parametrize("body", [b"", b"<html>Bad Gateway</html>", json.dumps({"code": 50000}).encode()])
def test_5xx_is_unavailable(client, tt, requests_mock, status, body):
    requests_mock.get(tt.BASE + VIDEOS, status_code=status, content=body)
    with pytest.raises(Unavailable) as excinfo:
        call_videos(client, tt)
    assert excinfo.value.http_status == status
    assert excinfo.value.retryable is True


def test_5xx_with_tiktok_envelope_keeps_its_log_id(client, tt, requests_mock):
    requests_mock.get(tt.BASE + VIDEOS, status_code=500, json=tt.load("error_internal.json"))
    with pytest.raises(Unavailable) as excinfo:
        call_videos(client, tt)
    assert excinfo.value.log_id == "20260601120000INTERNAL00000001"
    assert excinfo.value.code == 50000


@pytest.mark.parametrize(
    "exc",
    [
        requests.exceptions.ConnectTimeout,
        requests.exceptions.ReadTimeout,
        requests.exceptions.Timeout,
        requests.exceptions.ConnectionError,
        requests.exceptions.SSLError,
        requests.exceptions.ChunkedEncodingError,
    ],
)
@pytest.mark.parametrize(("path", "call"), DATA_CALLS)
def test_transport_failures_are_unavailable(client, tt, requests_mock, exc, path, call):
    requests_mock.get(tt.BASE + path, exc=exc(f"boom for {tt.BASE}{path}?app_id=1&secret={tt.ADS_SECRET}"))
    with pytest.raises(Unavailable) as excinfo:
        call(client, tt)
    error = excinfo.value
    assert error.__cause__ is None and error.__suppress_context__ is True
    assert tt.ADS_SECRET not in str(error) and tt.ADS_SECRET not in repr(error)
    assert "http" not in str(error)  # our own message, no URL
    assert exc.__name__ in str(error)


def test_unusable_base_url_is_client_config_error(tt, requests_mock):
    client = tt.make_client(business_api_base="business-api.tiktok.com/open_api/v1.3/")
    with pytest.raises(ClientConfigError):
        client.revoke("t")


@pytest.mark.parametrize(
    ("status", "kwargs"),
    [
        (200, {"text": "{not json"}),
        (200, {"text": ""}),
        (200, {"text": "<html><body>maintenance</body></html>"}),
        (200, {"json": ["a", "list"]}),
        (200, {"json": {"message": "OK", "data": {}}}),  # no code
        (200, {"json": {"code": "abc", "data": {}}}),
        (200, {"json": {"code": True, "data": {}}}),
        (200, {"json": {"code": 0, "data": ["not", "an", "object"]}}),
        (302, {"headers": {"Location": "https://elsewhere.test/"}, "text": ""}),
        (404, {"text": "<html>Not Found</html>"}),
        (401, {"json": {"code": 0, "message": "OK", "data": {}}}),
    ],
)
def test_unreadable_answers_are_bad_response(client, tt, requests_mock, status, kwargs):
    requests_mock.get(tt.BASE + PROFILE, status_code=status, **kwargs)
    with pytest.raises(BadResponse):
        call_profile(client, tt)


@pytest.mark.parametrize(
    "data",
    [
        {"metrics": "not a list"},
        {"metrics": [{"date": "yesterday"}]},
        {"followers_count": "12.5"},
        {"followers_count": "NaN"},
        {"followers_count": True},
        {"is_business_account": "yes"},
    ],
)
def test_bad_shapes_inside_data_are_bad_response(client, tt, requests_mock, data):
    requests_mock.get(tt.BASE + PROFILE, json={"code": 0, "message": "OK", "request_id": "r", "data": data})
    with pytest.raises(BadResponse):
        call_profile(client, tt)


@pytest.mark.parametrize(
    ("fixture", "error_class", "code"),
    [
        ("error_invalid_client.json", ClientConfigError, 40101),
        ("error_auth_code_invalid.json", InvalidGrant, 40110),
    ],
)
@pytest.mark.parametrize("status", [200, 400, 401])
@pytest.mark.parametrize(("path", "call"), DATA_CALLS)
def test_documented_body_codes_map_to_typed_errors_whatever_the_status(
    client, tt, requests_mock, fixture, error_class, code, status, path, call
):
    requests_mock.get(tt.BASE + path, json=tt.load(fixture), status_code=status)
    info = requests_mock.post(tt.BASE + TOKEN_INFO, json=tt.load("token_info_success.json"))
    with pytest.raises(error_class) as excinfo:
        call(client, tt)
    assert type(excinfo.value) is error_class
    assert excinfo.value.code == code
    assert excinfo.value.log_id == tt.load(fixture)["request_id"]
    assert excinfo.value.retryable is False
    assert info.call_count == 0  # a documented code needs no second opinion


def test_code_0_is_success_and_interpret_response_returns_the_data():
    body = json.dumps({"code": 0, "message": "m", "request_id": "r", "data": {}}).encode()
    assert interpret_response(200, {}, body) == {}


@pytest.mark.parametrize("code", [40100, 40101, 40110])
def test_only_documented_codes_are_mapped_by_interpret_response(code):
    body = json.dumps({"code": code, "message": "m", "request_id": "r", "data": {}}).encode()
    with pytest.raises(TikTokError) as excinfo:
        interpret_response(200, {}, body)
    assert type(excinfo.value) is {40100: RateLimited, 40101: ClientConfigError, 40110: InvalidGrant}[code]


@pytest.mark.parametrize("code", [1, 40001, 40002, 40104, 40105, 40106, 40102, 50000, -1])
@pytest.mark.parametrize("grant", [False, True])
def test_every_other_code_is_a_plain_tiktok_error_from_interpret_response(code, grant):
    body = json.dumps({"code": code, "message": "m", "request_id": "r", "data": {}}).encode()
    with pytest.raises(TikTokError) as excinfo:
        interpret_response(200, {}, body, grant=grant)
    assert type(excinfo.value) is TikTokError and excinfo.value.code == code


UNDOCUMENTED = ["error_undocumented_40104.json", "error_undocumented_40105.json", "error_undocumented_40001.json",
                "error_undocumented_40106.json", "error_other.json"]
ACCOUNTS_CALLS = [(PROFILE, call_profile), (VIDEOS, call_videos)]
DEAD = {"json": {"code": 40104, "message": "token dead", "request_id": "TI-DEAD", "data": {}}}


def alive(tt, scope: str | None = None) -> dict:
    body = tt.load("token_info_success.json")
    if scope is not None:
        body["data"]["scope"] = scope
    return {"json": body}


@pytest.mark.parametrize("fixture", UNDOCUMENTED)
@pytest.mark.parametrize("status", [200, 400, 401])
@pytest.mark.parametrize(("path", "call"), ACCOUNTS_CALLS)
def test_undocumented_code_with_a_token_tiktok_refuses_is_token_invalid(
    client, tt, requests_mock, fixture, status, path, call
):
    requests_mock.get(tt.BASE + path, json=tt.load(fixture), status_code=status)
    info = requests_mock.post(tt.BASE + TOKEN_INFO, **DEAD)
    with pytest.raises(TokenInvalid) as excinfo:
        call(client, tt)
    error = excinfo.value
    # The data call's own code and request id, so support can find it.
    assert (error.code, error.log_id, error.http_status) == (tt.load(fixture)["code"], tt.load(fixture)["request_id"],
                                                             status)
    assert error.__cause__ is None and error.__suppress_context__ is True
    assert info.call_count == 1
    assert info.last_request.json() == {"app_id": tt.CLIENT_KEY, "access_token": tt.ACCESS_TOKEN}


@pytest.mark.parametrize("fixture", UNDOCUMENTED)
@pytest.mark.parametrize(("path", "call"), ACCOUNTS_CALLS)
def test_undocumented_code_with_a_live_token_and_its_scopes_is_the_original_error(
    client, tt, requests_mock, fixture, path, call
):
    requests_mock.get(tt.BASE + path, json=tt.load(fixture))
    requests_mock.post(tt.BASE + TOKEN_INFO, **alive(tt))
    with pytest.raises(TikTokError) as excinfo:
        call(client, tt)
    assert type(excinfo.value) is TikTokError
    assert (excinfo.value.code, excinfo.value.log_id) == (tt.load(fixture)["code"], tt.load(fixture)["request_id"])


@pytest.mark.parametrize(("path", "call", "granted", "missing"), [
    # Default profile fields need user.info.stats (followers_count, …) among others.
    (PROFILE, call_profile, "user.info.basic,user.info.username,user.info.profile,user.account.type",
     "user.info.stats"),
    # The default video fields include watch time and retention: video.insights.
    (VIDEOS, call_videos, "user.info.basic,video.list", "video.insights"),
    # No video.list at all: the endpoint itself is out of reach.
    (VIDEOS, lambda client, tt: client.list_videos(tt.ACCESS_TOKEN, tt.BUSINESS_ID, fields=["item_id"]),
     "user.info.basic,user.insights", "video.list"),
])
def test_undocumented_code_with_a_live_token_missing_a_needed_scope_is_scope_missing(
    client, tt, requests_mock, path, call, granted, missing
):
    requests_mock.get(tt.BASE + path, json=tt.load("error_undocumented_40001.json"))
    requests_mock.post(tt.BASE + TOKEN_INFO, **alive(tt, granted))
    with pytest.raises(ScopeMissing) as excinfo:
        call(client, tt)
    assert missing in str(excinfo.value)
    assert excinfo.value.code == 40001 and excinfo.value.log_id == "20260601120000SCOPEMISSING00001"


def test_scope_missing_is_judged_by_the_fields_asked_not_by_every_scope(client, tt, requests_mock):
    """A token without video.insights asking only video.list fields: the refusal is something else."""
    requests_mock.get(tt.BASE + VIDEOS, json=tt.load("error_other.json"))
    requests_mock.post(tt.BASE + TOKEN_INFO, **alive(tt, "user.info.basic,video.list"))
    with pytest.raises(TikTokError) as excinfo:
        client.list_videos(tt.ACCESS_TOKEN, tt.BUSINESS_ID, fields=["item_id", "likes", "reach"])
    assert type(excinfo.value) is TikTokError


@pytest.mark.parametrize("answer", [
    {"json": {"code": 40100, "message": "slow", "request_id": "TI", "data": {}}},
    {"json": {"code": 40100, "message": "slow", "request_id": "TI", "data": {}}, "status_code": 429},
    {"status_code": 500, "json": {"code": 50000, "message": "x", "request_id": "TI", "data": {}}},
    {"status_code": 503, "text": "<html>down</html>"},
    {"exc": requests.exceptions.ReadTimeout},
    {"text": "{not json"},
    {"json": {"code": 40101, "message": "app refused", "request_id": "TI", "data": {}}},
], ids=["throttled", "429", "5xx", "html-503", "timeout", "malformed", "client-config"])
@pytest.mark.parametrize(("path", "call"), ACCOUNTS_CALLS)
def test_undocumented_code_when_token_info_cannot_tell_is_the_original_error(
    client, tt, requests_mock, answer, path, call
):
    requests_mock.get(tt.BASE + path, json=tt.load("error_undocumented_40104.json"))
    requests_mock.post(tt.BASE + TOKEN_INFO, **answer)
    with pytest.raises(TikTokError) as excinfo:
        call(client, tt)
    assert type(excinfo.value) is TikTokError
    assert excinfo.value.code == 40104 and excinfo.value.log_id == "20260601120000TOKENINVALID00001"


@pytest.mark.parametrize("fixture", UNDOCUMENTED)
def test_undocumented_code_on_the_marketing_api_is_a_plain_error_without_token_info(client, tt, requests_mock,
                                                                                     fixture):
    requests_mock.get(tt.BASE + ADVERTISERS, json=tt.load(fixture))
    info = requests_mock.post(tt.BASE + TOKEN_INFO, **DEAD)
    with pytest.raises(TikTokError) as excinfo:
        call_advertisers(client, tt)
    assert type(excinfo.value) is TikTokError
    assert info.call_count == 0  # an advertiser token is not an Accounts API token


@pytest.mark.parametrize(("path", "call"), ACCOUNTS_CALLS)
def test_typed_failures_of_data_calls_need_no_token_info(client, tt, requests_mock, path, call):
    requests_mock.get(tt.BASE + path, [{"json": tt.load("error_rate_limited.json")}, {"status_code": 502},
                                      {"text": "{"}])
    info = requests_mock.post(tt.BASE + TOKEN_INFO, **DEAD)
    for error_class in (RateLimited, Unavailable, BadResponse):
        with pytest.raises(error_class):
            call(client, tt)
    assert info.call_count == 0


def test_any_other_nonzero_code_is_a_plain_tiktok_error(client, tt, requests_mock):
    requests_mock.get(tt.BASE + VIDEOS, json=tt.load("error_other.json"))
    requests_mock.post(tt.BASE + TOKEN_INFO, **alive(tt))
    with pytest.raises(TikTokError) as excinfo:
        call_videos(client, tt)
    assert type(excinfo.value) is TikTokError
    assert excinfo.value.code == 40002
    assert "unknown field" in str(excinfo.value)


@pytest.mark.parametrize(
    ("code", "error_class"),
    [
        ("access_token_invalid", TokenInvalid),
        ("scope_not_authorized", ScopeMissing),
        ("scope_permission_missed", ScopeMissing),
        ("internal_error", Unavailable),
        ("something_new", TikTokError),
    ],
)
def test_display_style_error_objects_are_understood(code, error_class):
    body = json.dumps({"data": {}, "error": {"code": code, "message": "m", "log_id": "L9"}}).encode()
    with pytest.raises(error_class) as excinfo:
        interpret_response(400, {}, body)
    assert excinfo.value.log_id == "L9"


def test_display_style_ok_without_code_is_not_mistaken_for_success():
    body = json.dumps({"data": {"x": 1}, "error": {"code": "ok", "message": "", "log_id": "L"}}).encode()
    with pytest.raises(BadResponse):
        interpret_response(200, {}, body)


def test_log_id_falls_back_to_the_x_tt_logid_header():
    with pytest.raises(Unavailable) as excinfo:
        interpret_response(503, {"X-Tt-Logid": "2026LOGID\r\nInjected: yes"}, b"")
    assert excinfo.value.log_id == "2026LOGIDInjected:yes"  # no CR/LF, no spaces


def test_tiktok_message_echoing_a_secret_is_scrubbed(client, tt, requests_mock):
    body = {"code": 40104, "message": f"token {tt.ACCESS_TOKEN} is bad\r\nsecret={tt.ADS_SECRET}", "request_id": "r"}
    requests_mock.get(tt.BASE + ADVERTISERS, json=body)
    with pytest.raises(TikTokError) as excinfo:
        call_advertisers(client, tt)
    text = str(excinfo.value) + repr(excinfo.value)
    assert tt.ACCESS_TOKEN not in text and tt.ADS_SECRET not in text
    assert "\n" not in text and "\r" not in text
    assert "[redacted]" in text


def test_error_hierarchy_and_aliases():
    from app.tiktok import errors

    for cls in (TokenInvalid, InvalidGrant, ScopeMissing, RateLimited, Unavailable, BadResponse, ClientConfigError,
                errors.InvalidSignature):
        assert issubclass(cls, TikTokError)
    assert not issubclass(InvalidGrant, TokenInvalid)  # callers refresh on one, reconnect on the other
    assert errors.GrantRevoked is InvalidGrant and errors.TokenRevoked is TokenInvalid
    error = RateLimited("slow", 40100, "L", retry_after=12.0)
    assert "retry_after=12s" in str(error) and "log_id=L" in str(error)


# --- no secrets in logs, exceptions or reprs -------------------------------------------------

def test_tokenset_repr_and_str_have_no_token_text(tt):
    tokens = TokenSet.from_api(tt.load("token_success.json")["data"])
    for text in (repr(tokens), str(tokens), f"{tokens}"):
        assert tokens.access_token not in text
        assert tokens.refresh_token not in text
        assert "act." not in text and "rft." not in text
    assert tokens.open_id in repr(tokens)


def _secrets(tt, verifier, code):
    return [tt.ACCESS_TOKEN, tt.REFRESH_TOKEN, tt.CLIENT_SECRET, tt.ADS_SECRET, verifier, code,
            "act.fixtureAccessToken1xT9q2!Zk", "rft.fixtureRefreshToken1pW8z*Lm",
            "act.fixtureAccessToken2rN4w8", "rft.fixtureRefreshToken2kJ7v3", "fixtureAdsAccessTokenQ8v2n5Xb",
            "ads-auth-code-SENTINEL-55"]


def test_no_secret_in_any_log_record_or_exception(client, tt, requests_mock, caplog):
    caplog.set_level(logging.DEBUG)  # root: app.tiktok, urllib3, requests, everything
    # requests-mock stands in for urllib3 here and logs request URLs the same way at DEBUG;
    # give it the filter urllib3 gets (the real urllib3 path is the next test).
    install_log_redaction("requests_mock.adapter")
    for name in ("app.tiktok", "urllib3", "requests"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    verifier = pkce.new_verifier()
    code = "code-SENTINEL*with!specials~9"
    secrets = _secrets(tt, verifier, code)
    base = tt.BASE
    requests_mock.post(base + "tt_user/oauth2/token/", [
        {"json": tt.load("token_success.json")},
        {"json": tt.load("oauth_error_invalid_grant.json"), "status_code": 400},
        {"exc": requests.exceptions.ReadTimeout(f"read timeout, body had {code} and {verifier}")},
    ])
    requests_mock.post(base + "tt_user/oauth2/refresh_token/", [
        {"json": tt.load("refresh_success.json")},
        {"json": tt.load("error_undocumented_40106.json")},
        {"json": {"code": 40106, "message": f"refresh token {tt.REFRESH_TOKEN} reused", "request_id": "r"}},
    ])
    # token_info: alive, then dead (echoing the token), dead, throttled, and once more alive.
    requests_mock.post(base + TOKEN_INFO, [
        {"json": tt.load("token_info_success.json")},
        {"json": {"code": 40104, "message": f"token {tt.ACCESS_TOKEN} is not valid", "request_id": "TI1"}},
        {"json": tt.load("error_undocumented_40104.json")},
        {"json": tt.load("error_rate_limited.json")},
        {"json": tt.load("token_info_success.json")},
    ])
    requests_mock.post(base + "tt_user/oauth2/revoke/", json=tt.load("revoke_success.json"))
    requests_mock.get(base + PROFILE, [
        {"json": tt.load("business_get_success.json")},
        {"json": tt.load("error_undocumented_40105.json"), "status_code": 401},
        {"json": tt.load("error_rate_limited.json"), "headers": {"Retry-After": "3"}},
        {"status_code": 502, "text": f"<html>upstream echoed {tt.ACCESS_TOKEN}</html>"},
    ])
    requests_mock.get(base + VIDEOS, [
        {"json": tt.load("video_list_page1.json")},
        {"json": tt.load("video_list_page2.json")},
        {"json": tt.load("video_list_page3.json")},
        {"exc": requests.exceptions.ConnectTimeout(f"connect timeout {tt.ACCESS_TOKEN}")},
    ])
    requests_mock.post(base + "oauth2/access_token/", json=tt.load("ads_access_token_success.json"))
    requests_mock.get(base + ADVERTISERS, [
        {"json": tt.load("ads_advertiser_get_success.json")},
        {"exc": requests.exceptions.ConnectionError(
            f"HTTPSConnectionPool: Max retries exceeded with url: /open_api/v1.3/{ADVERTISERS}"
            f"?app_id={tt.ADS_APP_ID}&secret={tt.ADS_SECRET}")},
        {"text": "{malformed"},
    ])
    requests_mock.get(base + "advertiser/info/", json=tt.load("ads_advertiser_info_success.json"))
    requests_mock.get(base + "ad/get/", [{"json": tt.load("ads_ad_get_page1.json")},
                                         {"json": tt.load("ads_ad_get_page2.json")}])
    requests_mock.get(base + "report/integrated/get/", [{"json": tt.load("ads_report_page1.json")},
                                                        {"json": tt.load("ads_report_page2.json")}])

    results: list[object] = []
    errors: list[BaseException] = []

    def attempt(fn):
        try:
            results.append(fn())
        except (TikTokError, ValueError) as exc:
            logging.getLogger("app.services.test").exception("call failed: %s", exc)
            errors.append(exc)

    attempt(lambda: client.authorize_url(pkce.new_state(), pkce.challenge(verifier)))
    attempt(lambda: client.exchange_code(code, verifier))
    attempt(lambda: client.exchange_code(code, verifier))
    attempt(lambda: client.exchange_code(code, verifier))
    attempt(lambda: client.refresh(tt.REFRESH_TOKEN))
    attempt(lambda: client.token_info(tt.ACCESS_TOKEN))  # alive
    attempt(lambda: client.token_info(tt.ACCESS_TOKEN))  # dead, TikTok's message echoes the token
    attempt(lambda: client.refresh(tt.REFRESH_TOKEN, access_token=tt.ACCESS_TOKEN))  # token_info: dead
    attempt(lambda: client.refresh(tt.REFRESH_TOKEN, access_token=tt.ACCESS_TOKEN))  # token_info throttled
    attempt(lambda: client.revoke(tt.ACCESS_TOKEN))
    for _ in range(4):
        attempt(lambda: client.get_business_profile(
            tt.ACCESS_TOKEN, tt.BUSINESS_ID, start_date=dt.date(2026, 5, 29), end_date=dt.date(2026, 5, 31)))
    attempt(lambda: list(client.iter_videos(tt.ACCESS_TOKEN, tt.BUSINESS_ID)))
    attempt(lambda: client.list_videos(tt.ACCESS_TOKEN, tt.BUSINESS_ID))
    attempt(lambda: client.ads_exchange("ads-auth-code-SENTINEL-55"))
    for _ in range(3):
        attempt(lambda: client.list_advertisers(tt.ACCESS_TOKEN))
    attempt(lambda: client.list_spark_ads(tt.ACCESS_TOKEN, tt.ADVERTISER_ID))
    attempt(lambda: client.ads_daily_report(tt.ACCESS_TOKEN, tt.ADVERTISER_ID, dt.date(2026, 5, 30),
                                            dt.date(2026, 5, 31)))
    attempt(lambda: client.exchange_code(code, "not-a-valid-verifier"))

    assert {type(e) for e in errors} >= {InvalidGrant, Unavailable, TokenInvalid, RateLimited, BadResponse, ValueError,
                                         TikTokError}
    assert len(errors) == 12

    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    texts = [formatter.format(record) for record in caplog.records]
    texts += [repr(record.args) for record in caplog.records]
    texts += [str(e) for e in errors] + [repr(e) for e in errors]
    texts += [repr(r) for r in results if not isinstance(r, str)]  # the authorize URL is meant to carry the state only
    blob = "\n".join(texts)
    for secret in secrets:
        assert secret not in blob, f"leaked {secret[:6]}…"

    # The useful facts are there: method, path, status, TikTok's id, duration.
    ours = [r.getMessage() for r in caplog.records if r.name == "app.tiktok"]
    assert any(m.startswith("tiktok POST tt_user/oauth2/token/ -> 200 request_id=20260601093000AB12CD34EF56789001 in ")
               and m.endswith(" ms") for m in ours)
    assert any("GET business/get/ -> 401 TikTokError error_code=40105 request_id=20260601120000TOKENEXPIRED00001" in m
               for m in ours)
    assert any("POST tt_user/token_info/get/ -> 200 TikTokError error_code=40104 request_id=TI1" in m for m in ours)
    assert any("GET oauth2/advertiser/get/ failed: ConnectionError" in m for m in ours)

    # And every single request carried a timeout.
    assert requests_mock.request_history
    assert all(r.timeout == DEFAULT_TIMEOUT for r in requests_mock.request_history)


class _AdvertisersHandler(BaseHTTPRequestHandler):
    body = b""

    def do_GET(self):  # noqa: N802 (http.server's naming)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):  # keep the test server quiet
        pass


def test_urllib3_debug_request_line_has_the_ads_secret_redacted(tt, requests_mock, caplog):
    """oauth2/advertiser/get/ carries the app secret in its query; urllib3 logs that line at DEBUG."""
    _AdvertisersHandler.body = json.dumps(tt.load("ads_advertiser_get_success.json")).encode()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _AdvertisersHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}/open_api/v1.3/"
    requests_mock.get(base + ADVERTISERS, real_http=True)  # a real socket, so urllib3 really logs
    client = tt.make_client(business_api_base=base)
    caplog.set_level(logging.DEBUG)
    logging.getLogger("urllib3").setLevel(logging.DEBUG)
    try:
        advertisers = client.list_advertisers(tt.ACCESS_TOKEN)
    finally:
        client.close()
        server.shutdown()
        server.server_close()
        thread.join(5)

    assert advertisers[0]["advertiser_id"] == "7001234567890123456"
    urllib3_lines = [r.getMessage() for r in caplog.records if r.name.startswith("urllib3")]
    request_lines = [line for line in urllib3_lines if "/oauth2/advertiser/get/" in line]
    assert request_lines, urllib3_lines  # proves urllib3 did log the request line
    assert all("secret=[redacted]" in line for line in request_lines)
    assert tt.ADS_SECRET not in "\n".join(urllib3_lines + [r.getMessage() for r in caplog.records])


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ('"GET /a/?app_id=1&secret=s3cr3t HTTP/1.1" 200', '"GET /a/?app_id=1&secret=[redacted] HTTP/1.1" 200'),
        ("GET /cb?code=abc*!&state=x", "GET /cb?code=[redacted]&state=x"),
        ("/x?access_token=act.1&refresh_token=rft.2", "/x?access_token=[redacted]&refresh_token=[redacted]"),
        ("barcode=123 stays", "barcode=123 stays"),
        ("nothing here", "nothing here"),
    ],
)
def test_redaction_filter(message, expected):
    record = logging.LogRecord("urllib3.connectionpool", logging.DEBUG, __file__, 1, "%s", (message,), None)
    assert RedactQuerySecrets().filter(record) is True
    assert record.getMessage() == expected

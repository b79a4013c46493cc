"""Contract fixtures: one TikTok client, two TikToks behind it.

`tiktok` is parametrized over two legs that every contract test runs on:

* ``mock``: `TikTokClient` pointed at TikTok's real base URLs, with requests-mock serving the
  canonical bodies in tests/fixtures/tiktok/ (the ones the unit tests use).
* ``sandbox``: the same client class pointed at a live standalone sandbox
  (`app.sandbox.create_sandbox_app`) served threaded over real HTTP on 127.0.0.1.

requests-mock patches every `requests` session in the process, so it is requested lazily
(`request.getfixturevalue`) on the mock leg only; the sandbox leg never activates it.

Self-contained on purpose (no imports from other conftest files). Test modules reach the helpers
through fixtures (`tiktok`, `live_sandbox`, `fixture_body`), never by importing this file.
"""
from __future__ import annotations

import copy
import datetime as dt
import json
import re
import threading
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from werkzeug.serving import make_server

from app.sandbox import SandboxSettings, create_sandbox_app
from app.tiktok import TikTokClient, TokenSet, pkce

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tiktok"

# TikTok's real addresses (TIKTOK_API.md §2, §7.2, §8); requests-mock answers for them.
REAL_AUTH_URL = "https://www.tiktok.com/v2/auth/authorize/"
REAL_BUSINESS_API = "https://business-api.tiktok.com/open_api/v1.3/"
REAL_ADS_AUTH_URL = "https://business-api.tiktok.com/portal/auth"

# One registered app, the same on both legs (the sandbox's registration).
CLIENT_KEY = "contract_client_key"
CLIENT_SECRET = "contract-CLIENT-SECRET-5e1f0c9a"
ADS_APP_ID = "7000000000000000042"
ADS_SECRET = "contract-ADS-SECRET-77d2b4e1"
REDIRECT_URI = "http://127.0.0.1:5000/tiktok/auth/callback"
ADS_REDIRECT_URI = "http://127.0.0.1:5000/tiktok/ads/callback"
# Exactly what DEFAULT_PROFILE_FIELDS (+ metrics) and DEFAULT_VIDEO_FIELDS need.
SCOPES = (
    "user.info.basic", "user.info.username", "user.info.stats", "user.account.type",
    "user.insights", "video.list", "video.insights",
)
USERNAME = "brassorbit3"
# The fixtures' newest day is 2026-05-31; the sandbox's demo history ends on the same day, so a
# date range that holds the fixtures' rows also holds the sandbox's.
TODAY = dt.date(2026, 5, 31)

LEGS = ["mock", "sandbox"]


def load_fixture(name: str) -> dict:
    return copy.deepcopy(json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8")))


def make_client(base: str | None, **overrides: Any) -> TikTokClient:
    """The product's client; `base` None means TikTok's real URLs (served by requests-mock)."""
    if base is None:
        urls = dict(auth_url=REAL_AUTH_URL, business_api_base=REAL_BUSINESS_API, ads_auth_url=REAL_ADS_AUTH_URL)
    else:
        urls = dict(
            auth_url=f"{base}/v2/auth/authorize/",
            business_api_base=f"{base}/open_api/v1.3/",
            ads_auth_url=f"{base}/portal/auth",
        )
    settings: dict[str, Any] = dict(
        **urls,
        client_key=CLIENT_KEY,
        client_secret=CLIENT_SECRET,
        redirect_uri=REDIRECT_URI,
        scopes=SCOPES,
        ads_app_id=ADS_APP_ID,
        ads_secret=ADS_SECRET,
        ads_redirect_uri=ADS_REDIRECT_URI,
        timeout=(2.0, 5.0),
    )
    settings.update(overrides)
    return TikTokClient(**settings)


# --- the live sandbox -------------------------------------------------------------------------

class LiveSandbox:
    """The standalone sandbox on 127.0.0.1:<free port>, served threaded from a daemon thread.

    Its helpers speak plain HTTP (a browser on the consent pages, raw JSON on the API), so the
    shape tests can see TikTok's bodies before the client parses them.
    """

    def __init__(self) -> None:
        self.settings = SandboxSettings(
            client_key=CLIENT_KEY,
            client_secret=CLIENT_SECRET,
            redirect_uris=[REDIRECT_URI],
            ads_app_id=ADS_APP_ID,
            ads_secret=ADS_SECRET,
            ads_redirect_uris=[ADS_REDIRECT_URI],
            today=TODAY,
        )
        self.app = create_sandbox_app(self.settings)
        self.state = self.app.extensions["tiktok_sandbox"].sandbox_state
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, name="contract-sandbox", daemon=True)
        self.thread.start()
        self.base = f"http://127.0.0.1:{self.server.server_port}/sandbox/tiktok"
        self.api = self.base + "/open_api/v1.3/"
        self.http = requests.Session()  # "the browser" and raw API calls; never the client's session

    def stop(self) -> None:
        self.http.close()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
        self.state.close()

    # -- Login Kit consent, as a browser would do it ------------------------------------------
    def consent_code(self, authorize_url: str, *, username: str = USERNAME, scopes: list[str] | None = None) -> str:
        """GET the consent page at `authorize_url`, grant, and return `code` from the redirect."""
        page = self.http.get(authorize_url, allow_redirects=False)
        assert page.status_code == 200, page.text[:500]
        nonce = re.search(r'name="nonce" value="([^"]+)"', page.text).group(1)
        ticked = re.findall(r'name="scope" value="([^"]+)" checked', page.text)
        assert ticked, "consent page lists no scopes"
        form = {"nonce": nonce, "username": username, "action": "grant",
                "scope": ticked if scopes is None else scopes}
        resp = self.http.post(self.base + "/v2/auth/authorize/decide", data=form, allow_redirects=False)
        assert resp.status_code == 302, resp.text[:500]
        location = urlsplit(resp.headers["Location"])
        assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
        query = {k: v[0] for k, v in parse_qs(location.query).items()}
        assert query["state"] == parse_qs(urlsplit(authorize_url).query)["state"][0]
        return query["code"]

    def ads_consent_code(self, authorize_url: str, *, accounts: str = USERNAME) -> str:
        page = self.http.get(authorize_url, allow_redirects=False)
        assert page.status_code == 200, page.text[:500]
        nonce = re.search(r'name="nonce" value="([^"]+)"', page.text).group(1)
        resp = self.http.post(self.base + "/portal/auth/decide",
                              data={"nonce": nonce, "accounts": accounts, "action": "grant"}, allow_redirects=False)
        assert resp.status_code == 302, resp.text[:500]
        return parse_qs(urlsplit(resp.headers["Location"]).query)["auth_code"][0]

    def authorize_url(self, challenge: str, *, state: str = "contract-state", scopes=SCOPES) -> str:
        return f"{self.base}/v2/auth/authorize/?" + urlencode({
            "client_key": CLIENT_KEY, "response_type": "code", "scope": ",".join(scopes),
            "redirect_uri": REDIRECT_URI, "state": state, "code_challenge": challenge,
            "code_challenge_method": "S256",
        })

    # -- raw API -------------------------------------------------------------------------------
    def post(self, path: str, body: dict) -> requests.Response:
        return self.http.post(self.api + path, json=body)

    def get(self, path: str, token: str | None, **params: Any) -> requests.Response:
        query = {k: (json.dumps(v) if isinstance(v, (list, dict)) else v) for k, v in params.items()}
        return self.http.get(self.api + path, params=query, headers={"Access-Token": token} if token else {})

    def raw_connect(self, scopes=SCOPES) -> dict:
        """Consent + token exchange over plain HTTP; the token response's `data`."""
        verifier = pkce.new_verifier()
        code = self.consent_code(self.authorize_url(pkce.challenge(verifier), scopes=scopes))
        body = self.post("tt_user/oauth2/token/", {
            "client_id": CLIENT_KEY, "client_secret": CLIENT_SECRET, "grant_type": "authorization_code",
            "auth_code": code, "redirect_uri": REDIRECT_URI, "code_verifier": verifier,
        }).json()
        assert body["code"] == 0, body
        return body["data"]

    def raw_ads_token(self) -> dict:
        url = f"{self.base}/portal/auth?app_id={ADS_APP_ID}&state=s&redirect_uri={ADS_REDIRECT_URI}"
        body = self.post("oauth2/access_token/", {
            "app_id": ADS_APP_ID, "secret": ADS_SECRET, "auth_code": self.ads_consent_code(url),
        }).json()
        assert body["code"] == 0, body
        return body["data"]


@pytest.fixture(scope="session")
def live_sandbox():
    live = LiveSandbox()
    yield live
    live.stop()


@pytest.fixture
def sandbox(live_sandbox):
    """The live sandbox with fresh state: no codes, tokens, faults, counters, rate windows or clock offset."""
    live_sandbox.state.reset()
    yield live_sandbox
    live_sandbox.state.reset()


@pytest.fixture
def fixture_body() -> Callable[[str], dict]:
    return load_fixture


# --- the requests-mock TikTok ---------------------------------------------------------------

class MockTikTok:
    """requests-mock serving the canonical fixture bodies at TikTok's real URLs.

    Just enough state to pick the right fixture: revoked tokens answer 40104, `fields` is honoured
    (a field the client asks for that the fixture lacks fails the test: the fixture has drifted),
    cursors and pages choose the page file. Faults are registered for one call, then the normal
    answer comes back, like the sandbox's ``count=1``.
    """

    def __init__(self, mocker) -> None:
        self.m = mocker
        self.revoked: set[str] = set()
        self.grant_revoked = False
        self.routes: dict[str, tuple[str, Callable]] = {
            "tt_user/oauth2/token/": ("POST", self._token),
            "tt_user/oauth2/refresh_token/": ("POST", self._refresh),
            "tt_user/oauth2/revoke/": ("POST", self._revoke),
            "business/get/": ("GET", self._business_get),
            "business/video/list/": ("GET", self._video_list),
            "oauth2/access_token/": ("POST", self._ads_token),
            "oauth2/advertiser/get/": ("GET", self._advertiser_get),
            "advertiser/info/": ("GET", self._advertiser_info),
            "ad/get/": ("GET", self._ad_get),
            "report/integrated/get/": ("GET", self._report),
        }
        for endpoint in self.routes:
            self.register(endpoint, [])

    def register(self, endpoint: str, before: list[dict]) -> None:
        method, callback = self.routes[endpoint]
        self.m.register_uri(method, REAL_BUSINESS_API + endpoint, [*before, {"json": callback}])

    # -- request checks shared by the callbacks -----------------------------------------------
    @staticmethod
    def _body(request) -> dict:
        assert request.headers.get("Content-Type", "").startswith("application/json"), "token calls are JSON"
        return request.json()

    @staticmethod
    def _query(request) -> dict[str, str]:
        # requests-mock lowercases `request.qs`; JSON-encoded params must keep their case.
        return {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}

    def _auth_error(self, request, context) -> dict | None:
        token = request.headers.get("Access-Token")
        if not token or token in self.revoked:
            return load_fixture("error_access_token_invalid")
        return None

    @staticmethod
    def _pick_fields(data: dict, fields: list[str]) -> dict:
        missing = [f for f in fields if f not in data]
        assert not missing, f"the client asks for fields the fixture lacks: {missing}"
        return {f: data[f] for f in fields}

    # -- Accounts API --------------------------------------------------------------------------
    def _token(self, request, context):
        body = self._body(request)
        assert body.keys() == {"client_id", "client_secret", "grant_type", "auth_code", "redirect_uri",
                               "code_verifier"}, body.keys()
        assert body["grant_type"] == "authorization_code"
        return load_fixture("token_success")

    def _refresh(self, request, context):
        body = self._body(request)
        assert body.keys() == {"client_id", "client_secret", "grant_type", "refresh_token"}, body.keys()
        if self.grant_revoked:
            return load_fixture("error_invalid_grant")
        return load_fixture("refresh_success")

    def _revoke(self, request, context):
        body = self._body(request)
        self.revoked.add(body["access_token"])
        self.grant_revoked = True
        return load_fixture("revoke_success")

    def _business_get(self, request, context):
        if (error := self._auth_error(request, context)) is not None:
            return error
        q = self._query(request)
        body = load_fixture("business_get_success")
        fields = json.loads(q.get("fields", '["display_name","profile_image"]'))
        if "metrics" in fields:
            assert "start_date" in q and "end_date" in q, "metrics need a date range"
        body["data"] = self._pick_fields(body["data"], fields)
        return body

    def _video_list(self, request, context):
        if (error := self._auth_error(request, context)) is not None:
            return error
        q = self._query(request)
        assert 1 <= int(q.get("max_count", 10)) <= 20
        pages = {None: "video_list_page1"}
        for name in ("video_list_page1", "video_list_page2"):
            pages[str(load_fixture(name)["data"]["cursor"])] = f"video_list_page{int(name[-1]) + 1}"
        body = load_fixture(pages[q.get("cursor")])
        fields = json.loads(q.get("fields", '["item_id"]'))
        body["data"]["videos"] = [self._pick_fields(v, fields) for v in body["data"]["videos"]]
        return body

    # -- Marketing API -------------------------------------------------------------------------
    def _ads_token(self, request, context):
        body = self._body(request)
        assert body.keys() == {"app_id", "secret", "auth_code"}, body.keys()
        return load_fixture("ads_access_token_success")

    def _advertiser_get(self, request, context):
        q = self._query(request)
        assert q.get("app_id") == ADS_APP_ID and q.get("secret") == ADS_SECRET
        return self._auth_error(request, context) or load_fixture("ads_advertiser_get_success")

    def _advertiser_info(self, request, context):
        return self._auth_error(request, context) or load_fixture("ads_advertiser_info_success")

    def _ad_get(self, request, context):
        if (error := self._auth_error(request, context)) is not None:
            return error
        q = self._query(request)
        body = load_fixture(f"ads_ad_get_page{q.get('page', '1')}")
        fields = json.loads(q["fields"])
        body["data"]["list"] = [self._pick_fields(a, fields) for a in body["data"]["list"]]
        return body

    def _report(self, request, context):
        if (error := self._auth_error(request, context)) is not None:
            return error
        q = self._query(request)
        assert json.loads(q["dimensions"]) == ["ad_id", "stat_time_day"]
        body = load_fixture(f"ads_report_page{q.get('page', '1')}")
        metrics = json.loads(q["metrics"])
        for row in body["data"]["list"]:
            row["metrics"] = self._pick_fields(row["metrics"], metrics)
        return body


# --- the two legs ---------------------------------------------------------------------------

class Leg:
    """What a contract test needs from a TikTok, whichever it is."""

    name: str
    client: TikTokClient
    today = TODAY  # the newest day both TikToks have data for
    username = USERNAME

    def __init__(self) -> None:
        self._clients: list[TikTokClient] = []
        self.secrets: list[str] = [CLIENT_SECRET, ADS_SECRET]  # every secret text the flow handled

    def new_client(self, **overrides: Any) -> TikTokClient:
        raise NotImplementedError

    def close(self) -> None:
        for c in self._clients:
            c.close()

    def remember(self, *values: str) -> None:
        self.secrets.extend(v for v in values if v)

    def connect(self, client: TikTokClient | None = None) -> TokenSet:
        """Consent (sandbox only) and `exchange_code` through the client."""
        raise NotImplementedError

    def ads_code(self) -> str:
        raise NotImplementedError

    def inject(self, endpoint: str, kind: str, **options: Any) -> None:
        """Make the next call to `endpoint` fail as `kind` (sandbox fault kinds)."""
        raise NotImplementedError

    def served_calls(self) -> int:
        raise NotImplementedError

    def raw_report_rows(self, access_token: str, advertiser_id: str, start: dt.date, end: dt.date,
                        ad_ids: list[str]) -> list[dict]:
        """`report/integrated/get/` rows exactly as TikTok sent them (metric values still strings)."""
        raise NotImplementedError

    def track(self, tokens: TokenSet) -> TokenSet:
        self.remember(tokens.access_token, tokens.refresh_token)
        return tokens


class MockLeg(Leg):
    name = "mock"

    def __init__(self, mocker) -> None:
        super().__init__()
        self.mocker = mocker
        self.tiktok = MockTikTok(mocker)
        self.client = self.new_client()

    def new_client(self, **overrides: Any) -> TikTokClient:
        client = make_client(None, **overrides)
        self._clients.append(client)
        return client

    def connect(self, client: TikTokClient | None = None) -> TokenSet:
        client = client or self.client
        verifier = pkce.new_verifier()
        code = "mock-auth-code*0!1234"
        self.remember(verifier, code)
        return self.track(client.exchange_code(code, verifier))

    def ads_code(self) -> str:
        self.remember("mock-ads-auth-code")
        return "mock-ads-auth-code"

    def inject(self, endpoint: str, kind: str, **options: Any) -> None:
        retry_after = str(options.get("retry_after", 1))
        fixture_json = lambda name: json.dumps(load_fixture(name))  # noqa: E731
        faults = {
            "rate_limit": {"status_code": 200, "text": fixture_json("error_rate_limited"),
                           "headers": {"Content-Type": "application/json", "Retry-After": retry_after}},
            "http_429": {"status_code": 429, "text": fixture_json("error_rate_limited"),
                         "headers": {"Content-Type": "application/json", "Retry-After": retry_after}},
            "http_500": {"status_code": 500, "text": fixture_json("error_internal"),
                         "headers": {"Content-Type": "application/json"}},
            "http_503": {"status_code": 503, "headers": {"Content-Type": "text/html"},
                         "text": "<html><head><title>503 Service Temporarily Unavailable</title></head></html>"},
            "timeout": {"exc": requests.exceptions.ReadTimeout},
            "malformed_json": {"status_code": 200, "headers": {"Content-Type": "application/json"},
                               "text": '{"code": 0, "message": "OK", "data": {"videos": [{"item_id": '},
            "revoked_token": {"status_code": 200, "text": fixture_json("error_access_token_invalid"),
                              "headers": {"Content-Type": "application/json"}},
            "invalid_grant": {"status_code": 200, "text": fixture_json("error_invalid_grant"),
                              "headers": {"Content-Type": "application/json"}},
        }
        self.tiktok.register(endpoint, [faults[kind]])

    def served_calls(self) -> int:
        return self.mocker.call_count

    def raw_report_rows(self, access_token, advertiser_id, start, end, ad_ids):
        return [row for page in (1, 2) for row in load_fixture(f"ads_report_page{page}")["data"]["list"]]


class SandboxLeg(Leg):
    name = "sandbox"

    def __init__(self, live: LiveSandbox) -> None:
        super().__init__()
        self.live = live
        self.client = self.new_client()

    def new_client(self, **overrides: Any) -> TikTokClient:
        client = make_client(self.live.base, **overrides)
        self._clients.append(client)
        return client

    def connect(self, client: TikTokClient | None = None) -> TokenSet:
        client = client or self.client
        verifier = pkce.new_verifier()
        code = self.live.consent_code(client.authorize_url(pkce.new_state(), pkce.challenge(verifier)))
        self.remember(verifier, code)
        return self.track(client.exchange_code(code, verifier))

    def ads_code(self) -> str:
        code = self.live.ads_consent_code(self.client.ads_authorize_url(pkce.new_state()))
        self.remember(code)
        return code

    def inject(self, endpoint: str, kind: str, **options: Any) -> None:
        self.live.state.inject_fault(endpoint=endpoint, kind=kind, count=1, **options)

    def served_calls(self) -> int:
        return sum(self.live.state.request_counts().values())

    def raw_report_rows(self, access_token, advertiser_id, start, end, ad_ids):
        rows, page, total_page = [], 1, 1
        while page <= total_page:
            body = self.live.get(
                "report/integrated/get/", access_token, advertiser_id=advertiser_id, report_type="BASIC",
                service_type="AUCTION", data_level="AUCTION_AD", dimensions=["ad_id", "stat_time_day"],
                metrics=["spend", "impressions", "clicks", "ctr", "cpm"], start_date=start.isoformat(),
                end_date=end.isoformat(), page=page, page_size=1000,
                filtering=[{"field_name": "ad_ids", "filter_type": "IN", "filter_value": json.dumps(ad_ids)}],
            ).json()
            assert body["code"] == 0, body
            rows += body["data"]["list"]
            total_page = body["data"]["page_info"]["total_page"]
            page += 1
        return rows


@pytest.fixture(scope="session")
def new_sandbox_leg(live_sandbox):
    """Builds a `SandboxLeg` on fresh sandbox state (for module-scoped recordings); close it after."""
    def build() -> SandboxLeg:
        live_sandbox.state.reset()
        return SandboxLeg(live_sandbox)
    return build


@pytest.fixture
def sandbox_leg(sandbox):
    """The sandbox leg alone, for checks only a live TikTok can make (strictness, logs, shapes)."""
    leg = SandboxLeg(sandbox)
    yield leg
    leg.close()


@pytest.fixture(params=LEGS)
def tiktok(request):
    """A `Leg`: ``tiktok.client`` talks to requests-mock fixtures or to the live sandbox."""
    if request.param == "mock":
        leg: Leg = MockLeg(request.getfixturevalue("requests_mock"))
    else:
        assert "requests_mock" not in request.fixturenames, "requests-mock would swallow the sandbox's HTTP"
        leg = SandboxLeg(request.getfixturevalue("sandbox"))
    yield leg
    leg.close()
    # Each leg really answered: the mock saw the calls, or the sandbox counted them over HTTP.
    assert leg.served_calls() > 0, f"{leg.name}: the test never reached its TikTok"

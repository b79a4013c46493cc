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
from app.tiktok import fields as documented
from app.tiktok.client import REPORT_METRICS as CLIENT_REPORT_METRICS

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tiktok"

# TikTok's real addresses (Login Kit authorize page, TikTok API for Business); requests-mock answers for them.
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
# Every scope `insight_fields_for` and `video_fields_for` know: a sync's full ask.
SCOPES = (
    "user.info.basic", "user.info.username", "user.info.profile", "user.info.stats", "user.account.type",
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
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02},
                                       name="contract-sandbox", daemon=True)
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

def _pages_of(names: list[str], key: str) -> list[list[dict]]:
    return [load_fixture(name)["data"][key] for name in names]


class MockTikTok:
    """requests-mock serving the canonical fixture bodies at TikTok's real URLs.

    Just enough of TikTok's documented behaviour to pick the right fixture and to refuse what
    TikTok would refuse, the way the sandbox does:

    * grants: each exchange issues its own token pair; a refresh rotates it, a reused refresh token
      kills the grant; `revoke` kills it; a dead grant's token gets an undocumented code on data
      calls and on `tt_user/token_info/get/`;
    * `fields` / `metrics` outside `app.tiktok.fields` → 40002 (the sandbox's code); a documented
      field the fixture lacks fails the test (the fixture has drifted);
    * `business/get/` joins its three fixtures (profile and daily metrics, hourly activity,
      demographics), keeps only the asked-for names (`followers_count` also per day), and the days of
      the date range, by default the 7 days ending yesterday;
    * `business/video/list/` joins each post of the page fixtures with its `video.insights` fields from
      `video_list_insights.json`; `filters.video_ids` answers those posts only;
    * `ad/get/` and the report hide the deleted ad unless asked for STATUS_ALL; the report filters by
      `ad_ids` (at most 100) and by date. Fixture pages left empty by a filter are skipped.

    Faults are registered for one call, then the normal answer comes back, like the sandbox's
    ``count=1``.
    """

    VIDEO_PAGES = ["video_list_page1", "video_list_page2", "video_list_page3"]
    AD_PAGES = ["ads_ad_get_page1", "ads_ad_get_page2"]
    REPORT_PAGES = ["ads_report_page1", "ads_report_page2"]

    def __init__(self, mocker) -> None:
        self.m = mocker
        self.grants: list[dict] = []
        self.used_codes: set[str] = set()
        self.routes: dict[str, tuple[str, Callable]] = {
            "tt_user/oauth2/token/": ("POST", self._token),
            "tt_user/oauth2/refresh_token/": ("POST", self._refresh),
            "tt_user/oauth2/revoke/": ("POST", self._revoke),
            "tt_user/token_info/get/": ("POST", self._token_info),
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
        deleted = [ad for page in _pages_of(self.AD_PAGES, "list") for ad in page
                   if ad.get("secondary_status") == "AD_STATUS_DELETE"]
        self.deleted_ad_ids = {ad["ad_id"] for ad in deleted}

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

    @staticmethod
    def _refuse(message: str) -> dict:
        body = load_fixture("error_other")  # 40002, the sandbox's code for invalid params
        body["message"] = f"invalid params: {message}"
        return body

    def _grant_of_access(self, token: str | None) -> dict | None:
        return next((g for g in self.grants if token and token in g["access"] and not g["revoked"]), None)

    def _auth_error(self, request, context) -> dict | None:
        if self._grant_of_access(request.headers.get("Access-Token")) is None:
            return load_fixture("error_undocumented_40104")
        return None

    def revoke_token(self, token: str | None) -> None:
        for grant in self.grants:
            if token and (token in grant["access"] or token in grant["refresh"]):
                grant["revoked"] = True

    @staticmethod
    def _pick_fields(data: dict, fields: list[str]) -> dict:
        missing = [f for f in fields if f not in data]
        assert not missing, f"the client asks for fields the fixture lacks: {missing}"
        return {f: data[f] for f in fields}

    @staticmethod
    def _filtered_pages(pages: list[list[dict]], keep: Callable[[dict], bool], page: int, fixture: dict) -> dict:
        """Page `page` of the fixture pages after `keep`: pages left empty are skipped."""
        kept = [[item for item in items if keep(item)] for items in pages]
        kept = [items for items in kept if items]
        data = fixture["data"]
        data["list"] = kept[page - 1] if page <= len(kept) else []
        data["page_info"] = dict(data["page_info"], page=page, total_page=len(kept),
                                 total_number=sum(len(items) for items in kept))
        return fixture

    # -- Accounts API tokens -------------------------------------------------------------------
    def _new_pair(self, body: dict, grant: dict) -> dict:
        n = len(self.grants) * 100 + len(grant["access"]) + 1
        access, refresh = f"act.mock{n}Access*!", f"rft.mock{n}Refresh*!"
        grant["access"].append(access)
        grant["refresh"].append(refresh)
        body["data"].update(access_token=access, refresh_token=refresh)
        return body

    def _token(self, request, context):
        body = self._body(request)
        keys = {"client_id", "client_secret", "grant_type", "auth_code", "redirect_uri"}
        assert body.keys() - {"code_verifier"} == keys, body.keys()
        assert body["grant_type"] == "authorization_code" and body["redirect_uri"] == REDIRECT_URI
        if (body["client_id"], body["client_secret"]) != (CLIENT_KEY, CLIENT_SECRET):
            return load_fixture("error_invalid_client")
        if body["auth_code"] in self.used_codes:
            return load_fixture("error_auth_code_invalid")
        self.used_codes.add(body["auth_code"])
        grant = {"access": [], "refresh": [], "revoked": False}
        self.grants.append(grant)
        return self._new_pair(load_fixture("token_success"), grant)

    def _refresh(self, request, context):
        body = self._body(request)
        assert body.keys() == {"client_id", "client_secret", "grant_type", "refresh_token"}, body.keys()
        token = body["refresh_token"]
        grant = next((g for g in self.grants if token in g["refresh"]), None)
        if grant is None or grant["revoked"]:
            return load_fixture("error_undocumented_40106")
        if token != grant["refresh"][-1]:  # reused: the token leaked, the grant dies
            grant["revoked"] = True
            return load_fixture("error_undocumented_40106")
        return self._new_pair(load_fixture("refresh_success"), grant)

    def _revoke(self, request, context):
        self.revoke_token(self._body(request)["access_token"])
        return load_fixture("revoke_success")

    def _token_info(self, request, context):
        body = self._body(request)
        assert body.keys() == {"app_id", "access_token"}, body.keys()
        if body["app_id"] != CLIENT_KEY:
            return load_fixture("error_invalid_client")
        if self._grant_of_access(body["access_token"]) is None:
            return load_fixture("error_undocumented_40104")
        answer = load_fixture("token_info_success")
        answer["data"]["app_id"] = CLIENT_KEY
        answer["data"]["creator_id"] = load_fixture("token_success")["data"]["open_id"]
        return answer

    # -- Accounts API data ---------------------------------------------------------------------
    def _business_get(self, request, context):
        if (error := self._auth_error(request, context)) is not None:
            return error
        q = self._query(request)
        fields = json.loads(q.get("fields", json.dumps(list(documented.BUSINESS_GET_DEFAULT_FIELDS))))
        if bad := documented.undocumented(documented.BUSINESS_GET_FIELDS, fields):
            return self._refuse(f"unknown field {bad[0]!r}")
        if ("start_date" in q) != ("end_date" in q):
            return self._refuse("give start_date and end_date together")
        yesterday = TODAY - dt.timedelta(days=1)
        start = dt.date.fromisoformat(q.get("start_date", (yesterday - dt.timedelta(days=6)).isoformat()))
        end = dt.date.fromisoformat(q.get("end_date", yesterday.isoformat()))
        if start > end or start < TODAY - dt.timedelta(days=documented.BUSINESS_GET_LOOKBACK_DAYS):
            return self._refuse("start_date/end_date out of range")

        body = load_fixture("business_get_success")
        top = {k: v for k, v in body["data"].items() if k != "metrics"}
        top.update(load_fixture("business_get_demographics")["data"])
        activity = {row["date"]: row for row in load_fixture("business_get_audience_activity")["data"]["metrics"]}
        days = [{**row, **activity.get(row["date"], {})} for row in body["data"]["metrics"]]

        data = self._pick_fields(top, [f for f in fields if f not in documented.DAILY_METRIC_FIELDS])
        daily = [f for f in fields if f in documented.DAILY_METRIC_FIELDS or f == "followers_count"]
        if daily:
            data["metrics"] = [self._pick_fields(day, ["date", *daily]) for day in days
                               if start <= dt.date.fromisoformat(day["date"]) <= end]
        body["data"] = data
        return body

    def _videos(self) -> list[dict]:
        insights = {v["item_id"]: v for v in load_fixture("video_list_insights")["data"]["videos"]}
        return [{**v, **insights.get(v["item_id"], {})} for page in _pages_of(self.VIDEO_PAGES, "videos")
                for v in page]

    def _video_list(self, request, context):
        if (error := self._auth_error(request, context)) is not None:
            return error
        q = self._query(request)
        fields = json.loads(q.get("fields", json.dumps(list(documented.VIDEO_DEFAULT_FIELDS))))
        if bad := documented.undocumented(documented.VIDEO_FIELDS, fields):
            return self._refuse(f"unknown field {bad[0]!r}")
        if not 1 <= int(q.get("max_count", 10)) <= documented.VIDEO_MAX_COUNT:
            return self._refuse("max_count must be between 1 and 20")
        videos = {v["item_id"]: v for v in self._videos()}
        if "filters" in q:
            ids = json.loads(q["filters"]).get("video_ids")
            if not isinstance(ids, list) or not 1 <= len(ids) <= documented.VIDEO_FILTER_MAX_IDS:
                return self._refuse("filters.video_ids must list 1-20 ids")
            body = load_fixture("video_list_insights")
            chosen = [v for v in videos.values() if v["item_id"] in ids]
        else:
            pages = {None: "video_list_page1"}
            for i, name in enumerate(self.VIDEO_PAGES[:-1]):
                pages[str(load_fixture(name)["data"]["cursor"])] = self.VIDEO_PAGES[i + 1]
            body = load_fixture(pages[q.get("cursor")])
            chosen = [videos[v["item_id"]] for v in body["data"]["videos"]]
        body["data"]["videos"] = [self._pick_fields(v, fields) for v in chosen]
        return body

    # -- Marketing API -------------------------------------------------------------------------
    def _ads_token(self, request, context):
        body = self._body(request)
        assert body.keys() == {"app_id", "secret", "auth_code"}, body.keys()
        return load_fixture("ads_access_token_success")

    def _advertiser_get(self, request, context):
        q = self._query(request)
        assert q.get("app_id") == ADS_APP_ID and q.get("secret") == ADS_SECRET
        return load_fixture("ads_advertiser_get_success")

    def _advertiser_info(self, request, context):
        return load_fixture("ads_advertiser_info_success")

    def _ad_get(self, request, context):
        q = self._query(request)
        fields = json.loads(q["fields"])
        if bad := documented.undocumented(documented.AD_GET_FIELDS, fields):
            return self._refuse(f"unknown field {bad[0]!r}")
        every_status = json.loads(q.get("filtering", "{}")).get("primary_status") == documented.STATUS_ALL
        body = self._filtered_pages(
            _pages_of(self.AD_PAGES, "list"), lambda ad: every_status or ad["ad_id"] not in self.deleted_ad_ids,
            int(q.get("page", "1")), load_fixture("ads_ad_get_page1"),
        )
        body["data"]["list"] = [self._pick_fields(a, fields) for a in body["data"]["list"]]
        return body

    def _report(self, request, context):
        q = self._query(request)
        assert json.loads(q["dimensions"]) == ["ad_id", "stat_time_day"]
        metrics = json.loads(q["metrics"])
        if bad := documented.undocumented(documented.REPORT_METRICS, metrics):
            return self._refuse(f"unknown metric {bad[0]!r}")
        ad_ids, every_status = None, False
        for rule in json.loads(q.get("filtering", "[]")):
            values = json.loads(rule["filter_value"])
            if rule["field_name"] == "ad_ids":
                if len(values) > documented.REPORT_MAX_AD_IDS:
                    return self._refuse("ad_ids takes at most 100 ids")
                ad_ids = set(values)
            elif rule["field_name"] == "ad_status":
                every_status = documented.STATUS_ALL in values
        start, end = dt.date.fromisoformat(q["start_date"]), dt.date.fromisoformat(q["end_date"])

        def keep(row: dict) -> bool:
            ad_id, day = row["dimensions"]["ad_id"], dt.date.fromisoformat(row["dimensions"]["stat_time_day"][:10])
            return ((ad_ids is None or ad_id in ad_ids) and start <= day <= end
                    and (every_status or ad_id not in self.deleted_ad_ids))

        body = self._filtered_pages(_pages_of(self.REPORT_PAGES, "list"), keep, int(q.get("page", "1")),
                                    load_fixture("ads_report_page1"))
        for row in body["data"]["list"]:
            row["metrics"] = self._pick_fields(row["metrics"], metrics)
        return body


# --- the two legs ---------------------------------------------------------------------------

class Leg:
    """What a contract test needs from a TikTok, whichever it is."""

    name: str
    client: TikTokClient
    api: str  # the Accounts/Marketing API base the client talks to, for raw calls
    today = TODAY  # the newest day both TikToks have data for
    username = USERNAME

    def __init__(self) -> None:
        self._clients: list[TikTokClient] = []
        self.secrets: list[str] = [CLIENT_SECRET, ADS_SECRET]  # every secret text the flow handled
        self.http = requests.Session()  # raw calls, never the client's session

    def new_client(self, **overrides: Any) -> TikTokClient:
        raise NotImplementedError

    def close(self) -> None:
        for c in self._clients:
            c.close()
        self.http.close()

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

    def track(self, tokens: TokenSet) -> TokenSet:
        self.remember(tokens.access_token, tokens.refresh_token)
        return tokens

    # -- raw calls: TikTok's bodies before the client parses them ------------------------------
    def raw_get(self, path: str, token: str | None, **params: Any) -> dict:
        query = {k: (json.dumps(v) if isinstance(v, (list, dict)) else v) for k, v in params.items()}
        return self.http.get(self.api + path, params=query, headers={"Access-Token": token} if token else {}).json()

    def raw_post(self, path: str, body: dict) -> dict:
        return self.http.post(self.api + path, json=body).json()

    def raw_ad_ids(self, access_token: str, advertiser_id: str, *, every_status: bool) -> set[str]:
        """`ad/get/` ad ids as TikTok lists them, with or without ``primary_status: STATUS_ALL``."""
        params: dict[str, Any] = {"advertiser_id": advertiser_id, "fields": ["ad_id"], "page_size": 1000}
        if every_status:
            params["filtering"] = {"primary_status": documented.STATUS_ALL}
        ids, page, total_page = set(), 1, 1
        while page <= total_page:
            body = self.raw_get("ad/get/", access_token, page=page, **params)
            assert body["code"] == 0, body
            ids |= {ad["ad_id"] for ad in body["data"]["list"]}
            total_page = body["data"]["page_info"]["total_page"]
            page += 1
        return ids

    def raw_report_rows(self, access_token: str, advertiser_id: str, start: dt.date, end: dt.date,
                        ad_ids: list[str]) -> list[dict]:
        """`report/integrated/get/` rows exactly as TikTok sent them (metric values still strings), asked
        for like the client asks: its metrics, every ad status, ≤100 ad ids a request."""
        rows = []
        status = {"field_name": "ad_status", "filter_type": "IN", "filter_value": json.dumps([documented.STATUS_ALL])}
        for i in range(0, len(ad_ids), documented.REPORT_MAX_AD_IDS):
            batch = {"field_name": "ad_ids", "filter_type": "IN",
                     "filter_value": json.dumps(ad_ids[i:i + documented.REPORT_MAX_AD_IDS])}
            page, total_page = 1, 1
            while page <= total_page:
                body = self.raw_get(
                    "report/integrated/get/", access_token, advertiser_id=advertiser_id, report_type="BASIC",
                    service_type="AUCTION", data_level="AUCTION_AD", dimensions=["ad_id", "stat_time_day"],
                    metrics=list(CLIENT_REPORT_METRICS), start_date=start.isoformat(), end_date=end.isoformat(),
                    page=page, page_size=1000, filtering=[batch, status],
                )
                assert body["code"] == 0, body
                rows += body["data"]["list"]
                total_page = body["data"]["page_info"]["total_page"]
                page += 1
        return rows


class MockLeg(Leg):
    name = "mock"
    api = REAL_BUSINESS_API

    def __init__(self, mocker) -> None:
        super().__init__()
        self.mocker = mocker
        self.tiktok = MockTikTok(mocker)
        self.client = self.new_client()
        self._codes = 0

    def new_client(self, **overrides: Any) -> TikTokClient:
        client = make_client(None, **overrides)
        self._clients.append(client)
        return client

    def connect(self, client: TikTokClient | None = None) -> TokenSet:
        client = client or self.client
        verifier = pkce.new_verifier()
        self._codes += 1
        code = f"mock-auth-code*0!{self._codes}"
        self.remember(verifier, code)
        return self.track(client.exchange_code(code, verifier))

    def ads_code(self) -> str:
        self.remember("mock-ads-auth-code")
        return "mock-ads-auth-code"

    def inject(self, endpoint: str, kind: str, **options: Any) -> None:
        retry_after = str(options.get("retry_after", 1))
        fixture_json = lambda name: json.dumps(load_fixture(name))  # noqa: E731

        def revoked(request, context):
            # Like the sandbox: the user removed the app, the grant really dies.
            self.tiktok.revoke_token(request.headers.get("Access-Token"))
            return load_fixture("error_undocumented_40104")

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
            "revoked_token": {"status_code": 200, "json": revoked},
            "invalid_grant": {"status_code": 200, "text": fixture_json("error_undocumented_40106"),
                              "headers": {"Content-Type": "application/json"}},
        }
        self.tiktok.register(endpoint, [faults[kind]])

    def served_calls(self) -> int:
        return self.mocker.call_count


class SandboxLeg(Leg):
    name = "sandbox"

    def __init__(self, live: LiveSandbox) -> None:
        super().__init__()
        self.live = live
        self.api = live.api
        self.client = self.new_client()

    def new_client(self, **overrides: Any) -> TikTokClient:
        # The sandbox serves its avatar and thumbnails over plain http on loopback.
        client = make_client(self.live.base, **{"allow_http_media": True, **overrides})
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

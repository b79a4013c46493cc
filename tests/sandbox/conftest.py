"""The standalone TikTok sandbox served over real HTTP, plus helpers that walk its OAuth flow.

Uses plain `requests` on purpose: these tests pin the sandbox's own behaviour, independently of
the TikTok client in app/tiktok.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import secrets
import threading
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from werkzeug.serving import make_server

from app.sandbox import SandboxSettings, create_sandbox_app

REDIRECT_URI = "http://127.0.0.1:5000/tiktok/auth/callback"
ADS_REDIRECT_URI = "http://127.0.0.1:5000/tiktok/ads/callback"
ALL_SCOPES = "user.info.basic,user.info.username,user.info.stats,user.insights,video.list,video.insights"


def new_verifier() -> str:
    return secrets.token_urlsafe(48)  # 64 chars from [A-Za-z0-9-_]


def hex_challenge(verifier: str) -> str:
    return hashlib.sha256(verifier.encode()).hexdigest()


class ServedThread:
    """A WSGI app on 127.0.0.1:<free port>, served threaded from a daemon thread."""

    def __init__(self, wsgi_app):
        self.server = make_server("127.0.0.1", 0, wsgi_app, threaded=True)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


class LiveSandbox:
    def __init__(self, settings: SandboxSettings):
        self.settings = settings
        self.app = create_sandbox_app(settings)
        self.state = self.app.extensions["tiktok_sandbox"].sandbox_state
        self.served = ServedThread(self.app)
        self.base = f"http://127.0.0.1:{self.served.port}/sandbox/tiktok"
        self.http = requests.Session()

    def stop(self):
        if self.served is None:
            return
        self.http.close()
        self.served.stop()
        self.served = None
        self.state.close()

    def url(self, path: str) -> str:
        return self.base + path

    # -- Login Kit --------------------------------------------------------------------------
    def authorize_params(self, verifier: str | None = None, **overrides) -> dict:
        params = {
            "client_key": self.settings.client_key,
            "scope": ALL_SCOPES,
            "response_type": "code",
            "redirect_uri": REDIRECT_URI,
            "state": secrets.token_urlsafe(16),
            "code_challenge": hex_challenge(verifier or new_verifier()),
            "code_challenge_method": "S256",
        }
        params.update(overrides)
        return {k: v for k, v in params.items() if v is not None}

    def open_consent(self, params: dict) -> requests.Response:
        return self.http.get(self.url("/v2/auth/authorize/"), params=params, allow_redirects=False)

    @staticmethod
    def nonce_of(page: requests.Response) -> str:
        return re.search(r'name="nonce" value="([^"]+)"', page.text).group(1)

    def consent(self, params: dict, *, username="brassorbit3", scopes=None, action="grant") -> requests.Response:
        page = self.open_consent(params)
        assert page.status_code == 200, page.text
        ticked = params["scope"].split(",") if scopes is None else scopes
        form = {"nonce": self.nonce_of(page), "username": username, "scope": ticked, "action": action}
        return self.http.post(self.url("/v2/auth/authorize/"), data=form, allow_redirects=False)

    @staticmethod
    def callback_params(resp: requests.Response) -> dict:
        assert resp.status_code == 302, resp.text
        query = urlsplit(resp.headers["Location"]).query
        return {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}

    def get_code(self, verifier: str, request_scopes: str | None = None, **kw) -> str:
        params = self.authorize_params(verifier, **({"scope": request_scopes} if request_scopes else {}))
        return self.callback_params(self.consent(params, **kw))["code"]

    # -- Accounts API -----------------------------------------------------------------------
    def post_json(self, path: str, body: dict) -> requests.Response:
        return self.http.post(self.url("/open_api/v1.3/" + path), json=body)

    def exchange(self, auth_code: str | None, verifier: str | None, redirect_uri: str = REDIRECT_URI, **over) -> dict:
        body = {
            "client_id": self.settings.client_key,
            "client_secret": self.settings.client_secret,
            "grant_type": "authorization_code",
            "auth_code": auth_code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        }
        body.update(over)
        return self.post_json("tt_user/oauth2/token/", {k: v for k, v in body.items() if v is not None}).json()

    def refresh(self, refresh_token: str) -> dict:
        return self.post_json(
            "tt_user/oauth2/refresh_token/",
            {
                "client_id": self.settings.client_key,
                "client_secret": self.settings.client_secret,
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
            },
        ).json()

    def revoke(self, access_token: str) -> dict:
        return self.post_json(
            "tt_user/oauth2/revoke/",
            {
                "client_id": self.settings.client_key,
                "client_secret": self.settings.client_secret,
                "access_token": access_token,
            },
        ).json()

    def connect(self, request_scopes: str | None = None, **consent_kw) -> dict:
        """Full round trip; returns the token response's data. `request_scopes` (comma list)
        replaces ALL_SCOPES in the authorize request; `scopes` (a list) is what the user ticks."""
        verifier = new_verifier()
        body = self.exchange(self.get_code(verifier, request_scopes, **consent_kw), verifier)
        assert body["code"] == 0, body
        return body["data"]

    def business_get(self, token: str | None, open_id: str, fields=None, headers=None, **params) -> requests.Response:
        query = {"business_id": open_id, **params}
        if fields is not None:
            query["fields"] = json.dumps(fields)
        hdrs = {"Access-Token": token} if token else {}
        hdrs.update(headers or {})
        return self.http.get(self.url("/open_api/v1.3/business/get/"), params=query, headers=hdrs)

    def video_list(self, token: str, open_id: str, fields=None, **params) -> requests.Response:
        query = {"business_id": open_id, **params}
        if fields is not None:
            query["fields"] = json.dumps(fields)
        return self.http.get(
            self.url("/open_api/v1.3/business/video/list/"), params=query, headers={"Access-Token": token}
        )

    def token_info(self, access_token: str | None, app_id: str | None = None) -> dict:
        body = {"app_id": self.settings.client_key if app_id is None else app_id, "access_token": access_token}
        return self.post_json("tt_user/token_info/get/", {k: v for k, v in body.items() if v is not None}).json()

    # -- Marketing API ----------------------------------------------------------------------
    def ads_connect(self, accounts: str = "brassorbit3, moontideco2") -> dict:
        """Advertiser consent for `accounts` and the token exchange; the token response's data."""
        page = self.http.get(self.url("/portal/auth"), params={
            "app_id": self.settings.ads_app_id, "state": "s-1", "redirect_uri": ADS_REDIRECT_URI})
        assert page.status_code == 200
        resp = self.http.post(self.url("/portal/auth"), allow_redirects=False,
                              data={"nonce": self.nonce_of(page), "accounts": accounts, "action": "grant"})
        assert resp.status_code == 302 and resp.headers["Location"].startswith(ADS_REDIRECT_URI + "?")
        query = parse_qs(urlsplit(resp.headers["Location"]).query)
        assert query["state"] == ["s-1"]
        body = self.post_json("oauth2/access_token/", {"app_id": self.settings.ads_app_id,
                                                       "secret": self.settings.ads_secret,
                                                       "auth_code": query["auth_code"][0]}).json()
        assert body["code"] == 0, body
        return body["data"]

    def get(self, path: str, token: str, **params) -> dict:
        """A GET on the API with list/dict params JSON-encoded, as TikTok takes them; the JSON body."""
        params = {k: json.dumps(v) if isinstance(v, (list, dict)) else v for k, v in params.items()}
        return self.http.get(self.url("/open_api/v1.3/" + path), params=params, headers={"Access-Token": token}).json()


# Demo data pinned to one day so paging and report assertions see the same posts every run.
DEMO_TODAY = dt.date(2026, 5, 25)


@pytest.fixture(scope="session")
def sandbox():
    live = LiveSandbox(SandboxSettings(today=DEMO_TODAY))
    yield live
    live.stop()


@pytest.fixture(autouse=True)
def _fresh_sandbox_state(request):
    # Each test starts with no codes, tokens, faults, counters or clock offset.
    if "sandbox" in request.fixturenames:
        request.getfixturevalue("sandbox").state.reset()
    yield


@pytest.fixture
def make_sandbox():
    """A separate sandbox with its own settings (e.g. tiny rate limits, a webhook URL)."""
    started = []

    def make(**overrides) -> LiveSandbox:
        live = LiveSandbox(SandboxSettings(**{"today": DEMO_TODAY, **overrides}))
        started.append(live)
        return live

    yield make
    for live in started:
        live.stop()

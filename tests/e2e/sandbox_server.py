"""A standalone sandbox on a free loopback port, and a way to get real tokens from it."""
from __future__ import annotations

import re
import threading
from urllib.parse import parse_qs, urlsplit

import requests
from werkzeug.serving import make_server

from config import DEFAULT_SCOPES
from app.sandbox import SandboxSettings, create_sandbox_app
from app.tiktok import pkce

REDIRECT_URI = "https://app.logic-target.test/tiktok/auth/callback"


class SandboxServer:
    def __init__(self):
        # The sandbox approves exactly what our app asks for by default.
        self.settings = SandboxSettings(redirect_uris=[REDIRECT_URI], scopes=DEFAULT_SCOPES.split(","))
        self.app = create_sandbox_app(self.settings)
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}/sandbox/tiktok"
        # shutdown() is seen within 20 ms, not the default 0.5 s: every test stopping a server waited that long.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True)
        self._thread.start()

    @property
    def state(self):
        return self.app.extensions["tiktok_sandbox"].sandbox_state

    def app_overrides(self) -> dict:
        """Settings that point our app at this sandbox as if it were TikTok."""
        return {
            "TIKTOK_SANDBOX": "false",
            "TIKTOK_CLIENT_KEY": self.settings.client_key,
            "TIKTOK_CLIENT_SECRET": self.settings.client_secret,
            "TIKTOK_REDIRECT_URI": REDIRECT_URI,
            "TIKTOK_AUTH_URL": f"{self.url}/v2/auth/authorize/",
            "TIKTOK_BUSINESS_API_BASE": f"{self.url}/open_api/v1.3/",
            "TIKTOK_ADS_AUTH_URL": f"{self.url}/portal/auth",
        }

    def grant(self, client, username: str = "brassorbit3"):
        """Walk the consent page as a user would and exchange the code: a real TokenSet."""
        verifier, state = pkce.new_verifier(), pkce.new_state()
        s = requests.Session()
        page = s.get(client.authorize_url(state, pkce.challenge(verifier))).text
        hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
        scopes = re.findall(r'name="scope" value="([^"]+)" checked', page)
        r = s.post(f"{self.url}/v2/auth/authorize/decide", allow_redirects=False,
                   data={**hidden, "username": username, "action": "grant", "scope": scopes})
        code = parse_qs(urlsplit(r.headers["Location"]).query)["code"][0]
        return client.exchange_code(code, verifier)

    def calls(self, endpoint: str) -> int:
        return self.state.request_counts().get(endpoint, 0)

    def stop(self):
        self._server.shutdown()
        self._thread.join(5)

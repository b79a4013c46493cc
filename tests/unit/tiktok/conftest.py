"""Shared pieces for the TikTok client tests, offered as fixtures (`tt`, `client`).

Self-contained on purpose: these tests must not depend on the app fixtures in
tests/conftest.py, and test modules never `import conftest` (ambiguous once
several conftest.py files exist).
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from pathlib import Path
from typing import Any

import pytest

from app.tiktok import TikTokClient

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "tiktok"

BASE = "https://business-api.test/open_api/v1.3/"
AUTH_URL = "https://www.tiktok.test/v2/auth/authorize/"
ADS_AUTH_URL = "https://business-api.test/portal/auth"
REDIRECT_URI = "https://app.logictarget.test/tiktok/auth/callback/"
ADS_REDIRECT_URI = "https://app.logictarget.test/tiktok/ads/callback"
CLIENT_KEY = "aw-client-key-123"
CLIENT_SECRET = "cs-SECRET-do-not-log-9f8e7d6c"
ADS_APP_ID = "7100000000000000001"
ADS_SECRET = "ads-SECRET-do-not-log-1a2b3c4d"
SCOPES = ["user.info.basic", "user.info.stats", "user.insights", "video.list", "video.insights"]
ACCESS_TOKEN = "act.TEST-access-token-SENTINEL-7d1f"
REFRESH_TOKEN = "rft.TEST-refresh-token-SENTINEL-2b9c"
BUSINESS_ID = "-000Q3iBnBqNJTkLmOpq1dIiFbQ3dXJLcQ"
ADVERTISER_ID = "7001234567890123456"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def load_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def make_client(**overrides: Any) -> TikTokClient:
    settings: dict[str, Any] = dict(
        auth_url=AUTH_URL,
        business_api_base=BASE,
        ads_auth_url=ADS_AUTH_URL,
        client_key=CLIENT_KEY,
        client_secret=CLIENT_SECRET,
        redirect_uri=REDIRECT_URI,
        scopes=SCOPES,
        ads_app_id=ADS_APP_ID,
        ads_secret=ADS_SECRET,
        ads_redirect_uri=ADS_REDIRECT_URI,
    )
    settings.update(overrides)
    return TikTokClient(**settings)


@pytest.fixture
def tt() -> SimpleNamespace:
    """Constants and helpers: ``tt.BASE``, ``tt.CLIENT_SECRET``, ``tt.load(name)``, ``tt.make_client()``…"""
    namespace = {name: value for name, value in globals().items() if name.isupper()}
    return SimpleNamespace(**namespace, load=load, load_bytes=load_bytes, make_client=make_client)


@pytest.fixture
def client() -> TikTokClient:
    return make_client()

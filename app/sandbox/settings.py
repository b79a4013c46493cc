"""Configuration of the TikTok sandbox (one registered app, as on TikTok's developer portal)."""
from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field

# Suggested sandbox-mode identifiers; any values work as long as the app uses the same ones.
# The secrets have no fixed value: the client secret also signs the sandbox's webhooks, so a
# secret published here would let anyone forge `authorization.removed` to any installation.
# Each SandboxSettings() draws fresh ones; the host app passes its own (per installation).
DEMO_CLIENT_KEY = "sbx_logic_target"
DEMO_ADS_APP_ID = "7000000000000000001"


def _random_secret() -> str:
    return secrets.token_urlsafe(32)

# Accounts API scopes the sandbox app is "approved" for (the string scopes TikTok API for Business
# token endpoints return).
DEFAULT_SCOPES = [
    "user.info.basic",
    "user.info.username",
    "user.info.profile",
    "user.info.stats",
    "user.account.type",
    "user.insights",
    "video.list",
    "video.insights",
    "biz.spark.auth",
    "comment.list",
]


@dataclass
class SandboxSettings:
    client_key: str = DEMO_CLIENT_KEY
    client_secret: str = field(default_factory=_random_secret)
    # Matched byte for byte, like TikTok: scheme, host, port, path and trailing slash all count.
    redirect_uris: list[str] = field(
        default_factory=lambda: [
            "http://127.0.0.1:5000/tiktok/auth/callback",
            "http://localhost:5000/tiktok/auth/callback",
        ]
    )
    scopes: list[str] = field(default_factory=lambda: list(DEFAULT_SCOPES))
    ads_app_id: str = DEMO_ADS_APP_ID
    ads_secret: str = field(default_factory=_random_secret)
    ads_redirect_uris: list[str] = field(
        default_factory=lambda: [
            "http://127.0.0.1:5000/tiktok/ads/callback",
            "http://localhost:5000/tiktok/ads/callback",
        ]
    )
    webhook_url: str | None = None
    access_ttl: int = 86400
    refresh_ttl: int = 31536000
    code_ttl: int = 600
    require_pkce: bool = True
    per_account_qpm: int = 40
    app_qpm: int = 600
    # TikTok's Business API answers errors inside HTTP 200; 400 lets clients be tested against both.
    error_http_status: int = 200
    state_path: str | None = None
    today: dt.date | None = None
    # The test-only /_control endpoints answer loopback callers only (see control.py);
    # True opens them to every caller (the host app's SANDBOX_CONTROL).
    control_enabled: bool = False
    # Test hook: username → how many more delivering Spark Ads its advertiser gets (e.g.
    # {"brassorbit3": 130}), so a client must batch the report's ad_ids filter (≤100 ids a request).
    # Also settable at run time with POST /_control/ads.
    extra_spark_ads: dict[str, int] = field(default_factory=dict)

"""Configuration of the TikTok sandbox (one registered app, as on TikTok's developer portal)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

# Suggested sandbox-mode credentials; any values work as long as the app uses the same ones.
DEMO_CLIENT_KEY = "sbx_logic_target"
DEMO_CLIENT_SECRET = "sbx_logic_target_secret"
DEMO_ADS_APP_ID = "7000000000000000001"
DEMO_ADS_SECRET = "sbx_logic_target_ads_secret"

# Accounts API scopes the sandbox app is "approved" for (TIKTOK_API.md §6).
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
    client_secret: str = DEMO_CLIENT_SECRET
    # Matched byte for byte, like TikTok: scheme, host, port, path and trailing slash all count.
    redirect_uris: list[str] = field(
        default_factory=lambda: [
            "http://127.0.0.1:5000/tiktok/auth/callback",
            "http://localhost:5000/tiktok/auth/callback",
        ]
    )
    scopes: list[str] = field(default_factory=lambda: list(DEFAULT_SCOPES))
    ads_app_id: str = DEMO_ADS_APP_ID
    ads_secret: str = DEMO_ADS_SECRET
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
    # Test hook: username → how many more delivering Spark Ads its advertiser gets (e.g.
    # {"brassorbit3": 130}), so a client must batch the report's ad_ids filter (≤100 ids a request).
    # Also settable at run time with POST /_control/ads.
    extra_spark_ads: dict[str, int] = field(default_factory=dict)

"""`TikTokClient`: the only code in the product that sends requests to TikTok.

It is assembled from one module per TikTok surface, so each file says one thing:

* `app.tiktok.accounts` — TikTok API for Business, Accounts API: Login Kit consent with
  TikTok's hex-S256 PKCE, `tt_user/oauth2/{token,refresh_token,revoke}/`,
  `tt_user/token_info/get/`, `business/get/`, `business/video/list/`.
* `app.tiktok.marketing` — Marketing API for Spark Ads: `oauth2/access_token/`,
  `oauth2/advertiser/get/`, `advertiser/info/`, `ad/get/`, `report/integrated/get/`.
* `app.tiktok.transport` — the pooled session and the one `_call` that sends a request.
* `app.tiktok.interpret` — the one mapping from TikTok's answers to typed errors.
* `app.tiktok.fields` — TikTok's documented request fields, with their sources.

Why plain `requests` and not requests-oauthlib: oauthlib refuses any non-https
endpoint (``InsecureTransportError``), and the sandbox is served over http on our
own origin in development; it also always adds ``client_id`` and joins scopes
with spaces on the authorize URL, while TikTok wants ``client_key`` and commas;
and every Accounts API token call is a JSON body inside a ``{code, data}``
envelope, so all four compliance hooks would be rewriting everything oauthlib
does. Building the query string with `urlencode` and posting JSON ourselves is
shorter and easier to audit.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .accounts import (
    DEFAULT_PROFILE_FIELDS,
    DEFAULT_VIDEO_FIELDS,
    MAX_VIDEO_PAGE,
    SYNC_VIDEO_FIELDS,
    AccountsAPI,
    insight_fields_for,
    profile_fields_for,
    video_fields_for,
)
from .interpret import interpret_response
from .marketing import REPORT_METRICS, SPARK_AD_FIELDS, MarketingAPI, report_windows
from .transport import DEFAULT_TIMEOUT, RedactQuerySecrets, Transport, install_log_redaction

if TYPE_CHECKING:  # the client itself stays Flask-free
    from flask import Flask


class TikTokClient(AccountsAPI, MarketingAPI, Transport):
    """Typed calls to TikTok. Thread-safe enough to share per app (one pooled Session)."""


def get_client(app: "Flask") -> TikTokClient:
    """The app's client, built from `app.config` once and cached in ``app.extensions["tiktok"]``."""
    client = app.extensions.get("tiktok")
    if client is None:
        cfg = app.config
        scopes = cfg["TIKTOK_SCOPES"]
        if isinstance(scopes, str):
            scopes = [s.strip() for s in scopes.split(",") if s.strip()]
        client = TikTokClient(
            auth_url=cfg["TIKTOK_AUTH_URL"],
            business_api_base=cfg["TIKTOK_BUSINESS_API_BASE"],
            ads_auth_url=cfg["TIKTOK_ADS_AUTH_URL"],
            client_key=cfg["TIKTOK_CLIENT_KEY"],
            client_secret=cfg["TIKTOK_CLIENT_SECRET"],
            redirect_uri=cfg["TIKTOK_REDIRECT_URI"],
            scopes=scopes,
            ads_app_id=cfg.get("TIKTOK_ADS_APP_ID"),
            ads_secret=cfg.get("TIKTOK_ADS_SECRET"),
            ads_redirect_uri=cfg.get("TIKTOK_ADS_REDIRECT_URI"),
            timeout=(DEFAULT_TIMEOUT[0], float(cfg.get("TIKTOK_HTTP_TIMEOUT", DEFAULT_TIMEOUT[1]))),
            allow_http_media=bool(cfg.get("TIKTOK_SANDBOX")),
        )
        app.extensions["tiktok"] = client
    return client


__all__ = [
    "DEFAULT_PROFILE_FIELDS",
    "DEFAULT_TIMEOUT",
    "DEFAULT_VIDEO_FIELDS",
    "MAX_VIDEO_PAGE",
    "REPORT_METRICS",
    "SPARK_AD_FIELDS",
    "SYNC_VIDEO_FIELDS",
    "RedactQuerySecrets",
    "TikTokClient",
    "get_client",
    "insight_fields_for",
    "install_log_redaction",
    "interpret_response",
    "profile_fields_for",
    "report_windows",
    "video_fields_for",
]

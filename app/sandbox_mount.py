"""Wire the TikTok sandbox (app/sandbox) into this app when sandbox mode is on.

The sandbox itself imports nothing from the app; this module translates our config
into its settings, so the two agree on client credentials and redirect URIs.
"""
from __future__ import annotations

from flask import Flask

from app.extensions import csrf


def sandbox_settings(app: Flask):
    from app.sandbox import SandboxSettings

    cfg = app.config
    return SandboxSettings(
        client_key=cfg["TIKTOK_CLIENT_KEY"],
        client_secret=cfg["TIKTOK_CLIENT_SECRET"],
        redirect_uris=[cfg["TIKTOK_REDIRECT_URI"]],
        scopes=list(dict.fromkeys(cfg["TIKTOK_SCOPES"])),
        ads_app_id=cfg["TIKTOK_ADS_APP_ID"],
        ads_secret=cfg["TIKTOK_ADS_SECRET"],
        ads_redirect_uris=[cfg["TIKTOK_ADS_REDIRECT_URI"]],
        webhook_url=f"{cfg['APP_BASE_URL']}/tiktok/webhook",
        state_path=cfg.get("SANDBOX_STATE_PATH"),
        control_enabled=cfg["SANDBOX_CONTROL"],
        # A web app registered without PKCE: the sandbox then accepts a consent request with no
        # challenge (and, as TikTok would, still checks a challenge that is sent).
        require_pkce=bool(cfg.get("TIKTOK_PKCE", True)),
    )


def mount_sandbox(app: Flask) -> None:
    from app.sandbox import create_blueprint

    bp = create_blueprint(sandbox_settings(app))
    # The sandbox stands in for TikTok's own pages and APIs, which our CSRF tokens
    # do not cover; it guards its consent form with its own one-time nonce.
    csrf.exempt(bp)
    app.register_blueprint(bp, url_prefix="/sandbox/tiktok")
    app.extensions["tiktok_sandbox"] = bp


def serve_standalone(app: Flask, *, host: str, port: int) -> None:
    from app.sandbox import serve

    serve(sandbox_settings(app), host=host, port=port)

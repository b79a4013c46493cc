"""Security headers on every response.

CSP: scripts and styles only from our origin (htmx runs with allowEval off, so no
'unsafe-eval'); forms may post to us and be redirected to TikTok's consent pages.
Referrer-Policy keeps a same-origin Referer, which Flask-WTF's HTTPS check needs;
the OAuth callback alone sends no-referrer so the code never leaks onward.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, request
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def build_csp(config) -> str:
    form_targets = sorted({_origin(config["TIKTOK_AUTH_URL"]), _origin(config["TIKTOK_ADS_AUTH_URL"])})
    return "; ".join([
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: https:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self' " + " ".join(form_targets),
    ])


def init_app(app: Flask) -> None:
    if app.config.get("TRUST_PROXY"):
        n = app.config["TRUST_PROXY"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=0, x_port=0)  # type: ignore[method-assign]

    csp = build_csp(app.config)
    production = app.config["APP_ENV"] == "production"

    @app.after_request
    def _security_headers(response):
        h = response.headers
        h.setdefault("Content-Security-Policy", csp)
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        h.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if production:
            h.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        # Signed-in pages and every htmx partial: never stored by browsers or proxies.
        if (current_user and current_user.is_authenticated) or request.headers.get("HX-Request"):
            h["Cache-Control"] = "no-store"
        return response

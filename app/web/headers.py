"""Security headers on every response.

CSP: scripts and styles only from our origin (htmx runs with allowEval off, so no
'unsafe-eval'); forms may post to us and be redirected to TikTok's consent pages.
Referrer-Policy keeps a same-origin Referer, which Flask-WTF's HTTPS check needs;
the OAuth callback alone sends no-referrer so the code never leaks onward.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, current_app, request
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix

from app.web import static_assets


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

    headers = {
        "Content-Security-Policy": build_csp(app.config),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
        "Cross-Origin-Opener-Policy": "same-origin",
    }
    if app.config["APP_ENV"] == "production":
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    app.extensions["security_headers"] = headers

    static_assets.init_app(app)

    @app.after_request
    def _security_headers(response):
        if static_assets.is_static_request():  # the same for everyone: cacheable, never no-store
            return apply_security_headers(static_assets.cache_for_a_year_when_versioned(response), no_store=False)
        return apply_security_headers(response, no_store=_private_response())


def _private_response() -> bool:
    """Signed-in pages and every htmx partial: never stored by browsers or proxies."""
    if request.headers.get("HX-Request"):
        return True
    try:
        return bool(current_user and current_user.is_authenticated)
    except Exception:  # the user could not be loaded (e.g. the database is down): assume private
        return True


def apply_security_headers(response, *, no_store: bool):
    """Add the headers every response carries (a route may have set a stricter CSP).

    Called by after_request and directly by the error handlers, whose responses must
    carry them even when after_request does not run or fails."""
    for name, value in current_app.extensions["security_headers"].items():
        response.headers.setdefault(name, value)
    if no_store:
        response.headers["Cache-Control"] = "no-store"
    return response

"""Assembles the sandbox blueprint, its fault injection and request counting, and a standalone app."""
from __future__ import annotations

import time
from typing import Callable

from flask import Blueprint, Flask, Response, request

from . import ads, business, control, oauth
from .responses import envelope, state, error_response
from .settings import SandboxSettings
from .state import (
    AUTH_CODE_INVALID,
    INTERNAL_ERROR,
    INVALID_GRANT,
    RATE_LIMITED,
    TOKEN_INVALID,
    Fault,
    SandboxError,
    SandboxState,
)

URL_PREFIX = "/sandbox/tiktok"
API_PREFIX = "/open_api/v1.3/"


def create_blueprint(settings: SandboxSettings, *, clock: Callable[[], float] | None = None) -> Blueprint:
    """The TikTok sandbox as a Blueprint named "sandbox"; its state is at `bp.sandbox_state`."""
    bp = Blueprint(
        "sandbox", __name__, template_folder="templates", static_folder="static", static_url_path="/static"
    )
    bp.sandbox_state = SandboxState(settings, clock)
    rules: dict[str, str] = {}
    for routes in (oauth.ROUTES, business.ROUTES, ads.ROUTES, control.ROUTES):
        for rule, endpoint, view, methods in routes:
            bp.add_url_rule(rule, endpoint, view, methods=methods)
            rules[endpoint] = rule

    @bp.before_request
    def count_and_inject_faults():
        rule = rules.get((request.endpoint or "").rsplit(".", 1)[-1])
        if rule is not None and rule.startswith("/_control"):
            control.guard()  # loopback callers only, unless control_enabled
            return None
        if rule is None:
            return None
        st = state()
        st.count_request(rule.removeprefix(API_PREFIX).lstrip("/"))
        # Faults hit API calls only; the consent pages are a browser's business.
        fault = st.take_fault(rule) if rule.startswith(API_PREFIX) else None
        return apply_fault(st, fault) if fault else None

    bp.register_error_handler(SandboxError, error_response)
    return bp


def apply_fault(st: SandboxState, fault: Fault) -> Response | None:
    """A response standing in for the real call, or None to let the call proceed (after a delay)."""
    status = st.settings.error_http_status
    if fault.kind == "timeout":
        time.sleep(fault.delay)  # real time on purpose: the client's socket timeout is real time
        return None
    if fault.kind in ("rate_limit", "http_429"):
        resp = envelope(RATE_LIMITED, "Too many requests. Request limit exceeded (QPM); retry later.", {},
                        200 if fault.kind == "rate_limit" else 429)
        resp.headers["Retry-After"] = str(fault.retry_after)
        return resp
    if fault.kind == "http_500":
        return envelope(INTERNAL_ERROR, "Internal service error. Please retry later.", {}, 500)
    if fault.kind == "http_503":
        # A gateway error page, not JSON: clients must not assume every body parses.
        html = "<html><head><title>503 Service Temporarily Unavailable</title></head><body>" \
               "<h1>503 Service Temporarily Unavailable</h1></body></html>"
        return Response(html, 503, mimetype="text/html", headers={"Retry-After": str(fault.retry_after)})
    if fault.kind == "malformed_json":
        return Response('{"code": 0, "message": "OK", "request_id": "sbx", "data": {"videos": [{"item_id": ',
                        200, mimetype="application/json")
    if fault.kind == "revoked_token":
        body = request.get_json(silent=True) if request.is_json else None
        body = body if isinstance(body, dict) else {}
        token = request.headers.get("Access-Token") or body.get("access_token") or body.get("refresh_token")
        # The user removed the app in TikTok: the grant really dies, and the endpoint answers as it would.
        if isinstance(token, str) and st.revoke_grant_of(token, reason=1):
            return None
        return envelope(TOKEN_INVALID, "Access token is invalid: the authorization was revoked.", {}, status)
    # On a code exchange the refused thing is the authorization code; elsewhere the grant.
    code = AUTH_CODE_INVALID if request.path.endswith(("/tt_user/oauth2/token/", "/oauth2/access_token/")) \
        else INVALID_GRANT
    return envelope(code, "invalid_grant: The authorization is no longer valid.", {}, status)


def create_sandbox_app(settings: SandboxSettings, *, clock: Callable[[], float] | None = None) -> Flask:
    """A minimal Flask app with only the sandbox, mounted at /sandbox/tiktok like in the real app."""
    app = Flask(__name__)
    bp = create_blueprint(settings, clock=clock)
    app.register_blueprint(bp, url_prefix=URL_PREFIX)
    app.extensions["tiktok_sandbox"] = bp  # same as the host app does; state at .sandbox_state
    return app


def serve(settings: SandboxSettings, host: str = "127.0.0.1", port: int = 5001) -> None:
    """Run the sandbox alone (threaded: a TikTok stand-in must answer calls concurrently)."""
    from werkzeug.serving import run_simple

    run_simple(host, port, create_sandbox_app(settings), threaded=True, use_reloader=False)

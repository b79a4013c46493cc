"""Request parsing and TikTok-envelope responses shared by the sandbox views."""
from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Iterable, Mapping, Set as AbstractSet

from flask import Response, current_app, jsonify, request

from .state import INVALID_PARAMS, RATE_LIMITED, SCOPE_MISSING, TOKEN_INVALID, SandboxError, SandboxState


class RateLimited(SandboxError):
    def __init__(self, retry_after: int):
        super().__init__(RATE_LIMITED, "Too many requests. Request limit exceeded (QPM); retry later.")
        self.retry_after = retry_after


def state() -> SandboxState:
    # Found through the blueprint that serves the request, so several sandboxes can coexist.
    return current_app.blueprints[request.blueprint].sandbox_state


def request_id() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d%H%M%S") + secrets.token_hex(8).upper()


def envelope(code: int, message: str, data: object, status: int = 200) -> Response:
    resp = jsonify({"code": code, "message": message, "request_id": request_id(), "data": data})
    resp.status_code = status
    return resp


def ok(data: object) -> Response:
    return envelope(0, "OK", data)


def error_response(err: SandboxError) -> Response:
    status = state().settings.error_http_status
    if isinstance(err, RateLimited):
        # TikTok throttles inside HTTP 200; with the 400 switch on, use the status a client expects.
        resp = envelope(err.code, err.message, {}, 200 if status == 200 else 429)
        resp.headers["Retry-After"] = str(err.retry_after)
        return resp
    return envelope(err.code, err.message, {}, status)


def json_body() -> dict:
    """Business API token calls take JSON only (a form body is a client bug, so refuse it)."""
    if request.mimetype != "application/json":
        raise SandboxError(INVALID_PARAMS, "invalid_request: Content-Type must be application/json.")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise SandboxError(INVALID_PARAMS, "invalid_request: The request body is not a JSON object.")
    return body


def access_token_header() -> str:
    token = request.headers.get("Access-Token")
    if not token:
        hint = " Authorization: Bearer is not accepted here." if request.headers.get("Authorization") else ""
        raise SandboxError(TOKEN_INVALID, "Access token is missing: send it in the Access-Token header." + hint)
    return token


def json_param(name: str, default: object = None, kind: type = list) -> object:
    """GET params that TikTok takes as JSON-encoded strings, e.g. fields=["item_id"]."""
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = json.loads(raw)
    except ValueError:
        raise SandboxError(INVALID_PARAMS, f"invalid params: {name} must be a JSON-encoded {kind.__name__}.") from None
    if not isinstance(value, kind):
        raise SandboxError(INVALID_PARAMS, f"invalid params: {name} must be a JSON-encoded {kind.__name__}.")
    return value


def int_param(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SandboxError(INVALID_PARAMS, f"invalid params: {name} must be an integer.") from None
    if not low <= value <= high:
        raise SandboxError(INVALID_PARAMS, f"invalid params: {name} must be between {low} and {high}.")
    return value


def date_param(name: str) -> dt.date:
    raw = request.args.get(name, "")
    try:
        if len(raw) == 10:
            return dt.date.fromisoformat(raw)
    except ValueError:
        pass
    raise SandboxError(INVALID_PARAMS, f"invalid params: {name} is required as YYYY-MM-DD.")


def optional_date_param(name: str) -> dt.date | None:
    """A YYYY-MM-DD param that may be left out (None); present but malformed → 40002."""
    return None if request.args.get(name) is None else date_param(name)


def check_fields(fields: list, allowed: Mapping[str, str] | AbstractSet[str], granted: Iterable[str] = (),
                 *, what: str = "field", hint: str = "") -> list[str]:
    """`fields` as TikTok checks them: an undocumented name → 40002 (with `hint`, if any); a name
    whose scope the user did not grant → 40001. `allowed` maps name → scope, or is a plain set of
    names that need no scope. Returns the names in request order, duplicates dropped."""
    for f in fields:
        if not isinstance(f, str) or f not in allowed:
            raise SandboxError(INVALID_PARAMS, f"invalid params: unknown {what} {f!r}.{hint}")
    names = list(dict.fromkeys(fields))
    if isinstance(allowed, Mapping):
        granted = set(granted)
        missing = sorted({allowed[f] for f in names if allowed[f] not in granted})
        if missing:
            raise SandboxError(
                SCOPE_MISSING, f"scope/permission missing: the requested fields need scope(s) {', '.join(missing)}."
            )
    return names

"""Judging TikTok's answers: the product's one mapping from responses to typed errors.

Only codes that are documented or corroborated are mapped:

=========  ====================================================  ===================
code       meaning                                               raised
=========  ====================================================  ===================
0          OK
40100      throttled (any HTTP status, TikTok uses 200)          `RateLimited`
40101      app id + secret refused                               `ClientConfigError`
40110      authorization code invalid or expired (10 min)        `InvalidGrant`
other      anything else non-zero                                `TikTokError`
=========  ====================================================  ===================

40100 is in TikTok's rate-limit docs; 40101 and 40110 are what independent clients of
the Marketing and Accounts APIs handle. TikTok documents no code for an expired,
revoked or under-scoped token, so none is guessed here: the Accounts API client
(`app.tiktok.accounts`) resolves any other code by asking `tt_user/token_info/get/`.

Beyond codes: HTTP 429 → `RateLimited`; HTTP 5xx, timeouts and connection errors →
`Unavailable`; non-JSON or no `code` → `BadResponse`; OAuth-style string errors
(``{"error": "invalid_grant"}``) are mapped by name. On the token-grant endpoints a
"token invalid" answer means the grant itself was refused, so it becomes `InvalidGrant`.
"""
from __future__ import annotations

import datetime as dt
import email.utils
import json
import re
import time
from collections.abc import Iterable, Mapping
from typing import Any

import requests

from .errors import (
    BadResponse,
    ClientConfigError,
    InvalidGrant,
    RateLimited,
    ScopeMissing,
    TikTokError,
    TokenInvalid,
    Unavailable,
)

# --- error codes (see the module docstring) ---------------------------------------
RATE_LIMITED_CODE = 40100
CLIENT_CONFIG_CODES = frozenset({40101})
INVALID_GRANT_CODES = frozenset({40110})

#: OAuth-style string errors: RFC 6749 `error` values and the Display API's `error.code`.
_STRING_ERRORS: Mapping[str, type[TikTokError]] = {
    "invalid_grant": InvalidGrant,
    "invalid_client": ClientConfigError,
    "unauthorized_client": ClientConfigError,
    "unsupported_grant_type": ClientConfigError,
    "invalid_scope": ScopeMissing,
    "scope_not_authorized": ScopeMissing,
    "scope_permission_missed": ScopeMissing,
    "access_token_invalid": TokenInvalid,
    "rate_limit_exceeded": RateLimited,
    "server_error": Unavailable,
    "temporarily_unavailable": Unavailable,
    "internal_error": Unavailable,
}

DEFAULT_RETRY_AFTER = 60.0
def interpret_response(
    status: int,
    headers: Mapping[str, str],
    content: bytes,
    *,
    grant: bool = False,
    what: str = "TikTok",
    secrets: Iterable[str] = (),
    now: float | None = None,
) -> dict[str, Any]:
    """Judge one TikTok answer: return the envelope's `data` or raise the typed error.

    This is the single error mapping of the product. Body-level codes win over the
    HTTP status (TikTok throttles with HTTP 200), except that 429 is always
    `RateLimited` and 5xx always `Unavailable`. `grant` marks token-grant
    endpoints, where a token-invalid code means the code/refresh token was refused.
    `secrets` are scrubbed from TikTok's message before it enters the exception.
    """
    return _interpret(status, headers, content, grant=grant, what=what, secrets=secrets, now=now)[0]


def _interpret(
    status: int,
    headers: Mapping[str, str],
    content: bytes,
    *,
    grant: bool,
    what: str,
    secrets: Iterable[str],
    now: float | None,
) -> tuple[dict[str, Any], str | None]:
    secrets = tuple(secrets)
    body: Any = None
    try:
        body = json.loads(content) if content else None
    except (ValueError, RecursionError):
        body = None
    envelope = body if isinstance(body, dict) else {}
    code = envelope.get("code")
    if isinstance(code, str) and code.strip().lstrip("-").isdigit():
        code = int(code)
    nested_error = envelope.get("error") if isinstance(envelope.get("error"), dict) else {}
    log_id = _log_id(envelope, headers)
    message = _clean(envelope.get("message") or envelope.get("error_description") or nested_error.get("message"), secrets)

    if code == RATE_LIMITED_CODE or status == 429 or nested_error.get("code") == "rate_limit_exceeded":
        raise RateLimited(
            f"TikTok rate limit on {what}" + (f": {message}" if message else ""),
            code if isinstance(code, int) else None, log_id,
            retry_after=_retry_after(headers, now), http_status=status,
        )
    if status >= 500:
        raise Unavailable(
            f"TikTok server error on {what}" + (f": {message}" if message else ""),
            code, log_id, http_status=status,
        )
    if not isinstance(body, dict):
        kind = "an unexpected redirect" if 300 <= status < 400 else "no JSON object"
        raise BadResponse(f"TikTok sent {kind} for {what}", None, log_id, http_status=status)

    error_class: type[TikTokError]
    if "code" not in envelope:
        # OAuth-style `{"error": "invalid_grant", ...}` or Display-style `{"error": {"code": ...}}`.
        string_code = envelope.get("error") if isinstance(envelope.get("error"), str) else nested_error.get("code")
        if isinstance(string_code, str) and string_code not in ("", "ok"):
            error_class = _STRING_ERRORS.get(string_code, TikTokError)
            if grant and error_class is TokenInvalid:
                error_class = InvalidGrant
            raise error_class(
                f"TikTok refused {what}: {_clean(string_code, secrets)}" + (f": {message}" if message else ""),
                _clean(string_code, secrets), log_id, http_status=status,
            )
        raise BadResponse(f"TikTok answer for {what} has no 'code'", None, log_id, http_status=status)

    if isinstance(code, bool) or not isinstance(code, int):
        raise BadResponse(f"TikTok answer for {what} has a non-numeric 'code'", None, log_id, http_status=status)

    if code != 0:
        if code in INVALID_GRANT_CODES:
            error_class = InvalidGrant
        elif code in CLIENT_CONFIG_CODES:
            error_class = ClientConfigError
        else:
            error_class = TikTokError  # undocumented: the caller resolves it (see `_data_call`)
        raise error_class(
            f"TikTok refused {what}" + (f": {message}" if message else ""), code, log_id, http_status=status,
        )
    if not 200 <= status < 300:
        raise BadResponse(f"TikTok sent HTTP {status} with code 0 for {what}", code, log_id, http_status=status)

    data = envelope.get("data")
    if data is None:
        return {}, log_id
    if not isinstance(data, dict):
        raise BadResponse(f"TikTok answer for {what} has a non-object 'data'", code, log_id, http_status=status)
    return data, log_id


def _transport_error(exc: requests.RequestException, method: str, path: str) -> TikTokError:
    name = type(exc).__name__
    if isinstance(exc, (requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema,
                        requests.exceptions.InvalidURL)):
        return ClientConfigError(f"TikTok base URL is not usable for {method} {path} ({name})")
    if isinstance(exc, requests.Timeout):
        return Unavailable(f"TikTok timed out on {method} {path} ({name})")
    if isinstance(exc, requests.ConnectionError):
        return Unavailable(f"TikTok unreachable for {method} {path} ({name})")
    return Unavailable(f"TikTok transport error on {method} {path} ({name})")


def _retry_after(headers: Mapping[str, str], now: float | None) -> float:
    """Seconds to wait: `Retry-After` (seconds or HTTP date), else `X-RateLimit-Reset`
    (seconds, or an epoch timestamp when it looks like one), else 60."""
    now = time.time() if now is None else now
    for name in ("Retry-After", "X-RateLimit-Reset"):
        raw = (headers.get(name) or "").strip()
        if not raw:
            continue
        try:
            value = float(raw)
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(raw)
            except (TypeError, ValueError, IndexError):
                continue
            if when.tzinfo is None:
                when = when.replace(tzinfo=dt.timezone.utc)
            return max(0.0, when.timestamp() - now)
        if value != value or value in (float("inf"), float("-inf")):
            continue
        if value > 1_000_000_000:  # an epoch timestamp, not a delay
            value -= now
        return max(0.0, value)
    return DEFAULT_RETRY_AFTER


_LOG_ID_RE = re.compile(r"[^A-Za-z0-9_.:-]")


def _log_id(envelope: Mapping[str, Any], headers: Mapping[str, str]) -> str | None:
    """TikTok's request id, from the body or the `X-Tt-Logid` header, safe to log."""
    nested = envelope.get("error")
    raw = (
        envelope.get("request_id")
        or envelope.get("log_id")
        or (nested.get("log_id") if isinstance(nested, dict) else None)
        or headers.get("X-Tt-Logid")
    )
    if raw is None:
        return None
    return _LOG_ID_RE.sub("", str(raw))[:64] or None


_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]+")


def _clean(text: Any, secrets: Iterable[str]) -> str:
    """TikTok's message, made safe for exceptions and logs: no secrets, no CR/LF, short."""
    if text is None or text == "":
        return ""
    cleaned = str(text)
    for secret in secrets:
        if secret:
            cleaned = cleaned.replace(secret, "[redacted]")
    return _CONTROL_RE.sub(" ", cleaned)[:300]

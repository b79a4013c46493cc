"""TikTok webhooks: check `TikTok-Signature` over the raw body, then decode the event.

Signature (TikTok's webhook verification docs): header ``t=<unix seconds>,s=<hex>``; expected
``s`` = lowercase hex HMAC-SHA256(key=client secret, msg=t + "." + raw body).
The check runs on the raw bytes before any JSON parsing, compares in constant
time, and only then looks at the timestamp (so a stale-but-valid request and a
forged one are both refused, and a forger learns nothing from which).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from .errors import BadResponse, ClientConfigError, InvalidSignature
from .types import WebhookEvent

SIGNATURE_HEADER = "TikTok-Signature"
DEFAULT_TOLERANCE = 300  # seconds; TikTok leaves the window to us
MAX_HEADER_LENGTH = 1024


def signature(raw_body: bytes, timestamp: int | str, secret: str) -> str:
    """The `s=` value TikTok sends for `raw_body` at `timestamp` (also used by the sandbox's signer)."""
    signed_payload = str(timestamp).encode("ascii") + b"." + raw_body
    return hmac.new(secret.encode("utf-8"), signed_payload, hashlib.sha256).hexdigest()


def signature_header(raw_body: bytes, timestamp: int, secret: str) -> str:
    return f"t={timestamp},s={signature(raw_body, timestamp, secret)}"


def verify_signature(
    raw_body: bytes,
    header: str | None,
    secret: str,
    *,
    now: float,
    tolerance: float = DEFAULT_TOLERANCE,
) -> None:
    """Raise `InvalidSignature` unless `header` signs `raw_body` with `secret` within `tolerance` s of `now`.

    Unknown header elements are ignored (room for TikTok to add some); a repeated
    ``t`` or ``s`` is refused rather than guessed at.
    """
    if not isinstance(raw_body, (bytes, bytearray)):
        raise TypeError("raw_body must be the request's raw bytes")
    if not secret:
        # An empty HMAC key would let anyone forge events: fail closed, loudly.
        raise ClientConfigError("webhook secret (the TikTok client secret) is not configured")
    if not header:
        raise InvalidSignature(f"missing {SIGNATURE_HEADER} header")
    if len(header) > MAX_HEADER_LENGTH:
        raise InvalidSignature(f"{SIGNATURE_HEADER} header is too long")
    parts: dict[str, str] = {}
    for element in header.split(","):
        key, sep, value = element.strip().partition("=")
        if not sep:
            raise InvalidSignature(f"malformed {SIGNATURE_HEADER} header")
        if key in parts:
            raise InvalidSignature(f"{SIGNATURE_HEADER} header repeats {key!r}")
        parts[key] = value.strip()
    timestamp, given = parts.get("t", ""), parts.get("s", "")
    if not timestamp.isascii() or not timestamp.isdigit() or not given:
        raise InvalidSignature(f"malformed {SIGNATURE_HEADER} header")
    expected = signature(bytes(raw_body), timestamp, secret)
    if not hmac.compare_digest(expected.encode("ascii"), given.lower().encode("utf-8", "replace")):
        raise InvalidSignature("webhook signature does not match")
    if abs(now - int(timestamp)) > tolerance:
        raise InvalidSignature("webhook timestamp is outside the allowed window")


def parse_event(raw_body: bytes, *, client_key: str | None = None) -> WebhookEvent:
    """Decode a verified body; `content` is a JSON string inside the JSON, so it is parsed twice.

    Bad shapes raise `BadResponse` (log and acknowledge them; retrying won't fix
    them). With `client_key`, an event addressed to another app is refused as
    `InvalidSignature`.
    """
    try:
        data: Any = json.loads(raw_body)
    except (ValueError, RecursionError):
        raise BadResponse("webhook body is not valid JSON") from None
    event = WebhookEvent.from_api(data)
    if client_key is not None and not hmac.compare_digest(event.client_key.encode(), client_key.encode()):
        raise InvalidSignature("webhook event is for another client_key")
    return event


__all__ = [
    "DEFAULT_TOLERANCE",
    "SIGNATURE_HEADER",
    "parse_event",
    "signature",
    "signature_header",
    "verify_signature",
]

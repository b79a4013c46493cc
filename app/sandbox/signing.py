"""TikTok-style webhook signing and fire-and-forget delivery.

Signed as TikTok's webhook-verification docs describe: header `TikTok-Signature: t=<unix>,s=<hex>`,
HMAC-SHA256 keyed with the client secret over `t + "." + raw body`.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from typing import Callable

import requests

log = logging.getLogger(__name__)


def sign(secret: str, timestamp: int, raw_body: bytes) -> str:
    """The `TikTok-Signature` header value: t=<unix>,s=<hex hmac-sha256(secret, "t.body")>."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + raw_body, hashlib.sha256)
    return f"t={timestamp},s={mac.hexdigest()}"


def authorization_removed(client_key: str, open_id: str, reason: int, create_time: int) -> bytes:
    body = {
        "client_key": client_key,
        "event": "authorization.removed",
        "create_time": create_time,
        "user_openid": open_id,
        "content": json.dumps({"reason": reason}),  # a JSON *string*, as TikTok sends it
    }
    return json.dumps(body).encode()


def deliver_in_background(
    url: str, secret: str, raw_body: bytes, on_done: Callable[[dict], None] | None = None, timeout: float = 3.0
) -> threading.Thread:
    """POST the event from a daemon thread so the revoke response is never held up by the receiver."""

    def run() -> None:
        # Wall-clock time: the receiver checks freshness against its own clock, not the sandbox's.
        t = int(time.time())
        record = {"url": url, "body": raw_body.decode(), "sent_at": t, "status": None, "error": None}
        try:
            resp = requests.post(
                url,
                data=raw_body,
                headers={"Content-Type": "application/json", "TikTok-Signature": sign(secret, t, raw_body)},
                timeout=timeout,
            )
            record["status"] = resp.status_code
            resp.close()
        except requests.RequestException as e:  # receiver down: TikTok would retry; we just record it
            record["error"] = str(e)
            log.info("sandbox webhook to %s failed: %s", url, e)
        if on_done:
            on_done(record)

    thread = threading.Thread(target=run, name="sandbox-webhook", daemon=True)
    thread.start()
    return thread

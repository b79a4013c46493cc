"""Test-only control endpoints (fault injection, clock, counters, deauthorize).

They exist only where the sandbox is mounted (sandbox mode) or served alone, and even
there they answer only a caller on this machine: `caller_is_local` — the TCP peer is a
loopback address (127.0.0.0/8, ::1) and no proxy forwarded the request — unless the
settings' `control_enabled` (the host app's SANDBOX_CONTROL) opens them to everyone.
Anyone else gets 404, as if they did not exist. Whether the app happens to run in
development is not a reason: a development server reachable from a network is common.
"""
from __future__ import annotations

import ipaddress
from dataclasses import asdict
from typing import Mapping

from flask import abort, jsonify, request

from . import demo_data
from .responses import state


# A request that came through a proxy is not local, whatever the proxy's own address is:
# a reverse proxy on the same machine makes every visitor's peer address 127.0.0.1.
FORWARDING_HEADERS = ("HTTP_FORWARDED", "HTTP_X_FORWARDED_FOR", "HTTP_X_REAL_IP", "HTTP_X_FORWARDED_HOST")


def caller_is_local(environ: Mapping) -> bool:
    """The request comes straight from this machine: the socket's peer address (as the
    server saw it — never an address taken from X-Forwarded-For, even when a ProxyFix
    middleware has put one into REMOTE_ADDR) is loopback, and no forwarding header is
    present."""
    original = environ.get("werkzeug.proxy_fix.orig")
    peer = original.get("REMOTE_ADDR") if isinstance(original, Mapping) else environ.get("REMOTE_ADDR")
    if any(environ.get(h) for h in FORWARDING_HEADERS):
        return False
    try:
        address = ipaddress.ip_address(str(peer or "").split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def guard() -> None:
    """404 for /_control unless the caller is local or the settings open it."""
    if not (state().settings.control_enabled or caller_is_local(request.environ)):
        abort(404)


def _json() -> dict:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def faults():
    st = state()
    if request.method == "DELETE":
        st.clear_faults()
    elif request.method == "POST":
        body = _json()
        try:
            st.inject_fault(
                endpoint=str(body.get("endpoint", "*")),
                kind=str(body.get("kind", "")),
                count=int(body.get("count", 1)),
                delay=float(body.get("delay", 5.0)),
                retry_after=int(body.get("retry_after", 1)),
            )
        except (TypeError, ValueError) as e:
            return jsonify({"error": str(e)}), 400
    return jsonify({"faults": [asdict(f) for f in st.faults()]})


def requests_():
    st = state()
    if request.method == "DELETE":
        st.reset_request_counts()
    return jsonify({"counts": st.request_counts()})


def reset():
    state().reset()
    return jsonify({"ok": True})


def clock():
    st = state()
    if request.method == "POST":
        try:
            st.advance_clock(float(_json().get("advance", 0)))
        except (TypeError, ValueError):
            return jsonify({"error": "advance must be a number of seconds"}), 400
    return jsonify({"now": st.now(), "today": st.today().isoformat()})


def deauthorize():
    """Simulate the user removing the app in TikTok's settings.

    Body: ``{"username": ...}`` or ``{"open_id": ...}``, optional ``"reason"`` (default 1) and
    ``"webhook"`` (default true). With ``"webhook": false`` the grants die silently, as they do
    for a TikTok API for Business app (no documented deauthorization event): the app learns of it
    only from `tt_user/token_info/get/` or a refused call.
    """
    body = _json()
    open_id = body.get("open_id") or demo_data.open_id_for(str(body.get("username", "")))
    webhook = body.get("webhook", True)
    if not isinstance(webhook, bool):
        return jsonify({"error": "webhook must be true or false"}), 400
    revoked = state().deauthorize(open_id, reason=int(body.get("reason", 1)), webhook=webhook)
    return jsonify({"open_id": open_id, "grants_revoked": revoked, "webhook": webhook})


def ads():
    """More Spark Ads for one advertiser: ``{"username": "brassorbit3", "extra_spark_ads": 130}``.

    Each extra ad is a delivering Spark Ad (rows in the last two weeks) on one of the account's
    newest public posts, so more than 100 of them make a client batch the report's ad_ids filter.
    ``0`` removes them; `/_control/reset` forgets them (the `extra_spark_ads` setting stays).
    """
    st = state()
    if request.method == "POST":
        body = _json()
        username = demo_data.normalize_username(str(body.get("username", "")))
        count = body.get("extra_spark_ads")
        if not username or not isinstance(count, int) or isinstance(count, bool):
            return jsonify({"error": "send a username and extra_spark_ads as an integer"}), 400
        try:
            st.set_extra_spark_ads(username, count)
        except ValueError as e:
            return jsonify({"error": str(e)}), 400
    extra = st.extra_spark_ads()
    return jsonify({"extra_spark_ads": extra,
                    "advertisers": {u: demo_data.advertiser_id_for(u) for u in extra}})


def webhooks():
    return jsonify({"deliveries": list(state().webhooks)})


ROUTES = [
    ("/_control/faults", "control_faults", faults, ["GET", "POST", "DELETE"]),
    ("/_control/requests", "control_requests", requests_, ["GET", "DELETE"]),
    ("/_control/reset", "control_reset", reset, ["POST"]),
    ("/_control/clock", "control_clock", clock, ["GET", "POST"]),
    ("/_control/deauthorize", "control_deauthorize", deauthorize, ["POST"]),
    ("/_control/webhooks", "control_webhooks", webhooks, ["GET"]),
    ("/_control/ads", "control_ads", ads, ["GET", "POST"]),
]

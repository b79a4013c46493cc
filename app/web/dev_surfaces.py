"""Development-only surfaces, and who may use them.

Two things exist to try the product and test it, not to run it: the TikTok sandbox's
`/_control` endpoints (fault injection, clock; guarded inside the sandbox itself, see
app/sandbox/control.py) and the demo people's published passwords (app/services/demo.py).
Both answer only to a caller on this machine — the socket's peer address is loopback
and no proxy forwarded the request; X-Forwarded-For is never believed, even when
TRUST_PROXY has put it into `request.remote_addr` — or when SANDBOX_CONTROL is on.
`APP_ENV` being something other than production is *not* a reason: a development
server bound to a network address is common. Production refuses them outright (the
config refuses SANDBOX_CONTROL there too).
"""
from __future__ import annotations

from flask import current_app, request

from app.sandbox.control import caller_is_local
from app.services import audit, demo


def allowed() -> bool:
    """May this request use development surfaces?"""
    config = current_app.config
    if config.get("APP_ENV") == "production":
        return False
    return bool(config.get("SANDBOX_CONTROL")) or caller_is_local(request.environ)


def demo_login_refused(email: str, password: str) -> bool:
    """A demo person's published password from a caller that may not use it. The sign-in
    then fails exactly like a wrong password (same message, same rate limits); the audit
    log says why."""
    if not demo.is_published_login(email, password) or allowed():
        return False
    audit.record("login.demo_refused", ip=request.remote_addr)
    return True

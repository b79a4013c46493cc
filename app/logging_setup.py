"""Logging: one line per event, UTC, with secrets scrubbed before anything is written.

The access log (werkzeug, gunicorn) prints request lines, and the OAuth callback's
line carries `?code=…&state=…`; the redaction filter sits on the handler so no
logger anywhere can write those values.
"""
from __future__ import annotations

import logging
import re
import time

from flask import Flask

_SECRET_PARAMS = re.compile(
    r"(?i)\b(code|auth_code|state|code_verifier|access_token|refresh_token|client_secret|secret|token|password)"
    r"(=|\":\s*\"|': ')([^&\s\"',]+)"
)
_TOKEN_SHAPES = re.compile(r"\b(act|rft)\.[A-Za-z0-9._~\-!*]+")


def redact(text: str) -> str:
    text = _SECRET_PARAMS.sub(lambda m: f"{m.group(1)}{m.group(2)}[redacted]", text)
    return _TOKEN_SHAPES.sub(lambda m: f"{m.group(1)}.[redacted]", text)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not kill logging
            return True
        clean = redact(message).replace("\r", "\\r").replace("\n", "\\n")  # no log injection
        if clean != message:
            record.msg, record.args = clean, None
        return True


class UTCFormatter(logging.Formatter):
    converter = time.gmtime


def log_requests(app: Flask) -> None:
    """One line per request: method, path (no query string: it may carry a code), status,
    duration, user and a request id that is also sent back as X-Request-Id."""
    import uuid

    from flask import g, request
    from flask_login import current_user

    access = logging.getLogger("app.request")

    @app.before_request
    def _start():
        g.request_started = time.monotonic()
        g.request_id = (request.headers.get("X-Request-Id") or uuid.uuid4().hex)[:64]

    @app.after_request
    def _log(response):
        started = g.get("request_started")
        if started is not None and not request.path.startswith("/static/"):
            user = getattr(current_user, "id", None) if current_user else None
            access.info("request id=%s %s %s status=%s ms=%.1f user=%s", g.request_id, request.method,
                        request.path, response.status_code, (time.monotonic() - started) * 1000, user)
        response.headers.setdefault("X-Request-Id", g.get("request_id", ""))
        return response


def configure(app: Flask) -> None:
    root = logging.getLogger()
    if not any(getattr(h, "_logic_target", False) for h in root.handlers):
        handler = logging.StreamHandler()
        handler._logic_target = True  # type: ignore[attr-defined]
        handler.setFormatter(UTCFormatter("%(asctime)sZ %(levelname)s %(name)s %(message)s", "%Y-%m-%dT%H:%M:%S"))
        handler.addFilter(RedactingFilter())
        root.addHandler(handler)
        if root.level == logging.WARNING or root.level == logging.NOTSET:
            root.setLevel(logging.INFO)
    # Filters on loggers too, for handlers others install (pytest's caplog, gunicorn).
    for name in ("", "werkzeug", "gunicorn.access", "gunicorn.error", "app", "jobs"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())
    log_requests(app)

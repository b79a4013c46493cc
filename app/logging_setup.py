"""Logging: one line per event, UTC, with secrets scrubbed before anything is written.

Request lines reach the logs from several places: our own per-request line
(`app.request`), werkzeug's development server, gunicorn's access log (and anything
that logs a URL). Some URLs carry secrets: the OAuth callback's `?code=…&state=…`, and
*one-time links* whose path is the secret, like the emailed data-deletion
confirmation `/data-deletion/verify/<token>`. One redaction, `redact()`, covers both,
from two registries:

* **secret parameters** (`SECRET_PARAMS`): names whose values are replaced in
  `name=value` and JSON-ish `"name": "value"` forms;
* **secret paths** (`secret_paths()`): URL patterns whose variable parts are replaced.
  Every route whose URL variable is named `token`, `reference`, `secret` or ends in
  `_token`/`_secret` (e.g. a future `/invites/<token>` or
  `/password-reset/<reset_token>`) is registered automatically from the app's URL map
  at its first request, so a new one-time link is covered by naming its variable
  plainly; anything else calls `register_secret_path()` / `register_secret_param()`.

The filter sits on the handlers and loggers that write request lines, so no logger
anywhere can print those values; gunicorn's access log also redacts its atoms itself
(`RedactingGunicornLogger`, named in gunicorn.conf.py).
"""
from __future__ import annotations

import logging
import re
import threading
import time

from flask import Flask

REDACTED = "[redacted]"

# Query/form/JSON parameters whose values are secrets, everywhere in the app's logs.
SECRET_PARAMS: set[str] = {
    "code", "auth_code", "state", "code_verifier", "access_token", "refresh_token", "client_secret", "secret",
    "token", "password",
    # one-time links, now and to come: deletion confirmation, invitations, password resets
    "verify_token", "invite", "invite_token", "reset_token", "reference",
}
# URL variables whose values are secrets (see module docstring).
SECRET_URL_VARIABLES = {"token", "reference", "secret"}
SECRET_URL_SUFFIXES = ("_token", "_secret")

_lock = threading.Lock()
_param_re: re.Pattern[str]
_path_res: list[re.Pattern[str]] = []
_path_sources: set[str] = set()
_TOKEN_SHAPES = re.compile(r"\b(act|rft)\.[A-Za-z0-9._~\-!*]+")
# Where a path segment ends in a log line: a query, a fragment, a space, a quote, an ANSI colour code.
_SEGMENT_END = r"(?=[?#\s\"'\x1b]|$)"


def _build_param_re() -> None:
    global _param_re
    names = "|".join(sorted((re.escape(n) for n in SECRET_PARAMS), key=len, reverse=True))
    # ...and any name ending in _token or _secret (invite_token, reset_token, webhook_secret, …)
    _param_re = re.compile(rf"(?i)(?<![A-Za-z0-9_])({names}|[A-Za-z0-9_]+_(?:token|secret))"
                           rf"(=|\":\s*\"|': ')([^&\s\"',]+)")


def register_secret_param(*names: str) -> None:
    """Values of these parameters never appear in a log line."""
    with _lock:
        SECRET_PARAMS.update(n.lower() for n in names)
        _build_param_re()


def register_secret_path(pattern: str) -> None:
    """A regex for a URL path whose named groups (any name) are secrets, e.g.
    `r"/invites/(?P<token>[^/?#]+)"`. Anchored at the end of a path segment."""
    with _lock:
        if pattern in _path_sources:
            return
        compiled = re.compile(pattern + _SEGMENT_END)
        if not compiled.groupindex:
            raise ValueError("a secret path pattern needs a named group for the secret part")
        _path_sources.add(pattern)
        _path_res.append(compiled)


def secret_paths() -> list[re.Pattern[str]]:
    return list(_path_res)


def is_secret_url_variable(name: str) -> bool:
    return name in SECRET_URL_VARIABLES or name.endswith(SECRET_URL_SUFFIXES)


_RULE_VARIABLE = re.compile(r"<(?:[^<>:]+:)?([A-Za-z_]\w*)>")


def register_routes(app: Flask) -> None:
    """Register every route of `app` that carries a secret URL variable."""
    for rule in app.url_map.iter_rules():
        names = _RULE_VARIABLE.findall(rule.rule)
        if not any(is_secret_url_variable(n) for n in names):
            continue
        pattern, pos, n = "", 0, 0
        for m in _RULE_VARIABLE.finditer(rule.rule):
            pattern += re.escape(rule.rule[pos:m.start()])
            if is_secret_url_variable(m.group(1)):
                pattern += rf"(?P<s{n}>[^/?#\s\"']+)"
                n += 1
            else:
                pattern += r"[^/?#\s\"']+"
            pos = m.end()
        register_secret_path(pattern + re.escape(rule.rule[pos:]))


def _mask_groups(m: re.Match[str]) -> str:
    text, start = m.group(0), m.start()
    out, cursor = [], 0
    for name in m.re.groupindex:
        s, e = m.span(name)
        if s < 0:
            continue
        out.append(text[cursor:s - start])
        out.append(REDACTED)
        cursor = e - start
    out.append(text[cursor:])
    return "".join(out)


def redact(text: str) -> str:
    """`text` with every secret parameter value, one-time link token and token-shaped string replaced."""
    for pattern in _path_res:
        text = pattern.sub(_mask_groups, text)
    text = _param_re.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    return _TOKEN_SHAPES.sub(lambda m: f"{m.group(1)}.{REDACTED}", text)


_build_param_re()
# The emailed data-deletion confirmation link (registered here as well as from the URL
# map, so it is covered even in a process that has served no request yet).
register_secret_path(r"/data-deletion/verify/(?P<token>[^/?#\s\"']+)")


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


def gunicorn_logger_class():
    """gunicorn's Logger with every access-log atom redacted (request line, path, query,
    referer, headers), so its access log is clean whatever format is configured."""
    from gunicorn.glogging import Logger

    class RedactingGunicornLogger(Logger):
        def atoms(self, resp, req, environ, request_time):
            atoms = super().atoms(resp, req, environ, request_time)
            return {k: redact(v) if isinstance(v, str) else v for k, v in atoms.items()}

    return RedactingGunicornLogger


def log_requests(app: Flask) -> None:
    """One line per request: method, path (no query string: it may carry a code), status,
    duration, user and a request id that is also sent back as X-Request-Id."""
    import uuid

    from flask import g, request
    from flask_login import current_user

    access = logging.getLogger("app.request")

    @app.before_request
    def _start():
        if not app.extensions.get("secret_routes_registered"):  # the URL map is complete by now
            register_routes(app)
            app.extensions["secret_routes_registered"] = True
        g.request_started = time.monotonic()
        g.request_id = (request.headers.get("X-Request-Id") or uuid.uuid4().hex)[:64]

    @app.after_request
    def _log(response):
        started = g.get("request_started")
        if started is not None and not request.path.startswith("/static/"):
            user = getattr(current_user, "id", None) if current_user else None
            access.info("request id=%s %s %s status=%s ms=%.1f user=%s", g.request_id, request.method,
                        redact(request.path), response.status_code, (time.monotonic() - started) * 1000, user)
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
    for name in ("", "werkzeug", "gunicorn.access", "gunicorn.error", "app", "app.request", "jobs"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())
    # APScheduler logs every job it adds and starts at INFO ("Adding job tentatively…"):
    # noise at each start. Its warnings (a run missed or skipped) still show, and our own
    # `jobs.scheduler` line says which jobs are scheduled.
    scheduler_log = logging.getLogger("apscheduler")
    if scheduler_log.level == logging.NOTSET:
        scheduler_log.setLevel(logging.WARNING)
    log_requests(app)

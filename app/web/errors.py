"""Error pages in the product's look; htmx requests get the status plus a toast.

An error page must never fail itself: if rendering it raises (a broken template, the
database gone while the header asks for the user's workspaces), the answer is a small
static page with the same status. Every error response carries the security headers
and `Cache-Control: no-store` set here, not only by after_request, which does not run
(or runs and fails) on some error paths.
"""
from __future__ import annotations

import functools
import logging

from flask import Flask, Response, render_template, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from htmx_flask import make_response as hx_make_response
from markupsafe import escape
from werkzeug.exceptions import HTTPException, NotFound

from app.web.headers import apply_security_headers
from app.web.htmx import error_trigger, is_fragment_request

log = logging.getLogger("app.web")

TITLES = {
    400: "That request didn't make sense",
    403: "You can't do that here",
    404: "Page not found",
    405: "Not allowed",
    413: "That was too large",
    429: "Too many attempts",
    500: "Something went wrong on our side",
}
FALLBACK_MESSAGE = "We hit an unexpected error. Nothing was changed; please try again."
# No template, no url_for, no database: nothing here can fail.
FALLBACK_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Logic Target</title></head>
<body><main><p>Error {status}</p><h1>{title}</h1><p>{message}</p>
<p><a href="/">Back to Logic Target</a></p></main></body></html>
"""


def _render(status: int, message: str, *, refresh: bool = False):
    title = TITLES.get(status, "Error")
    try:
        if is_fragment_request():
            # htmx does not swap errors (and HX-Reswap: none makes sure of it for statuses
            # configured to swap, e.g. 429); the toast tells the user what happened.
            response = hx_make_response(message, status, trigger=error_trigger(message), refresh=refresh,
                                        reswap="none")
        else:
            # No workspace switcher on error pages: they are not pages of a workspace.
            response = Response(render_template("errors/error.html", status=status, title=title, message=message,
                                                workspace_links=[]), status, mimetype="text/html")
    except Exception:  # noqa: BLE001 - the fallback below is the whole point
        log.exception("error page failed to render status=%s path=%s", status, request.path)
        response = fallback_response(status, message)
    return apply_security_headers(response, no_store=True)


def fallback_response(status: int, message: str = FALLBACK_MESSAGE) -> Response:
    body = FALLBACK_PAGE.format(status=int(status), title=escape(TITLES.get(status, "Error")), message=escape(message))
    return Response(body, status, mimetype="text/html")


def _never_fails(handler):
    """If handling an error raises, answer with the static page and the headers."""

    @functools.wraps(handler)
    def wrapper(e):
        try:
            return handler(e)
        except Exception:  # noqa: BLE001
            log.exception("error handler failed path=%s", request.path)
            code = getattr(e, "code", None)
            status = code if isinstance(code, int) and 400 <= code < 600 else 500
            return apply_security_headers(fallback_response(status), no_store=True)

    return wrapper


def _user_id():
    try:
        return getattr(current_user, "id", None)
    except Exception:  # noqa: BLE001 - loading the user is what failed
        return None


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    @_never_fails
    def _csrf_error(e: CSRFError):
        log.warning("csrf failure path=%s user=%s reason=%s", request.path, _user_id(), e.description)
        # An htmx page whose token went stale reloads itself and gets a fresh one.
        return _render(400, "Your session form token was missing or out of date. Please reload the page and try again.",
                       refresh=True)

    @app.errorhandler(HTTPException)
    @_never_fails
    def _http_error(e: HTTPException):
        if e.code is None or e.code < 400:
            return e
        if e.code == 404:
            message = e.description if isinstance(e, HelpfulNotFound) else (
                "There is nothing here, or you don't have access to it.")
        elif e.code == 429:
            message = "Too many attempts in a short time. Please wait a minute and try again."
        else:
            message = e.description or TITLES.get(e.code, "Error")
        return _render(e.code, message)

    @app.errorhandler(Exception)
    @_never_fails
    def _unhandled(e: Exception):
        if isinstance(e, HTTPException):
            return _http_error(e)
        log.exception("unhandled error path=%s", request.path)
        from app.extensions import db

        try:
            db.session.rollback()
        except Exception:  # noqa: BLE001 - the page is still answered
            log.exception("rollback failed after an unhandled error")
        return _render(500, FALLBACK_MESSAGE)


class HelpfulNotFound(NotFound):
    """A 404 whose message is shown as written (e.g. a malformed report week); other
    404s say only "nothing here", never whether an id exists."""


def not_found(message: str) -> HelpfulNotFound:
    return HelpfulNotFound(message)

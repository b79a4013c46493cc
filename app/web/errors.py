"""Error pages in the product's look; htmx requests get the status plus a toast."""
from __future__ import annotations

import logging

from flask import Flask, render_template, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from htmx_flask import make_response as hx_make_response
from werkzeug.exceptions import HTTPException, NotFound

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


def _render(status: int, message: str, *, refresh: bool = False):
    if is_fragment_request():
        # htmx does not swap 4xx/5xx; the toast tells the user what happened.
        return hx_make_response(message, status, trigger=error_trigger(message), refresh=refresh)
    return render_template("errors/error.html", status=status, title=TITLES.get(status, "Error"),
                           message=message), status


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf_error(e: CSRFError):
        log.warning("csrf failure path=%s user=%s reason=%s", request.path,
                    getattr(current_user, "id", None), e.description)
        # An htmx page whose token went stale reloads itself and gets a fresh one.
        return _render(400, "Your session form token was missing or out of date. Please reload the page and try again.",
                       refresh=True)

    @app.errorhandler(HTTPException)
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
    def _unhandled(e: Exception):
        if isinstance(e, HTTPException):
            return _http_error(e)
        log.exception("unhandled error path=%s", request.path)
        from app.extensions import db

        db.session.rollback()
        return _render(500, "We hit an unexpected error. Nothing was changed; please try again.")


class HelpfulNotFound(NotFound):
    """A 404 whose message is shown as written (e.g. a malformed report week); other
    404s say only "nothing here", never whether an id exists."""


def not_found(message: str) -> HelpfulNotFound:
    return HelpfulNotFound(message)

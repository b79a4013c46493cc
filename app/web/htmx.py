"""The one place that decides "fragment or full page" and builds htmx responses.

htmx-flask is used only here, so replacing it later touches one file.
"""
from __future__ import annotations

from typing import Any

from flask import render_template, request
from flask import redirect as flask_redirect
from htmx_flask import make_response as hx_make_response


def is_fragment_request() -> bool:
    """A fragment for htmx swaps; a whole page for a direct visit or a history restore."""
    hx = getattr(request, "htmx", None)
    return bool(hx) and not hx.history_restore_request


def render_page_or_partial(page: str, partial: str, *, status: int = 200, **context: Any):
    template = partial if is_fragment_request() else page
    response = hx_make_response(render_template(template, **context), status)
    response.headers.add("Vary", "HX-Request")
    return response


def fragment_response(html: str, *, status: int = 200):
    """An already-rendered fragment (e.g. from the fragment cache) for an htmx swap."""
    response = hx_make_response(html, status)
    response.headers.add("Vary", "HX-Request")
    return response


def partial_response(template: str, *, status: int = 200, notify: tuple[str, str] | None = None,
                     events: dict[str, Any] | None = None, **context: Any):
    """Render a partial for an htmx action, announcing side effects with HX-Trigger."""
    trigger: dict[str, Any] = dict(events or {})
    if notify:
        level, message = notify
        trigger["notify"] = {"level": level, "message": message}
    response = hx_make_response(render_template(template, **context), status, trigger=trigger or None)
    response.headers.add("Vary", "HX-Request")
    return response


def redirect_after_action(url: str):
    """htmx gets HX-Redirect (a 3xx would be followed inside the XHR); browsers get 303."""
    if is_fragment_request():
        return hx_make_response("", 204, redirect=url)
    return flask_redirect(url, 303)


def error_trigger(message: str) -> dict[str, Any]:
    return {"notify": {"level": "error", "message": message}}

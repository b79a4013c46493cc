"""Static files (CSS, JS, icons) under versioned URLs that browsers keep for a year.

`url_for("static", filename=…)` adds `v=` and the first 12 hex digits of the file's
SHA-256, so a changed file gets a new URL. A request carrying the file's current
version is answered `public, max-age=31536000, immutable`: a page opened later loads
its CSS and scripts from the browser's cache instead of fetching each again. Any other
request for a static file (no `v`, or an old one) keeps Flask's `no-cache`, which
revalidates with the ETag. Static files are the same for everyone, so they are never
marked `no-store` like signed-in pages are (app/web/headers.py).
"""
from __future__ import annotations

import hashlib

from flask import Flask, current_app, request
from werkzeug.security import safe_join

YEAR = 31_536_000


def init_app(app: Flask) -> None:
    known: dict[str, str | None] = {}

    def version(filename: str) -> str | None:
        # Read once per process; under the debug reloader a file edited in place must get a new URL.
        if filename not in known or app.debug:
            known[filename] = _digest(app, filename)
        return known[filename]

    @app.url_defaults
    def _versioned(endpoint: str, values: dict) -> None:
        if endpoint == "static" and "v" not in values:
            found = version(values.get("filename", ""))
            if found:
                values["v"] = found

    app.extensions["static_version"] = version


def _digest(app: Flask, filename: str) -> str | None:
    path = safe_join(app.static_folder, filename) if app.static_folder else None
    try:
        with open(path, "rb") as f:  # type: ignore[arg-type]
            return hashlib.sha256(f.read()).hexdigest()[:12]
    except (OSError, TypeError):
        return None


def is_static_request() -> bool:
    return request.endpoint == "static"


def cache_for_a_year_when_versioned(response):
    """A year in the browser's cache when the URL names the file's current version."""
    filename = (request.view_args or {}).get("filename", "")
    wanted = request.args.get("v")
    if response.status_code == 200 and wanted and wanted == current_app.extensions["static_version"](filename):
        response.cache_control.no_cache = None
        response.cache_control.public = True
        response.cache_control.max_age = YEAR
        response.cache_control.immutable = True
    return response

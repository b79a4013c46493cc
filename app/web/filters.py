"""Template filters: how dates, numbers and job schedules read in the product."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import Flask, url_for

import jobs
from app.services import connection_states, scope_effects


def date_long(value: datetime | None) -> str:
    """May 25, 2026"""
    if value is None:
        return "—"
    return f"{value:%B} {value.day}, {value.year}"


def ago(value: datetime | None, now: datetime | None = None) -> str:
    if value is None:
        return "never"
    now = now or datetime.now(timezone.utc)
    seconds = int((now - value).total_seconds())
    if seconds < 0:
        return "just now"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return "just now"


def compact(value: int | float | None) -> str:
    """48,210 below a million, 1.42M above."""
    if value is None:
        return "—"
    if abs(value) >= 1_000_000:
        return f"{value / 1_000_000:.2f}M"
    return f"{value:,.0f}"


def percent(value: float | None, digits: int = 1) -> str:
    """0.0523 -> 5.2%"""
    if value is None:
        return "—"
    return f"{value * 100:.{digits}f}%"


def path_for(endpoint: str, **values) -> str:
    return url_for(endpoint, _external=False, **values)


def init_app(app: Flask) -> None:
    app.add_template_filter(date_long)
    app.add_template_filter(ago)
    app.add_template_filter(compact)
    app.add_template_filter(percent)
    # {{ job_when("purge") }} → "daily 03:00 UTC": from the job's scheduler trigger, never typed in a page.
    app.add_template_global(jobs.when, "job_when")
    # A link on our own site as a path, in a request or not: the dashboard's panels are also
    # rendered by the sync (app context only), where url_for would make absolute URLs on
    # APP_BASE_URL, which a user who reached us by another host name could not follow.
    app.add_template_global(path_for, "path_for")
    # An Integrations row's one state, and the permissions a connection lacks with their effects.
    app.add_template_global(connection_states.row_state, "connection_state")
    app.add_template_filter(connection_states.when_next, "when_next")
    app.add_template_global(scope_effects.not_granted, "ungranted_scopes")

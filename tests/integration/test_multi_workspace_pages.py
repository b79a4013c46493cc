"""People who work across several workspaces (every agency user: one per client) see
every page and every error page without a server error.

The walk covers every GET route of the app (`app.url_map`): path parameters are
filled with real ids of the user's workspaces, with ids that do not exist, and with
valid and invalid weeks; each URL is requested without a workspace and in each of the
user's workspaces (a URL that names nothing: without one and in one, since it names
nothing in the others either). Error pages (400, 404, 405, 429, 500) are requested on
routes with path parameters too, where the workspace switcher used to build URLs
without the route's own arguments. A 500 keeps the security headers even when the
error page itself cannot be rendered.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from html import unescape

import pytest
from flask import abort
from werkzeug.routing import IntegerConverter

from app.extensions import db
from app.models import utcnow
from app.services import accounts, deletion_requests, report_figures
from tests.conftest import PASSWORD, login
from tests.factories import make_connection, seed_performance

NOW = datetime(2026, 5, 25, 9, 0, tzinfo=timezone.utc)
REPORT_WEEK = "2026-W21"
NAMES = ("Alpha Client", "Brass Studio", "Cobalt Collective")
# Route arguments of the walk: good values (real ids of the user's workspaces, a week with
# a report, a week without) and bad ones (ids that do not exist, weeks that do not).
GOOD_WEEKS = [REPORT_WEEK, "2026-W20", "2026-W53"]
WEEKS = GOOD_WEEKS + ["2025-W53", "2026-W99", "2026-W00", "2026-W54", "9999-W52", "0001-W01", "not-a-week"]
MISSING_IDS = [0, 999_999, 2**31, 2**63, 10**20]
# Routes the walk does not GET, and why.
SKIP = {
    "static",  # files, not pages
    "tiktok_auth.callback", "tiktok_ads.callback",  # OAuth callbacks: test_connect.py / test_ads_link.py
}


@pytest.fixture(params=["agency", "client_admin"])
def multi(request, app):
    """A user in three workspaces (agency staff, or a client admin member of all three),
    each with a synced account and a stored report, plus one public deletion request."""
    role = request.param
    spaces = [accounts.get_or_create_workspace(name) for name in NAMES]
    user = accounts.create_user(f"{role}@example.com", role=role, workspace=None if role == "agency" else spaces[0],
                                password=PASSWORD)[0]
    if role != "agency":
        for ws in spaces[1:]:
            accounts.create_user(user.email, role=role, workspace=ws)
    conns = []
    for i, ws in enumerate(spaces):
        conn = make_connection(ws, user, username=f"acct{i}")
        seed_performance(conn, days=20, posts=5, now=NOW)
        conns.append(conn)
        report_figures.build_report(ws, report_figures.parse_week(REPORT_WEEK), now=NOW)
    filed = deletion_requests.create_request("someone", "someone@example.com", now=utcnow())
    db.session.commit()
    return {"user": user, "spaces": spaces, "conns": conns, "reference": filed.request.reference,
            "token": filed.token}


def _get_rules(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("sandbox.") or rule.endpoint in SKIP or "GET" not in rule.methods:
            continue
        yield rule


def _values_for(rule, data) -> list[dict]:
    """Every combination worth requesting for the rule's path parameters."""
    combos: list[dict] = [{}]
    for arg in sorted(rule.arguments):
        converter = rule._converters[arg]
        if arg == "week":
            options = WEEKS
        elif isinstance(converter, IntegerConverter):
            options = [c.id for c in data["conns"]] + MISSING_IDS
        elif arg == "reference":
            options = [data["reference"], "nope"]
        elif arg == "token":
            options = [data["token"], "nope"]
        elif arg == "item_id":  # a TikTok item id: digits as text
            options = ["7300000000000000001", "nope"]
        else:
            raise AssertionError(f"the walk does not know how to fill <{arg}> of {rule.rule}")
        combos = [{**c, arg: v} for c in combos for v in options]
    return combos


def _names_something(values: dict, data) -> bool:
    """Whether every value is a real one (an id of the user's, a week that exists, the filed
    request's reference or token); a missing id or an impossible week names nothing."""
    real = {c.id for c in data["conns"]} | set(GOOD_WEEKS) | {data["reference"], data["token"], "7300000000000000001"}
    return all(v in real for v in values.values())


def _paths(app, data):
    """Every GET URL of the walk, without a workspace and in every workspace (one workspace
    for a URL that names nothing: it names nothing in the others either)."""
    for rule in _get_rules(app):
        for values in _values_for(rule, data):
            path = _build(rule, values)
            yield rule, path
            for ws in data["spaces"] if _names_something(values, data) else data["spaces"][:1]:
                yield rule, f"{path}?workspace={ws.id}"


def _build(rule, values) -> str:
    # Rule.build refuses values its converters reject (huge ids); the request must still be made.
    path = rule.rule
    for arg, value in values.items():
        path = re.sub(rf"<(?:[^:<>]+:)?{arg}>", str(value), path)
    return path


def test_every_get_route_answers_without_a_server_error(app, client, multi):
    login(client, multi["user"])
    failures = []
    seen = set()
    for rule, path in _paths(app, multi):
        seen.add(rule.endpoint)
        for headers in ({}, {"HX-Request": "true"}):
            r = client.get(path, headers=headers)
            if r.status_code >= 500:
                failures.append((path, headers, r.status_code))
    assert not failures, failures
    assert {"reports.show", "performance.dashboard", "connection_sync.row", "public.data_deletion_status"} <= seen


def test_switcher_keeps_the_page_and_its_arguments(client, multi):
    login(client, multi["user"])
    a, b, c = multi["spaces"]
    html = client.get(f"/reports/{REPORT_WEEK}?workspace={a.id}").get_data(as_text=True)
    links = _switcher_links(html)
    assert links == {f"/reports/{REPORT_WEEK}?workspace={ws.id}" for ws in (a, b, c)}
    # Each link shows that workspace's report of the same week.
    for ws in (b, c):
        page = client.get(f"/reports/{REPORT_WEEK}?workspace={ws.id}")
        assert page.status_code == 200 and ws.name in page.get_data(as_text=True)


def test_switcher_drops_an_account_of_the_workspace_being_left(client, multi):
    login(client, multi["user"])
    a, b, _ = multi["spaces"]
    html = client.get(f"/performance?account={multi['conns'][0].id}").get_data(as_text=True)
    assert f"/performance?workspace={b.id}" in _switcher_links(html)
    assert client.get(f"/performance?workspace={b.id}").status_code == 200


@pytest.mark.parametrize("path", ["/privacy", "/data-deletion", "/no-such-page", "/connections/999999/row",
                                  "/reports/2026-W99"])
def test_public_and_error_pages_offer_no_switcher(client, multi, path):
    login(client, multi["user"])
    r = client.get(path)
    assert r.status_code < 500
    assert not _switcher_links(r.get_data(as_text=True)), path


def test_public_deletion_pages_work_signed_in(client, multi):
    login(client, multi["user"])
    assert client.get(f"/data-deletion/{multi['reference']}").status_code == 200
    assert client.get(f"/data-deletion/verify/{multi['token']}").status_code == 200


def _switcher_links(html: str) -> set[str]:
    m = re.search(r'<details class="switcher">(.*?)</details>', html, re.S)
    return {unescape(h) for h in re.findall(r'href="([^"]+)"', m.group(1))} if m else set()


# ------------------------------------------------------------------ error pages


@pytest.fixture
def boom_app(app):
    """Test-only routes: one with path parameters that aborts with any status, one that
    raises, and one whose error page cannot render either."""

    @app.get("/__test/abort/<int:code>/<slug>")
    def _abort(code: int, slug: str):
        abort(code)

    @app.get("/__test/boom/<slug>")
    def _boom(slug: str):
        raise RuntimeError("forced failure")

    @app.context_processor
    def _broken_templates():
        from flask import request

        if request.path.startswith("/__test/boom/template"):
            raise RuntimeError("the error page cannot render")
        return {}

    return app


SECURITY = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}


def _assert_secure(r):
    for name, value in SECURITY.items():
        assert r.headers.get(name) == value, (name, r.headers.get(name))
    assert "default-src 'self'" in r.headers.get("Content-Security-Policy", "")


@pytest.mark.parametrize("hx", [False, True], ids=["page", "htmx"])
def test_every_error_page_renders_for_a_multi_workspace_user(boom_app, client, multi, hx):
    login(client, multi["user"])
    conn = multi["conns"][1]
    headers = {"HX-Request": "true"} if hx else {}
    cases = [
        (404, client.get("/reports/2026-W99", headers=headers)),
        (404, client.get("/connections/999999/row", headers=headers)),
        (404, client.get(f"/performance?account=999999&workspace={multi['spaces'][0].id}", headers=headers)),
        (405, client.get(f"/connections/{conn.id}/refresh", headers=headers)),
        (400, client.post(f"/connections/{conn.id}/refresh", headers=headers)),  # no CSRF token
        (429, client.get("/__test/abort/429/x", headers=headers)),
        (400, client.get("/__test/abort/400/x", headers=headers)),
        (500, client.get("/__test/boom/view", headers=headers)),
    ]
    for expected, r in cases:
        assert r.status_code == expected, (expected, r.status_code, r.request.path)
        _assert_secure(r)
        if not hx:  # the product's error page, not the static fallback
            assert 'class="card error-card"' in r.get_data(as_text=True), r.request.path


def test_a_forced_500_keeps_the_security_headers(boom_app, client, multi):
    login(client, multi["user"])
    r = client.get(f"/__test/boom/view?workspace={multi['spaces'][2].id}")
    assert r.status_code == 500
    _assert_secure(r)
    assert "Something went wrong on our side" in r.get_data(as_text=True)


@pytest.mark.parametrize("signed_in", [True, False])
def test_a_500_whose_error_page_fails_still_answers_safely(boom_app, client, multi, signed_in):
    if signed_in:
        login(client, multi["user"])
    r = client.get("/__test/boom/template")
    assert r.status_code == 500
    _assert_secure(r)
    html = r.get_data(as_text=True)
    assert "<html" in html and "Something went wrong" in html and "forced failure" not in html

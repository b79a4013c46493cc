"""Ids and weeks that cannot exist are a 4xx, never a 500, on SQLite and PostgreSQL.

PostgreSQL's INTEGER is 32-bit: a literal beyond 2,147,483,647 raises there instead of
finding nothing, and a week in year 9999 used to overflow the calendar. Every route that
takes an id or a week (path, query string or form; GET and POST with a valid CSRF token)
is sent the bad values; ids answer 404 like any id the user cannot see, weeks 404 with
a plain explanation.
"""
from __future__ import annotations

import re

import pytest
from werkzeug.routing.converters import NumberConverter

from app.extensions import db
from app.models.ids import MAX_ID, is_storable_id, parse_id
from app.services import metrics, report_figures
from tests.conftest import login
from tests.factories import make_connection

BAD_IDS = ["99999999999999999999", "9223372036854775808", "9223372036854775807", str(MAX_ID + 1), str(MAX_ID),
           "-1", "0", "abc", "1.5", "1e3", "0x1", "%201", "1_000", "", "١"]
BAD_WEEKS = ["9999-W52", "0001-W01", "1999-W52", "2101-W01", "2026-W00", "2026-W54", "2025-W53", "2026-W99",
             "0000-W01", "2026-21", "x" * 300]
GOOD_WEEK = "2026-W21"


def _app_rules(app):
    return [r for r in app.url_map.iter_rules() if not r.endpoint.startswith("sandbox.") and r.endpoint != "static"]


def _fill(rule, values: dict) -> str:
    path = rule.rule
    for arg, value in values.items():
        path = re.sub(rf"<(?:[^:<>]+:)?{arg}>", value, path)
    return path


def _method(rule) -> str:
    return "GET" if "GET" in rule.methods else sorted(rule.methods - {"HEAD", "OPTIONS"})[0]


def _send(client, method: str, path: str, form: dict | None = None):
    if method == "GET":
        return client.get(path)
    return client.post_form(path, form or {})


@pytest.fixture
def signed_in(client, people):
    """The workspace's admin, signed in, with one connection of the workspace."""
    conn = make_connection(people.workspace, people.admin)
    db.session.commit()
    login(client, people.admin)
    client.csrf_token("/performance")
    return {"conn": conn, "ws": people.workspace}


# ------------------------------------------------------------------ path parameters


def _id_args(rule) -> list[str]:
    return [a for a in rule.arguments if isinstance(rule._converters[a], NumberConverter)]


def test_every_numeric_path_parameter_is_bounded_to_the_id_columns(app):
    rules = [(r, a) for r in _app_rules(app) for a in _id_args(r)]
    assert rules, "expected routes with ids in the path"
    for rule, arg in rules:
        conv = rule._converters[arg]
        assert conv.min == 1 and conv.max == MAX_ID, f"{rule.rule}: use <id:{arg}>, not an unbounded converter"


@pytest.mark.parametrize("bad", BAD_IDS)
def test_out_of_range_path_ids_are_404(app, client, signed_in, bad):
    rules = [r for r in _app_rules(app) if _id_args(r)]
    assert {r.endpoint for r in rules} >= {"connection_sync.refresh", "connection_sync.row",
                                           "connections.disconnect_account", "connections.request_deletion"}
    for rule in rules:
        path = _fill(rule, {a: bad for a in _id_args(rule)})
        if "//" in path:  # an empty id makes another URL: it must not be a 5xx either
            assert _send(client, _method(rule), path).status_code < 500
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            r = _send(client, method, path)
            assert r.status_code == 404, (method, path, r.status_code)


def _week_rules(app):
    return [r for r in _app_rules(app) if "week" in r.arguments]


@pytest.mark.parametrize("bad", BAD_WEEKS, ids=lambda w: w[:12])
def test_weeks_outside_the_calendar_are_404_with_an_explanation(app, client, signed_in, bad):
    rules = _week_rules(app)
    assert {r.endpoint for r in rules} == {"reports.show", "reports.build", "reports.email_preview",
                                           "reports.test_send", "reports.approve", "report_pdf.download"}
    for rule in rules:
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            r = _send(client, method, _fill(rule, {"week": bad}) + f"?workspace={signed_in['ws'].id}")
            assert r.status_code == 404, (method, rule.rule, bad, r.status_code)
            html = r.get_data(as_text=True)
            assert ("is not an ISO week" in html or "outside the weeks reports cover" in html
                    or "is not a report period" in html)


def test_a_far_week_explains_which_years_are_covered(client, signed_in):
    html = client.get("/reports/9999-W52").get_data(as_text=True)
    assert "outside the weeks reports cover (2000 to 2100)" in html
    assert "is not an ISO week (use YYYY-Www" in client.get("/reports/2025-W53").get_data(as_text=True)


# ------------------------------------------------------------------ query strings and forms


def _query_and_form_cases(o, bad: str):
    """Every place an id arrives outside the path."""
    ws, conn = o["ws"].id, o["conn"].id
    yield "GET", f"/performance?account={bad}", None
    yield "GET", f"/performance/posts?account={bad}", None
    yield "GET", f"/performance/export.csv?account={bad}", None
    yield "GET", f"/performance?workspace={ws}&account={bad}", None
    for path in ("/performance", "/performance/posts", "/performance/export.csv", "/reports", f"/reports/{GOOD_WEEK}",
                 f"/reports/{GOOD_WEEK}/email", "/settings/integrations", "/settings/audit", "/settings/audit.csv",
                 f"/connections/{conn}/row"):
        if not path.startswith("/connections"):
            yield "GET", f"{path}?workspace={bad}", None
    yield "POST", f"/reports/{GOOD_WEEK}/build?workspace={bad}", None
    yield "POST", f"/reports/{GOOD_WEEK}/test-send?workspace={bad}", None
    yield "POST", "/tiktok/auth/connect", {"workspace_id": bad}
    yield "POST", "/tiktok/ads/connect", {"workspace_id": bad}


@pytest.mark.parametrize("bad", BAD_IDS)
def test_out_of_range_query_and_form_ids_are_404(client, signed_in, bad):
    for method, path, form in _query_and_form_cases(signed_in, bad):
        r = _send(client, method, path, form)
        assert r.status_code == 404, (method, path, form, r.status_code)


@pytest.mark.parametrize("bad", ["99999999999999999999", "-5", "abc"])
def test_no_route_fails_on_bad_ids_anywhere(app, client, signed_in, bad):
    """Every route, its path filled with a real id, and bad ids in every id-like parameter."""
    query = f"?workspace={bad}&account={bad}&page={bad}&connection_id={bad}"
    form = {"workspace_id": bad, "account": bad, "connection_id": bad, "advertiser_id": bad, "choice": bad}
    for rule in _app_rules(app):
        values = {a: (str(signed_in["conn"].id) if a in _id_args(rule) else GOOD_WEEK if a == "week" else "x")
                  for a in rule.arguments}
        path = _fill(rule, values) + query
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if rule.endpoint in ("connection_sync.refresh",):
                continue  # a real refresh would call TikTok; its bad ids are covered above
            r = _send(client, method, path, form)
            assert r.status_code < 500, (method, path, r.status_code)


# ------------------------------------------------------------------ the parsers


@pytest.mark.parametrize("text, expected", [("1", 1), ("42", 42), (str(MAX_ID), MAX_ID), ("007", 7)])
def test_parse_id_accepts_plain_ids(text, expected):
    assert parse_id(text) == expected and is_storable_id(expected)


@pytest.mark.parametrize("value", BAD_IDS[:2] + [str(MAX_ID + 1), "-1", "0", "abc", "1.5", " 1", "1 ", "+1", "1_0", "",
                                                "١", "²", MAX_ID + 1, -1, 0, True, None, 1.0])
def test_parse_id_refuses_anything_else(value):
    with pytest.raises(ValueError):
        parse_id(value)
    assert not is_storable_id(value)


@pytest.mark.parametrize("week", ["2000-W01", "2026-W53", "2100-W52"])
def test_the_week_range_edges_parse_and_have_windows(week):
    wk = report_figures.parse_week(week)
    window = wk.window(metrics.workspace_tz("Pacific/Kiritimati"))
    assert window.previous().start < window.start and window.ends_before > window.starts_at

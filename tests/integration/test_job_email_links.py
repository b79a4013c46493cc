"""Emails built by jobs have no request to take a host from: their links are absolute
on APP_BASE_URL (its scheme, host, port and path), which config turns into Flask's
SERVER_NAME, APPLICATION_ROOT and PREFERRED_URL_SCHEME. The web app still answers on
any Host."""
from __future__ import annotations

import re
from email import message_from_bytes, policy

import pytest

from app.extensions import db
from app.services import mail
from jobs.runner import run_job
from tests.conftest import PASSWORD, Client
from tests.factories import make_connection
from tests.report_data import NOW, WEEK, seed_brass

BASES = ["https://lt.example.com:8443", "http://127.0.0.1:5000", "https://agency.example/lt"]


@pytest.fixture(params=BASES)
def base(request) -> str:
    return request.param


@pytest.fixture
def app(app_factory, db_backend, base):
    app = app_factory(db_backend, APP_BASE_URL=base)
    app.test_client_class = Client
    with app.app_context():
        yield app


def sent_bodies(app) -> list[tuple[str, str, str]]:
    """(To, text part, HTML part) of every mail in the outbox."""
    found = []
    for raw in mail.outbox_messages(app.config["MAIL_OUTBOX_DIR"]):
        msg = message_from_bytes(raw, policy=policy.default)
        found.append((msg["To"], msg.get_body("plain").get_content(), msg.get_body("html").get_content()))
    return found


def test_config_points_url_building_at_app_base_url(app, base):
    scheme, rest = base.split("://")
    host, _, path = rest.partition("/")
    assert app.config["SERVER_NAME"] == host
    assert app.config["APPLICATION_ROOT"] == "/" + path
    assert app.config["PREFERRED_URL_SCHEME"] == scheme
    assert app.config["SESSION_COOKIE_PATH"] == "/"


def test_a_reconnect_notice_sent_by_the_job_links_to_app_base_url(app, people, base):
    conn = make_connection(people.workspace, people.creator, username="gone", status="needs_reconnect")
    db.session.commit()
    assert run_job(app, "refresh-tokens", now=NOW).counts["reconnect_alerts"] == 1
    link = f"{base}/settings/integrations?workspace={people.workspace.id}#connection-{conn.id}"
    sent = sent_bodies(app)
    assert sorted(to for to, _, _ in sent) == ["admin@example.com", "creator@example.com"]
    for _, text, html in sent:
        assert link in text and f'href="{link}"' in html


def test_a_weekly_report_sent_by_the_job_links_to_app_base_url(app, people, base):
    seed_brass(people)
    assert run_job(app, "weekly-reports", now=NOW).counts["emails_sent"] == 2
    link = f"{base}/reports/{WEEK}?workspace={people.workspace.id}"
    for _, text, html in sent_bodies(app):
        assert link in text and link in html


def test_the_web_app_answers_on_any_host_and_signs_in_there(app, people):
    client = app.test_client()
    for host in ("localhost", "lt.example.com:8443", "10.1.2.3:8000"):
        assert client.get("/healthz", base_url=f"http://{host}").status_code == 200
    local = "http://localhost"
    html = client.get("/login", base_url=local).get_data(as_text=True)
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)
    r = client.post("/login", base_url=local,
                    data={"email": people.admin.email, "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 303
    assert client.get("/reports", base_url=local).status_code == 200

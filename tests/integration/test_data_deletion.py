"""The public data-deletion request: form → emailed link → in review → approved by agency
staff → fulfilled by the next purge → requester told. Same answer whether or not we hold
the handle; nothing is deleted before a decision (tests/integration/test_deletion_review.py
covers the review queue and "Verify with TikTok")."""
import re
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import DeletionRequest, TikTokConnection
from app.services import deletion_requests
from jobs.runner import run_job as _run_job
from tests.conftest import Client, login
from tests.factories import make_connection, seed_account_data


@pytest.fixture
def mail_app(app_factory, db_backend, smtp_server):
    app = app_factory(db_backend, APP_BASE_URL="https://lt.example", **smtp_server.config)
    app.test_client_class = Client
    with app.app_context():
        yield app


@pytest.fixture
def anon(mail_app):
    return mail_app.test_client()


def run_job(app, name, **kw):
    result = _run_job(app, name, **kw)
    db.session.expire_all()
    return result


def body_text(msg) -> str:
    return next(p.get_payload(decode=True).decode() for p in msg.walk() if p.get_content_type() == "text/plain")


def file_request(client, handle="@BrassOrbit3", email="owner@example.com"):
    token = client.csrf_token("/data-deletion")
    return client.post("/data-deletion", data={"csrf_token": token, "handle": handle, "email": email})


def confirm(client, link):
    """Open the emailed link (a confirm page: GET changes nothing) and press Confirm."""
    page = client.get(link)
    if page.status_code != 200 or "Confirm deletion request" not in page.get_data(as_text=True):
        return page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    return client.post(link, data={"csrf_token": token})


def verify_link(smtp_server) -> str:
    text = body_text(smtp_server.messages[-1])
    return re.search(r"https://lt\.example(/data-deletion/verify/\S+)", text).group(1)


def count(model, *where):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def test_request_end_to_end_across_workspaces(mail_app, anon, smtp_server, people):
    a = make_connection(people.workspace, people.admin, username="brassorbit3", status="active")
    b = make_connection(people.other_workspace, people.outsider, username="BrassOrbit3", status="disconnected",
                        purge_after=datetime.now(timezone.utc) + timedelta(days=60))
    keep = make_connection(people.workspace, people.admin, username="brassorbit33")
    for c in (a, b, keep):
        seed_account_data(c)
    db.session.commit()
    ids = (a.id, b.id)

    r = file_request(anon)
    assert r.status_code == 303
    status_url = r.headers["Location"]
    assert re.fullmatch(r"/data-deletion/[0-9a-f]{24}", status_url)
    page = anon.get(status_url).get_data(as_text=True)
    assert "Received" in page and "waiting for you to open the link" in page
    assert "owner@example.com" not in page and "Brass Studio" not in page and "Other Client" not in page
    assert len(smtp_server.messages) == 1
    msg = smtp_server.messages[0]
    assert msg["To"] == "owner@example.com" and "Confirm" in msg["Subject"]
    req = db.session.scalar(sa.select(DeletionRequest))
    assert req.handle == "brassorbit3" and req.status == "received"
    token_path = verify_link(smtp_server)
    assert token_path.split("/")[-1] not in (req.verify_token_hash or "")  # stored hashed

    # Before verification the purge deletes nothing.
    run_job(mail_app, "purge", now=datetime.now(timezone.utc) + timedelta(hours=1))
    assert count(TikTokConnection) == 3

    opened = anon.get(token_path)  # mail scanners open links: that alone must change nothing
    assert opened.status_code == 200 and "Confirm deletion request" in opened.get_data(as_text=True)
    assert db.session.scalar(sa.select(DeletionRequest.status)) == "received"
    v = confirm(anon, token_path)
    assert v.status_code == 200 and "confirmed" in v.get_data(as_text=True)
    assert v.headers["Cache-Control"] == "no-store" and v.headers["Referrer-Policy"] == "same-origin"
    assert "Pending review" in anon.get(status_url).get_data(as_text=True)
    assert "in review" in smtp_server.messages[-1]["Subject"] and len(smtp_server.messages) == 2

    # A confirmed mailbox is not proof of owning the account: the purge deletes nothing, and
    # the deletion-notices job tells the agency, the two workspaces' admins and the owners.
    run_job(mail_app, "deletion-notices", now=datetime.now(timezone.utc) + timedelta(minutes=5))
    result = run_job(mail_app, "purge", now=datetime.now(timezone.utc) + timedelta(minutes=5))
    assert "connections_purged" not in result.counts and "requests_completed" not in result.counts
    assert count(TikTokConnection) == 3
    assert db.session.get(TikTokConnection, a.id).status == "active"
    told = sorted(m["To"] for m in smtp_server.messages[2:])
    assert told == ["admin@example.com", "agency@example.com", "outsider@example.com"]

    # An agency user approves: both accounts are marked for deletion like "Delete all data".
    staff = mail_app.test_client()
    login(staff, people.agency)
    req_id = db.session.scalar(sa.select(DeletionRequest.id))
    assert staff.post_form(f"/settings/deletion-requests/{req_id}/approve").status_code == 303
    db.session.rollback()  # end the test's read snapshot (SQLite WAL) to see what the request committed
    for conn_id in ids:
        conn = db.session.get(TikTokConnection, conn_id)
        assert conn.status == "disconnected" and conn.deletion_requested_at is not None
    assert "approved" in smtp_server.messages[-1]["Subject"]
    assert "Approved" in anon.get(status_url).get_data(as_text=True)

    result = run_job(mail_app, "purge", now=datetime.now(timezone.utc) + timedelta(minutes=10))
    assert result.counts["connections_purged"] == 2 and result.counts["requests_completed"] == 1
    assert count(TikTokConnection, TikTokConnection.id.in_(ids)) == 0
    assert count(TikTokConnection, TikTokConnection.id == keep.id) == 1
    done = anon.get(status_url).get_data(as_text=True)
    assert "Completed" in done and "has been deleted" in done and "UTC" in done
    assert "complete" in smtp_server.messages[-1]["Subject"]
    sent = len(smtp_server.messages)
    req = db.session.scalar(sa.select(DeletionRequest))
    assert req.status == "completed" and req.email == "" and req.handle != "brassorbit3" and len(req.handle) == 64
    # A second purge run does nothing more and sends nothing.
    run_job(mail_app, "purge", now=datetime.now(timezone.utc) + timedelta(minutes=15))
    assert len(smtp_server.messages) == sent


def test_unknown_handle_gets_the_same_answer(mail_app, anon, smtp_server, people):
    make_connection(people.workspace, people.admin, username="brassorbit3")
    db.session.commit()
    known = file_request(anon, handle="brassorbit3", email="a@example.com")
    unknown = file_request(anon, handle="nobody_here", email="b@example.com")
    assert known.status_code == unknown.status_code == 303
    pages = [anon.get(r.headers["Location"]).get_data(as_text=True) for r in (known, unknown)]
    strip = lambda html: re.sub(r"[0-9a-f]{24}|\d{2}:\d{2}", "", html)  # noqa: E731
    assert strip(pages[0]) == strip(pages[1])
    bodies = [re.sub(r"https://\S+|[0-9a-f]{24}", "", body_text(m)) for m in smtp_server.messages]
    assert bodies[0] == bodies[1]


def test_unknown_handle_completes_without_revealing_anything(mail_app, anon, smtp_server, people):
    r = file_request(anon, handle="nobody_here")
    confirm(anon, verify_link(smtp_server))
    result = run_job(mail_app, "purge")
    assert "requests_completed" not in result.counts  # it waits for a decision like any other
    assert "Pending review" in anon.get(r.headers["Location"]).get_data(as_text=True)
    staff = mail_app.test_client()
    login(staff, people.agency)
    req_id = db.session.scalar(sa.select(DeletionRequest.id))
    assert staff.post_form(f"/settings/deletion-requests/{req_id}/approve").status_code == 303
    result = run_job(mail_app, "purge", now=datetime.now(timezone.utc) + timedelta(minutes=1))
    assert result.counts["requests_completed"] == 1
    assert "has been deleted" in anon.get(r.headers["Location"]).get_data(as_text=True)


def test_expired_link_changes_nothing(mail_app, anon, smtp_server, people):
    make_connection(people.workspace, people.admin, username="brassorbit3")
    db.session.commit()
    file_request(anon)
    link = verify_link(smtp_server)
    req = db.session.scalar(sa.select(DeletionRequest))
    req.verify_expires_at = datetime.now(timezone.utc) - timedelta(minutes=1)
    db.session.commit()
    r = confirm(anon, link)
    assert r.status_code == 410 and "expired" in r.get_data(as_text=True)
    assert db.session.scalar(sa.select(DeletionRequest)).status == "received"
    run_job(mail_app, "purge")
    assert count(TikTokConnection) == 1


def test_link_is_single_use_and_unknown_links_are_404(mail_app, anon, smtp_server, people):
    file_request(anon)
    link = verify_link(smtp_server)
    assert confirm(anon, link).status_code == 200
    first = db.session.scalar(sa.select(DeletionRequest)).verified_at
    assert confirm(anon, link).status_code == 200  # a second click shows the status, changes nothing
    assert db.session.scalar(sa.select(DeletionRequest)).verified_at == first
    assert anon.get("/data-deletion/verify/not-a-real-token").status_code == 404
    assert anon.get("/data-deletion/0123456789abcdef01234567").status_code == 404


@pytest.mark.parametrize("handle, email, field", [
    ("", "a@example.com", "handle"),
    ("x" * 30, "a@example.com", "handle"),
    ("bad handle!", "a@example.com", "handle"),
    ("brassorbit3", "", "email"),
    ("brassorbit3", "not-an-email", "email"),
    ("brassorbit3", "a@example.com\r\nBcc: victim@example.com", "email"),
    ("brassorbit3", "a@example.com\nBcc: victim@example.com", "email"),
    ("brassorbit3", "a" * 10_000 + "@example.com", "email"),
    ("h" * 10_000, "a@example.com", "handle"),
])
def test_bad_input_is_refused_with_a_clear_message(mail_app, anon, smtp_server, handle, email, field):
    r = file_request(anon, handle=handle, email=email)
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert f'id="{field}-error"' in html
    assert count(DeletionRequest) == 0 and smtp_server.messages == []
    assert "victim@example.com" not in "".join(str(m) for m in smtp_server.messages)


def test_missing_csrf_token_is_400(mail_app, anon, smtp_server):
    r = anon.post("/data-deletion", data={"handle": "brassorbit3", "email": "a@example.com"})
    assert r.status_code == 400
    assert count(DeletionRequest) == 0 and smtp_server.messages == []


def test_rate_limited_per_ip(mail_app, anon, smtp_server):
    codes = [file_request(anon, email=f"n{i}@example.com").status_code for i in range(7)]
    assert codes[:5] == [303] * 5
    assert codes[5:] == [429, 429]
    assert count(DeletionRequest) == 5


def test_mail_server_down_records_nothing(app_factory, db_backend):
    from tests.conftest import free_port

    app = app_factory(db_backend, MAIL_SERVER="127.0.0.1", MAIL_PORT=str(free_port()), MAIL_TIMEOUT="2")
    app.test_client_class = Client
    with app.app_context():
        client = app.test_client()
        r = file_request(client)
        assert r.status_code == 503 and "could not send" in r.get_data(as_text=True)
        assert count(DeletionRequest) == 0


def test_unverified_requests_are_forgotten_after_a_week(app, people):
    now = datetime.now(timezone.utc)
    old = deletion_requests.create_request("brassorbit3", "a@example.com", now=now - timedelta(days=8))
    deletion_requests.create_request("moontideco2", "b@example.com", now=now - timedelta(days=1))
    db.session.commit()
    old_id = old.request.id
    run_job(app, "purge", now=now)
    assert count(DeletionRequest) == 1 and count(DeletionRequest, DeletionRequest.id == old_id) == 0


def test_handle_normalisation():
    assert deletion_requests.normalise_handle("  @BrassOrbit3 ") == "brassorbit3"
    assert deletion_requests.validate("@Brass.Orbit_3", "x@example.com") == ("brass.orbit_3", "x@example.com")


def test_confirm_page_lets_its_own_form_pass_the_https_csrf_check(mail_app, anon, smtp_server, people):
    """Over HTTPS Flask-WTF refuses a POST without a same-origin Referer. The confirm page
    holds a POST form, so its Referrer-Policy must let the browser send one (same-origin),
    while still never sending the token URL to another site."""
    file_request(anon)
    link = verify_link(smtp_server)
    https = "https://lt.example"
    page = anon.get(link, base_url=https)
    assert page.status_code == 200 and "Confirm deletion request" in page.get_data(as_text=True)
    policy = page.headers["Referrer-Policy"]
    assert policy in ("same-origin", "strict-origin", "strict-origin-when-cross-origin"), policy
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    # What a browser following that policy sends with the form's same-origin POST:
    confirmed = anon.post(link, base_url=https, data={"csrf_token": token}, headers={"Referer": https + link})
    assert confirmed.status_code == 200 and "confirmed" in confirmed.get_data(as_text=True)
    # What it would have sent under no-referrer: nothing, and the check refuses that.
    assert anon.post(link, base_url=https, data={"csrf_token": token}).status_code == 400

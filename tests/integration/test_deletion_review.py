"""A confirmed public data-deletion request deletes nothing by itself: it waits for agency
staff (approve, or reject with a reason), or for proof with TikTok that the requester owns
the account. Staff and owners hear about it once; the requester sees the same pages and
emails whether or not the handle is connected; the queue is scoped like every workspace page."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from app.extensions import db
from app.models import AuditEvent, DeletionRequest, DeletionRequestMatch, OAuthTransaction, TikTokConnection
from app.services import accounts, deletion_requests, oauth_flows
from jobs.runner import run_job as _run_job
from tests.conftest import Client, login, without_csrf
from tests.db_dump import assert_secrets_absent, raw_database_bytes
from tests.factories import make_connection, seed_account_data
from tests.tiktok_fixtures import BUSINESS, load, register_connect, token_body

TOKEN = BUSINESS + "tt_user/oauth2/token/"
REVOKE = BUSINESS + "tt_user/oauth2/revoke/"
CHECK_TOKEN = "act.DELETION-CHECK*!"


@pytest.fixture
def mail_app(app_factory, db_backend, smtp_server):
    app = app_factory(db_backend, APP_BASE_URL="https://lt.example", **smtp_server.config)
    app.test_client_class = Client
    with app.app_context():
        yield app


@pytest.fixture
def anon(mail_app):
    return mail_app.test_client()


@pytest.fixture
def staff(mail_app, people):
    client = mail_app.test_client()
    login(client, people.agency)
    return client


def fresh():
    """End the test session's read snapshot (SQLite WAL) so it sees what requests committed."""
    db.session.rollback()


def run_purge(app, minutes: int = 5):
    """The deletion-notices job (who hears about a request), then purge (what is deleted)."""
    now = datetime.now(timezone.utc) + timedelta(minutes=minutes)
    result = _run_job(app, "deletion-notices", now=now)
    result.counts.update(_run_job(app, "purge", now=now).counts)
    fresh()
    return result


def part(msg, kind: str = "text/plain") -> str:
    return next(p.get_payload(decode=True).decode() for p in msg.walk() if p.get_content_type() == kind)


def file_request(client, handle="brassorbit3", email="someone@example.net", method="email"):
    token = client.csrf_token("/data-deletion")
    return client.post("/data-deletion", data={"csrf_token": token, "handle": handle, "email": email,
                                               "method": method})


def confirm_link(smtp_server, email: str) -> str:
    msg = [m for m in smtp_server.messages if m["To"] == email][-1]
    return re.search(r"https://lt\.example(/data-deletion/verify/\S+)", part(msg)).group(1)


def press_confirm(client, link):
    page = client.get(link)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    return page, client.post(link, data={"csrf_token": token})


def file_and_confirm(client, smtp_server, handle="brassorbit3", email="someone@example.net") -> str:
    status_url = file_request(client, handle, email).headers["Location"]
    press_confirm(client, confirm_link(smtp_server, email))
    fresh()
    return status_url


def the_request() -> DeletionRequest:
    fresh()
    return db.session.scalar(sa.select(DeletionRequest).order_by(DeletionRequest.id.desc()))


def in_review(handle="brassorbit3", email="someone@example.net", *, now=None) -> DeletionRequest:
    """A request confirmed at `now` (default: now), made through the service."""
    now = now or datetime.now(timezone.utc)
    filed = deletion_requests.create_request(handle, email, now=now)
    deletion_requests.verify(filed.token, now=now)
    db.session.commit()
    return filed.request


def count(model, *where):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


# ------------------------------------------------------------------ the rule


def test_purge_deletes_nothing_for_a_request_in_review_or_rejected(mail_app, anon, staff, smtp_server, people):
    conn = make_connection(people.workspace, people.creator, username="brassorbit3")
    seed_account_data(conn)
    db.session.commit()
    status_url = file_and_confirm(anon, smtp_server)
    assert the_request().status == "in_review"
    assert count(DeletionRequestMatch) == 1

    run_purge(mail_app)
    conn = db.session.get(TikTokConnection, conn.id)
    assert conn.status == "active" and conn.deletion_requested_at is None and conn.purge_after is None

    req = the_request()
    r = staff.post_form(f"/settings/deletion-requests/{req.id}/reject", {"reason": "The account's owner says no."})
    assert r.status_code == 303
    run_purge(mail_app, minutes=10)
    conn = db.session.get(TikTokConnection, conn.id)
    assert conn.status == "active" and conn.deletion_requested_at is None
    page = anon.get(status_url).get_data(as_text=True)
    assert "Rejected" in page and "The account&#39;s owner says no." in page and "Nothing was deleted" in page


def test_approved_request_is_deleted_at_the_next_purge(mail_app, anon, staff, smtp_server, people):
    conn = make_connection(people.workspace, people.creator, username="brassorbit3")
    seed_account_data(conn)
    db.session.commit()
    status_url = file_and_confirm(anon, smtp_server)
    req = the_request()
    r = staff.post_form(f"/settings/deletion-requests/{req.id}/approve")
    assert r.status_code == 303
    fresh()
    conn = db.session.get(TikTokConnection, conn.id)
    assert conn.status == "disconnected" and conn.deletion_requested_at is not None
    req = the_request()
    assert req.status == "approved" and req.decided_by_user_id == people.agency.id and req.decided_via == "staff"
    run_day = deletion_requests.next_purge_run(req.decided_at).date()
    page = anon.get(status_url).get_data(as_text=True)
    assert "Approved" in page and f"deleted on {run_day:%B} {run_day.day}, {run_day.year}" in page
    outcome = [m for m in smtp_server.messages if m["To"] == "someone@example.net"][-1]
    assert outcome["Subject"] == "Your data-deletion request is approved"
    assert f"{run_day:%B} {run_day.day}, {run_day.year}" in part(outcome)

    result = run_purge(mail_app, minutes=10)
    assert result.counts["connections_purged"] == 1 and result.counts["requests_completed"] == 1
    assert count(TikTokConnection) == 0
    assert "has been deleted" in anon.get(status_url).get_data(as_text=True)
    events = [e.event for e in db.session.scalars(sa.select(AuditEvent))]
    assert "deletion_request.approved" in events


def test_staff_admins_and_owners_are_emailed_exactly_once(mail_app, anon, smtp_server, people):
    mine = make_connection(people.workspace, people.creator, username="brassorbit3")
    theirs = make_connection(people.other_workspace, people.outsider, username="brassorbit3")
    accounts.create_user("busy-admin@example.com", role="client_admin", workspace=people.workspace,
                         password="correct horse battery")
    db.session.commit()
    file_and_confirm(anon, smtp_server)
    requester_mail = len(smtp_server.messages)
    assert {m["To"] for m in smtp_server.messages} == {"someone@example.net"}  # nobody else hears it from us yet

    result = run_purge(mail_app)
    told = [m for m in smtp_server.messages[requester_mail:]]
    # agency staff decide; each named workspace's admins and each owner are told; the busy
    # admin's server answered 451 and is retried, nobody else is sent anything twice.
    assert sorted(m["To"] for m in told) == ["admin@example.com", "agency@example.com", "creator@example.com",
                                             "outsider@example.com"]
    assert result.counts["review_notices_failed"] == 1
    by = {m["To"]: part(m) for m in told}
    assert "@brassorbit3 in Brass Studio" in by["agency@example.com"]
    assert "@brassorbit3 in Other Client" in by["agency@example.com"]
    assert "Other Client" not in by["admin@example.com"] and "Brass Studio" not in by["outsider@example.com"]
    assert "Approve or reject" in by["agency@example.com"] and "tell your agency" in by["admin@example.com"]
    assert "You connected this account" in by["creator@example.com"]
    assert "someone@example.net" not in "".join(by.values())  # the requester's address stays on the queue page
    assert all(m["Subject"] == "Data-deletion request for @brassorbit3 needs review" for m in told)

    run_purge(mail_app, minutes=10)
    run_purge(mail_app, minutes=15)
    assert len(smtp_server.messages) == requester_mail + len(told)
    assert the_request().reviewers_notified_at is None  # still owes the busy admin one
    assert mine.id != theirs.id


def test_review_notice_reaches_everyone_once_after_a_retry(mail_app, anon, smtp_server, people):
    make_connection(people.workspace, people.creator, username="brassorbit3")
    db.session.commit()
    file_and_confirm(anon, smtp_server)
    smtp_server.fail_next_data = 1  # the first notice fails (451), the others go
    run_purge(mail_app)
    first = [m["To"] for m in smtp_server.messages[2:]]
    run_purge(mail_app, minutes=10)
    second = [m["To"] for m in smtp_server.messages[2 + len(first):]]
    assert sorted(first + second) == ["admin@example.com", "agency@example.com", "creator@example.com"]
    assert the_request().reviewers_notified_at is not None
    run_purge(mail_app, minutes=15)
    assert len(smtp_server.messages) == 2 + 3


def test_a_requester_email_that_failed_is_sent_by_the_next_purge_run(mail_app, anon, smtp_server, people):
    status_url = file_request(anon).headers["Location"]
    link = confirm_link(smtp_server, "someone@example.net")
    smtp_server.fail_next_data = 1  # the "in review" email hits a 451
    _, confirmed = press_confirm(anon, link)
    assert confirmed.status_code == 200 and "Pending review" in anon.get(status_url).get_data(as_text=True)
    assert len(smtp_server.messages) == 1 and the_request().requester_notified is None
    result = run_purge(mail_app)
    assert result.counts["requester_notices_sent"] == 1
    assert smtp_server.messages[-1]["Subject"] == "Your data-deletion request is confirmed and in review"
    run_purge(mail_app, minutes=10)
    assert [m["Subject"] for m in smtp_server.messages if m["To"] == "someone@example.net"].count(
        "Your data-deletion request is confirmed and in review") == 1


# ------------------------------------------------------------------ no enumeration


def _normalise(text: str, *handles: str) -> str:
    text = re.sub(r"[0-9a-f]{24}", "REF", text)  # the request's reference
    text = re.sub(r'(name="csrf_token" value=|name="csrf-token" content=|"X-CSRFToken": )"[^"]+"', r"\1TOKEN", text)
    text = re.sub(r"/data-deletion/verify/[A-Za-z0-9_-]+", "/data-deletion/verify/TOKEN", text)
    text = re.sub(r"\d{2}:\d{2}", "HH:MM", text)
    text = re.sub(r"[A-Za-z0-9._+-]+@example\.net", "EMAIL", text)
    for h in handles:
        text = text.replace(h, "HANDLE")
    return text


def _walk_as_requester(mail_app, smtp_server, handle: str, email: str):
    client = mail_app.test_client()
    seen = []
    r = file_request(client, handle, email)
    seen.append((r.status_code, re.sub(r"[0-9a-f]{24}", "REF", r.headers["Location"])))
    status_url = r.headers["Location"]
    seen.append(anon_page(client, status_url))
    page, confirmed = press_confirm(client, confirm_link(smtp_server, email))
    seen += [(page.status_code, page.get_data(as_text=True)), (confirmed.status_code, confirmed.get_data(as_text=True))]
    seen.append(anon_page(client, status_url))
    return client, status_url, seen


def anon_page(client, url):
    r = client.get(url)
    return r.status_code, r.get_data(as_text=True)


def test_a_request_naming_nothing_looks_the_same_to_the_requester(mail_app, smtp_server, people):
    make_connection(people.workspace, people.creator, username="brassorbit3")
    db.session.commit()
    known_client, known_url, known = _walk_as_requester(mail_app, smtp_server, "brassorbit3", "one@example.net")
    unknown_client, unknown_url, unknown = _walk_as_requester(mail_app, smtp_server, "nobody_here", "two@example.net")
    fresh()
    assert [s for s, _ in known] == [s for s, _ in unknown]
    for (_, a), (_, b) in zip(known, unknown):
        assert _normalise(a, "brassorbit3") == _normalise(b, "nobody_here")
    # Only the two requesters were written to while they used the pages: nothing went to staff.
    assert {m["To"] for m in smtp_server.messages} == {"one@example.net", "two@example.net"}
    for who in ("one@example.net", "two@example.net"):
        assert [m["Subject"] for m in smtp_server.messages if m["To"] == who] == [
            "Confirm your data-deletion request", "Your data-deletion request is confirmed and in review"]
    mails = {who: [(_normalise(part(m), "brassorbit3", "nobody_here"), _normalise(part(m, "text/html"),
                    "brassorbit3", "nobody_here")) for m in smtp_server.messages if m["To"] == who]
             for who in ("one@example.net", "two@example.net")}
    assert mails["one@example.net"] == mails["two@example.net"]

    # After the nightly run (which tells staff about both), both still read "pending review".
    run_purge(mail_app)
    a, b = anon_page(known_client, known_url), anon_page(unknown_client, unknown_url)
    assert a[0] == b[0] == 200 and "Pending review" in a[1]
    assert _normalise(a[1]) == _normalise(b[1])
    # The staff side differs: the unknown handle is shown to agency staff as matching nothing.
    staff = mail_app.test_client()
    login(staff, people.agency)
    queue = staff.get("/settings/deletion-requests").get_data(as_text=True)
    assert "No connected account matches this handle." in queue and "@brassorbit3 in Brass Studio" in queue


# ------------------------------------------------------------------ who may see and decide


def test_outsider_gets_404_on_the_queue_and_on_decisions(mail_app, anon, smtp_server, people):
    make_connection(people.workspace, people.creator, username="brassorbit3")
    db.session.commit()
    file_and_confirm(anon, smtp_server)
    req = the_request()
    outsider = mail_app.test_client()
    login(outsider, people.outsider)
    assert outsider.get(f"/settings/deletion-requests?workspace={people.workspace.id}").status_code == 404
    own = outsider.get("/settings/deletion-requests")
    assert own.status_code == 200 and "brassorbit3" not in own.get_data(as_text=True)
    foreign = outsider.post_form(f"/settings/deletion-requests/{req.id}/approve")
    missing = outsider.post_form("/settings/deletion-requests/999999/approve")
    assert foreign.status_code == missing.status_code == 404
    assert without_csrf(foreign) == without_csrf(missing)
    assert outsider.post_form(f"/settings/deletion-requests/{req.id}/reject", {"reason": "no"}).status_code == 404
    assert the_request().status == "in_review"


def test_only_agency_staff_decide(mail_app, anon, smtp_server, people):
    make_connection(people.workspace, people.creator, username="brassorbit3")
    db.session.commit()
    file_and_confirm(anon, smtp_server, email="someone@example.net")
    req = the_request()

    creator = mail_app.test_client()
    login(creator, people.creator)
    assert creator.get("/settings/deletion-requests").status_code == 403
    assert creator.post_form(f"/settings/deletion-requests/{req.id}/approve").status_code == 403
    assert creator.post_form(f"/settings/deletion-requests/{req.id}/reject", {"reason": "x"}).status_code == 403

    admin = mail_app.test_client()
    login(admin, people.admin)
    page = admin.get("/settings/deletion-requests")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "@brassorbit3 in Brass Studio" in html
    assert "Only agency staff decide these requests." in html and "/approve" not in html
    assert "someone@example.net" not in html and "s…@example.net" in html
    refused = admin.post_form(f"/settings/deletion-requests/{req.id}/approve")
    assert refused.status_code == 403 and "Only agency staff decide" in refused.get_data(as_text=True)
    assert admin.post_form(f"/settings/deletion-requests/{req.id}/reject", {"reason": "x"}).status_code == 403
    fresh()
    assert the_request().status == "in_review"
    assert db.session.scalar(sa.select(TikTokConnection.status)) == "active"
    # The integrations page's danger zone links the queue for admins.
    assert "/settings/deletion-requests" in admin.get("/settings/integrations").get_data(as_text=True)


def test_decisions_need_a_csrf_token(mail_app, anon, staff, smtp_server, people):
    make_connection(people.workspace, people.creator, username="brassorbit3")
    db.session.commit()
    status_url = file_and_confirm(anon, smtp_server)
    req = the_request()
    other = mail_app.test_client()
    for path in (f"/settings/deletion-requests/{req.id}/approve", f"/settings/deletion-requests/{req.id}/reject"):
        assert staff.post(path, data={"reason": "x"}).status_code == 400
        assert staff.post(path, data={"reason": "x", "csrf_token": other.csrf_token()}).status_code == 400
        assert staff.post(path, data={"reason": "x"}, headers={"X-CSRFToken": "forged"}).status_code == 400
    assert anon.post(status_url + "/tiktok").status_code == 400
    assert the_request().status == "in_review" and count(OAuthTransaction) == 0


def test_rejecting_needs_a_reason_which_the_requester_is_shown(mail_app, anon, staff, smtp_server, people):
    make_connection(people.workspace, people.creator, username="brassorbit3")
    db.session.commit()
    status_url = file_and_confirm(anon, smtp_server)
    req = the_request()
    for blank in ("", "   \n  "):
        r = staff.post_form(f"/settings/deletion-requests/{req.id}/reject", {"reason": blank})
        assert r.status_code == 400
        assert "Write the reason for rejecting this request: the requester is shown it." in r.get_data(as_text=True)
    too_long = staff.post_form(f"/settings/deletion-requests/{req.id}/reject", {"reason": "x" * 1001})
    assert too_long.status_code == 400 and "under 1000 characters" in too_long.get_data(as_text=True)
    assert the_request().status == "in_review"

    reason = "We spoke to the account's owner: they still use it and did not ask for this."
    assert staff.post_form(f"/settings/deletion-requests/{req.id}/reject", {"reason": reason}).status_code == 303
    req = the_request()
    assert req.status == "rejected" and req.decision_reason == reason and req.decided_by_user_id == people.agency.id
    page = anon.get(status_url).get_data(as_text=True)
    assert "Rejected" in page and "they still use it and did not ask for this." in page
    outcome = [m for m in smtp_server.messages if m["To"] == "someone@example.net"][-1]
    assert outcome["Subject"] == "Your data-deletion request was rejected" and reason in part(outcome)
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.event == "deletion_request.rejected"))
    assert event.actor_user_id == people.agency.id and event.workspace_id == people.workspace.id
    assert event.detail["reason"] == reason
    # Decided once: a second decision changes nothing.
    again = staff.post_form(f"/settings/deletion-requests/{req.id}/approve")
    assert again.status_code == 409 and the_request().status == "rejected"


def test_the_one_month_deadline_is_shown(mail_app, anon, staff, people):
    req = in_review(now=datetime(2026, 1, 31, 22, 15, tzinfo=timezone.utc))
    page = anon.get(f"/data-deletion/{req.reference}").get_data(as_text=True)
    assert "Pending review" in page and "by <strong>February 28, 2026</strong>" in page
    queue = staff.get("/settings/deletion-requests").get_data(as_text=True)
    assert "answer due February 28, 2026" in queue
    received = deletion_requests.create_request("moontideco2", "x@example.net", now=datetime.now(timezone.utc))
    db.session.commit()
    assert "within one month of your confirmation" in anon.get(
        f"/data-deletion/{received.request.reference}").get_data(as_text=True)


def test_one_month_means_the_same_day_next_month():
    assert deletion_requests.add_one_month(date(2026, 1, 31)) == date(2026, 2, 28)
    assert deletion_requests.add_one_month(date(2028, 1, 30)) == date(2028, 2, 29)
    assert deletion_requests.add_one_month(date(2026, 12, 15)) == date(2027, 1, 15)
    night = datetime(2026, 5, 4, 3, 0, tzinfo=timezone.utc)
    assert deletion_requests.next_purge_run(night - timedelta(seconds=1)) == night
    assert deletion_requests.next_purge_run(night) == night + timedelta(days=1)


# ------------------------------------------------------------------ "Verify with TikTok"


def _tiktok_start(response) -> dict:
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    url = response.headers["Location"]
    assert url.startswith("https://www.tiktok.com/v2/auth/authorize/?")
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_verify_with_tiktok_from_the_form_skips_review_for_the_owner(mail_app, anon, smtp_server, people,
                                                                     requests_mock):
    conn = make_connection(people.workspace, people.creator, username="brassorbit3", open_id="open-brass")
    db.session.commit()
    q = _tiktok_start(file_request(anon, method="tiktok"))
    assert q["scope"] == "user.info.basic" and q["code_challenge_method"] == "S256"
    assert q["redirect_uri"] == mail_app.config["TIKTOK_REDIRECT_URI"]
    txn = db.session.scalar(sa.select(OAuthTransaction))
    req = the_request()
    assert txn.provider == "deletion-verify" and txn.deletion_request_id == req.id
    assert txn.user_id is None and txn.workspace_id is None
    # The same confirmation email as the other path.
    assert [m["Subject"] for m in smtp_server.messages] == ["Confirm your data-deletion request"]

    token = requests_mock.post(TOKEN, json=token_body("open-brass", scope="user.info.basic", access=CHECK_TOKEN))
    revoke = requests_mock.post(REVOKE, json=load("revoke_success"))
    r = anon.get("/tiktok/auth/callback", query_string={"code": "c0de", "scopes": "user.info.basic",
                                                         "state": q["state"]})
    assert r.status_code == 303 and r.headers["Location"] == f"/data-deletion/{req.reference}"
    assert r.headers["Referrer-Policy"] == "no-referrer"
    assert token.call_count == 1 and len(token.last_request.json()["code_verifier"]) >= 43
    assert revoke.call_count == 1 and revoke.last_request.json()["access_token"] == CHECK_TOKEN
    page = anon.get(r.headers["Location"]).get_data(as_text=True)
    assert "TikTok confirmed the account is yours" in page and "you proved with TikTok" in page
    fresh()
    req, conn = the_request(), db.session.get(TikTokConnection, conn.id)
    assert req.status == "approved" and req.decided_via == "tiktok" and req.verified_at is not None
    assert conn.status == "disconnected" and conn.deletion_requested_at is not None
    assert_secrets_absent(raw_database_bytes(), {"verification token": CHECK_TOKEN})
    assert count(OAuthTransaction) == 0
    assert smtp_server.messages[-1]["Subject"] == "Your data-deletion request is approved"

    result = run_purge(mail_app, minutes=10)
    assert result.counts["connections_purged"] == 1 and result.counts["requests_completed"] == 1
    assert count(TikTokConnection) == 0


def test_verify_with_tiktok_as_someone_else_changes_nothing(mail_app, anon, smtp_server, people, requests_mock):
    conn = make_connection(people.workspace, people.creator, username="brassorbit3", open_id="open-brass")
    db.session.commit()
    status_url = file_and_confirm(anon, smtp_server)
    q = _tiktok_start(anon.post_form(status_url + "/tiktok"))
    requests_mock.post(TOKEN, json=token_body("open-somebody-else", scope="user.info.basic", access=CHECK_TOKEN))
    revoke = requests_mock.post(REVOKE, json=load("revoke_success"))
    r = anon.get("/tiktok/auth/callback", query_string={"code": "c0de", "state": q["state"]})
    assert r.status_code == 303
    page = anon.get(r.headers["Location"]).get_data(as_text=True)
    assert ("The TikTok account you signed in with did not match the account named in this request, so nothing "
            "was deleted. Your request stays in review.") in page
    assert "Pending review" in page
    assert revoke.call_count == 1  # revoked all the same
    fresh()
    assert the_request().status == "in_review"
    assert db.session.get(TikTokConnection, conn.id).status == "active"
    assert db.session.scalar(sa.select(AuditEvent.event).where(
        AuditEvent.event == "deletion_request.tiktok_check_mismatch")) is not None


def test_a_tiktok_check_from_another_browser_is_refused(mail_app, anon, smtp_server, people, requests_mock):
    make_connection(people.workspace, people.creator, username="brassorbit3", open_id="open-brass")
    db.session.commit()
    status_url = file_and_confirm(anon, smtp_server)
    q = _tiktok_start(anon.post_form(status_url + "/tiktok"))
    token = requests_mock.post(TOKEN, json=token_body("open-brass", access=CHECK_TOKEN))
    stranger = mail_app.test_client()
    r = stranger.get("/tiktok/auth/callback", query_string={"code": "c0de", "state": q["state"]})
    assert r.status_code == 400 and "started in another browser" in r.get_data(as_text=True)
    again = anon.get("/tiktok/auth/callback", query_string={"code": "c0de", "state": q["state"]})
    assert again.status_code == 400 and "already used" in again.get_data(as_text=True)  # single use
    assert token.call_count == 0 and the_request().status == "in_review"


def test_deletion_and_connect_states_never_complete_each_other(mail_app, anon, smtp_server, people, requests_mock):
    status_url = file_and_confirm(anon, smtp_server)
    deletion_state = _tiktok_start(anon.post_form(status_url + "/tiktok"))["state"]
    admin = mail_app.test_client()
    login(admin, people.admin)
    r = admin.post_form("/tiktok/auth/connect", {"workspace_id": people.workspace.id})
    connect_state = parse_qs(urlsplit(r.headers["Location"]).query)["state"][0]
    assert deletion_requests.is_tiktok_check_state(deletion_state)
    assert not deletion_requests.is_tiktok_check_state(connect_state)
    with pytest.raises(oauth_flows.InvalidState):
        oauth_flows.take_transaction(deletion_state)  # the connect flow never takes a deletion state
    with pytest.raises(deletion_requests.TikTokCheckError):
        deletion_requests.take_tiktok_check(connect_state)  # and the other way round
    db.session.rollback()
    # Over HTTP: a signed-in admin bringing the deletion state back connects nothing.
    register_connect(requests_mock)
    r = admin.get("/tiktok/auth/callback", query_string={"code": "c0de", "state": deletion_state})
    assert r.status_code == 400 and count(TikTokConnection) == 0


def test_an_expired_tiktok_check_changes_nothing(mail_app, anon, smtp_server, people, requests_mock):
    status_url = file_and_confirm(anon, smtp_server)
    q = _tiktok_start(anon.post_form(status_url + "/tiktok"))
    db.session.execute(sa.update(OAuthTransaction).values(
        expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
    db.session.commit()
    token = requests_mock.post(TOKEN, json=token_body("open-brass"))
    r = anon.get("/tiktok/auth/callback", query_string={"code": "c0de", "state": q["state"]})
    assert r.status_code == 303
    assert "took longer than 10 minutes" in anon.get(r.headers["Location"]).get_data(as_text=True)
    assert token.call_count == 0 and the_request().status == "in_review"


# ------------------------------------------------------------------ schema


def test_requests_confirmed_before_the_review_rule_wait_for_review(app):
    """The migration turns "verified" (confirmed, not yet carried out) into "in_review"."""
    db.drop_all()
    with db.engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
    upgrade(revision="0002")
    with db.engine.begin() as conn:
        for status in ("received", "verified", "completed"):
            conn.execute(sa.text("INSERT INTO deletion_requests (reference, handle, email, status, created_at) "
                                 "VALUES (:r, 'brassorbit3', 'a@example.net', :s, CURRENT_TIMESTAMP)"),
                         {"r": f"ref{status}", "s": status})
    upgrade(revision="0003")
    with db.engine.connect() as conn:
        rows = dict(conn.execute(sa.text("SELECT reference, status FROM deletion_requests")).all())
    assert rows == {"refreceived": "received", "refverified": "in_review", "refcompleted": "completed"}
    upgrade()

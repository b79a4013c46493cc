"""Password reset: "Forgot password?" emails a single-use link valid one hour (its token
stored only as a digest, requests rate-limited per address and per IP), the same answer
for any address, and a new password ends every session without skipping two-factor
sign-in."""
from __future__ import annotations

import email
import hashlib
import logging
import re
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
import time_machine

from app.extensions import db
from app.models import AuditEvent, PasswordReset, SignInChallenge, User
from app.services import mail
from tests.conftest import PASSWORD, login
from tests.db_dump import assert_secrets_absent, raw_database_bytes
from tests.integration.test_two_factor import turn_on

NEW_PASSWORD = "a brand new passphrase"


def ask(client, address: str):
    """Ask for a link. `buffered` makes the test client close the response, as a server
    does once the answer is written: the email goes out then."""
    client.reset_csrf()
    return client.post_form("/password/forgot", {"email": address}, buffered=True)


def outbox(app) -> list[email.message.Message]:
    return [email.message_from_bytes(raw) for raw in mail.outbox_messages(app.config["MAIL_OUTBOX_DIR"])]


def body_text(msg) -> str:
    return next(p.get_payload(decode=True).decode() for p in msg.walk() if p.get_content_type() == "text/plain")


def link_in(msg) -> str:
    """The path of the reset link in an email (links are on APP_BASE_URL)."""
    return re.search(r"https?://[^/\s]+(/password/reset/\S+)", body_text(msg)).group(1)


def token_of(path: str) -> str:
    return path.rsplit("/", 1)[1]


def set_password(client, path: str, password: str = NEW_PASSWORD, confirm: str | None = None):
    client.reset_csrf()
    return client.post_form(path, {"password": password, "confirm": password if confirm is None else confirm})


def events(name: str) -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.event == name).order_by(AuditEvent.id)))


def limit_of(app, setting) -> int:
    return int(app.config[setting].split()[0])


def requested_link(app, client, user) -> str:
    assert ask(client, user.email).status_code == 200
    return link_in(outbox(app)[-1])


def test_sign_in_page_links_to_forgot_password(client):
    html = client.get("/login").get_data(as_text=True)
    assert 'href="/password/forgot"' in html and "Forgot password?" in html
    assert client.get("/password/forgot").status_code == 200


def test_same_answer_for_a_known_and_an_unknown_address_and_mail_only_for_the_known(app, client, people):
    known = ask(client, people.admin.email.upper())
    unknown = ask(client, "nobody-here@example.com")
    assert known.status_code == unknown.status_code == 200
    same = lambda r, addr: re.sub(r'name="csrf-token" content="[^"]+"|"X-CSRFToken": "[^"]+"', "",  # noqa: E731
                                  r.get_data(as_text=True).replace(addr, "ADDRESS"))
    assert same(known, people.admin.email.upper()) == same(unknown, "nobody-here@example.com")
    messages = outbox(app)
    assert [m["To"] for m in messages] == [people.admin.email]
    assert messages[0]["Subject"] == "Reset your Logic Target password"
    assert [e.actor_user_id for e in events("password.reset_requested")] == [people.admin.id]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PasswordReset)) == 1


def test_a_disabled_account_gets_no_mail(app, client, people):
    people.creator.disabled = True
    db.session.commit()
    assert ask(client, people.creator.email).status_code == 200
    assert outbox(app) == [] and events("password.reset_requested") == []


def test_the_token_is_stored_only_as_its_digest(app, client, people):
    token = token_of(requested_link(app, client, people.admin))
    assert len(token) >= 40
    row = db.session.scalar(sa.select(PasswordReset))
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert row.expires_at - row.created_at == timedelta(hours=1)
    assert_secrets_absent(raw_database_bytes(), {"reset token": token})


def test_reset_sets_the_password_once_and_signs_out_every_session(app, client, people):
    elsewhere = app.test_client()
    login(elsewhere, people.admin)
    assert elsewhere.get("/performance").status_code == 200
    path = requested_link(app, client, people.admin)
    form = client.get(path)
    assert form.status_code == 200 and "Choose a new password" in form.get_data(as_text=True)
    assert form.headers["Cache-Control"] == "no-store"

    done = set_password(client, path)
    assert done.status_code == 303 and done.headers["Location"].endswith("/login")
    assert "Sign in with your new password" in client.get("/login").get_data(as_text=True)

    other = elsewhere.get("/performance")  # the old session's cookie no longer works
    assert other.status_code == 302 and "/login" in other.headers["Location"]
    client.reset_csrf()  # the reset began a fresh session
    assert client.post_form("/login", {"email": people.admin.email, "password": PASSWORD}).status_code == 401
    login(client, people.admin, NEW_PASSWORD)

    again = app.test_client().get(path)  # used: refused, clearly
    assert again.status_code == 410 and "already been used" in again.get_data(as_text=True)
    stranger = app.test_client()
    assert set_password(stranger, path, "yet another password").status_code == 410
    assert db.session.get(User, people.admin.id).check_password(NEW_PASSWORD)
    assert [e.actor_user_id for e in events("password.reset_completed")] == [people.admin.id]


def test_a_new_password_spends_the_accounts_other_open_links(app, client, people):
    first = requested_link(app, client, people.admin)
    second = requested_link(app, client, people.admin)
    assert set_password(client, second).status_code == 303
    assert app.test_client().get(first).status_code == 410


def test_the_link_expires_after_one_hour(app, client, people):
    t0 = datetime.now(timezone.utc)
    with time_machine.travel(t0, tick=False):
        path = requested_link(app, client, people.admin)
    with time_machine.travel(t0 + timedelta(minutes=59)):
        assert client.get(path).status_code == 200
    with time_machine.travel(t0 + timedelta(minutes=61)):
        page = client.get(path)
        assert page.status_code == 410 and "expired" in page.get_data(as_text=True)
        assert set_password(client, path).status_code == 410
    assert db.session.get(User, people.admin.id).check_password(PASSWORD)


@pytest.mark.parametrize("path", ["/password/reset/not-a-real-token", "/password/reset/" + "x" * 300])
def test_an_unknown_link_is_404_with_a_clear_page(client, path):
    r = client.get(path)
    assert r.status_code == 404 and "We don't recognise this link" in r.get_data(as_text=True)


def test_a_rejected_password_leaves_the_link_usable(app, client, people):
    path = requested_link(app, client, people.admin)
    short = set_password(client, path, "short")
    assert short.status_code == 422 and "8 to 512 characters" in short.get_data(as_text=True)
    mismatch = set_password(client, path, NEW_PASSWORD, "something else entirely")
    assert mismatch.status_code == 422 and "don&#39;t match" in mismatch.get_data(as_text=True)
    assert db.session.get(User, people.admin.id).check_password(PASSWORD)
    assert set_password(client, path).status_code == 303


def test_two_factor_sign_in_is_not_bypassed(app, client, people):
    turn_on(app, people.admin)
    path = requested_link(app, client, people.admin)
    assert set_password(client, path).status_code == 303
    assert client.get("/performance").status_code == 302  # the reset signed nobody in
    client.reset_csrf()
    r = client.post_form("/login", {"email": people.admin.email, "password": NEW_PASSWORD})
    assert r.status_code == 303 and r.headers["Location"].endswith("/login/two-factor")
    assert db.session.get(User, people.admin.id).two_factor_enabled


def test_a_sign_in_waiting_for_its_code_is_dropped_by_a_reset(app, client, people):
    turn_on(app, people.admin)
    half = app.test_client()
    half.post_form("/login", {"email": people.admin.email, "password": PASSWORD})
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SignInChallenge)) == 1
    assert set_password(client, requested_link(app, client, people.admin)).status_code == 303
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SignInChallenge)) == 0


def test_requests_are_limited_per_address_whether_or_not_it_exists(app, client, people):
    n = limit_of(app, "PASSWORD_RESET_RATE_LIMIT")
    for address in (people.admin.email, "nobody-here@example.com"):
        for _ in range(n):
            assert ask(client, address).status_code == 200
        refused = ask(client, address)
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
        assert "Too many requests" in refused.get_data(as_text=True)
    assert len(outbox(app)) == n
    assert ask(client, people.creator.email).status_code == 200  # another address is not affected
    assert len(events("password.reset_throttled")) == 2


def test_requests_are_limited_per_ip_address(app, client):
    n = limit_of(app, "PASSWORD_RESET_IP_RATE_LIMIT")
    for i in range(n):
        assert ask(client, f"someone{i}@example.com").status_code == 200
    assert ask(client, "one-more@example.com").status_code == 429
    other_ip = app.test_client()
    other_ip.reset_csrf()
    r = other_ip.post("/password/forgot", data={"email": "one-more@example.com",
                                                "csrf_token": other_ip.csrf_token("/password/forgot")},
                      environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert r.status_code == 200


def test_posting_without_a_csrf_token_is_refused(client, people):
    assert client.post("/password/forgot", data={"email": people.admin.email}).status_code == 400
    assert client.post("/password/reset/anything", data={"password": "x" * 10, "confirm": "x" * 10}).status_code == 400


def test_the_token_never_reaches_the_logs(app, client, people, caplog):
    caplog.set_level(logging.DEBUG)
    token = token_of(requested_link(app, client, people.admin))
    client.get(f"/password/reset/{token}")
    set_password(client, f"/password/reset/{token}")
    assert token not in caplog.text

"""The account page: change one's name, change one's password (other sessions end, this
one carries on) and see the workspaces one belongs to, with one's role."""
from __future__ import annotations

import re

import sqlalchemy as sa

from app.extensions import db
from app.models import AuditEvent, User
from tests.conftest import PASSWORD, login
from tests.integration.test_password_reset import ask, link_in, outbox

NEW_PASSWORD = "a brand new passphrase"


def events(name: str) -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.event == name).order_by(AuditEvent.id)))


def change_password(client, current=PASSWORD, new=NEW_PASSWORD, confirm=None):
    return client.post_form("/account/password", {"current_password": current, "new_password": new,
                                                  "confirm_password": new if confirm is None else confirm})


def copy_of_session(app, client):
    """Another browser holding a copy of `client`'s session cookie."""
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"], domain="localhost")
    other = app.test_client()
    other.set_cookie(cookie.key, cookie.value, domain="localhost")
    return other


def test_the_page_lists_ones_workspaces_with_role(client, people):
    login(client, people.admin)
    html = client.get("/account").get_data(as_text=True)
    rows = re.findall(r'<tr id="my-workspace-\d+"><td><a [^>]*>([^<]+)</a></td><td>([^<]+)</td>', html)
    assert rows == [("Brass Studio", "Client admin")]
    assert 'name="name"' in html and 'name="current_password"' in html


def test_agency_staff_see_every_workspace(client, people):
    login(client, people.agency)
    html = client.get("/account").get_data(as_text=True)
    rows = re.findall(r'<tr id="my-workspace-\d+"><td><a [^>]*>([^<]+)</a></td><td>([^<]+)</td>', html)
    assert rows == [("Brass Studio", "Agency staff"), ("Other Client", "Agency staff")]


def test_change_name(client, people):
    login(client, people.creator)
    r = client.post_form("/account/name", {"name": "  Casey   Creator "})
    assert r.status_code == 303 and r.headers["Location"].endswith("/account")
    assert db.session.get(User, people.creator.id).name == "Casey Creator"
    assert "Casey Creator" in client.get("/account").get_data(as_text=True)
    assert [e.actor_user_id for e in events("account.name_changed")] == [people.creator.id]


def test_a_blank_or_overlong_name_is_refused(client, people):
    login(client, people.creator)
    before = db.session.get(User, people.creator.id).name
    for bad in ("   ", "x" * 121, "bell\x07ring"):
        r = client.post_form("/account/name", {"name": bad})
        assert r.status_code == 422 and 'role="alert"' in r.get_data(as_text=True)
    assert db.session.get(User, people.creator.id).name == before
    assert events("account.name_changed") == []


def test_change_password_ends_other_sessions_and_keeps_this_one(app, client, people):
    login(client, people.admin)
    copied = copy_of_session(app, client)
    assert copied.get("/performance").status_code == 200
    r = change_password(client)
    assert r.status_code == 303 and r.headers["Location"].endswith("/account")
    assert client.get("/account").status_code == 200  # this session carries on
    other = copied.get("/performance")
    assert other.status_code == 302 and "/login" in other.headers["Location"]
    assert db.session.get(User, people.admin.id).check_password(NEW_PASSWORD)
    assert [e.actor_user_id for e in events("account.password_changed")] == [people.admin.id]
    fresh = app.test_client()
    assert fresh.post_form("/login", {"email": people.admin.email, "password": PASSWORD}).status_code == 401
    login(fresh, people.admin, NEW_PASSWORD)


def test_a_wrong_current_password_changes_nothing(app, client, people):
    login(client, people.admin)
    version = db.session.get(User, people.admin.id).session_version
    r = change_password(client, current="not my password")
    assert r.status_code == 401 and "isn&#39;t your current password" in r.get_data(as_text=True)
    user = db.session.get(User, people.admin.id)
    assert user.check_password(PASSWORD) and user.session_version == version
    assert [e.actor_user_id for e in events("account.password_change_refused")] == [people.admin.id]
    assert events("account.password_changed") == []


def test_wrong_current_passwords_are_limited_like_sign_ins(app, client, people):
    login(client, people.admin)
    n = int(app.config["LOGIN_ACCOUNT_RATE_LIMIT"].split()[0])
    for _ in range(n):
        assert change_password(client, current="not my password").status_code == 401
    limited = change_password(client)  # even the right one waits now
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    assert db.session.get(User, people.admin.id).check_password(PASSWORD)


def test_a_new_password_breaking_the_rules_is_refused(client, people):
    login(client, people.admin)
    for new, confirm in (("short", "short"), (NEW_PASSWORD, "something else entirely"), (PASSWORD, PASSWORD)):
        assert change_password(client, new=new, confirm=confirm).status_code == 422
    assert db.session.get(User, people.admin.id).check_password(PASSWORD)


def test_changing_the_password_spends_an_open_reset_link(app, client, people):
    anon = app.test_client()
    assert ask(anon, people.admin.email).status_code == 200
    path = link_in(outbox(app)[-1])
    login(client, people.admin)
    assert change_password(client).status_code == 303
    assert anon.get(path).status_code == 410


def test_posts_without_a_csrf_token_are_refused(client, people):
    login(client, people.admin)
    assert client.post("/account/name", data={"name": "Someone"}).status_code == 400
    assert client.post("/account/password", data={"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                                   "confirm_password": NEW_PASSWORD}).status_code == 400
    assert db.session.get(User, people.admin.id).check_password(PASSWORD)


def test_signed_out_visitors_are_sent_to_sign_in(client):
    for path in ("/account/name", "/account/password"):
        r = client.post_form(path, {"name": "x"})
        assert r.status_code == 302 and "/login" in r.headers["Location"]

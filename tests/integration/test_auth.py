"""Sign-in, sign-out, sessions and rate limits."""
import pytest

from app.extensions import db
from app.services import accounts
from tests.conftest import PASSWORD, login, login_with_form


def test_sign_in_lands_on_the_dashboard_shell(client, people):
    r = login_with_form(client, people.admin)
    assert r.headers["Location"] == "/"
    page = client.get("/performance")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for nav in ("Performance", "Reports", "Integrations", "Brass Studio"):
        assert nav in html


def test_wrong_password_is_refused_without_saying_which_part(client, people):
    r = client.post_form("/login", {"email": people.admin.email, "password": "nope"})
    assert r.status_code == 401
    assert "don&#39;t match an account" in r.get_data(as_text=True)
    r2 = client.post_form("/login", {"email": "nobody@example.com", "password": "nope"})
    assert r2.get_data(as_text=True).count("match an account") == 1


def test_pages_need_sign_in(client):
    for path in ("/performance", "/reports", "/settings/integrations", "/"):
        r = client.get(path)
        assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_failed_sign_ins_are_rate_limited(app, client, people):
    """Per account here; per IP address and across instances in test_sign_in_limits.py."""
    limit = int(app.config["LOGIN_ACCOUNT_RATE_LIMIT"].split()[0])
    for _ in range(limit):
        assert client.post_form("/login", {"email": people.admin.email, "password": "bad"}).status_code == 401
    r = client.post_form("/login", {"email": people.admin.email, "password": PASSWORD})
    assert r.status_code == 429
    assert "Too many attempts" in r.get_data(as_text=True)


def test_successful_sign_ins_do_not_use_up_the_limit(app, client, people):
    limit = int(app.config["LOGIN_RATE_LIMIT"].split()[0])
    for _ in range(limit + 2):
        login(client, people.admin)
        client.post_form("/logout", {"csrf_token": client.csrf_token("/performance")})


@pytest.mark.parametrize("target", [
    "https://evil.example/", "//evil.example/x", "/\\evil.example", "\\\\evil.example", "/a/../\\x",
    "https:\\\\evil.example", "/\tevil", "javascript:alert(1)", "/%0d%0aSet-Cookie:x",
])
def test_next_only_goes_to_same_site_paths(client, people, target):
    r = client.post_form("/login", {"email": people.admin.email, "password": PASSWORD, "next": target})
    assert r.status_code == 303
    location = r.headers["Location"]
    assert location in ("/", target) and not location.startswith(("//", "http", "\\", "javascript"))
    if target.startswith("/%0d"):
        assert location == target  # percent-encoded is still a same-site path, harmless


def test_next_same_site_path_is_kept(client, people):
    r = client.post_form("/login", {"email": people.admin.email, "password": PASSWORD,
                                    "next": "/reports?workspace=1"})
    assert r.headers["Location"] == "/reports?workspace=1"


def test_sign_out_kills_a_copied_cookie(app, client, people):
    login(client, people.admin)
    stolen = client.get_cookie("session").value
    assert client.get("/performance").status_code == 200
    client.post_form("/logout", {"csrf_token": client.csrf_token("/performance")})
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    r = thief.get("/performance")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_removing_a_member_ends_their_sessions(app, client, people):
    login(client, people.creator)
    assert client.get("/performance").status_code == 200
    accounts.remove_member(people.creator, people.workspace)
    db.session.commit()
    r = client.get("/performance")
    assert r.status_code == 302


def test_sign_in_starts_a_fresh_session(client, people):
    client.get("/login")
    with client.session_transaction() as s:
        s["planted"] = "attacker"
        s["workspace_id"] = people.other_workspace.id
    login(client, people.admin)
    with client.session_transaction() as s:
        assert "planted" not in s
        assert s.get("workspace_id") != people.other_workspace.id


def test_session_cookie_flags(client, people):
    r = client.post_form("/login", {"email": people.admin.email, "password": PASSWORD})
    cookie = [h for h in r.headers.getlist("Set-Cookie") if h.startswith("session=")][0]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_sign_out_clears_browser_storage(client, people):
    login(client, people.admin)
    r = client.post_form("/logout", {"csrf_token": client.csrf_token("/performance")})
    assert r.status_code == 303
    assert "storage" in r.headers["Clear-Site-Data"]


def test_disabled_user_cannot_sign_in(client, people):
    people.admin.disabled = True
    db.session.commit()
    r = client.post_form("/login", {"email": people.admin.email, "password": PASSWORD})
    assert r.status_code == 401


def test_passwords_are_hashed(people):
    assert PASSWORD not in people.admin.password_hash
    assert people.admin.check_password(PASSWORD)

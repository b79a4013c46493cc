"""Development surfaces answer only a caller on this machine, or everyone when
SANDBOX_CONTROL is on — never because APP_ENV is not production: the mounted sandbox's
/_control endpoints (404 otherwise) and the demo people's published passwords
(refused otherwise, with the ordinary failure message)."""
import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import AuditEvent
from app.services import demo
from tests.conftest import Client

REMOTE = {"REMOTE_ADDR": "203.0.113.5"}
WRONG_PASSWORD = "That email and password don&#39;t match an account."


def client_from(app, environ_base: dict | None = None) -> Client:
    app.test_client_class = Client
    client = app.test_client()
    if environ_base:
        client.environ_base.update(environ_base)
    return client


@pytest.fixture
def sandbox_app(app_factory, db_backend):
    def make(**extra):
        app = app_factory(db_backend, TIKTOK_SANDBOX="true", **extra)
        return app
    return make


# ------------------------------------------------------------------ sandbox /_control


@pytest.mark.parametrize("app_env", ["development", "testing"])
def test_control_is_404_from_the_network_whatever_app_env_says(sandbox_app, app_env):
    app = sandbox_app(APP_ENV=app_env, SECRET_KEY="x" * 40)
    client = client_from(app, REMOTE)
    assert client.get("/sandbox/tiktok/_control/faults").status_code == 404
    r = client.post("/sandbox/tiktok/_control/faults", json={"endpoint": "*", "kind": "http_500"})
    assert r.status_code == 404
    assert app.extensions["tiktok_sandbox"].sandbox_state.faults() == []


def test_control_answers_loopback(sandbox_app):
    client = client_from(sandbox_app(), {"REMOTE_ADDR": "127.0.0.1"})
    assert client.get("/sandbox/tiktok/_control/faults").status_code == 200


def test_forwarded_for_is_not_believed(sandbox_app):
    # Behind a proxy (TRUST_PROXY=1) remote_addr comes from X-Forwarded-For: claiming
    # 127.0.0.1 there must not open anything.
    app = sandbox_app(TRUST_PROXY="1")
    client = client_from(app, REMOTE)
    r = client.get("/sandbox/tiktok/_control/faults", headers={"X-Forwarded-For": "127.0.0.1"})
    assert r.status_code == 404
    # And a proxy on this machine forwarding a visitor is not "local" either.
    local_proxy = client_from(app, {"REMOTE_ADDR": "127.0.0.1"})
    assert local_proxy.get("/sandbox/tiktok/_control/faults",
                           headers={"X-Forwarded-For": "203.0.113.5"}).status_code == 404


def test_sandbox_control_setting_opens_control(sandbox_app):
    client = client_from(sandbox_app(SANDBOX_CONTROL="true"), REMOTE)
    assert client.get("/sandbox/tiktok/_control/faults").status_code == 200


# ---------------------------------------------------------------------- demo sign-ins


@pytest.fixture
def demo_people(app):
    logins = demo.seed_demo()
    db.session.commit()
    return logins


def sign_in(client, email: str, password: str):
    client.reset_csrf()
    return client.post_form("/login", {"email": email, "password": password})


def test_published_demo_password_is_refused_from_the_network(app, demo_people):
    client = client_from(app, REMOTE)
    for login in demo_people:
        r = sign_in(client, login.email, login.password)
        assert r.status_code == 401, login.email
        assert WRONG_PASSWORD in r.get_data(as_text=True)
    refused = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.event == "login.demo_refused")).all()
    assert len(refused) == len(demo_people) and refused[0].ip == "203.0.113.5"
    assert client.get("/performance").status_code in (302, 303)  # still signed out


def test_published_demo_password_works_on_this_machine(app, demo_people):
    client = client_from(app, {"REMOTE_ADDR": "127.0.0.1"})
    assert sign_in(client, demo_people[0].email, demo_people[0].password).status_code == 303


def test_sandbox_control_setting_allows_demo_sign_in_from_anywhere(app_factory, db_backend):
    app = app_factory(db_backend, SANDBOX_CONTROL="true")
    with app.app_context():
        logins = demo.seed_demo()
        db.session.commit()
        client = client_from(app, REMOTE)
        assert sign_in(client, logins[1].email, logins[1].password).status_code == 303


def test_forwarded_for_does_not_make_a_demo_sign_in_local(app_factory, db_backend):
    app = app_factory(db_backend, TRUST_PROXY="1")
    with app.app_context():
        logins = demo.seed_demo()
        db.session.commit()
        client = client_from(app, REMOTE)
        client.reset_csrf()
        token = client.csrf_token()
        r = client.post("/login", data={"csrf_token": token, "email": logins[0].email,
                                        "password": logins[0].password},
                        headers={"X-Forwarded-For": "127.0.0.1"})
        assert r.status_code == 401


def test_a_demo_account_with_its_own_password_signs_in_normally(app, demo_people):
    from app.models import User

    user = db.session.scalar(sa.select(User).where(User.email == demo_people[2].email))
    user.set_password("a password nobody published")
    db.session.commit()
    client = client_from(app, REMOTE)
    assert sign_in(client, user.email, "a password nobody published").status_code == 303


def test_login_page_never_prints_the_demo_passwords(app, demo_people):
    for environ in (REMOTE, {"REMOTE_ADDR": "127.0.0.1"}):
        page = client_from(app, environ).get("/login").get_data(as_text=True)
        for login in demo_people:
            assert login.password not in page

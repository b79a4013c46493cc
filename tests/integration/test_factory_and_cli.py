"""The factory starts nothing; the CLI does its work through services."""
import threading

import sqlalchemy as sa

from app import create_app
from app.extensions import db
from app.models import Membership, User, Workspace
from tests.conftest import base_overrides


def test_create_app_starts_no_threads(tmp_path, monkeypatch):
    # Other tests' servers may still be winding down, so compare thread identities, not counts.
    before = set(threading.enumerate())
    create_app(base_overrides(tmp_path))
    for key, value in base_overrides(tmp_path).items():  # importing wsgi reads the environment
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, str(value))
    import importlib
    import sys

    importlib.reload(sys.modules["wsgi"]) if "wsgi" in sys.modules else importlib.import_module("wsgi")
    new = set(threading.enumerate()) - before
    # Flask-Limiter's in-memory store fires a one-shot 10 ms cleanup Timer when built;
    # it ends by itself. What must not exist is anything that keeps running.
    for thread in new:
        thread.join(timeout=2)
    still_running = [t for t in new if t.is_alive()]
    assert still_running == [], still_running


def test_users_create_with_generated_password(app):
    result = app.test_cli_runner().invoke(args=["users", "create", "New@Example.com", "--role", "creator",
                                                "--workspace", "Moontide"])
    assert result.exit_code == 0, result.output
    assert "Generated password:" in result.output
    user = db.session.scalar(sa.select(User).where(User.email == "new@example.com"))
    ws = db.session.scalar(sa.select(Workspace).where(Workspace.name == "Moontide"))
    assert db.session.scalar(sa.select(Membership.role).where(Membership.user_id == user.id,
                                                              Membership.workspace_id == ws.id)) == "creator"


def test_users_create_refuses_bad_input(app):
    runner = app.test_cli_runner()
    r = runner.invoke(args=["users", "create", "x@example.com", "--role", "creator"])
    assert r.exit_code != 0 and "need a workspace" in r.output
    r = runner.invoke(args=["users", "create", "not-an-email", "--role", "agency"])
    assert r.exit_code != 0 and "email" in r.output
    r = runner.invoke(args=["users", "create", "x@example.com", "--role", "owner", "--workspace", "W"])
    assert r.exit_code != 0


def test_users_create_prompts_for_password(app):
    r = app.test_cli_runner().invoke(args=["users", "create", "p@example.com", "--role", "agency", "--password"],
                                     input="s3cret-pass\ns3cret-pass\n")
    assert r.exit_code == 0, r.output
    user = db.session.scalar(sa.select(User).where(User.email == "p@example.com"))
    assert user.is_agency and user.check_password("s3cret-pass")
    assert "Generated password" not in r.output


def test_demo_seed_is_idempotent_and_signs_in(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo", "seed"])
    second = runner.invoke(args=["demo", "seed"])
    assert first.exit_code == second.exit_code == 0
    assert first.output == second.output
    assert "admin@brass.studio" in first.output and "demo-admin-pass" in first.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Workspace)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 4
    client = app.test_client()
    r = client.post_form("/login", {"email": "maya@brass.studio", "password": "demo-maya-pass"})
    assert r.status_code == 303
    assert "Brass Studio" in client.get("/performance").get_data(as_text=True)


def test_demo_seed_refused_in_production(app_factory):
    app = app_factory(APP_ENV="production", TIKTOK_CLIENT_KEY="k", TIKTOK_CLIENT_SECRET="s")
    r = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert r.exit_code != 0 and "development only" in r.output

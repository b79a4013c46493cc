"""Failed sign-ins are limited per account and, higher, per IP address; the counts are
shared by every instance pointed at the same storage (Redis)."""
from __future__ import annotations

import os
import socket
import uuid

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import AuditEvent
from app.services import accounts, sign_in_limits
from tests.conftest import PASSWORD, Client

REDIS_URL = "redis://127.0.0.1:6379/0"


def attempt(client, email, password="wrong password"):
    client.reset_csrf()
    return client.post_form("/login", {"email": email, "password": password})


def from_ip(app, ip: str) -> Client:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ip
    return client


def set_limits(app, **rules):
    app.config.update(rules)
    app.extensions.pop("sign_in_limits", None)  # rebuilt from config on next use


def limit_of(app, setting) -> int:
    return int(app.config[setting].split()[0])


def test_an_account_locks_after_its_limit_and_says_nothing_about_existence(app, client, people):
    n = limit_of(app, "LOGIN_ACCOUNT_RATE_LIMIT")
    for email in (people.admin.email, "nobody-here@example.com"):
        for _ in range(n):
            assert attempt(client, email).status_code == 401
    real = attempt(client, people.admin.email, PASSWORD)  # even the right password waits
    ghost = attempt(client, "nobody-here@example.com", PASSWORD)
    assert real.status_code == ghost.status_code == 429
    assert real.headers["Retry-After"] and ghost.headers["Retry-After"]
    same = lambda r, email: r.get_data(as_text=True).replace(email, "EMAIL")  # noqa: E731
    assert same(real, people.admin.email) == same(ghost, "nobody-here@example.com")
    throttled = list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.event == "login.throttled")))
    assert [e.detail for e in throttled] == [{"limit": "password-account"}] * 2


def test_email_is_counted_however_it_is_typed(app, client, people):
    n = limit_of(app, "LOGIN_ACCOUNT_RATE_LIMIT")
    for i in range(n):
        attempt(client, ("  ADMIN@Example.com " if i % 2 else "admin@example.com"))
    assert attempt(client, "Admin@Example.COM", PASSWORD).status_code == 429


def test_others_sign_in_from_the_same_address_while_one_account_is_locked(app, client, people):
    """One person behind a shared proxy mistypes: only the account they typed waits."""
    for _ in range(limit_of(app, "LOGIN_ACCOUNT_RATE_LIMIT") + 3):
        attempt(client, people.creator.email)
    colleague = app.test_client()  # same REMOTE_ADDR as `client`
    assert attempt(colleague, people.admin.email, PASSWORD).status_code == 303


def test_an_address_locks_at_its_own_higher_limit(app, people):
    set_limits(app, LOGIN_RATE_LIMIT="8 per 15 minutes")
    assert limit_of(app, "LOGIN_RATE_LIMIT") > limit_of(app, "LOGIN_ACCOUNT_RATE_LIMIT")
    office = from_ip(app, "203.0.113.10")
    for i in range(8):  # spread over many accounts, so no single account locks
        assert attempt(office, f"guess{i}@example.com").status_code == 401
    r = attempt(office, people.admin.email, PASSWORD)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    assert db.session.scalar(sa.select(AuditEvent.detail).where(AuditEvent.event == "login.throttled")) == {
        "limit": "password-ip"}
    # Another address is not affected, and neither is that account.
    assert attempt(from_ip(app, "203.0.113.99"), people.admin.email, PASSWORD).status_code == 303


def test_only_failures_count(app, client, people):
    n = limit_of(app, "LOGIN_ACCOUNT_RATE_LIMIT")
    for _ in range(n * 3):
        assert attempt(client, people.admin.email, PASSWORD).status_code == 303
        client.reset_csrf()
        client.post_form("/logout", {"csrf_token": client.csrf_token("/performance")})


def test_signing_in_clears_the_accounts_failures(app, client, people):
    n = limit_of(app, "LOGIN_ACCOUNT_RATE_LIMIT")
    for _ in range(n - 1):
        attempt(client, people.admin.email)
    assert attempt(client, people.admin.email, PASSWORD).status_code == 303
    client.reset_csrf()
    client.post_form("/logout", {"csrf_token": client.csrf_token("/performance")})
    for _ in range(n - 1):
        assert attempt(client, people.admin.email).status_code == 401
    assert attempt(client, people.admin.email, PASSWORD).status_code == 303


def test_email_never_becomes_a_storage_key(app, client, people):
    attempt(client, people.admin.email)
    storage = sign_in_limits.for_app(app).storage
    keys = " ".join(map(str, getattr(storage, "events", {}).keys()))
    assert keys and "admin@example.com" not in keys and sign_in_limits.account_key(people.admin.email) in keys


# ------------------------------------------------------------------ several instances


def _redis_up() -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", 6379)) == 0


# CI (.ci/run) starts Redis, so there a missing server fails the test; elsewhere it skips.
@pytest.mark.skipif(not os.environ.get("CI") and not _redis_up(), reason="needs Redis on 127.0.0.1:6379")
def test_two_instances_share_the_per_account_limit_through_redis(app_factory, db_backend):
    first = app_factory(db_backend, RATELIMIT_STORAGE_URI=REDIS_URL)
    second = app_factory(db_backend, RATELIMIT_STORAGE_URI=REDIS_URL)  # same database, same Redis
    for a in (first, second):
        a.test_client_class = Client
    # A fresh account and address per run: other test runs share this Redis.
    email = f"shared-{uuid.uuid4().hex[:12]}@example.com"
    ip = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250 + 1}"
    with first.app_context():
        ws = accounts.get_or_create_workspace("Shared Limits")
        accounts.create_user(email, role="client_admin", workspace=ws, password=PASSWORD)
        db.session.commit()
    limits = [sign_in_limits.for_app(a) for a in (first, second)]
    assert limits[0].storage is not limits[1].storage  # two clients, one server
    n = limit_of(first, "LOGIN_ACCOUNT_RATE_LIMIT")
    try:
        clients = [from_ip(first, ip), from_ip(second, ip)]
        for i in range(n):  # the failures alternate between the instances
            with (first if i % 2 == 0 else second).app_context():
                assert attempt(clients[i % 2], email).status_code == 401
        for c, a in zip(clients, (first, second)):
            with a.app_context():
                assert attempt(c, email, PASSWORD).status_code == 429
    finally:
        for scope, key in limits[0].password_keys(email, ip):
            limits[0].forget(scope, key)
    with second.app_context():
        assert attempt(from_ip(second, ip), email, PASSWORD).status_code == 303


@pytest.mark.parametrize("setting", ["LOGIN_RATE_LIMIT", "LOGIN_ACCOUNT_RATE_LIMIT", "TWO_FACTOR_RATE_LIMIT",
                                     "TWO_FACTOR_IP_RATE_LIMIT"])
def test_a_malformed_limit_stops_start_up_naming_the_setting(tmp_path, setting):
    import config
    from tests.conftest import TEST_SECRET_KEY, TEST_TOKEN_KEYS

    env = {"APP_ENV": "testing", "SECRET_KEY": TEST_SECRET_KEY, "TOKEN_KEYS": TEST_TOKEN_KEYS, setting: "lots"}
    with pytest.raises(config.ConfigError, match=f"^{setting}: "):
        config.load_config(env, instance_dir=tmp_path)

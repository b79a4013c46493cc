"""Two-factor sign-in: turning it on, the second step, recovery codes, turning it off,
and a workspace that requires it."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pyotp
import pytest
import sqlalchemy as sa
import time_machine

from app.crypto import DecryptError, open_sealed
from app.extensions import db
from app.models import AuditEvent, RecoveryCode, SignInChallenge, User
from app.services import two_factor
from app.services.token_sealing import get_keyring
from tests.conftest import PASSWORD, login
from tests.db_dump import assert_secrets_absent, raw_database_bytes
from tests.factories import make_connection
from tests.integration.test_access_matrix import PUBLIC

# A fixed instant in the middle of a 30-second step, so "the code of the step before"
# is exactly that, however long the test takes.
T0 = datetime(2026, 6, 1, 12, 0, 15, tzinfo=timezone.utc)


def turn_on(app, user, *, at: datetime | None = None) -> tuple[str, list[str]]:
    """Two-factor on for `user` (through the service), confirmed with a code from ten minutes
    before `at`, so every code around `at` is still unused. Returns (secret, recovery codes)."""
    at = at or datetime.now(timezone.utc)
    keyring = get_keyring(app)
    secret = two_factor.begin_enrollment(user, keyring=keyring)
    earlier = at - timedelta(minutes=10)
    codes = two_factor.confirm_enrollment(user, pyotp.TOTP(secret).at(earlier), keyring=keyring, now=earlier)
    db.session.commit()
    return secret, codes


def code_for(secret: str, when: datetime) -> str:
    return pyotp.TOTP(secret).at(when)


def password_step(client, user, password=PASSWORD, **extra):
    client.reset_csrf()
    r = client.post_form("/login", {"email": user.email, "password": password, **extra})
    client.reset_csrf()
    return r


def events(name: str) -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.event == name).order_by(AuditEvent.id)))


def second_step(client, code: str):
    r = client.post_form("/login/two-factor", {"code": code})
    if r.status_code == 303:
        client.reset_csrf()  # signed in: a new session, a new token
    return r


# ------------------------------------------------------------------ the second step


def test_password_step_leads_to_the_second_step_and_signs_in_no_one(client, people, app):
    turn_on(app, people.admin)
    r = password_step(client, people.admin)
    assert r.status_code == 303 and r.headers["Location"] == "/login/two-factor"
    with client.session_transaction() as s:
        assert "_user_id" not in s  # not signed in
        assert set(s) <= {"sign_in_challenge", "csrf_token"}  # a random reference, nothing about the user
        ref = s["sign_in_challenge"]
        assert len(ref) >= 43 and people.admin.email not in ref
    stored = db.session.scalar(sa.select(SignInChallenge))
    assert stored.user_id == people.admin.id and stored.token_hash != ref  # only a digest is kept
    page = client.get("/login/two-factor")
    assert page.status_code == 200 and "Enter your code" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"


def _get_urls(app, conn):
    values = {"connection_id": conn.id, "week": "2026-W21", "reference": "ABCDEF0123456789ABCDEF01",
              "token": "x" * 40, "filename": "app.css", "workspace_id": conn.workspace_id,
              "request_id": 1, "invite_id": 1, "member_id": 1, "user_id": 1, "recipient_id": 1,
              "post_id": 1, "item_id": "1"}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("sandbox.") or rule.endpoint in PUBLIC or "GET" not in rule.methods:
            continue
        yield rule.endpoint, rule.build({a: values[a] for a in rule.arguments}, append_unknown=False)[1]


def test_half_signed_in_reaches_nothing(client, people, app):
    """Password given, code not yet: every signed-in page and partial (and their htmx forms)
    answers with the way to the second step, or 401/404 — never data."""
    conn = make_connection(people.workspace, people.admin, username="secret_canary_acct")
    db.session.commit()
    turn_on(app, people.admin)
    assert password_step(client, people.admin).status_code == 303
    checked = 0
    for endpoint, url in _get_urls(app, conn):
        for headers in ({}, {"HX-Request": "true"}):
            r = client.get(url, headers=headers)
            body = r.get_data(as_text=True)
            assert "secret_canary_acct" not in body and "Brass Studio" not in body, (endpoint, url)
            if r.status_code in (302, 303):
                assert r.headers["Location"].startswith("/login/two-factor"), (endpoint, r.headers["Location"])
            elif r.status_code == 204:
                assert r.headers["HX-Redirect"] == "/login/two-factor", endpoint
            else:
                assert r.status_code in (401, 404), (endpoint, url, r.status_code)
            checked += 1
    assert checked >= 20
    # A state-changing request with a valid CSRF token does nothing either.
    r = client.post_form(f"/connections/{conn.id}/disconnect")
    assert r.status_code == 303 and r.headers["Location"] == "/login/two-factor"
    db.session.refresh(conn)
    assert conn.status == "active"
    with client.session_transaction() as s:
        assert "_user_id" not in s


def test_current_code_signs_in_and_keeps_next(client, people, app):
    secret, _ = turn_on(app, people.admin)
    r = password_step(client, people.admin, next="/reports")
    assert r.headers["Location"] == "/login/two-factor"
    r = second_step(client, pyotp.TOTP(secret).now())
    assert r.status_code == 303 and r.headers["Location"] == "/reports"
    assert client.get("/performance").status_code == 200
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SignInChallenge)) == 0  # used up
    [ok] = events("login.succeeded")
    assert ok.actor_user_id == people.admin.id and ok.detail == {"second_step": "totp"}


def test_a_code_is_refused_the_second_time(client, people, app):
    with time_machine.travel(T0, tick=False):
        secret, _ = turn_on(app, people.admin, at=T0)
        code = code_for(secret, T0)
        password_step(client, people.admin)
        assert second_step(client, code).status_code == 303
        client.post_form("/logout", {"csrf_token": client.csrf_token("/performance")})
        password_step(client, people.admin)
        r = second_step(client, code)
        assert r.status_code == 401 and "already used" in r.get_data(as_text=True)
        # The code of the step before is older than the one used: refused too.
        assert second_step(client, code_for(secret, T0 - timedelta(seconds=30))).status_code == 401
    assert [e.detail["reason"] for e in events("login.two_factor_failed")] == ["reused", "reused"]


@pytest.mark.parametrize("steps, accepted", [(-2, False), (-1, True), (0, True), (1, True), (2, False)])
def test_codes_one_step_either_side_are_accepted(client, people, app, steps, accepted):
    with time_machine.travel(T0, tick=False):
        secret, _ = turn_on(app, people.admin, at=T0)
        password_step(client, people.admin)
        r = second_step(client, code_for(secret, T0 + timedelta(seconds=30 * steps)))
    assert (r.status_code == 303) is accepted, r.status_code


def test_matching_step_window_is_pure():
    secret = pyotp.random_base32()
    step = two_factor.time_step(T0)
    for offset in (-1, 0, 1):
        assert two_factor.matching_step(secret, code_for(secret, T0 + timedelta(seconds=30 * offset)), T0) \
            == step + offset
    assert two_factor.matching_step(secret, code_for(secret, T0 + timedelta(seconds=90)), T0) is None
    assert two_factor.matching_step(secret, "12345", T0) is None
    assert two_factor.matching_step(secret, "abcdef", T0) is None


def test_wrong_codes_are_audited_and_rate_limited_per_user(client, people, app):
    secret, _ = turn_on(app, people.admin)
    limit = int(app.config["TWO_FACTOR_RATE_LIMIT"].split()[0])
    password_step(client, people.admin)
    for _ in range(limit):
        r = second_step(client, "000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
        assert r.status_code == 401
    r = second_step(client, pyotp.TOTP(secret).now())  # even the right code waits now
    assert r.status_code == 429 and "Too many attempts" in r.get_data(as_text=True)
    assert int(r.headers["Retry-After"]) > 0
    failed = events("login.two_factor_failed")
    assert len(failed) == limit and all(e.actor_user_id == people.admin.id and e.ip for e in failed)
    assert failed[0].detail == {"reason": "wrong"}
    [throttled] = events("login.two_factor_throttled")
    assert throttled.detail == {"limit": "second-step-user"}
    with client.session_transaction() as s:
        assert "_user_id" not in s
    # Another person's second step from another address is not held up by it.
    other_secret, _ = turn_on(app, people.creator)
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    password_step(other, people.creator)
    assert second_step(other, pyotp.TOTP(other_secret).now()).status_code == 303


def test_wrong_codes_are_rate_limited_per_ip(client, people, app):
    app.config["TWO_FACTOR_IP_RATE_LIMIT"] = "3 per 15 minutes"
    app.extensions.pop("sign_in_limits", None)
    secrets_by_user = {u.id: turn_on(app, u)[0] for u in (people.admin, people.creator)}
    password_step(client, people.admin)
    for _ in range(2):
        assert second_step(client, "000000").status_code in (401, 303)
    password_step(client, people.creator)  # same address, another account
    assert second_step(client, "000001").status_code == 401
    r = second_step(client, pyotp.TOTP(secrets_by_user[people.creator.id]).now())
    assert r.status_code == 429
    assert events("login.two_factor_throttled")[0].detail == {"limit": "second-step-ip"}


def test_challenge_expires(client, people, app):
    secret, _ = turn_on(app, people.admin)
    password_step(client, people.admin)
    with time_machine.travel(datetime.now(timezone.utc) + timedelta(minutes=11)):
        r = second_step(client, pyotp.TOTP(secret).now())
        assert r.status_code == 303 and r.headers["Location"] == "/login"
        assert client.get("/performance").status_code == 302
    with client.session_transaction() as s:
        assert "sign_in_challenge" not in s and "_user_id" not in s


# ------------------------------------------------------------------ recovery codes


def test_recovery_code_works_once(client, people, app):
    _, codes = turn_on(app, people.admin)
    assert len(codes) == 10 and len(set(codes)) == 10
    password_step(client, people.admin)
    r = second_step(client, codes[3].upper())  # typed in capitals: still the code
    assert r.status_code == 303
    [used] = events("login.recovery_code_used")
    assert used.detail == {"codes_left": 9}
    client.post_form("/logout", {"csrf_token": client.csrf_token("/performance")})
    password_step(client, people.admin)
    assert second_step(client, codes[3]).status_code == 401
    assert second_step(client, codes[4].replace("-", " ")).status_code == 303


def test_recovery_codes_are_stored_salted_and_hashed(app, people):
    _, codes = turn_on(app, people.admin)
    rows = list(db.session.scalars(sa.select(RecoveryCode).where(RecoveryCode.user_id == people.admin.id)))
    assert len(rows) == 10 and len({r.salt for r in rows}) == 10
    stored = " ".join(f"{r.salt} {r.code_hash}" for r in rows)
    for code in codes:
        assert code not in stored and code.replace("-", "") not in stored


# ------------------------------------------------------------------ turning on and off


def test_turn_on_from_the_account_page(client, people, app):
    login(client, people.admin)
    page = client.get("/account").get_data(as_text=True)
    assert "Two-factor sign-in" in page and "Turn on two-factor sign-in" in page
    r = client.post_form("/account/two-factor/start")
    assert r.status_code == 303 and r.headers["Location"] == "/account/two-factor"
    page = client.get("/account/two-factor")
    html = page.get_data(as_text=True)
    secret = re.search(r'id="totp-secret"[^>]*>([A-Z2-7 ]+)<', html).group(1).replace(" ", "")
    assert "<svg" in html and 'role="img"' in html and "otpauth" not in html.split("<svg")[0]
    assert page.headers["Cache-Control"] == "no-store"
    assert not people.admin.two_factor_enabled  # not before a code confirms it
    assert client.post_form("/account/two-factor/confirm", {"code": "000000" if pyotp.TOTP(secret).now() != "000000"
                                                            else "111111"}).status_code == 422
    r = client.post_form("/account/two-factor/confirm", {"code": pyotp.TOTP(secret).now()})
    assert r.status_code == 200
    codes = re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", r.get_data(as_text=True))
    assert len(codes) == 10
    db.session.refresh(people.admin)
    assert people.admin.two_factor_enabled
    assert [e.actor_user_id for e in events("two_factor.enabled")] == [people.admin.id]
    # Shown once: the account page never lists them again, only how many are left.
    again = client.get("/account").get_data(as_text=True)
    assert not any(c in again for c in codes) and 'id="recovery-codes-left">10<' in again
    assert client.get("/performance").status_code == 200  # this session carried on


def test_turning_on_ends_other_sessions(app, client, people):
    login(client, people.admin)
    elsewhere = app.test_client()
    login(elsewhere, people.admin)
    client.post_form("/account/two-factor/start")
    secret = two_factor.pending_secret(db.session.get(User, people.admin.id), keyring=get_keyring(app))
    assert client.post_form("/account/two-factor/confirm", {"code": pyotp.TOTP(secret).now()}).status_code == 200
    assert client.get("/performance").status_code == 200
    assert elsewhere.get("/performance").status_code == 302


def test_secret_is_sealed_at_rest_and_bound_to_its_user(app, people):
    secret, codes = turn_on(app, people.admin)
    raw = db.session.execute(sa.text("SELECT totp_secret_sealed FROM users WHERE id = :id"),
                             {"id": people.admin.id}).scalar()
    assert bytes(raw).startswith(b"v1") and secret.encode() not in bytes(raw)
    other_id = people.creator.id
    db.session.close()
    assert_secrets_absent(raw_database_bytes(), {"totp secret": secret, **{f"code {c}": c for c in codes},
                                                 **{f"code {c} raw": c.replace("-", "") for c in codes}})
    # Copied onto another user's row, it does not open.
    with pytest.raises(DecryptError):
        open_sealed(bytes(raw), aad=f"totp-secret:{other_id}".encode(), keyring=get_keyring(app))


def test_turning_off_needs_the_password_and_a_code(client, people, app):
    secret, codes = turn_on(app, people.admin)
    password_step(client, people.admin)
    second_step(client, codes[0])
    right_code = lambda: pyotp.TOTP(secret).now()  # noqa: E731
    r = client.post_form("/account/two-factor/disable", {"password": "wrong password", "code": right_code()})
    assert r.status_code == 401
    r = client.post_form("/account/two-factor/disable", {"password": PASSWORD, "code": "000000"})
    assert r.status_code == 401
    r = client.post_form("/account/two-factor/disable", {"password": PASSWORD})
    assert r.status_code == 401
    db.session.refresh(people.admin)
    assert people.admin.two_factor_enabled
    assert [e.detail["reason"] for e in events("two_factor.disable_failed")] == ["password", "wrong", "wrong"]
    r = client.post_form("/account/two-factor/disable", {"password": PASSWORD, "code": codes[1]})
    assert r.status_code == 303
    db.session.refresh(people.admin)
    assert not people.admin.two_factor_enabled and people.admin.totp_secret_sealed is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RecoveryCode)) == 0
    assert events("two_factor.disabled")[0].detail == {"with_code": "recovery"}
    # Signing in is one step again.
    client.post_form("/logout", {"csrf_token": client.csrf_token("/performance")})
    assert password_step(client, people.admin).headers["Location"] == "/"


def test_new_recovery_codes_replace_the_old(client, people, app):
    with time_machine.travel(T0, tick=False):
        secret, old = turn_on(app, people.admin, at=T0)
        password_step(client, people.admin)
        second_step(client, old[0])
        r = client.post_form("/account/two-factor/recovery-codes", {"code": code_for(secret, T0)})
    assert r.status_code == 200
    new = re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", r.get_data(as_text=True))
    assert len(new) == 10 and not set(new) & set(old)
    user = db.session.get(User, people.admin.id)
    assert not two_factor.use_recovery_code(user, old[5], now=T0)
    assert two_factor.use_recovery_code(user, new[5], now=T0)


# ------------------------------------------------------------------ a workspace that requires it


def _require(client, ws, on=True):
    return client.post_form("/settings/workspace/two-factor", {"workspace_id": ws.id, **({"require": "on"} if on else {})})


def test_admin_needs_two_factor_before_requiring_it(client, people, app):
    login(client, people.admin)
    r = _require(client, people.workspace)
    assert r.status_code == 303
    db.session.refresh(people.workspace)
    assert not people.workspace.require_two_factor
    assert "your own account first" in client.get(r.headers["Location"]).get_data(as_text=True)


def test_creators_cannot_change_the_requirement(client, people, app):
    _, codes = turn_on(app, people.creator)
    password_step(client, people.creator)
    assert second_step(client, codes[0]).status_code == 303
    assert _require(client, people.workspace).status_code == 403
    db.session.refresh(people.workspace)
    assert not people.workspace.require_two_factor


def test_member_without_two_factor_sets_it_up_at_sign_in(client, people, app):
    _, codes = turn_on(app, people.admin)
    password_step(client, people.admin)
    second_step(client, codes[0])
    r = _require(client, people.workspace)
    assert r.status_code == 303
    db.session.refresh(people.workspace)
    assert people.workspace.require_two_factor
    [ev] = events("workspace.two_factor_required")
    assert ev.workspace_id == people.workspace.id and ev.actor_user_id == people.admin.id

    creator = app.test_client()
    r = password_step(creator, people.creator, next="/reports")
    assert r.status_code == 303 and r.headers["Location"] == "/login/two-factor/setup"
    for path in ("/performance", "/settings/integrations", "/account", "/login/two-factor"):
        r = creator.get(path)
        assert r.status_code == 303 and r.headers["Location"].startswith("/login/two-factor"), path
    page = creator.get("/login/two-factor/setup")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Brass Studio" in html and "requires two-factor sign-in" in html
    secret = re.search(r'id="totp-secret"[^>]*>([A-Z2-7 ]+)<', html).group(1).replace(" ", "")
    assert creator.post_form("/login/two-factor/setup", {"code": "12"}).status_code == 422
    r = creator.post_form("/login/two-factor/setup", {"code": pyotp.TOTP(secret).now()})
    assert r.status_code == 200
    creator.reset_csrf()
    html = r.get_data(as_text=True)
    assert len(re.findall(r"<li><code>[a-z2-9]{5}-[a-z2-9]{5}</code></li>", html)) == 10
    assert 'href="/reports"' in html
    assert creator.get("/performance").status_code == 200
    db.session.refresh(people.creator)
    assert people.creator.two_factor_enabled
    assert events("two_factor.enabled")[-1].detail == {"during": "sign-in"}
    # And it can't be turned off while the workspace requires it.
    r = creator.post_form("/account/two-factor/disable", {"password": PASSWORD, "code": "x"})
    assert r.status_code == 409
    db.session.refresh(people.creator)
    assert people.creator.two_factor_enabled


def test_requirement_reaches_sessions_that_began_before_it(client, people, app):
    login(client, people.creator)
    assert client.get("/performance").status_code == 200
    people.workspace.require_two_factor = True
    db.session.commit()
    r = client.get("/performance")
    assert r.status_code == 303 and r.headers["Location"] == "/account"
    assert client.hx("get", "/performance").headers.get("HX-Redirect") == "/account"
    assert client.get("/account").status_code == 200
    assert client.post_form("/account/two-factor/start").status_code == 303
    assert client.get("/account/two-factor").status_code == 200
    # Members of other workspaces are not affected.
    other = app.test_client()
    login(other, people.outsider)
    assert other.get("/performance").status_code == 200


def test_agency_staff_are_held_to_every_workspaces_requirement(client, people):
    people.other_workspace.require_two_factor = True
    db.session.commit()
    r = password_step(client, people.agency)
    assert r.headers["Location"] == "/login/two-factor/setup"

"""Two-factor sign-in in Chromium, under the real CSP: turning it on from the account page,
signing in with a code and with a recovery code, and a workspace that requires it."""
import re
import time

import pyotp
import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Workspace
from tests.browser.helpers import add_person, sign_in_page

pytestmark = pytest.mark.browser


def next_code(secret: str) -> str:
    """The code of the next 30-second step: still inside the accepted window, and always later
    than a code the app has just accepted (the same code is never accepted twice)."""
    return pyotp.TOTP(secret).at(time.time() + 30)


def read_secret(page) -> str:
    return page.locator("#totp-secret").inner_text().replace(" ", "")


def read_recovery_codes(page) -> list[str]:
    return [c.strip() for c in page.locator("#recovery-codes code").all_inner_texts()]


def password_step(page, live_server, email, password):
    page.goto(live_server.url + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def sign_out(page, live_server):
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(live_server.url + "/login")


def enter_code(page, code: str):
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name="Verify").click()


def test_turn_on_then_sign_in_with_a_code_and_with_a_recovery_code(live_server, page):
    add_person(live_server)
    sign_in_page(page, live_server)
    page.get_by_role("link", name=re.compile("account and two-factor sign-in")).click()
    page.wait_for_url(live_server.url + "/account")
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    page.wait_for_url(live_server.url + "/account/two-factor")
    assert page.get_by_role("img", name="QR code for your authenticator app").is_visible()
    secret = read_secret(page)
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    page.get_by_label("Code from the app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    assert page.get_by_role("heading", name="Your recovery codes").is_visible()
    codes = read_recovery_codes(page)
    assert len(codes) == 10 and len(set(codes)) == 10
    page.get_by_role("link", name=re.compile("continue")).click()
    page.wait_for_url(live_server.url + "/account")
    assert page.locator("#two-factor .badge").inner_text() == "On"
    assert not any(code in page.content() for code in codes)  # shown once only

    # Password, then a code from the app.
    sign_out(page, live_server)
    password_step(page, live_server, "admin@brass.studio", "demo-admin-pass")
    page.wait_for_url(live_server.url + "/login/two-factor")
    page.goto(live_server.url + "/performance")  # nothing opens before the second step
    page.wait_for_url(live_server.url + "/login/two-factor")
    enter_code(page, next_code(secret))
    page.wait_for_url(live_server.url + "/performance")
    assert page.get_by_role("heading", name="Performance").is_visible()

    # Password, then a recovery code: once.
    sign_out(page, live_server)
    password_step(page, live_server, "admin@brass.studio", "demo-admin-pass")
    page.wait_for_url(live_server.url + "/login/two-factor")
    enter_code(page, codes[0])
    page.wait_for_url(live_server.url + "/performance")
    assert page.get_by_text("You signed in with a recovery code").is_visible()
    sign_out(page, live_server)
    password_step(page, live_server, "admin@brass.studio", "demo-admin-pass")
    page.wait_for_url(live_server.url + "/login/two-factor")
    enter_code(page, codes[0])
    assert "didn't work" in page.get_by_role("alert").inner_text()
    assert page.url == live_server.url + "/login/two-factor"
    enter_code(page, codes[1])
    page.wait_for_url(live_server.url + "/performance")
    assert not [e for e in page.console_errors if "Content Security Policy" in e]


def test_a_workspace_that_requires_it_sends_a_member_to_set_it_up(live_server, page):
    add_person(live_server, email="creator@brass.studio", password="demo-creator-pass", role="creator")
    with live_server.app.app_context():
        db.session.execute(sa.update(Workspace).where(Workspace.name == "Brass Studio").values(require_two_factor=True))
        db.session.commit()
    password_step(page, live_server, "creator@brass.studio", "demo-creator-pass")
    page.wait_for_url(live_server.url + "/login/two-factor/setup")
    assert page.get_by_role("heading", name="Set up two-factor sign-in to continue").is_visible()
    assert page.get_by_text("Brass Studio requires two-factor sign-in").is_visible()
    page.goto(live_server.url + "/settings/integrations")  # nothing else until it is on
    page.wait_for_url(live_server.url + "/login/two-factor/setup")
    secret = read_secret(page)
    page.get_by_label("Code from the app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    assert page.get_by_role("heading", name="Your recovery codes").is_visible()
    assert len(read_recovery_codes(page)) == 10
    page.get_by_role("link", name=re.compile("continue")).click()
    page.wait_for_url(live_server.url + "/performance")
    page.goto(live_server.url + "/account")
    assert page.locator("#two-factor .badge").inner_text() == "On"
    assert page.get_by_text("Required by Brass Studio").is_visible()
    assert not [e for e in page.console_errors if "Content Security Policy" in e]

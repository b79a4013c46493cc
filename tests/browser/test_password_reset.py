"""Password reset in Chromium, with the emails caught by a real SMTP server (aiosmtpd):
"Forgot password?" → the emailed link → a new password → sign in with it; an unknown
address gets the same page and no mail; a used link and an expired one are refused."""
from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone

import pytest
import time_machine

from tests.browser.helpers import add_person

pytestmark = pytest.mark.browser

EMAIL, OLD, NEW = "admin@brass.studio", "demo-admin-pass", "a brand new passphrase"


def wait_for_mail(smtp_server, count: int, timeout: float = 10.0):
    """The mail goes out once the page's answer has been written, so it may trail the page."""
    deadline = time.monotonic() + timeout
    while len(smtp_server.messages) < count:
        assert time.monotonic() < deadline, f"expected {count} mails, got {len(smtp_server.messages)}"
        time.sleep(0.05)
    return smtp_server.messages[count - 1]


def reset_link(msg) -> str:
    text = next(p.get_payload(decode=True).decode() for p in msg.walk() if p.get_content_type() == "text/plain")
    return re.search(r"http://127\.0\.0\.1:\d+/password/reset/\S+", text).group(0)


def ask_for_link(page, server, address: str) -> str:
    """From the sign-in page through "Forgot password?"; returns the answer's text."""
    page.goto(server.url + "/login")
    page.get_by_role("link", name="Forgot password?").click()
    page.wait_for_url(server.url + "/password/forgot")
    page.get_by_label("Email").fill(address)
    page.get_by_role("button", name="Email me a link").click()
    page.get_by_role("heading", name="Check your email").wait_for()
    return page.locator("#reset-requested").inner_text().replace(address, "ADDRESS")


def sign_in(page, server, password: str):
    page.goto(server.url + "/login")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_reset_round_trip_and_refused_links(mailing_server, page, smtp_server):
    mail_server = mailing_server  # the live app sending its mail to smtp_server (tests/browser/conftest.py)
    add_person(mail_server, email=EMAIL, password=OLD)

    unknown = ask_for_link(page, mail_server, "nobody-here@brass.studio")
    known = ask_for_link(page, mail_server, EMAIL)
    assert unknown == known  # the same answer, word for word
    msg = wait_for_mail(smtp_server, 1)
    assert msg["To"] == EMAIL and msg["Subject"] == "Reset your Logic Target password"
    link = reset_link(msg)

    page.goto(link)
    page.get_by_label("New password", exact=True).fill(NEW)
    page.get_by_label("New password again").fill(NEW)
    page.get_by_role("button", name="Set new password").click()
    page.wait_for_url(mail_server.url + "/login")
    assert page.get_by_text("Sign in with your new password").is_visible()

    sign_in(page, mail_server, OLD)
    assert page.get_by_role("alert").inner_text() == "That email and password don't match an account."
    sign_in(page, mail_server, NEW)
    page.wait_for_url("**/performance**")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(mail_server.url + "/login")

    used = page.goto(link)
    assert used.status == 410
    assert page.get_by_role("heading", name="This link has already been used").is_visible()
    assert page.get_by_label("New password", exact=True).count() == 0

    ask_for_link(page, mail_server, EMAIL)
    later = reset_link(wait_for_mail(smtp_server, 2))
    with time_machine.travel(datetime.now(timezone.utc) + timedelta(minutes=61)):
        expired = page.goto(later)
        assert expired.status == 410
        assert page.get_by_role("heading", name="This link has expired").is_visible()
    assert [m["To"] for m in smtp_server.messages] == [EMAIL, EMAIL]  # never to the unknown address
    # Only the refused sign-in (401) and the refused links (410) show up, as the statuses they are.
    assert not [e for e in page.console_errors if not re.search(r"status of (401|410)", e)], page.console_errors

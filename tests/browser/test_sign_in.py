"""Sign in through the real page in Chromium, under the real CSP."""
import pytest

from tests.browser.helpers import add_person

pytestmark = pytest.mark.browser


@pytest.fixture
def demo_admin(live_server):
    add_person(live_server)
    return "admin@brass.studio", "demo-admin-pass"


def test_sign_in_and_out_in_chromium(live_server, page, demo_admin):
    email, password = demo_admin
    page.goto(live_server.url + "/performance")
    assert page.url.startswith(live_server.url + "/login")  # sent to sign in first
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(live_server.url + "/performance")
    assert page.get_by_role("heading", name="Performance").is_visible()
    nav = page.get_by_role("navigation", name="Main")
    for label in ("Performance", "Reports", "Integrations"):
        assert nav.get_by_role("link", name=label).is_visible()
    assert page.get_by_text("Brass Studio").first.is_visible()
    # htmx loaded from our own origin and running under script-src 'self'
    assert page.evaluate("typeof window.htmx") == "object"
    assert page.evaluate("htmx.config.allowEval") is False
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(live_server.url + "/login")
    assert page.get_by_text("You are signed out.").is_visible()
    assert not [e for e in page.console_errors if "Content Security Policy" in e]


def test_wrong_password_shows_a_message(live_server, page, demo_admin):
    page.goto(live_server.url + "/login")
    page.get_by_label("Email").fill(demo_admin[0])
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text() == "That email and password don't match an account."

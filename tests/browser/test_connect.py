"""Connect a TikTok account in Chromium: Integrations → sandbox consent → dashboard."""
import pytest

from tests.browser.helpers import add_person, sign_in_page

pytestmark = pytest.mark.browser


def _sign_in(live_server, page):
    add_person(live_server)
    sign_in_page(page, live_server)


def test_connect_in_chromium(live_server, page):
    _sign_in(live_server, page)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Integrations").click()
    assert page.get_by_role("heading", name="TikTok for Business").is_visible()
    page.get_by_role("button", name="Connect TikTok").click()
    page.wait_for_url("**/sandbox/tiktok/v2/auth/authorize/**")
    page.get_by_label("Log in as").fill("moontideco2")
    page.get_by_role("button", name="Grant").click()
    page.wait_for_url("**/performance?**")
    assert page.get_by_text("Connected. @moontideco2 is now syncing.").is_visible()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Integrations").click()
    assert page.locator("#connected-accounts").get_by_text("@moontideco2").is_visible()
    assert not [e for e in page.console_errors if "Content Security Policy" in e]


def _sign_in_and_open_consent(live_server, page):
    _sign_in(live_server, page)
    page.goto(live_server.url + "/settings/integrations")
    page.get_by_role("button", name="Connect TikTok").click()
    page.wait_for_url("**/sandbox/tiktok/v2/auth/authorize/**")


def test_unticking_two_scopes_shows_the_granted_count(live_server, page):
    requested = live_server.app.config["TIKTOK_SCOPES"]
    optional = [s for s in requested if s not in ("user.info.basic", "user.info.username", "user.account.type")]
    _sign_in_and_open_consent(live_server, page)
    for scope in optional[-2:]:
        box = page.locator(f'input[name="scope"][value="{scope}"]')
        box.uncheck()
        assert not box.is_checked()
    page.get_by_label("Log in as").fill("brassorbit3")
    page.get_by_role("button", name="Grant").click()
    page.wait_for_url("**/performance?**")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Integrations").click()
    row = page.locator("#connected-accounts li", has_text="@brassorbit3")
    assert row.get_by_text(f"Scopes: {len(requested) - 2}").is_visible()


def test_deny_returns_to_integrations_with_a_message(live_server, page):
    _sign_in_and_open_consent(live_server, page)
    page.get_by_role("button", name="Deny").click()
    page.wait_for_url(live_server.url + "/settings/integrations")
    assert page.get_by_text("You cancelled on TikTok, so nothing was connected.").is_visible()
    assert page.locator("#connected-accounts").get_by_text("No TikTok accounts connected yet.").is_visible()

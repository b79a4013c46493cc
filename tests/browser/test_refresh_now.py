"""'Refresh now' swaps the account's row through htmx, without a page reload."""
import pytest

from tests.browser.helpers import add_person, sign_in_page

pytestmark = pytest.mark.browser


def test_refresh_now_swaps_the_row(live_server, page):
    add_person(live_server, "leo@brass.studio", "demo-leo-pass", role="creator")
    sign_in_page(page, live_server, "leo@brass.studio", "demo-leo-pass")
    page.goto(live_server.url + "/settings/integrations")
    page.get_by_role("button", name="Connect TikTok").click()
    page.get_by_role("button", name="Grant").click()
    page.wait_for_url("**/performance?**")
    page.goto(live_server.url + "/settings/integrations")
    row = page.locator("#connected-accounts li.connection-row")
    assert "@brassorbit3" in row.inner_text() and "Syncing" in row.inner_text()
    page.evaluate("window.__noReload = 'still here'")
    row.get_by_role("button", name="Refresh now").click()
    page.locator(".toast").filter(has_text="up to date").wait_for()
    assert "Synced just now" in row.inner_text() and "Syncing" not in row.inner_text()
    assert page.evaluate("window.__noReload") == "still here"  # swapped by htmx, not reloaded
    assert not [e for e in page.console_errors if "Content Security Policy" in e]

"""'Refresh now' swaps the account's row through htmx, without a page reload."""
import pytest

from app.extensions import db
from app.services import accounts

pytestmark = pytest.mark.browser


def test_refresh_now_swaps_the_row(live_server, page):
    with live_server.app.app_context():
        ws = accounts.get_or_create_workspace("Brass Studio")
        accounts.create_user("leo@brass.studio", role="creator", workspace=ws, password="demo-leo-pass")
        db.session.commit()
    page.goto(live_server.url + "/login")
    page.get_by_label("Email").fill("leo@brass.studio")
    page.get_by_label("Password").fill("demo-leo-pass")
    page.get_by_role("button", name="Sign in").click()
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

"""Disconnect an account in Chromium: the confirm dialog names the consequence, the row
changes in place (htmx, no page reload) and a toast confirms."""
import pytest
import requests

from tests.browser.helpers import sign_in_page
from tests.e2e.helpers import connect_account, sign_in

pytestmark = pytest.mark.browser


def test_disconnect_through_the_confirm_dialog(live_server, page):
    s, ws_id = sign_in(live_server, email="admin@brass.studio", role="client_admin", password="demo-admin-pass")
    connect_account(live_server, s, ws_id, username="brassorbit3")
    sign_in_page(page, live_server)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Integrations").click()
    row = page.locator("#connected-accounts li", has_text="@brassorbit3")
    assert row.get_by_role("button", name="Disconnect").is_visible()
    page.evaluate("window.__noReload = true")  # survives only if the page is not reloaded
    dialogs = []

    def accept(dialog):
        dialogs.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    row.get_by_role("button", name="Disconnect").click()
    row = page.locator("#connected-accounts li", has_text="@brassorbit3")
    row.get_by_text("Disconnected · data deleted by").wait_for()
    assert dialogs and dialogs[0].startswith("Disconnect @brassorbit3? Tokens are revoked now; data is deleted after")
    assert page.evaluate("window.__noReload") is True
    assert not row.get_by_role("button", name="Disconnect").count()
    assert page.get_by_role("status").filter(has_text="Disconnected @brassorbit3").first.is_visible()
    assert not [e for e in page.console_errors if "Content Security Policy" in e]
    counts = requests.get(live_server.url + "/sandbox/tiktok/_control/requests", timeout=5).json()["counts"]
    assert sum(n for endpoint, n in counts.items() if "revoke" in endpoint) == 1

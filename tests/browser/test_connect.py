"""Connect a TikTok account in Chromium: Integrations → sandbox consent → dashboard."""
import pytest

from app.extensions import db
from app.services import accounts

pytestmark = pytest.mark.browser


def test_connect_in_chromium(live_server, page):
    with live_server.app.app_context():
        ws = accounts.get_or_create_workspace("Brass Studio")
        accounts.create_user("admin@brass.studio", role="client_admin", workspace=ws, password="demo-admin-pass")
        db.session.commit()
    page.goto(live_server.url + "/login")
    page.get_by_label("Email").fill("admin@brass.studio")
    page.get_by_label("Password").fill("demo-admin-pass")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/performance")
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

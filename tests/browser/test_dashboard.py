"""The dashboard in Chromium under the real CSP: tiles, charts, and a posts table that
sorts and pages through htmx without reloading the page."""
import pytest

import sqlalchemy as sa

from app.extensions import db
from app.models import Post
from app.services import accounts
from tests.browser.helpers import ARTIFACTS, sign_in_page
from tests.factories import make_connection, seed_performance

pytestmark = pytest.mark.browser



@pytest.fixture
def dashboard_account(live_server):
    with live_server.app.app_context():
        ws = accounts.get_or_create_workspace("Brass Studio", timezone="Europe/Berlin")
        user, _ = accounts.create_user("admin@brass.studio", role="client_admin", workspace=ws,
                                       password="demo-admin-pass")
        conn = make_connection(ws, user, username="brassorbit3")
        seed_performance(conn, tz="Europe/Berlin", days=60, posts=30, spark_posts=3, followers_start=48_000,
                         followers_per_day=35, views_per_day=12_400)
        # Thumbnails from our own origin (the sandbox's), so the page loads without the network.
        db.session.execute(sa.update(Post).values(thumbnail_url=live_server.url + "/sandbox/tiktok/static/thumbnail.svg"))
        db.session.commit()
        return conn.id


def sign_in(page, live_server):
    sign_in_page(page, live_server)


def first_caption(page) -> str:
    return page.locator("#posts-table tbody tr").first.locator("td.col-caption").inner_text().strip()


def test_dashboard_sorts_and_pages_without_a_full_reload(live_server, page, dashboard_account):
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
    sign_in(page, live_server)
    assert page.get_by_role("heading", name="Followers").first.is_visible()
    assert page.locator(".tile-value").first.inner_text() == "50,065"  # 48,000 + 59 x 35
    assert page.get_by_role("img", name="Followers over the last 30 days").is_visible()
    assert page.get_by_role("img", name="Views per day over the last 30 days").is_visible()
    assert first_caption(page) == "Post number 0"

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

    page.evaluate("window.__noReload = true")  # a full page load would wipe this
    page.locator("#posts-table th.col-views a").click()
    page.wait_for_url("**/performance/posts?*sort=views*")
    page.wait_for_function("document.querySelector('#posts-table th.col-views').getAttribute('aria-sort') === 'descending'")
    assert first_caption(page) == "Post number 29"
    assert page.evaluate("window.__noReload") is True

    page.get_by_role("link", name="Next →").click()
    page.wait_for_url("**page=2*")
    page.wait_for_function("document.querySelector('#posts-table .pager').innerText.includes('Page 2 of 2')")
    assert first_caption(page) == "Post number 9"
    assert page.locator("#posts-table tbody tr").count() == 10
    assert page.evaluate("window.__noReload") is True
    assert page.locator("#kpi-tiles").count() == 1  # the rest of the page is untouched

    page.reload()  # the pushed URL renders the whole page on its own
    assert page.locator("#kpi-tiles").is_visible() and first_caption(page) == "Post number 9"
    assert not [e for e in page.console_errors if "Content Security Policy" in e], page.console_errors
    assert page.locator("#posts-table img").first.evaluate("img => img.complete && img.naturalWidth > 0")
    assert not failed, failed
    # The only console error allowed is the browser's own /favicon.ico 404.
    assert not [e for e in page.console_errors if "status of 404" not in e], page.console_errors

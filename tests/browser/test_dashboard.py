"""The dashboard in Chromium under the real CSP: tiles, charts, and a posts table that
sorts and pages through htmx without reloading the page."""
import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

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
    assert page.get_by_role("img", name=re.compile(r"^Followers, ")).is_visible()
    assert page.get_by_role("img", name=re.compile(r"^Views per day, ")).is_visible()
    assert "(28 days)" in page.locator("#charts").inner_text()
    assert first_caption(page) == "Post number 0"

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

    page.evaluate("window.__noReload = true")  # a full page load would wipe this
    page.locator("#posts-table th.col-views a").click()
    page.wait_for_url("**/performance/posts?*sort=views*")
    page.wait_for_function("document.querySelector('#posts-table th.col-views').getAttribute('aria-sort') === 'descending'")
    assert first_caption(page) == "Post number 27"  # 28 days: posts 0..27
    assert page.evaluate("window.__noReload") is True

    page.get_by_role("link", name="Next →").click()
    page.wait_for_url("**page=2*")
    page.wait_for_function("document.querySelector('#posts-table .pager').innerText.includes('Page 2 of 2')")
    assert first_caption(page) == "Post number 7"
    assert page.locator("#posts-table tbody tr").count() == 8
    assert page.evaluate("window.__noReload") is True
    assert page.locator("#kpi-tiles").count() == 1  # the rest of the page is untouched

    page.reload()  # the pushed URL renders the whole page on its own
    assert page.locator("#kpi-tiles").is_visible() and first_caption(page) == "Post number 7"
    assert not [e for e in page.console_errors if "Content Security Policy" in e], page.console_errors
    assert page.locator("#posts-table img").first.evaluate("img => img.complete && img.naturalWidth > 0")
    assert not failed, failed
    # The only console error allowed is the browser's own /favicon.ico 404.
    assert not [e for e in page.console_errors if "status of 404" not in e], page.console_errors


def period(page) -> str:
    return page.locator("#period-label").inner_text()


def test_the_period_changes_through_the_page_and_the_back_button_restores_it(live_server, page, dashboard_account):
    sign_in(page, live_server)
    default = period(page)
    assert "(previous 28 days)" in default

    page.get_by_role("link", name="7 days").click()
    page.wait_for_url("**range=7*")
    seven = period(page)
    assert "(previous 7 days)" in seven and seven != default
    assert page.get_by_role("link", name="7 days").get_attribute("aria-current") == "page"

    # a custom range, typed into the form, compared with the same days last year
    page.get_by_role("link", name="Same days last year").click()
    page.wait_for_url("**compare=year*")
    today = datetime.now(timezone.utc).astimezone(ZoneInfo("Europe/Berlin")).date()
    start, end = today - timedelta(days=20), today - timedelta(days=11)
    page.locator('input[name="from"]').fill(start.isoformat())
    page.locator('input[name="to"]').fill(end.isoformat())
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(f"**from={start.isoformat()}*")
    custom = period(page)
    assert "(same days last year)" in custom and f"{start.year - 1}" in custom
    assert "compare=year" in page.url and f"to={end.isoformat()}" in page.url
    rows = page.locator("#views-data tbody tr")
    assert rows.count() == 10  # exactly the ten days chosen
    assert rows.first.locator("th").inner_text() == start.isoformat()

    # sorting the table keeps the period (htmx pushes a URL that holds all of it)
    page.locator("#posts-table th.col-views a").click()
    page.wait_for_url("**sort=views*")
    assert f"from={start.isoformat()}" in page.url and "compare=year" in page.url

    page.go_back()  # the table's previous state, then the views before it
    page.wait_for_function("!location.search.includes('sort=views')")
    page.go_back()
    page.wait_for_url(re.compile(r".*range=7&compare=year$|.*compare=year&range=7$|.*range=7.*compare=year.*"))
    assert "(same days last year)" in period(page)
    page.go_back()
    page.wait_for_function("!location.search.includes('compare=year')")
    assert period(page) == seven
    page.go_back()
    page.wait_for_function("!location.search.includes('range=7')")
    assert period(page) == default

    # a bad custom range (start after end) is refused with a message next to the form
    page.locator('input[name="from"]').fill(end.isoformat())
    page.locator('input[name="to"]').fill(start.isoformat())
    page.get_by_role("button", name="Show").click()
    page.wait_for_selector("#range-error")
    assert "is after the end date" in page.locator("#range-error").inner_text()
    assert page.locator('input[name="from"]').get_attribute("aria-invalid") == "true"


@pytest.mark.parametrize("size", [{"width": 1366, "height": 900}, {"width": 390, "height": 844}], ids=["desktop", "phone"])
def test_period_controls_banners_and_why_notes_are_accessible(live_server, page, dashboard_account, size):
    """The states that add text and controls: a refused custom range, a failed sync, a
    permission's "why" note: axe-core finds nothing serious and the page fits a phone."""
    from tests.browser.a11y import assert_accessible
    from app.models import TikTokConnection

    with live_server.app.app_context():
        db.session.execute(sa.update(TikTokConnection).values(
            last_error="TikTok did not answer (2026-12-01 10:05 UTC)", granted_scopes="user.info.basic,video.list"))
        db.session.commit()
    page.set_viewport_size(size)
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/performance?account={dashboard_account}&from=2026-12-31&to=2026-01-01&compare=year")
    assert page.locator("#range-error").is_visible() and page.locator('[data-state="failed"]').is_visible()
    assert_accessible(page)

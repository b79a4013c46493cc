"""Keyboard and truthful states in Chromium: focus lands somewhere sensible after every
htmx swap (the sorted header, the new page's first row, the row acted on), chart data
tables take no layout space, and connecting with a permission unticked says what will
not show — on a page axe-core finds clean, at phone width too."""
import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.extensions import db
from app.models import Post
from app.services import accounts, scope_effects
from tests.browser.a11y import assert_accessible
from tests.browser.helpers import add_person, sign_in_page
from tests.factories import make_connection, seed_performance

pytestmark = pytest.mark.browser

@pytest.fixture
def account(live_server):
    with live_server.app.app_context():
        ws = accounts.get_or_create_workspace("Brass Studio", timezone="Europe/Berlin")
        user, _ = accounts.create_user("admin@brass.studio", role="client_admin", workspace=ws,
                                       password="demo-admin-pass")
        conn = make_connection(ws, user, username="brassorbit3")
        seed_performance(conn, tz="Europe/Berlin", days=40, posts=30, followers_start=48_000)
        db.session.execute(sa.update(Post).values(thumbnail_url=live_server.url + "/sandbox/tiktok/static/thumbnail.svg"))
        db.session.commit()
        return conn.id


def test_focus_follows_sorting_paging_and_row_actions(live_server, page, account):
    sign_in_page(page, live_server)
    page.wait_for_load_state("load")
    # Chart data tables are for screen readers: present, but drawn nowhere and taking no space.
    sizes = page.locator("table.visually-hidden").evaluate_all(
        "ts => ts.map(t => { const r = t.getBoundingClientRect(); return [r.width, r.height]; })")
    assert sizes and all(w <= 1 and h <= 1 for w, h in sizes), sizes
    assert page.get_by_role("table", name="Followers per day").count() == 1  # still a table to assistive tech

    # Sort with the keyboard: the link pressed is replaced, focus goes to the sorted column's header.
    page.locator("#posts-table th.col-views a").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**sort=views*")
    page.wait_for_function("document.querySelector('#posts-table th.col-views').getAttribute('aria-sort')")
    expect(page.locator("#posts-table th.col-views a")).to_be_focused()

    # Next page: focus on the new page's first row, not back at the top of the document.
    page.locator("#posts-table a[rel=next]").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**page=2*")
    expect(page.locator("#posts-table tbody tr").first).to_be_focused()

    # "Refresh now" on Integrations replaces its row: focus stays on that row.
    page.goto(live_server.url + "/settings/integrations")
    row = f"#connection-{account}"
    page.locator(row).get_by_role("button", name="Refresh now").focus()
    page.keyboard.press("Enter")
    expect(page.locator(row)).to_be_focused()  # the row acted on, swapped in anew

    # "Disconnect" redraws the row, then the whole list refreshes: focus is still on that row.
    page.once("dialog", lambda d: d.accept())
    page.locator(row).get_by_role("button", name="Disconnect").focus()
    with page.expect_response(lambda r: r.url.endswith("/settings/integrations") and r.request.method == "GET"):
        page.keyboard.press("Enter")
    expect(page.locator(row).locator(".state-badge")).to_have_text("Disconnected")
    expect(page.locator(row)).to_be_focused()


def test_connecting_without_insights_says_what_will_not_show(live_server, page):
    add_person(live_server)
    sign_in_page(page, live_server)
    page.goto(live_server.url + "/settings/integrations")
    page.get_by_role("button", name="Connect TikTok").click()
    page.wait_for_url("**/sandbox/tiktok/v2/auth/authorize/**")
    page.locator('input[name="scope"][value="user.insights"]').uncheck()
    page.get_by_label("Log in as").fill("brassorbit3")
    page.get_by_role("button", name="Grant").click()
    page.wait_for_url("**/performance?**")
    warning = page.locator(".scopes-missing")
    assert warning.get_by_role("heading", name="@brassorbit3 is connected without 1 permission").is_visible()
    assert warning.get_by_text(scope_effects.EFFECTS["user.insights"].missing).is_visible()
    assert warning.get_by_role("button", name="Reconnect and grant them").is_visible()
    page.set_viewport_size({"width": 390, "height": 844})
    assert_accessible(page)
    page.goto(live_server.url + "/settings/integrations")
    row = page.locator("#connected-accounts li", has_text="@brassorbit3")
    assert row.get_by_text("Not granted: user.insights").is_visible()
    row.get_by_text("What will not show without it").click()
    assert row.get_by_text(scope_effects.EFFECTS["user.insights"].missing).is_visible()
    assert_accessible(page)


def test_wide_table_scrolls_inside_its_card_on_a_phone(live_server, page, account):
    sign_in_page(page, live_server)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server.url + "/performance")
    region = page.locator("#posts-table .is-scrollable, #posts-table.is-scrollable").first
    expect(region).to_have_attribute("role", "region")
    expect(region).to_have_attribute("tabindex", "0")  # scrollable with the keyboard
    assert region.evaluate("el => el.scrollWidth > el.clientWidth")
    expect(page.get_by_text("Scroll sideways for more →").first).to_be_visible()
    assert_accessible(page)  # and the page itself does not scroll sideways
    page.set_viewport_size({"width": 1366, "height": 900})  # wide enough again: no region, no cue
    expect(page.locator("#posts-table[role=region], #posts-table [role=region]")).to_have_count(0)
    expect(page.get_by_text("Scroll sideways for more →")).to_have_count(0)

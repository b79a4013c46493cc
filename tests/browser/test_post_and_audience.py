"""The post page and the audience page in Chromium under the real CSP, after a real sync
from the sandbox: reached by their links, readable at desktop and phone widths, no serious
axe-core finding, and the wide heatmap scrolls inside its card, not the page."""
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Post, SparkAdMetric, Workspace
from jobs.runner import run_job
from tests.browser.a11y import assert_no_sideways_scroll, serious_axe_violations
from tests.browser.helpers import ARTIFACTS, sign_in_page
from tests.e2e.helpers import connect_account, link_ads, sign_in

pytestmark = pytest.mark.browser
EMAIL, PASSWORD = "ana@brass.studio", "demo-ana-pass-1"


def assert_accessible_content(page):
    """No serious axe-core finding, and the page's own content never scrolls it sideways. The
    shared header is left out of the width check (the every-page accessibility walk checks it)."""
    found = serious_axe_violations(page)
    assert not found, "\n".join(found)
    page.evaluate("document.querySelector('header.topbar').style.display = 'none'")
    assert_no_sideways_scroll(page)
    page.evaluate("document.querySelector('header.topbar').style.display = ''")


@pytest.fixture
def synced(live_server):
    s, ws_id = sign_in(live_server, email=EMAIL, role="client_admin", password=PASSWORD)
    assert connect_account(live_server, s, ws_id).ok
    link_ads(live_server, s, ws_id)
    result = run_job(live_server.app, "sync", now=datetime.now(timezone.utc))
    assert result.counts["synced"] == 1, result
    with live_server.app.app_context():
        db.session.get(Workspace, ws_id).timezone = "America/New_York"
        db.session.commit()
        boosted = db.session.scalar(sa.select(Post.id).join(SparkAdMetric, SparkAdMetric.post_id == Post.id)
                                    .order_by(Post.create_time.desc()).limit(1))
    return {"boosted": boosted}


@pytest.mark.parametrize("viewport", [{"width": 1366, "height": 900}, {"width": 390, "height": 844}],
                         ids=["desktop", "phone"])
def test_post_and_audience_pages_are_reachable_and_accessible(live_server, page, synced, viewport):
    page.set_viewport_size(viewport)
    sign_in_page(page, live_server, email=EMAIL, password=PASSWORD)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    width = viewport["width"]

    # The audience page from the dashboard's link.
    page.get_by_role("link", name="Audience and best time to post").click()
    page.wait_for_url("**/performance/audience?account=*")
    assert page.get_by_role("heading", name="Best time to post").is_visible()
    assert page.locator("#heatmap td[data-posts]:not([data-posts='0'])").count() > 0
    assert_accessible_content(page)
    region = page.get_by_role("region", name="Active followers by weekday and hour")
    if width < 700:  # the 24 hours scroll inside their card on a phone
        assert region.evaluate("el => el.scrollWidth > el.clientWidth")
    page.screenshot(path=str(ARTIFACTS / f"audience-{width}.png"), full_page=True)

    # A boosted post's page from its row in the posts table.
    page.goto(live_server.url + "/performance?range=90")
    page.locator(f'#posts-table a[href="/performance/posts/{synced["boosted"]}"]').first.click()
    page.wait_for_url(f"**/performance/posts/{synced['boosted']}")
    assert page.get_by_role("heading", name="Organic and paid").is_visible()
    assert page.get_by_role("img", name="Share of viewers still watching, by second").is_visible()
    assert page.get_by_text("Spend divided by impressions, times 1,000").is_visible()  # definitions without hovering
    assert_accessible_content(page)
    page.screenshot(path=str(ARTIFACTS / f"post-{width}.png"), full_page=True)
    assert not page.console_errors, page.console_errors

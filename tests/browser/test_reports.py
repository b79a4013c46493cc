"""A weekly report in Chromium under the real CSP, and its HTML email rendered (saved as
artifacts: report.png, report-email.html, report-email.png)."""
import pytest

from app.extensions import db
from app.services import accounts, report_figures
from tests.browser.helpers import ARTIFACTS
from tests.browser.test_dashboard import sign_in  # same admin and password as the dashboard test
from tests.factories import make_connection, seed_performance
from tests.report_data import NOW, WEEK

pytestmark = pytest.mark.browser


@pytest.fixture
def built_report(live_server):
    with live_server.app.app_context():
        ws = accounts.get_or_create_workspace("Brass Studio", timezone="Europe/London")
        admin, _ = accounts.create_user("admin@brass.studio", role="client_admin", workspace=ws,
                                        password="demo-admin-pass")
        conn = make_connection(ws, admin, username="brassorbit3")
        seed_performance(conn, tz="Europe/London", days=40, posts=12, now=NOW, spark_posts=2, followers_start=48_000,
                         followers_per_day=35, views_per_day=12_400,
                         captions=["Behind the scenes at the <studio> & co", "Brass orbit, take 3", "Moon tide"])
        report_figures.build_report(ws, WEEK, now=NOW)
        db.session.commit()
        return ws.id


def test_report_page_and_its_email_render(live_server, page, built_report):
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
    sign_in(page, live_server)
    page.get_by_role("link", name="Reports").click()
    page.get_by_role("link", name="Week 21 · May 18 – May 24, 2026").click()
    page.wait_for_url(f"**/reports/{WEEK}?workspace={built_report}")
    assert page.get_by_role("heading", name="Week 21 · May 18 – May 24, 2026").is_visible()
    assert page.get_by_role("heading", name="Top-performing creative").is_visible()
    assert page.get_by_text("Behind the scenes at the <studio> & co").count() == 0  # 3 newest are not the top 3
    # The stylesheet applied (no inline styles allowed): the figures table spans the card.
    assert page.locator("table.figures").first.evaluate("t => getComputedStyle(t).borderCollapse") == "collapse"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)

    with page.expect_popup() as popup:
        page.get_by_role("link", name="Preview email").click()
    email = popup.value
    email.wait_for_load_state()
    assert email.get_by_role("heading", name="Week 21 · May 18 – May 24, 2026").is_visible()
    # Inline styles (css-inline) are allowed on this response only: the button is the default accent (#d1193e).
    color = email.get_by_role("link", name="Open the report").evaluate("a => getComputedStyle(a).backgroundColor")
    assert color == "rgb(209, 25, 62)"
    (ARTIFACTS / "report-email.html").write_text(email.content())
    email.screenshot(path=str(ARTIFACTS / "report-email.png"), full_page=True)
    email.close()
    assert not failed, failed
    assert not [e for e in page.console_errors if "status of 404" not in e], page.console_errors

"""The weekly report on a phone and for assistive technology: its HTML email (exactly what
the preview and the mail carry, branded, with a logo and captions that are one long word)
at 390 px has no element wider than its container and no sideways scroll; the report page
has no serious or critical axe-core finding. Artifacts: report-email-390.png."""
import io

import pytest
from PIL import Image

from app.extensions import db
from app.models import Workspace
from app.services import accounts, branding, report_delivery, report_figures
from tests.browser.a11y import assert_no_sideways_scroll, serious_axe_violations
from tests.browser.helpers import ARTIFACTS, sign_in_page
from tests.factories import make_connection, seed_performance
from tests.report_data import NOW, WEEK

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
LONG_WORD = "https://example.com/" + "averyveryverylongcampaignslugwithoutanyspaces" * 3


def _logo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (1200, 300), (11, 83, 148)).save(out, format="PNG")  # wider than any phone
    return out.getvalue()


@pytest.fixture
def branded_report(live_server):
    with live_server.app.app_context():
        ws = accounts.get_or_create_workspace("Brass Studio With A Rather Long Client Name", timezone="Europe/London")
        admin, _ = accounts.create_user("admin@brass.studio", role="client_admin", workspace=ws,
                                        password="demo-admin-pass")
        agency, _ = accounts.create_user("agency@brass.studio", role="agency", workspace=None,
                                         password="demo-agency-pass")
        for name in ("brassorbit3", "moontideco2_with_a_very_long_handle_name"):
            conn = make_connection(ws, admin, username=name)
            seed_performance(conn, tz="Europe/London", days=40, posts=12, now=NOW, spark_posts=2,
                             followers_start=48_000, followers_per_day=35, views_per_day=12_400,
                             captions=[f"Launch {LONG_WORD} #{k}" for k in range(12)])
        branding.set_logo(ws, _logo(), by=agency)
        branding.update(ws, accent_color="#0b5394", sender_name="Brass Agency", reply_to="hello@brass.agency",
                        attach_pdf=False, by=agency)
        report_figures.build_report(ws, WEEK, now=NOW)
        db.session.commit()
        return ws.id


OVERFLOWING = """() => {
    const width = document.documentElement.clientWidth, out = [];
    for (const el of document.body.querySelectorAll('*')) {
        const r = el.getBoundingClientRect();
        if (r.width === 0 && r.height === 0) continue;
        const parent = el.parentElement.getBoundingClientRect();
        const name = el.tagName.toLowerCase() + (el.className ? '.' + String(el.className).split(' ').join('.') : '');
        if (r.right > parent.right + 0.5 || r.left < parent.left - 0.5) {
            out.push(`${name}: ${Math.round(r.left)}..${Math.round(r.right)} outside its parent `
                     + `${Math.round(parent.left)}..${Math.round(parent.right)}`);
        } else if (r.right > width + 0.5) {
            out.push(`${name}: right edge ${Math.round(r.right)} past the ${width} px viewport`);
        }
    }
    return out;
}"""


def test_report_email_fits_a_390px_phone(live_server, browser, branded_report):
    with live_server.app.app_context():
        ws = db.session.get(Workspace, branded_report)
        report = report_figures.get_report(ws, report_figures.parse_week(WEEK))
        html = report_delivery.render_email_html(report, ws)  # what the preview shows: the mailed HTML
    assert "data:image/png;base64," in html  # the logo is in it
    page = browser.new_page()
    try:
        page.set_viewport_size(PHONE)
        page.set_content(html)
        assert page.get_by_role("heading", name="Week 21 · May 18 – May 24, 2026").is_visible()
        assert page.get_by_role("img", name="Brass Agency logo").is_visible()
        overflowing = page.evaluate(OVERFLOWING)
        assert not overflowing, "\n".join(overflowing)
        assert_no_sideways_scroll(page)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "report-email-390.png"), full_page=True)
    finally:
        page.close()


def test_report_page_has_no_serious_axe_violation(live_server, page, branded_report):
    sign_in_page(page, live_server)
    page.goto(f"{live_server.url}/reports/{WEEK}?workspace={branded_report}")
    assert page.get_by_role("img", name="Brass Agency logo").is_visible()
    assert page.get_by_role("link", name="Download PDF").is_visible()
    found = serious_axe_violations(page)
    assert not found, "axe-core found:\n" + "\n".join(found)
    # and on a phone
    page.set_viewport_size(PHONE)
    found = serious_axe_violations(page)
    assert not found, "axe-core found at 390 px:\n" + "\n".join(found)
    assert_no_sideways_scroll(page)

"""The public trust pages in Chromium, under the real CSP, signed out."""
import pytest

from tests.browser.helpers import ARTIFACTS

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("path", ["/security", "/privacy", "/terms"])
def test_trust_page_in_chromium(live_server, page, path):
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server.url + path)
    assert page.url == live_server.url + path  # no sign-in needed
    if path == "/security":
        diagram = page.get_by_role("img", name="Logic Target architecture")
        assert diagram.is_visible()
        box = diagram.bounding_box()
        assert box["width"] > 600 and box["height"] > 300
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        diagram.screenshot(path=str(ARTIFACTS / "security-diagram.png"))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"trust{path.replace('/', '-')}.png"), full_page=True)
    assert not [e for e in page.console_errors if "Content Security Policy" in e], page.console_errors
    # our stylesheet applied (a blocked stylesheet would leave the default)
    assert page.evaluate("getComputedStyle(document.querySelector('.trust-page')).maxWidth") != "none"

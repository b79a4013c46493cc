"""An agency user adds a client in Chromium and finds it on the clients overview."""
import re

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Workspace
from tests.browser.helpers import ARTIFACTS, add_person
from tests.factories import make_connection, seed_performance

pytestmark = pytest.mark.browser

EMAIL, PASSWORD = "staff@agency.test", "agency-staff-pass"


def test_agency_user_creates_a_workspace_and_sees_it_on_the_overview(live_server, page):
    add_person(live_server, email=EMAIL, password=PASSWORD, role="agency")  # (Brass Studio exists too)
    page.goto(live_server.url + "/login")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(live_server.url + "/clients")  # agency staff's home
    assert page.get_by_role("heading", name="Clients").is_visible()
    assert page.get_by_role("navigation", name="Main").get_by_role("link", name="Clients").is_visible()

    page.get_by_role("link", name="Add a client").click()
    page.wait_for_url(live_server.url + "/clients/new")
    page.get_by_label("Name").fill("Nova Studio")
    page.get_by_label("Timezone").fill("Europe/Berlin")
    page.get_by_label("Weekly posting target").fill("0")
    page.get_by_role("button", name="Create workspace").click()
    # Refused with the entries kept and the reason next to the field.
    assert page.get_by_text("The weekly posting target must be from 1 to 50 posts.").is_visible()
    assert page.get_by_label("Name").input_value() == "Nova Studio"
    page.get_by_label("Weekly posting target").fill("4")
    page.get_by_role("button", name="Create workspace").click()
    page.wait_for_url(re.compile(r".*/workspaces/\d+/settings$"))
    assert page.get_by_text("Nova Studio is ready.").is_visible()
    assert page.get_by_label("Timezone").input_value() == "Europe/Berlin"

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Clients").click()
    page.wait_for_url(live_server.url + "/clients")
    row = page.locator('tr[data-workspace="Nova Studio"]')
    assert row.get_by_text("None connected").is_visible()
    assert row.get_by_text("None: no account connected").is_visible()

    # An account connected to it shows in its row.
    with live_server.app.app_context():
        ws = db.session.scalar(sa.select(Workspace).where(Workspace.name == "Nova Studio"))
        seed_performance(make_connection(ws, None, username="novaclips"), tz="Europe/Berlin", days=20, posts=3)
        db.session.commit()
    page.reload()
    row = page.locator('tr[data-workspace="Nova Studio"]')
    assert row.get_by_text("1 active").is_visible()
    assert row.get_by_text("To: nobody yet").is_visible()  # no client admin invited yet
    assert row.get_by_role("link", name="Nova Studio").get_attribute("href").startswith("/performance?workspace=")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "clients-overview.png"), full_page=True)
    assert not [e for e in page.console_errors if "Content Security Policy" in e]

"""An agency runs a new client from the browser alone (Chromium, real SMTP via aiosmtpd):
create the workspace, invite its client admin and a creator, each joins from the emailed
link and lands signed in, the creator connects TikTok through the sandbox straight from
the invite, and the clients overview shows the new workspace with its account."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Membership, TikTokConnection, Workspace
from tests.browser.helpers import ARTIFACTS, accept, add_person, invite_link, send_invite

pytestmark = pytest.mark.browser

AGENCY = ("lead@agency.test", "agency-lead-pass")


def test_agency_creates_a_client_invites_its_people_and_sees_the_account_on_the_overview(
        mailing_server, smtp_server, page):
    server = mailing_server
    add_person(server, *AGENCY, role="agency", workspace="Agency HQ")

    page.goto(server.url + "/login")
    page.get_by_label("Email").fill(AGENCY[0])
    page.get_by_label("Password").fill(AGENCY[1])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/clients**")  # agency staff land on the clients overview

    # A new client workspace, created in the browser.
    page.goto(server.url + "/clients/new")
    page.get_by_label("Name").fill("Juniper Bakery")
    page.get_by_label("Timezone").fill("Europe/Berlin")
    page.get_by_label("Weekly posting target").fill("4")
    page.get_by_role("button", name="Create workspace").click()
    page.wait_for_url("**/workspaces/*/settings**")
    with server.app.app_context():
        ws = db.session.scalar(sa.select(Workspace).where(Workspace.name == "Juniper Bakery"))
        ws_id, tz, target = ws.id, ws.timezone, ws.cadence_target
    assert (tz, target) == ("Europe/Berlin", 4)

    # Its people, invited from the members page of that workspace.
    page.goto(f"{server.url}/settings/members?workspace={ws_id}")
    send_invite(page, "owner@juniper.test", "Client admin")
    send_invite(page, "lena@juniper.test", "Creator")
    assert sorted(m["To"] for m in smtp_server.messages) == ["lena@juniper.test", "owner@juniper.test"]

    accept(page, invite_link(smtp_server, "owner@juniper.test"), "Olga Owner", "owner-password-123")
    page.wait_for_url(f"**/performance?workspace={ws_id}")
    assert page.get_by_text("Welcome to Juniper Bakery.").is_visible()

    accept(page, invite_link(smtp_server, "lena@juniper.test"), "Lena", "lena-password-123")
    page.wait_for_url(f"**/welcome/connect-tiktok?workspace={ws_id}")
    page.get_by_role("button", name="Connect TikTok").click()
    page.wait_for_url("**/sandbox/tiktok/v2/auth/authorize/**")
    page.get_by_label("Log in as").fill("moontideco2")
    page.get_by_role("button", name="Grant").click()
    page.wait_for_url("**/performance?**")
    assert page.get_by_text("Connected. @moontideco2 is now syncing.").is_visible()

    # Back as agency staff: the overview lists the new client with its account.
    page.context.clear_cookies()
    page.goto(server.url + "/login")
    page.get_by_label("Email").fill(AGENCY[0])
    page.get_by_label("Password").fill(AGENCY[1])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/clients**")
    row = page.locator("tr", has_text="Juniper Bakery")
    row.wait_for()
    text = row.inner_text()
    assert "1 active" in text and "Europe/Berlin · 4 posts/week" in text, text  # its one connected account
    assert "To: owner@juniper.test" in text, text  # the next report goes to its client admin
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "agency-onboarding-overview.png"), full_page=True)

    with server.app.app_context():
        roles = {role for (role,) in db.session.execute(
            sa.select(Membership.role).where(Membership.workspace_id == ws_id))}
        conn = db.session.scalar(sa.select(TikTokConnection).where(TikTokConnection.username == "moontideco2"))
    assert roles == {"client_admin", "creator"} and conn.workspace_id == ws_id
    assert not [e for e in page.console_errors if "Content Security Policy" in e]

"""Invites in Chromium, with real SMTP (aiosmtpd): an agency user invites a client admin and
a creator on the members page; each opens the link from the captured email, sets a
password and lands signed in; the creator lands on "Connect your TikTok" and connects
@brassorbit3 through the sandbox's consent page."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Membership, TikTokConnection, User
from tests.browser.helpers import ARTIFACTS, accept, add_person, invite_link, send_invite

pytestmark = pytest.mark.browser

AGENCY = ("staff@agency.test", "agency-staff-pass")


def test_invited_admin_and_creator_join_from_the_email_and_the_creator_connects(mailing_server, smtp_server, page):
    server = mailing_server
    add_person(server, *AGENCY, role="agency", workspace="Brass Studio")
    with server.app.app_context():
        ws_id = db.session.scalar(sa.text("SELECT id FROM workspaces WHERE name = 'Brass Studio'"))

    page.goto(server.url + "/login")
    page.get_by_label("Email").fill(AGENCY[0])
    page.get_by_label("Password").fill(AGENCY[1])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)  # wherever agency staff land
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Members").click()
    page.wait_for_url("**/settings/members**")
    send_invite(page, "boss@client.test", "Client admin")
    send_invite(page, "maya@client.test", "Creator")
    assert sorted(m["To"] for m in smtp_server.messages) == ["boss@client.test", "maya@client.test"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "members-invites.png"), full_page=True)

    # The client admin: set a password, land signed in on the workspace's dashboard.
    accept(page, invite_link(smtp_server, "boss@client.test"), "Bea Boss", "boss-password-123")
    page.wait_for_url(f"**/performance?workspace={ws_id}")
    assert page.get_by_text("Welcome to Brass Studio.").is_visible()
    assert page.get_by_role("link", name=re.compile("Bea Boss · client admin")).is_visible()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Members").click()
    assert page.locator("#members-list").get_by_text("Bea Boss").is_visible()

    # The creator: set a password, land on "Connect your TikTok", connect through the sandbox.
    accept(page, invite_link(smtp_server, "maya@client.test"), "Maya", "maya-password-123")
    page.wait_for_url(f"**/welcome/connect-tiktok?workspace={ws_id}")
    assert page.get_by_role("heading", name="Connect your TikTok").is_visible()
    page.get_by_role("button", name="Connect TikTok").click()
    page.wait_for_url("**/sandbox/tiktok/v2/auth/authorize/**")
    page.get_by_label("Log in as").fill("brassorbit3")
    page.get_by_role("button", name="Grant").click()
    page.wait_for_url("**/performance?**")
    assert page.get_by_text("Connected. @brassorbit3 is now syncing.").is_visible()

    with server.app.app_context():
        maya = db.session.scalar(sa.select(User).where(User.email == "maya@client.test"))
        boss = db.session.scalar(sa.select(User).where(User.email == "boss@client.test"))
        roles = dict(db.session.execute(sa.select(Membership.user_id, Membership.role)
                                        .where(Membership.workspace_id == ws_id)).all())
        conn = db.session.scalar(sa.select(TikTokConnection).where(TikTokConnection.username == "brassorbit3"))
        assert roles == {boss.id: "client_admin", maya.id: "creator"}
        assert conn.workspace_id == ws_id and conn.owner_user_id == maya.id
    assert not [e for e in page.console_errors if "Content Security Policy" in e]

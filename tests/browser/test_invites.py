"""Invites in Chromium, with real SMTP (aiosmtpd): an agency user invites a client admin and
a creator on the members page; each opens the link from the captured email, sets a
password and lands signed in; the creator lands on "Connect your TikTok" and connects
@brassorbit3 through the sandbox's consent page."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from app import create_app
from app.extensions import db
from app.models import Membership, TikTokConnection, User
from tests.browser.helpers import ARTIFACTS, add_person
from tests.conftest import LiveServer, base_overrides, free_port, new_sqlite_database

pytestmark = pytest.mark.browser

AGENCY = ("staff@agency.test", "agency-staff-pass")


@pytest.fixture
def mailing_server(tmp_path, sqlite_template, smtp_server):
    """The live app (sandbox on) sending its mail to the aiosmtpd recorder."""
    port = free_port()
    seeded = new_sqlite_database(tmp_path, sqlite_template)
    app = create_app(base_overrides(
        tmp_path, APP_BASE_URL=f"http://127.0.0.1:{port}", TIKTOK_SANDBOX="true", TIKTOK_CLIENT_KEY=None,
        TIKTOK_CLIENT_SECRET=None, TIKTOK_ADS_APP_ID=None, TIKTOK_ADS_SECRET=None, TIKTOK_REDIRECT_URI=None,
        **smtp_server.config,
    ))
    if not seeded:
        with app.app_context():
            db.create_all()
    server = LiveServer(app, port).start()
    yield server
    server.stop()
    with app.app_context():
        db.engine.dispose()


def invite_link(smtp_server, address: str) -> str:
    [msg] = [m for m in smtp_server.messages if m["To"] == address]
    text = next(p.get_payload(decode=True).decode() for p in msg.walk() if p.get_content_type() == "text/plain")
    return re.search(r"http://127\.0\.0\.1:\d+/invites/[A-Za-z0-9_\-]+", text).group(0)


def send_invite(page, address: str, role: str):
    form = page.locator("#invite-form")
    form.get_by_label("Email").fill(address)
    form.get_by_label("Role").select_option(label=role)
    form.get_by_role("button", name="Send invitation").click()
    page.locator("#invites-list").get_by_text(address).wait_for()


def accept(page, link: str, name: str, password: str):
    page.context.clear_cookies()  # the invited person, in a browser of their own
    page.goto(link)
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Password again").fill(password)
    page.get_by_role("button", name="Create account and join").click()


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

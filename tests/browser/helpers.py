"""Shared steps for browser tests: people in the live app, signing in through the page."""
from __future__ import annotations

import os
import re
from pathlib import Path

from app.extensions import db
from app.services import accounts

# Screenshots and rendered emails worth looking at after a run (gitignored).
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS_DIR", Path(__file__).resolve().parents[2] / "tmp" / "artifacts"))


def add_person(live_server, email="admin@brass.studio", password="demo-admin-pass", role="client_admin",
               workspace="Brass Studio", timezone="UTC"):
    with live_server.app.app_context():
        ws = accounts.get_or_create_workspace(workspace, timezone=timezone)
        accounts.create_user(email, role=role, workspace=ws, password=password)
        db.session.commit()


def sign_in_page(page, live_server, email="admin@brass.studio", password="demo-admin-pass"):
    """Sign in through the real form and land on the dashboard."""
    page.goto(live_server.url + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/performance**")


# ---------------------------------------------------------------- invites


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

"""Shared steps for browser tests: people in the live app, signing in through the page."""
from __future__ import annotations

import os
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

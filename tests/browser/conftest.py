"""Playwright on Debian's chromium (Playwright cannot download browsers here)."""
import os
import shutil
import tempfile

import pytest

from app import create_app
from app.extensions import db
from tests.conftest import LiveServer, base_overrides, free_port, new_sqlite_database

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="lt-chromium-")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=ARGS,
        )
        yield context
        context.close()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(browser):
    browser.clear_cookies()
    page = browser.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.console_errors = errors
    yield page
    page.close()


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

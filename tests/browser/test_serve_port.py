"""`make run PORT=…` end to end: the real `flask serve` on a port other than 5000, in its
own process (migrated and seeded the way `make run` does), driven by Chromium from sign-in
through the sandbox's consent page back to the dashboard — every request on that port."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

import config
from tests.conftest import TEST_SECRET_KEY, TEST_TOKEN_KEYS, free_port

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]


def _port_other_than_5000() -> int:
    port = free_port()
    while port == 5000:
        port = free_port()
    return port


def _env(tmp_path: Path, **extra) -> dict[str, str]:
    """The process environment with every setting empty (so a developer's .env cannot leak
    in: an empty variable counts as unset and .env never overrides one), plus what a fresh
    checkout would generate into instance/, here in a temp folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")}
    env.update({name: "" for name in config.SETTING_NAMES})
    env.update(
        APP_ENV="development", SECRET_KEY=TEST_SECRET_KEY, TOKEN_KEYS=TEST_TOKEN_KEYS,
        DATABASE_URL=f"sqlite:///{tmp_path / 'logic_target.sqlite3'}", MAIL_OUTBOX_DIR=str(tmp_path / "outbox"),
        TIKTOK_CLIENT_SECRET="serve-port-test-sandbox-secret", TIKTOK_ADS_SECRET="serve-port-test-ads-secret",
        **extra,
    )
    return env


def _flask(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


@pytest.fixture
def served(tmp_path):
    """`make run PORT=<port>`: db upgrade, demo seed, then `flask serve --host --port` as a
    subprocess (killed at the end). Serve gets the address only as options, the way a person
    types it; the seed gets HOST/PORT as the Makefile passes them."""
    port = _port_other_than_5000()
    env = _env(tmp_path)
    _flask("db", "upgrade", env=env)
    seeded = _flask("demo", "seed", env={**env, "HOST": "127.0.0.1", "PORT": str(port)})
    url = f"http://127.0.0.1:{port}"
    assert f"Sign in at {url}/login" in seeded.stdout
    log = (tmp_path / "serve.log").open("w+")
    proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "serve", "--host", "127.0.0.1",
                             "--port", str(port)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.1)
        yield url, tmp_path / "serve.log"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()


def test_make_run_on_another_port_signs_in_connects_and_stays_on_that_port(served, page):
    url, log = served
    assert f"Logic Target on {url} (Ctrl+C to stop)" in log.read_text()
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))

    page.goto(f"{url}/login")
    page.get_by_label("Email").fill("admin@brass.studio")
    page.get_by_label("Password").fill("demo-admin-pass")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{url}/performance**")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Integrations").click()
    page.get_by_role("button", name="Connect TikTok").click()
    page.wait_for_url(f"{url}/sandbox/tiktok/v2/auth/authorize/**")  # the consent page, same port
    page.get_by_label("Log in as").fill("brassorbit3")
    page.get_by_role("button", name="Grant").click()
    page.wait_for_url(f"{url}/performance?**")
    assert page.get_by_text("Connected. @brassorbit3 is now syncing.").is_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Integrations").click()
    assert page.locator("#connected-accounts").get_by_text("@brassorbit3").is_visible()
    off_port = [u for u in requested if not u.startswith(f"{url}/")]
    assert requested and not off_port, off_port
    assert ":5000" not in log.read_text()


def test_make_run_passes_host_and_port_to_the_app():
    """The Makefile's `run` recipe hands HOST and PORT to the seed (which prints the
    sign-in address) and to `serve`."""
    dry = subprocess.run(["make", "-n", "run", "HOST=127.0.0.1", "PORT=5001"], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    lines = [line for line in dry.stdout.splitlines() if "flask --app wsgi" in line]
    assert any(line.startswith("HOST=127.0.0.1 PORT=5001 ") and line.endswith(" demo seed") for line in lines), lines
    assert any(line.startswith("HOST=127.0.0.1 PORT=5001 ") and line.endswith(" serve --host 127.0.0.1 --port 5001")
               for line in lines), lines

"""Security headers, caching rules and error pages."""
import hashlib
import re
from pathlib import Path

from tests.conftest import login


def test_csp_lets_htmx_run_without_eval(client):
    csp = client.get("/login").headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-eval" not in csp and "unsafe-inline" not in csp
    for directive in ("frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'"):
        assert directive in csp
    # "Connect TikTok" posts to us and is redirected to TikTok's consent pages.
    form_action = next(d for d in csp.split("; ") if d.startswith("form-action"))
    assert form_action.split()[1:] == ["'self'", "https://business-api.tiktok.com", "https://www.tiktok.com"]


def test_basic_headers(client):
    h = client.get("/login").headers
    assert h["X-Content-Type-Options"] == "nosniff"
    # same-origin Referer kept: Flask-WTF's HTTPS referrer check needs it
    assert h["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "Strict-Transport-Security" not in h  # only in production


def test_hsts_in_production(app_factory):
    app = app_factory(APP_ENV="production", TIKTOK_CLIENT_KEY="k", TIKTOK_CLIENT_SECRET="s")
    h = app.test_client().get("/healthz").headers
    assert h["Strict-Transport-Security"].startswith("max-age=31536000")


def test_signed_in_pages_are_not_stored(client, people):
    login(client, people.admin)
    assert client.get("/performance").headers["Cache-Control"] == "no-store"


def test_static_files_are_linked_by_version_and_kept_a_year_even_when_signed_in(client, people):
    login(client, people.admin)
    html = client.get("/performance").get_data(as_text=True)
    css = re.search(r'href="(/static/app\.css\?v=([0-9a-f]{12}))"', html)
    assert css, "the stylesheet is linked without its version"
    content = (Path(client.application.static_folder) / "app.css").read_bytes()
    assert css.group(2) == hashlib.sha256(content).hexdigest()[:12]  # a changed file gets a new URL
    versioned = client.get(css.group(1))
    assert versioned.status_code == 200
    assert versioned.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    for other in ("/static/app.css", "/static/app.css?v=000000000000"):  # unversioned or stale: revalidate
        assert client.get(other).headers["Cache-Control"] == "no-cache"
    assert client.get("/performance").headers["Cache-Control"] == "no-store"  # the page itself still is not


def test_htmx_config_disables_eval_and_history_cache(client):
    html = client.get("/login").get_data(as_text=True)
    assert '"allowEval":false' in html and '"historyCacheSize":0' in html and '"selfRequestsOnly":true' in html
    assert 'hx-headers=\'{"X-CSRFToken":' in html


def test_error_pages_use_the_product_look(client, people):
    login(client, people.admin)
    r = client.get("/no-such-page")
    assert r.status_code == 404
    html = r.get_data(as_text=True)
    assert "Page not found" in html and "Logic Target" in html and "<nav" in html


def test_htmx_errors_come_with_a_toast(client, people):
    login(client, people.admin)
    r = client.get("/no-such-page", headers={"HX-Request": "true"})
    assert r.status_code == 404
    assert "<html" not in r.get_data(as_text=True)
    assert '"notify"' in r.headers["HX-Trigger"]


def test_stale_csrf_on_htmx_asks_for_a_refresh(client, people):
    login(client, people.admin)
    r = client.post("/logout", headers={"HX-Request": "true", "X-CSRFToken": "stale"})
    assert r.status_code == 400
    assert r.headers["HX-Refresh"] == "true"


def test_healthz(client):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json == {"status": "ok", "database": "ok"}


def test_request_body_size_is_capped(client):
    r = client.post("/login", data={"email": "x" * 300_000})
    assert r.status_code == 413


def test_production_session_cookie_is_host_prefixed_and_secure(app_factory):
    from app.services import accounts
    from app.extensions import db

    app = app_factory(APP_ENV="production", TIKTOK_CLIENT_KEY="k", TIKTOK_CLIENT_SECRET="s")
    with app.app_context():
        ws = accounts.get_or_create_workspace("W")
        accounts.create_user("p@example.com", role="client_admin", workspace=ws, password="long-enough-pw")
        db.session.commit()
    client = app.test_client()
    page = client.get("/login", base_url="https://lt.example").get_data(as_text=True)
    import re

    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    r = client.post("/login", base_url="https://lt.example", headers={"Referer": "https://lt.example/login"},
                    data={"csrf_token": token, "email": "p@example.com", "password": "long-enough-pw"})
    assert r.status_code == 303
    cookie = [h for h in r.headers.getlist("Set-Cookie") if h.startswith("__Host-session=")][0]
    assert "Secure" in cookie and "HttpOnly" in cookie and "Path=/" in cookie and "Domain" not in cookie

"""Every page, for every role, at a desktop (1366×900) and a phone (390×844) width:
axe-core finds no serious or critical violation and the page never scrolls sideways.

The public pages (privacy, terms, data deletion, unsubscribe, errors) are walked signed
out and signed in as agency staff, whose navigation is the widest; a client admin's or
creator's copy differs from those only in the navigation, which their own pages check.

The page list comes from the app's url_map: every GET route without required arguments,
plus the ones with arguments filled from the seeded data below. A GET route that is
neither filled nor listed in NOT_PAGES (with the reason) fails the test, so a page added
later is checked without anyone remembering to add it here."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Post
from app.services import accounts, deletion_requests, invites, password_resets, report_figures, report_recipients
from tests.browser.a11y import preload_axe, serious_axe_violations, sideways_scroll
from tests.conftest import running_app
from tests.factories import make_connection, seed_performance
from tests.report_data import NOW, WEEK

pytestmark = pytest.mark.browser

VIEWPORTS = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
PASSWORD = "accessible-pass-123"
PEOPLE = {
    "agency": "agency@logic-target.test",
    "client_admin": "admin@brass.studio",
    "creator": "maya@brass.studio",
}

# GET routes that are not pages a person reads, and why.
NOT_PAGES = {
    "static": "files (CSS, JS, images), not pages",
    "health.healthz": "a plain-text probe for load balancers",
    "metrics.metrics": "Prometheus text, and 404 without its bearer token",
    "performance.export_csv": "a CSV download",
    "audit.export_csv": "a CSV download",
    "connection_sync.row": "an htmx fragment (one row of the Integrations list, checked inside that page)",
    "auth.second_step": "only for a session holding a live sign-in challenge; otherwise a redirect to /login",
    "auth.setup_second_step": "only for a session holding a live sign-in challenge; otherwise a redirect to /login",
    "tiktok_auth.callback": "TikTok's redirect back; without its one-time state it is the 400 error page, "
                            "checked below as /tiktok/auth/callback",
    "tiktok_ads.callback": "TikTok's redirect back; without its one-time state it is the 400 error page",
    "reports.email_preview": "the report email's own HTML as a mail client gets it, served with a sandboxed CSP "
                             "that runs no script at all, so axe-core cannot run inside it",
}
# Any route whose URL ends like a file (report.pdf, export.csv, a stylesheet, …) is a file, not a page.
DOWNLOAD_SUFFIXES = (".csv", ".pdf", ".json", ".txt", ".ics", ".zip", ".css", ".js", ".svg", ".png")
# Endpoints whose pages only exist for someone signed out (signed in, they redirect).
SIGNED_OUT_ONLY = {"auth.login", "password_reset.forgot", "password_reset.reset", "members.accept"}
# Pages anyone can open signed out (the rest redirect to the sign-in page).
PUBLIC = {"auth.login", "password_reset.forgot", "password_reset.reset", "members.accept", "public.privacy",
          "public.terms", "public.security", "public.data_deletion", "public.data_deletion_status",
          "public.data_deletion_verify", "report_recipients.unsubscribe"}
# The role whose walk includes the public and error pages signed in (see the docstring).
SIGNED_IN_ON_PUBLIC_PAGES = "agency"
# Error pages, by a URL that produces each.
ERROR_PAGES = {"not found": "/no-such-page", "bad request": "/tiktok/auth/callback"}


@pytest.fixture(scope="module")
def site(tmp_path_factory, sqlite_template):
    """One live app for the whole module, seeded with a workspace in every state a page can
    show: an active account with history and a built report, one needing reconnect, one
    disconnected, a pending invite, a deletion request, an outsider workspace."""
    tmp = tmp_path_factory.mktemp("a11y")
    with running_app(tmp, sqlite_template) as server:
        with server.app.app_context():
            values = _seed(server)
        yield server, values


def _seed(server) -> dict:
    now = datetime.now(timezone.utc)
    ws = accounts.get_or_create_workspace("Brass Studio", timezone="Europe/London")
    agency, _ = accounts.create_user(PEOPLE["agency"], role="agency", workspace=None, password=PASSWORD,
                                     name="Ava Agency")
    admin, _ = accounts.create_user(PEOPLE["client_admin"], role="client_admin", workspace=ws, password=PASSWORD,
                                    name="Cleo Client")
    creator, _ = accounts.create_user(PEOPLE["creator"], role="creator", workspace=ws, password=PASSWORD,
                                      name="Maya Creator-With-A-Very-Long-Hyphenated-Surname")
    conn = make_connection(ws, creator, username="brassorbit3")
    # A report week with data (W21) and the last days before today, so dashboard and report both have figures.
    seed_performance(conn, tz="Europe/London", days=40, posts=12, now=NOW, spark_posts=2, followers_start=48_000,
                     followers_per_day=35, views_per_day=12_400,
                     captions=["Behind the scenes at the studio with averyveryverylongunbrokenhashtagthatmustwrap",
                               "Brass orbit, take 3", "Moon tide"])
    recent = make_connection(ws, admin, username="moontideco2")
    seed_performance(recent, tz="Europe/London", days=60, posts=30, spark_posts=1, followers_start=900)
    make_connection(ws, admin, username="quietfern7", status="needs_reconnect",
                    last_error="TikTok refused the refresh token.")
    make_connection(ws, admin, username="oldaccount", status="disconnected", disconnected_at=now - timedelta(days=2),
                    purge_after=now + timedelta(days=88))
    db.session.execute(sa.update(Post).values(thumbnail_url=server.url + "/sandbox/tiktok/static/thumbnail.svg"))
    report_figures.build_report(ws, WEEK, now=NOW)
    other = accounts.get_or_create_workspace("Other Client")
    _invite, invite_token = invites.create_invite(ws, "new.creator@brass.studio", "creator", inviter=admin, now=now)
    reset = password_resets.issue(PEOPLE["client_admin"], now=now)
    filed = deletion_requests.create_request("brassorbit3", "someone.with.a.rather.long.address@example-mail.com",
                                             now=now)
    db.session.commit()
    post_id, item_id = db.session.execute(sa.select(Post.id, Post.item_id).where(Post.connection_id == conn.id)
                                          .order_by(Post.id)).first()
    return {
        # By endpoint: the URL of one real instance of each parametrised page.
        "members.accept": f"/invites/{invite_token}",
        "password_reset.reset": f"/password/reset/{reset.token}",
        "public.data_deletion_status": f"/data-deletion/{filed.request.reference}",
        "public.data_deletion_verify": f"/data-deletion/verify/{filed.token}",
        "report_recipients.unsubscribe": f"/unsubscribe/{report_recipients.unsubscribe_token(ws.id, 'cfo@brass.studio')}",
        # By argument name, for any other route that takes it.
        "args": {"week": WEEK, "workspace_id": ws.id, "connection_id": conn.id, "post_id": post_id,
                 "id": post_id, "account_id": conn.id, "item_id": item_id},
        "workspace": ws.id,
        "other_workspace": other.id,
        "agency_id": agency.id,
    }


def page_urls(app, values: dict, role: str) -> list[str]:
    """The URL of every page `role` can be shown (signed out when role is None)."""
    urls, unfilled = [], []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        endpoint = rule.endpoint
        if (endpoint.startswith("sandbox.") or "GET" not in rule.methods or endpoint in NOT_PAGES
                or rule.rule.endswith(DOWNLOAD_SUFFIXES)):
            continue
        if role is None and endpoint not in PUBLIC:
            continue
        if role not in (None, SIGNED_IN_ON_PUBLIC_PAGES) and endpoint in PUBLIC:
            continue
        if role is not None and endpoint in SIGNED_OUT_ONLY:
            continue
        if endpoint in values:
            urls.append(values[endpoint])
        elif not rule.arguments:
            urls.append(rule.rule)
        elif rule.arguments <= set(values["args"]):
            with app.test_request_context():
                from flask import url_for
                urls.append(url_for(endpoint, **{a: values["args"][a] for a in rule.arguments}))
        else:
            unfilled.append(f"{endpoint} ({rule.rule})")
    assert not unfilled, ("fill these routes' arguments in _seed() or list them in NOT_PAGES with a reason: "
                          f"{unfilled}")
    if role is None:
        urls += list(ERROR_PAGES.values())
    elif role == SIGNED_IN_ON_PUBLIC_PAGES:
        urls.append(ERROR_PAGES["not found"])
    return urls


def sign_in(page, base: str, email: str) -> None:
    page.goto(base + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)


@pytest.mark.parametrize("role", [None, "agency", "client_admin", "creator"],
                         ids=["signed-out", "agency", "client-admin", "creator"])
def test_every_page_is_accessible_and_fits_a_phone(site, page, role):
    """Each page is opened at the phone's width and checked, then widened to the desktop's
    and checked again (as a phone turned sideways or a window made wider): one navigation
    for both widths."""
    server, values = site
    page.context.clear_cookies()
    preload_axe(page.context)
    if role is not None:
        sign_in(page, server.url, PEOPLE[role])
    urls = page_urls(server.app, values, role)
    assert len(urls) >= (8 if role is None else 10), urls  # the walk really found the pages
    problems: list[str] = []
    checked: set = set()
    for url in urls:
        page.set_viewport_size(VIEWPORTS["phone"])
        response = page.goto(server.url + url)
        page.wait_for_load_state("load")
        # A page is checked once: a URL that redirects to a page already checked (/ to the
        # dashboard) and an error page already checked (a creator's 403 from several URLs)
        # are the same document again.
        seen_as = ((response.status, page.title()) if response.status >= 400
                   else page.url.removeprefix(server.url))
        if seen_as in checked:
            continue
        checked.add(seen_as)
        problems += page_problems(page, f"[phone] {url}")
        page.set_viewport_size(VIEWPORTS["desktop"])
        after_resize(page)
        problems += page_problems(page, f"[desktop] {url}")
    assert len(checked) >= (8 if role is None else 10), checked  # distinct pages, really checked
    assert not problems, f"{len(problems)} problems for {role or 'signed out'}:\n" + "\n".join(problems)


def page_problems(page, where: str) -> list[str]:
    """The page's serious axe-core findings and its sideways scroll, as it stands."""
    found = [f"{where}: {violation}" for violation in serious_axe_violations(page)]
    overflow = sideways_scroll(page)
    return found + ([f"{where}: scrolls sideways {overflow}"] if overflow else [])


def after_resize(page) -> None:
    """Two animation frames: the resize event has fired and a11y.js has marked the wide
    tables for the new width (it does so in the frame after a resize)."""
    page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")

"""Every route is classified; every workspace-scoped URL is 404 to outsiders; every
mutating route refuses a request without a CSRF token.

When a new route is added, these tests fail until it is listed below, so nobody
can add a page that skips the workspace check by accident."""
import pytest

from app.extensions import db
from tests.conftest import login, without_csrf
from tests.factories import make_connection

PUBLIC = {
    "auth.login", "health.healthz", "public.privacy", "public.terms", "public.security",
    "public.data_deletion", "public.data_deletion_status", "public.data_deletion_verify", "static",
    "public.data_deletion_tiktok",  # "Verify with TikTok" for a request, by its reference (test_deletion_review.py)
    "tiktok_webhook.webhook",  # signature-checked instead of signed in (tests/integration/test_webhook.py)
    "metrics.metrics",  # Prometheus: 404 unless METRICS_TOKEN is set and sent as a bearer token (test_job_runs.py)
    "tiktok_auth.callback",  # checks its own state/session binding (tests/integration/test_connect.py)
    "tiktok_ads.callback",  # the same checks, for the ads link (tests/integration/test_ads_link.py)
    # The second step of signing in: only for a session holding a live sign-in challenge
    # (tests/integration/test_two_factor.py); they sign no one in before a code passes.
    "auth.second_step", "auth.setup_second_step",
    # "Forgot password?": the same answer for any address; the link's token is the key (test_password_reset.py).
    "password_reset.forgot", "password_reset.reset",
}
# Signed-in pages that show only the user's own workspaces (no id in the URL).
SIGNED_IN = {"auth.logout", "shell.home", "performance.dashboard", "reports.index", "integrations.index",
             "tiktok_auth.connect"}
SIGNED_IN |= {"tiktok_ads.connect",
              "tiktok_ads.choose_advertiser"}  # posts a single-use choice bound to the session (test_ads_link.py)
# The account page and one's own two-factor sign-in (test_two_factor.py).
SIGNED_IN |= {"account.index", "account.start_two_factor", "account.two_factor_page", "account.confirm_two_factor",
              "account.disable_two_factor", "account.renew_recovery_codes"}
# One's own name and password on the account page (test_account_page.py).
SIGNED_IN |= {"account.change_name", "account.change_password"}
# The clients overview (the workspaces one manages) and adding a client (agency staff only,
# 403 for anyone else): test_clients_overview.py.
SIGNED_IN |= {"clients.index", "clients.new", "clients.create"}
# How to point each workspace-scoped URL at another workspace's objects.
SCOPED = {
    "performance.dashboard": [lambda o: f"/performance?account={o['conn'].id}",
                              lambda o: f"/performance?workspace={o['ws'].id}"],
    "performance.posts": [lambda o: f"/performance/posts?account={o['conn'].id}",
                          lambda o: f"/performance/posts?workspace={o['ws'].id}&account={o['conn'].id}"],
    "performance.export_csv": [lambda o: f"/performance/export.csv?account={o['conn'].id}",
                               lambda o: f"/performance/export.csv?workspace={o['ws'].id}"],
    "reports.index": [lambda o: f"/reports?workspace={o['ws'].id}"],
    "reports.show": [lambda o: f"/reports/2026-W21?workspace={o['ws'].id}"],
    "reports.email_preview": [lambda o: f"/reports/2026-W21/email?workspace={o['ws'].id}"],
    "integrations.index": [lambda o: f"/settings/integrations?workspace={o['ws'].id}"],
    "connection_sync.row": [lambda o: f"/connections/{o['conn'].id}/row"],
    "audit.index": [lambda o: f"/settings/audit?workspace={o['ws'].id}"],
    "audit.export_csv": [lambda o: f"/settings/audit.csv?workspace={o['ws'].id}"],
    "account.index": [lambda o: f"/account?workspace={o['ws'].id}"],
}
# Routes that change state but are called by TikTok, not a browser: signature-checked instead.
CSRF_EXEMPT: set[str] = {"tiktok_webhook.webhook"}
# The data-deletion review queue: agency staff and the named workspaces' admins (test_deletion_review.py).
SCOPED["deletion_reviews.index"] = [lambda o: f"/settings/deletion-requests?workspace={o['ws'].id}"]
# A workspace's settings page: its client admins and agency staff (test_clients_overview.py).
SCOPED["clients.settings"] = [lambda o: f"/workspaces/{o['ws'].id}/settings"]


def _app_rules(app):
    return [r for r in app.url_map.iter_rules() if not r.endpoint.startswith("sandbox.")]


def test_every_route_is_classified(app):
    unknown = {r.endpoint for r in _app_rules(app)} - PUBLIC - SIGNED_IN - set(SCOPED) - set(SCOPED_POSTS)
    assert not unknown, f"classify these routes in test_access_matrix.py: {sorted(unknown)}"


def _scoped_cases():
    for endpoint, builders in SCOPED.items():
        for i, build in enumerate(builders):
            yield pytest.param(endpoint, build, id=f"{endpoint}-{i}")


def test_creator_cannot_open_another_creators_account(client, people):
    conn = make_connection(people.workspace, people.creator)
    db.session.commit()
    login(client, people.creator2)
    assert client.get(f"/performance?account={conn.id}").status_code == 404
    login(client, people.admin)
    assert client.get(f"/performance?account={conn.id}").status_code == 200


def test_unknown_ids_look_exactly_like_foreign_ones(client, people):
    conn = make_connection(people.workspace, people.creator)
    db.session.commit()
    login(client, people.outsider)
    foreign = client.get(f"/performance?account={conn.id}")
    missing = client.get("/performance?account=999999")
    assert foreign.status_code == missing.status_code == 404
    assert without_csrf(foreign) == without_csrf(missing)


def test_agency_sees_every_workspace(client, people):
    login(client, people.agency)
    r = client.get(f"/settings/integrations?workspace={people.other_workspace.id}")
    assert r.status_code == 200 and "Other Client" in r.get_data(as_text=True)


def test_lists_show_only_own_workspace(client, people):
    mine = make_connection(people.workspace, people.admin, username="mine_acct")
    theirs = make_connection(people.other_workspace, people.outsider, username="their_acct")
    db.session.commit()
    login(client, people.admin)
    html = client.get("/settings/integrations").get_data(as_text=True)
    assert "@mine_acct" in html and "@their_acct" not in html
    assert mine.id != theirs.id


# Mutating routes that take a workspace or object id: an outsider's request is 404 and changes nothing.
SCOPED_POSTS = {
    "tiktok_auth.connect": lambda o: ("/tiktok/auth/connect", {"workspace_id": o["ws"].id}),
    "connection_sync.refresh": lambda o: (f"/connections/{o['conn'].id}/refresh", {}),
    "connections.disconnect_account": lambda o: (f"/connections/{o['conn'].id}/disconnect", {}),
    "connections.request_deletion": lambda o: (f"/connections/{o['conn'].id}/deletion", {}),
}
SCOPED_POSTS["tiktok_ads.connect"] = lambda o: ("/tiktok/ads/connect", {"workspace_id": o["ws"].id})
SCOPED_POSTS["reports.build"] = lambda o: (f"/reports/2026-W21/build?workspace={o['ws'].id}", {})
SCOPED_POSTS["reports.test_send"] = lambda o: (f"/reports/2026-W21/test-send?workspace={o['ws'].id}", {})
SCOPED_POSTS["account.workspace_requirement"] = lambda o: ("/settings/workspace/two-factor",
                                                           {"workspace_id": o["ws"].id, "require": "on"})
# Admin-only actions: a creator of the same workspace is refused and nothing is started.
ADMIN_POSTS = {"tiktok_ads.connect", "reports.build", "reports.test_send", "account.workspace_requirement"}
# A workspace's settings: its client admins and agency staff (test_clients_overview.py).
SCOPED_POSTS["clients.update_settings"] = lambda o: (f"/workspaces/{o['ws'].id}/settings",
                                                     {"name": "Taken Over", "timezone": "UTC", "cadence_target": "3"})
ADMIN_POSTS |= {"clients.update_settings"}



def _request_in_review(conn) -> int:
    """A confirmed public deletion request naming `conn`, waiting for a decision."""
    from datetime import datetime, timezone

    from app.models import DeletionRequest, DeletionRequestMatch

    now = datetime.now(timezone.utc)
    req = DeletionRequest(reference=f"r{conn.id:023d}", handle=conn.username, email="someone@example.com",
                          status="in_review", created_at=now, verified_at=now)
    db.session.add(req)
    db.session.flush()
    db.session.add(DeletionRequestMatch(request_id=req.id, connection_id=conn.id, matched_at=now))
    db.session.commit()
    return req.id


# Deciding a deletion request: agency staff only (outsiders 404, creators and client admins 403).
SCOPED_POSTS["deletion_reviews.approve"] = lambda o: (
    f"/settings/deletion-requests/{_request_in_review(o['conn'])}/approve", {})
SCOPED_POSTS["deletion_reviews.reject"] = lambda o: (
    f"/settings/deletion-requests/{_request_in_review(o['conn'])}/reject", {"reason": "Not the owner."})
ADMIN_POSTS |= {"deletion_reviews.approve", "deletion_reviews.reject"}


# Weekly report recipients (test_report_recipients.py): the settings page and its actions are
# for the workspace's agency staff and client admins; the emailed unsubscribe link is public
# (its signed token names the address and workspace) and takes mail providers' one-click POST
# without a CSRF token; approving a report is for agency staff.
def _external_of(o) -> int:
    from app.models import ReportExternalRecipient

    row = ReportExternalRecipient(workspace_id=o["ws"].id, email=f"outside{o['conn'].id}@example.com")
    db.session.add(row)
    db.session.commit()
    return row.id


PUBLIC |= {"report_recipients.unsubscribe"}
CSRF_EXEMPT |= {"report_recipients.unsubscribe"}
SCOPED["report_recipients.index"] = [lambda o: f"/settings/report-recipients?workspace={o['ws'].id}"]
SCOPED_POSTS["report_recipients.add_external"] = lambda o: (
    "/settings/report-recipients/external", {"workspace_id": o["ws"].id, "email": "new@example.com"})
SCOPED_POSTS["report_recipients.remove_external"] = lambda o: (
    f"/settings/report-recipients/external/{_external_of(o)}/remove", {})
SCOPED_POSTS["report_recipients.agency_opt_in"] = lambda o: (
    "/settings/report-recipients/agency", {"workspace_id": o["ws"].id, "opt_in": "on"})
SCOPED_POSTS["report_recipients.approval_settings"] = lambda o: (
    "/settings/report-recipients/approval", {"workspace_id": o["ws"].id, "approval_required": "on"})
SCOPED_POSTS["report_recipients.schedule_settings"] = lambda o: (
    "/settings/report-recipients/schedule",
    {"workspace_id": o["ws"].id, "cadence": "both", "delivery_weekday": "2", "delivery_time": "07:00"})
SCOPED_POSTS["reports.approve"] = lambda o: (f"/reports/2026-W21/approve?workspace={o['ws'].id}", {"note": "x"})
ADMIN_POSTS |= {"report_recipients.add_external", "report_recipients.remove_external",
                "report_recipients.agency_opt_in", "report_recipients.approval_settings",
                "report_recipients.schedule_settings", "reports.approve"}


# Members and invites (test_members.py): the page and its actions are for the workspace's
# agency staff and client admins; the emailed accept link is public (its token is the key);
# a creator's invite lands on the connect page of the workspace it names.
def _member_of(o) -> int:
    from app.models import Membership

    return db.session.scalar(db.select(Membership.id).where(Membership.workspace_id == o["ws"].id,
                                                            Membership.user_id == o["conn"].owner_user_id))


def _open_invite(o) -> int:
    from datetime import datetime, timedelta, timezone

    from app.models import Invite

    now = datetime.now(timezone.utc)
    inv = Invite(workspace_id=o["ws"].id, email=f"invitee{o['conn'].id}@example.com", role="creator",
                 token_hash=f"{o['conn'].id:064d}", created_at=now, sent_at=now, expires_at=now + timedelta(days=7))
    db.session.add(inv)
    db.session.commit()
    return inv.id


PUBLIC |= {"members.accept"}
SCOPED["members.index"] = [lambda o: f"/settings/members?workspace={o['ws'].id}"]
SCOPED["members.connect_tiktok"] = [lambda o: f"/welcome/connect-tiktok?workspace={o['ws'].id}"]
SCOPED_POSTS["members.invite"] = lambda o: ("/settings/members/invites",
                                            {"workspace_id": o["ws"].id, "email": "new@example.com", "role": "creator"})
SCOPED_POSTS["members.resend_invite"] = lambda o: (f"/settings/members/invites/{_open_invite(o)}/resend", {})
SCOPED_POSTS["members.revoke_invite"] = lambda o: (f"/settings/members/invites/{_open_invite(o)}/revoke", {})
SCOPED_POSTS["members.change_role"] = lambda o: (f"/settings/members/{_member_of(o)}/role", {"role": "client_admin"})
SCOPED_POSTS["members.remove_member"] = lambda o: (f"/settings/members/{_member_of(o)}/remove", {})
ADMIN_POSTS |= {"members.invite", "members.resend_invite", "members.revoke_invite", "members.change_role",
                "members.remove_member"}



# One post's page and an account's audience page: readers of the post's account only
# (test_post_page.py, test_audience_page.py).
def _post_of(o):
    from datetime import datetime, timezone

    from app.models import Post

    post = Post(connection_id=o["conn"].id, item_id=f"7{o['conn'].id:018d}", create_time=datetime.now(timezone.utc))
    db.session.add(post)
    db.session.commit()
    return post


SCOPED["post_insights.show"] = [lambda o: f"/performance/posts/{_post_of(o).id}"]
SCOPED["post_insights.by_item"] = [lambda o: f"/performance/accounts/{o['conn'].id}/posts/{_post_of(o).item_id}"]
SCOPED["audience.show"] = [lambda o: f"/performance/audience?account={o['conn'].id}",
                           lambda o: f"/performance/audience?workspace={o['ws'].id}"]

# Report branding (test_branding.py): the settings page and its actions are for agency staff
# (client admins and creators 403, outsiders 404); the logo and the accent stylesheet are for
# the workspace's members. A report's PDF (test_report_pdf.py): the report page's readers.
SCOPED["branding.index"] = [lambda o: f"/settings/branding?workspace={o['ws'].id}"]
SCOPED["branding.logo"] = [lambda o: f"/brand/{o['ws'].id}/logo"]
SCOPED["branding.accent_css"] = [lambda o: f"/brand/{o['ws'].id}/accent.css"]
SCOPED["report_pdf.download"] = [lambda o: f"/reports/2026-W21.pdf?workspace={o['ws'].id}"]
SCOPED_POSTS["branding.update"] = lambda o: ("/settings/branding", {"workspace_id": o["ws"].id,
                                                                    "accent_color": "#123456"})
SCOPED_POSTS["branding.upload_logo"] = lambda o: ("/settings/branding/logo", {"workspace_id": o["ws"].id})
SCOPED_POSTS["branding.remove_logo"] = lambda o: ("/settings/branding/logo/remove", {"workspace_id": o["ws"].id})
ADMIN_POSTS |= {"branding.update", "branding.upload_logo", "branding.remove_logo"}


@pytest.mark.parametrize("endpoint", sorted(ADMIN_POSTS))
def test_creator_is_refused_an_admin_action(client, people, endpoint):
    conn = make_connection(people.workspace, people.creator)
    db.session.commit()
    login(client, people.creator)
    path, data = SCOPED_POSTS[endpoint]({"conn": conn, "ws": people.workspace})
    assert client.post_form(path, data).status_code in (403, 404)


@pytest.mark.parametrize("endpoint", sorted(SCOPED_POSTS))
def test_outsider_gets_404_for_another_workspaces_action(client, people, endpoint):
    conn = make_connection(people.workspace, people.creator)
    db.session.commit()
    login(client, people.outsider)
    path, data = SCOPED_POSTS[endpoint]({"conn": conn, "ws": people.workspace})
    r = client.post_form(path, data)
    assert r.status_code == 404


def _mutating_rules(app):
    for rule in _app_rules(app):
        methods = rule.methods - {"GET", "HEAD", "OPTIONS"}
        if methods and rule.endpoint not in CSRF_EXEMPT:
            yield rule, sorted(methods)[0]


def test_every_mutating_route_refuses_requests_without_csrf(app, client, people):
    conn = make_connection(people.workspace, people.admin)
    db.session.commit()
    login(client, people.admin)
    rules = list(_mutating_rules(app))
    assert rules, "expected mutating routes"
    for rule, method in rules:
        values = {arg: conn.id for arg in rule.arguments}
        path = rule.build(values, append_unknown=False)[1]
        for headers in ({}, {"HX-Request": "true"}, {"X-CSRFToken": "forged"}):
            r = client.open(path, method=method, headers=headers, data={"x": "1"})
            assert r.status_code == 400, (rule.rule, headers, r.status_code)


def test_csrf_token_from_another_session_is_refused(app, client, people):
    other = app.test_client()
    foreign_token = other.csrf_token()
    login(client, people.admin)
    r = client.post("/logout", data={"csrf_token": foreign_token})
    assert r.status_code == 400


# Last in the file: the parameters are read when this line runs, after every SCOPED entry above.
@pytest.mark.parametrize("endpoint, build", list(_scoped_cases()))
def test_outsider_gets_404_for_another_workspaces_url(client, people, endpoint, build):
    conn = make_connection(people.workspace, people.creator)
    db.session.commit()
    login(client, people.outsider)
    r = client.get(build({"conn": conn, "ws": people.workspace}))
    assert r.status_code == 404
    assert "nothing here" in r.get_data(as_text=True)

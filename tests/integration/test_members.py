"""Members and invites: inviting by email, accepting (new and existing accounts), resend,
revoke, role changes, removal, the last client admin, and who may see the page."""
from __future__ import annotations

import email
import hashlib
import json
import logging
import re
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
import time_machine

from app.extensions import db
from app.models import AuditEvent, Invite, Membership, User
from app.services import mail
from tests.conftest import PASSWORD, login

NEW_PASSWORD = "a fresh long password"


def sent_mails(app) -> list:
    return [email.message_from_bytes(raw) for raw in mail.outbox_messages(app.config["MAIL_OUTBOX_DIR"])]


def text_of(msg) -> str:
    return next(p.get_payload(decode=True).decode() for p in msg.walk() if p.get_content_type() == "text/plain")


def link_path(msg) -> str:
    return re.search(r"https?://[^/\s]+(/invites/[A-Za-z0-9_\-]+)", text_of(msg)).group(1)


def invite(client, people, address: str, role: str = "creator", *, workspace=None, hx: bool = False):
    data = {"workspace_id": (workspace or people.workspace).id, "email": address, "role": role}
    if hx:
        return client.hx("post", "/settings/members/invites", data=data)
    return client.post_form("/settings/members/invites", data)


def invited_link(app, client, people, address: str, role: str = "creator") -> str:
    r = invite(client, people, address, role)
    assert r.status_code == 303, r.get_data(as_text=True)[:400]
    return link_path(sent_mails(app)[-1])


def accept_new(client, path: str, password: str = NEW_PASSWORD, **extra):
    client.reset_csrf()
    return client.post(path, data={"csrf_token": client.csrf_token(path), "name": "New Person",
                                   "password": password, "confirm": extra.pop("confirm", password), **extra})


def events(name: str) -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.event == name)))


def membership(user, workspace) -> Membership | None:
    return db.session.scalar(sa.select(Membership).where(Membership.user_id == user.id,
                                                         Membership.workspace_id == workspace.id))


# ------------------------------------------------------------------ inviting


def test_an_invite_mails_a_link_whose_token_is_stored_only_as_its_sha256(app, client, people):
    login(client, people.admin)
    path = invited_link(app, client, people, "New.Person@Example.com", "client_admin")
    msg = sent_mails(app)[-1]
    assert msg["To"] == "new.person@example.com"
    assert "Brass Studio" in msg["Subject"]
    token = path.rsplit("/", 1)[1]
    inv = db.session.scalar(sa.select(Invite))
    assert inv.email == "new.person@example.com" and inv.role == "client_admin"
    assert inv.token_hash == hashlib.sha256(token.encode()).hexdigest()
    stored = json.dumps([str(v) for v in db.session.execute(sa.select(Invite.__table__)).one()])
    assert token not in stored
    assert inv.expires_at - inv.sent_at == timedelta(days=7)
    [ev] = events("invite.sent")
    assert ev.actor_user_id == people.admin.id and ev.workspace_id == people.workspace.id
    assert token not in json.dumps(ev.detail)
    page = client.get("/settings/members").get_data(as_text=True)
    assert "new.person@example.com" in page


def test_htmx_invite_answers_with_a_fresh_form_and_announces_the_change(app, client, people):
    login(client, people.admin)
    r = invite(client, people, "hx@example.com", hx=True)
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert 'id="invite-form"' in html and "<html" not in html
    trigger = json.loads(r.headers["HX-Trigger"])
    assert "invites-changed" in trigger and trigger["notify"]["level"] == "success"


def test_invalid_address_and_existing_member_are_refused_with_the_form(app, client, people):
    login(client, people.admin)
    r = invite(client, people, "not an address", hx=True)
    assert r.status_code == 422 and "like name@example.com" in r.get_data(as_text=True)
    r = invite(client, people, "creator2@example.com", hx=True)
    assert r.status_code == 422 and "already a member" in r.get_data(as_text=True)
    assert sent_mails(app) == [] and db.session.scalar(sa.select(sa.func.count(Invite.id))) == 0


def test_only_agency_staff_may_invite_agency_staff(app, client, people):
    login(client, people.admin)
    assert invite(client, people, "staff@example.com", "agency").status_code == 422
    login(client, people.agency)
    path = invited_link(app, client, people, "staff@example.com", "agency")
    client.post_form("/logout")
    r = accept_new(client, path)
    assert r.status_code == 303
    staff = db.session.scalar(sa.select(User).where(User.email == "staff@example.com"))
    assert staff.is_agency and membership(staff, people.workspace) is None


def test_invite_posts_are_rate_limited_per_user(app, client, people):
    login(client, people.admin)
    statuses = [invite(client, people, "not an address").status_code for _ in range(61)]
    assert statuses[:60] == [422] * 60 and statuses[60] == 429


# ------------------------------------------------------------------ accepting


def test_a_new_person_sets_a_password_and_lands_signed_in(app, client, people):
    login(client, people.admin)
    path = invited_link(app, client, people, "newadmin@example.com", "client_admin")
    client.post_form("/logout")
    page = client.get(path)
    assert page.status_code == 200 and "newadmin@example.com" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    r = accept_new(client, path)
    assert r.status_code == 303
    assert r.headers["Location"].endswith(f"/performance?workspace={people.workspace.id}")
    user = db.session.scalar(sa.select(User).where(User.email == "newadmin@example.com"))
    assert user.check_password(NEW_PASSWORD) and user.name == "New Person"
    assert membership(user, people.workspace).role == "client_admin"
    assert client.get("/settings/members").status_code == 200  # signed in, as a client admin
    [ev] = events("invite.accepted")
    assert ev.actor_user_id == user.id and ev.workspace_id == people.workspace.id


def test_a_creators_invite_lands_on_connect_your_tiktok(app, client, people):
    login(client, people.admin)
    path = invited_link(app, client, people, "maya@example.com", "creator")
    client.post_form("/logout")
    r = accept_new(client, path)
    assert r.headers["Location"].endswith(f"/welcome/connect-tiktok?workspace={people.workspace.id}")
    html = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "Connect your TikTok" in html
    assert 'action="/tiktok/auth/connect"' in html and f'name="workspace_id" value="{people.workspace.id}"' in html


def test_the_new_accounts_email_is_the_invited_one_whatever_the_form_says(app, client, people):
    login(client, people.admin)
    path = invited_link(app, client, people, "bound@example.com")
    client.post_form("/logout")
    assert accept_new(client, path, email="attacker@example.com").status_code == 303
    assert db.session.scalar(sa.select(User).where(User.email == "attacker@example.com")) is None
    assert db.session.scalar(sa.select(User).where(User.email == "bound@example.com")) is not None


def test_password_rules_apply_and_a_refused_form_keeps_the_link_usable(app, client, people):
    login(client, people.admin)
    path = invited_link(app, client, people, "short@example.com")
    client.post_form("/logout")
    assert accept_new(client, path, password="short").status_code == 422
    r = accept_new(client, path, confirm="something else entirely")
    assert r.status_code == 422 and "passwords don&#39;t match" in r.get_data(as_text=True)
    assert db.session.scalar(sa.select(User).where(User.email == "short@example.com")) is None
    assert accept_new(client, path).status_code == 303


def test_a_link_works_once(app, client, people):
    login(client, people.admin)
    path = invited_link(app, client, people, "once@example.com")
    client.post_form("/logout")
    assert accept_new(client, path).status_code == 303
    client.post_form("/logout")
    again = client.get(path)
    assert again.status_code == 410 and "already been used" in again.get_data(as_text=True)
    assert accept_new(client, path).status_code == 410


def test_a_link_lapses_after_seven_days(app, client, people):
    login(client, people.admin)
    path = invited_link(app, client, people, "late@example.com")
    client.post_form("/logout")
    now = datetime.now(timezone.utc)
    with time_machine.travel(now + timedelta(days=6, hours=23)):
        assert client.get(path).status_code == 200
    with time_machine.travel(now + timedelta(days=7, minutes=1)):
        r = client.get(path)
        assert r.status_code == 410 and "expired" in r.get_data(as_text=True)
        assert accept_new(client, path).status_code == 410
    assert db.session.scalar(sa.select(User).where(User.email == "late@example.com")) is None


def test_an_unknown_link_is_a_clear_404(client):
    r = client.get("/invites/not-a-real-token")
    assert r.status_code == 404 and "not valid" in r.get_data(as_text=True)


def test_an_existing_account_accepts_after_signing_in_with_the_invited_address(app, client, people):
    login(client, people.admin)
    path = invited_link(app, client, people, "outsider@example.com")  # client admin of another workspace
    client.post_form("/logout")
    page = client.get(path).get_data(as_text=True)
    assert "Sign in to accept" in page
    assert accept_new(client, path).status_code == 409  # no new account, no password change
    assert people.outsider.check_password(PASSWORD)
    login(client, people.creator)  # someone else
    assert client.get(path).status_code == 403
    client.reset_csrf()
    assert client.post(path, data={"csrf_token": client.csrf_token(path)}).status_code == 403
    assert membership(people.outsider, people.workspace) is None
    login(client, people.outsider)
    client.reset_csrf()
    r = client.post(path, data={"csrf_token": client.csrf_token(path)})
    assert r.status_code == 303
    assert membership(people.outsider, people.workspace).role == "creator"
    assert membership(people.outsider, people.other_workspace).role == "client_admin"


def test_the_accept_link_never_reaches_the_log(app, client, people, caplog):
    login(client, people.admin)
    path = invited_link(app, client, people, "quiet@example.com")
    token = path.rsplit("/", 1)[1]
    client.post_form("/logout")
    with caplog.at_level(logging.INFO):
        client.get(path)
        accept_new(client, path)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "/invites/" in text and token not in text


# ------------------------------------------------------------------ resend and revoke


def test_resend_mails_a_new_link_and_the_old_one_dies(app, client, people):
    login(client, people.admin)
    old = invited_link(app, client, people, "again@example.com")
    inv = db.session.scalar(sa.select(Invite))
    r = client.hx("post", f"/settings/members/invites/{inv.id}/resend")
    assert r.status_code == 200 and 'id="invites-list"' in r.get_data(as_text=True)
    links = {link_path(m) for m in sent_mails(app)}  # the outbox orders mails of one second at random
    assert len(sent_mails(app)) == 2 and old in links
    [new] = links - {old}
    client.post_form("/logout")
    assert client.get(old).status_code == 404
    assert accept_new(client, new).status_code == 303
    assert [e.detail["invite_id"] for e in events("invite.resent")] == [inv.id]


def test_revoke_ends_the_link(app, client, people):
    login(client, people.admin)
    path = invited_link(app, client, people, "revoked@example.com")
    inv = db.session.scalar(sa.select(Invite))
    r = client.post_form(f"/settings/members/invites/{inv.id}/revoke")
    assert r.status_code == 303
    assert f'id="invite-{inv.id}"' not in client.get("/settings/members").get_data(as_text=True)
    assert client.post_form(f"/settings/members/invites/{inv.id}/revoke").status_code == 409
    client.post_form("/logout")
    page = client.get(path)
    assert page.status_code == 410 and "withdrawn" in page.get_data(as_text=True)
    assert len(events("invite.revoked")) == 1


def test_a_client_admin_cannot_resend_or_revoke_an_agency_invite(app, client, people):
    login(client, people.agency)
    invited_link(app, client, people, "staff@example.com", "agency")
    inv = db.session.scalar(sa.select(Invite))
    login(client, people.admin)
    assert client.post_form(f"/settings/members/invites/{inv.id}/revoke").status_code == 403
    assert client.post_form(f"/settings/members/invites/{inv.id}/resend").status_code == 403


# ------------------------------------------------------------------ roles and removal


def test_a_member_role_changes_and_the_list_comes_back(app, client, people):
    login(client, people.admin)
    m = membership(people.creator, people.workspace)
    r = client.hx("post", f"/settings/members/{m.id}/role", data={"role": "client_admin"})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert 'id="members-list"' in html and "<html" not in html
    assert json.loads(r.headers["HX-Trigger"])["notify"]["level"] == "success"
    assert membership(people.creator, people.workspace).role == "client_admin"
    [ev] = events("member.role_changed")
    assert ev.detail["before"] == "creator" and ev.detail["after"] == "client_admin"
    assert client.post_form(f"/settings/members/{m.id}/role", {"role": "agency"}).status_code == 409


def test_removal_ends_the_removed_members_existing_session(app, client, people):
    creator_client = app.test_client()
    login(creator_client, people.creator)
    assert creator_client.get("/performance").status_code == 200
    login(client, people.admin)
    m = membership(people.creator, people.workspace)
    r = client.hx("post", f"/settings/members/{m.id}/remove")
    assert r.status_code == 200 and "creator@example.com" not in r.get_data(as_text=True)
    assert membership(people.creator, people.workspace) is None
    nxt = creator_client.get("/performance")
    assert nxt.status_code in (302, 404) and "/login" in nxt.headers.get("Location", "/login")
    assert creator_client.get(f"/settings/integrations?workspace={people.workspace.id}").status_code in (302, 404)
    [ev] = events("member.removed")
    assert ev.detail["member_id"] == people.creator.id


def test_the_last_client_admin_can_be_neither_removed_nor_demoted(app, client, people):
    m = membership(people.admin, people.workspace)
    for who in (people.admin, people.agency):
        login(client, who)
        r = client.post_form(f"/settings/members/{m.id}/remove")
        assert r.status_code == 409 and "last client admin" in r.get_data(as_text=True)
        r = client.hx("post", f"/settings/members/{m.id}/role", data={"role": "creator"})
        assert r.status_code == 409 and "last client admin" in json.loads(r.headers["HX-Trigger"])["notify"]["message"]
    assert membership(people.admin, people.workspace).role == "client_admin"
    # With a second admin, the first may go (removing oneself signs one out).
    other = membership(people.creator, people.workspace)
    login(client, people.admin)
    assert client.post_form(f"/settings/members/{other.id}/role", {"role": "client_admin"}).status_code == 303
    r = client.post_form(f"/settings/members/{m.id}/remove")
    assert r.status_code == 303 and r.headers["Location"].endswith("/login")
    assert membership(people.admin, people.workspace) is None


# ------------------------------------------------------------------ who sees what


def test_creators_get_no_members_page_and_no_link_to_it(client, people):
    login(client, people.creator)
    assert client.get("/settings/members").status_code == 403
    assert "/settings/members" not in client.get("/settings/integrations").get_data(as_text=True)
    login(client, people.admin)
    assert 'href="/settings/members"' in client.get("/settings/integrations").get_data(as_text=True)


def test_outsiders_get_404_and_requests_without_csrf_get_400(client, people):
    login(client, people.outsider)
    assert client.get(f"/settings/members?workspace={people.workspace.id}").status_code == 404
    m = membership(people.creator, people.workspace)
    assert client.post_form(f"/settings/members/{m.id}/remove").status_code == 404
    login(client, people.admin)
    r = client.post("/settings/members/invites", data={"workspace_id": people.workspace.id,
                                                       "email": "x@example.com", "role": "creator"})
    assert r.status_code == 400
    assert client.post(f"/settings/members/{m.id}/remove").status_code == 400
    assert membership(people.creator, people.workspace) is not None

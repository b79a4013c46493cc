"""A revocation TikTok reports — by its webhook, or found by the daily token check — is
emailed once to the account's owner and the workspace's client admins; later runs, later
checks and repeated deliveries send nothing more."""
import email
from datetime import datetime, timedelta, timezone

from app.extensions import db
from app.models import TikTokConnection
from app.services import accounts
from app.services.mail import outbox_messages
from jobs.runner import run_job
from tests.conftest import PASSWORD
from tests.factories import make_connected
from tests.integration.test_token_check import DEAD, sealed
from tests.integration.test_webhook import body, post
from tests.tiktok_fixtures import BUSINESS


def mails(app) -> list[email.message.Message]:
    return [email.message_from_bytes(m) for m in outbox_messages(app.config["MAIL_OUTBOX_DIR"])]


def recipients(app) -> list[str]:
    return sorted(m["To"] for m in mails(app))


def second_admin(people):
    """A second client admin, so "the client admins" is more than one person."""
    user, _ = accounts.create_user("admin2@example.com", role="client_admin", workspace=people.workspace,
                                   password=PASSWORD)
    db.session.commit()
    return user


def test_webhook_revocation_emails_owner_and_client_admins_once(app, client, people, requests_mock):
    admin2 = second_admin(people)
    conn = make_connected(app, people.workspace, people.creator, open_id="open-hooked", username="brassorbit3")
    db.session.commit()
    assert post(client, body(reason=1)).status_code == 200
    run_job(app, "refresh-tokens", now=datetime.now(timezone.utc))
    expected = sorted([people.creator.email, people.admin.email, admin2.email])
    assert recipients(app) == expected  # exactly one each; nobody outside the workspace
    msg = mails(app)[0]
    assert msg["Subject"] == "@brassorbit3 removed Logic Target's access on TikTok"
    text = next(p.get_payload(decode=True).decode() for p in msg.walk() if p.get_content_type() == "text/plain")
    purge = db.session.get(TikTokConnection, conn.id).purge_after
    assert f"deleted on {purge:%B} {purge.day}, {purge.year}" in text
    assert f"/settings/integrations?workspace={people.workspace.id}#connection-{conn.id}" in text

    # A second run, a repeated delivery and the next day's runs: nothing more.
    run_job(app, "refresh-tokens", now=datetime.now(timezone.utc) + timedelta(minutes=10))
    post(client, body(reason=1))
    run_job(app, "token-check", now=datetime.now(timezone.utc) + timedelta(days=1))
    run_job(app, "refresh-tokens", now=datetime.now(timezone.utc) + timedelta(days=1))
    assert recipients(app) == expected


def test_token_check_revocation_emails_owner_and_client_admins_once(app, people, requests_mock):
    admin2 = second_admin(people)
    now = datetime(2026, 6, 1, 4, 30, tzinfo=timezone.utc)
    conn = sealed(app, people)
    requests_mock.post(BUSINESS + "tt_user/token_info/get/", json=DEAD)
    requests_mock.post(BUSINESS + "tt_user/oauth2/refresh_token/",
                       json={"code": 40106, "message": "refresh token revoked", "request_id": "r", "data": {}})
    result = run_job(app, "token-check", now=now)
    assert result.counts["revoked"] == 1 and result.counts["reconnect_alerts"] == 1, result
    expected = sorted([people.creator.email, people.admin.email, admin2.email])
    assert recipients(app) == expected  # sent by the check itself, not 10 minutes later
    assert mails(app)[0]["Subject"] == f"Action needed: reconnect @{conn.username} to Logic Target"

    run_job(app, "token-check", now=now + timedelta(minutes=5))
    run_job(app, "refresh-tokens", now=now + timedelta(minutes=10))
    run_job(app, "token-check", now=now + timedelta(days=1))
    run_job(app, "refresh-tokens", now=now + timedelta(days=1, minutes=10))
    assert recipients(app) == expected


def test_disconnecting_by_hand_after_a_reconnect_is_not_reported_as_a_tiktok_revocation(app, client, people,
                                                                                     requests_mock):
    """The webhook's mark belongs to its own disconnect: a later one by hand sends no such email."""
    conn = make_connected(app, people.workspace, people.creator, open_id="open-hooked")
    db.session.commit()
    post(client, body(reason=1))
    run_job(app, "refresh-tokens", now=datetime.now(timezone.utc))
    sent = len(mails(app))
    later = datetime.now(timezone.utc) + timedelta(days=2)
    row = db.session.get(TikTokConnection, conn.id)
    # Reconnected (the callback's reset), then "recovered" is sent once, then disconnected by hand.
    row.status, row.disconnected_at, row.purge_after = "active", None, None
    db.session.commit()
    assert run_job(app, "refresh-tokens", now=later).counts["recovered"] == 1
    row = db.session.get(TikTokConnection, conn.id)
    row.status, row.disconnected_at, row.purge_after = "disconnected", later, later + timedelta(days=90)
    db.session.commit()
    assert run_job(app, "refresh-tokens", now=later + timedelta(minutes=10)).counts["revocation_alerts"] == 0
    assert len(mails(app)) == sent + 2  # the recovered notice to owner and admin, nothing else


def test_webhook_ending_the_grant_for_another_workspace_asks_to_reconnect_once(app, client, people, requests_mock):
    """Reason 5 (our own revoke from another workspace's disconnect): this workspace did not
    leave, so its people get the "reconnect" email — once — rather than "access removed"."""
    admin2 = second_admin(people)
    make_connected(app, people.workspace, people.creator, open_id="open-hooked", username="brassorbit3")
    db.session.commit()
    assert post(client, body(reason=5)).status_code == 200
    run_job(app, "refresh-tokens", now=datetime.now(timezone.utc))
    run_job(app, "refresh-tokens", now=datetime.now(timezone.utc) + timedelta(minutes=10))
    assert recipients(app) == sorted([people.creator.email, people.admin.email, admin2.email])
    assert {m["Subject"] for m in mails(app)} == {"Action needed: reconnect @brassorbit3 to Logic Target"}

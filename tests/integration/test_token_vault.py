"""The token vault and the sync path through it, with TikTok stubbed at the HTTP boundary:
one refresh per connection across two app instances, "needs reconnect" decided by the
vault, late results discarded, and leases that never commit anyone's work. Runs on
SQLite and, with TEST_DATABASE_URL, on PostgreSQL."""
import threading
import time
from datetime import timedelta

import sqlalchemy as sa

from app.extensions import db
from app.leases import TOKEN_LEASE, acquire_lease, release_lease
from app.models import AccountSnapshot, AuditEvent, Post, TikTokConnection
from app.services import token_sealing
from app.tiktok import get_client
from app.workflows import sync as sync_workflow
from app.workflows import token_vault
from tests.integration.test_refresh_sync import (DEAD, NOW, refresh_body, register_data, sealed_connection,
                                                 token_info_says, tokens_of)
from tests.tiktok_fixtures import BUSINESS, load

REFRESH = BUSINESS + "tt_user/oauth2/refresh_token/"
REFUSED_GRANT = {"code": 40106, "message": "invalid_grant", "request_id": "r", "data": {}}


def ask(app, conn_id, **kw):
    return token_vault.usable_token(conn_id, client=get_client(app), keyring=token_sealing.get_keyring(app), now=NOW,
                                    **kw)


def audited(event: str) -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.event == event)))


# ------------------------------------------------------------------ usable_token


def test_a_stored_token_is_answered_as_it_is_with_no_transaction_left_open(app, people, requests_mock):
    conn = sealed_connection(app, people.workspace, people.creator, expires_in=600)
    token = ask(app, conn.id)
    assert token.usable and token.value == "act.OLD" and not token.refreshed
    assert not requests_mock.called  # nothing refreshed ahead of a refusal: the refresh job does that
    assert not db.session().in_transaction()
    assert "act.OLD" not in repr(token)  # never in logs or reprs


def test_a_refused_token_is_refreshed_once_and_the_new_one_answered(app, people, requests_mock):
    conn = sealed_connection(app, people.workspace, people.creator)
    call = requests_mock.post(REFRESH, json=refresh_body())
    token = ask(app, conn.id, refused=ask(app, conn.id))
    assert token.usable and token.value == "act.NEW" and token.refreshed
    assert call.call_count == 1 and call.last_request.json()["refresh_token"] == "rft.OLD"
    assert not db.session().in_transaction()
    assert tokens_of(app, conn) == ("act.NEW", "rft.NEW")


def test_a_refused_refresh_is_needs_reconnect_decided_by_the_vault(app, people, requests_mock):
    conn = sealed_connection(app, people.workspace, people.creator)
    requests_mock.post(REFRESH, json=REFUSED_GRANT)
    token_info_says(requests_mock, DEAD)
    token = ask(app, conn.id, refused=ask(app, conn.id))
    assert token.status == token_vault.NEEDS_RECONNECT and not token.usable
    db.session.refresh(conn)
    assert conn.status == "needs_reconnect" and conn.access_token_sealed is None and conn.refresh_token_sealed is None
    assert conn.last_error == token_vault.RECONNECT_MESSAGE
    assert [e.detail["reason"] for e in audited("token.refresh_refused")] == ["refresh_refused"]


def test_a_freshly_refreshed_token_refused_again_ends_the_grant_without_another_refresh(app, people, requests_mock):
    conn = sealed_connection(app, people.workspace, people.creator)
    call = requests_mock.post(REFRESH, json=refresh_body())
    fresh = ask(app, conn.id, refused=ask(app, conn.id))
    token = ask(app, conn.id, refused=fresh)
    assert token.status == token_vault.NEEDS_RECONNECT and call.call_count == 1
    db.session.refresh(conn)
    assert conn.status == "needs_reconnect" and conn.refresh_token_sealed is None
    assert "TikTok refused the refreshed token" in conn.last_error
    assert [e.detail["reason"] for e in audited("sync.needs_reconnect")] == ["refreshed_token_refused"]


def test_a_stored_token_that_does_not_open_is_needs_reconnect(app, people, requests_mock):
    conn = sealed_connection(app, people.workspace, people.creator)
    other = sealed_connection(app, people.workspace, people.creator2, access="act.OTHER")
    conn.access_token_sealed = other.access_token_sealed  # moved from another row: its aad does not match
    db.session.commit()
    token = ask(app, conn.id)
    assert token.status == token_vault.NEEDS_RECONNECT and not requests_mock.called
    db.session.refresh(conn)
    assert conn.status == "needs_reconnect" and conn.access_token_sealed is None
    assert [e.detail["reason"] for e in audited("sync.needs_reconnect")] == ["token_unreadable"]


def test_a_disconnected_connection_gets_no_token(app, people, requests_mock):
    conn = sealed_connection(app, people.workspace, people.creator)
    conn.status = "disconnected"
    db.session.commit()
    assert ask(app, conn.id).status == token_vault.SKIPPED
    assert ask(app, conn.id, refused=token_vault.AccessToken(token_vault.USABLE, "act.OLD")).status == \
        token_vault.SKIPPED
    assert not requests_mock.called


def test_refused_while_another_worker_refreshes_is_not_now(app, people, requests_mock):
    conn = sealed_connection(app, people.workspace, people.creator)
    assert acquire_lease(TOKEN_LEASE, str(conn.id), now=NOW, ttl=token_vault.LEASE_TTL)
    token = ask(app, conn.id, refused=ask(app, conn.id))
    assert token.status == token_vault.NOT_NOW and not requests_mock.called


def test_a_refusal_after_another_worker_refreshed_uses_its_token(app, people, requests_mock):
    conn = sealed_connection(app, people.workspace, people.creator)
    stale = ask(app, conn.id)
    call = requests_mock.post(REFRESH, json=refresh_body())
    assert ask(app, conn.id, refused=stale).value == "act.NEW"  # another sync met the refusal first
    assert ask(app, conn.id, refused=stale).value == "act.NEW"  # this one re-reads under the lease
    assert call.call_count == 1


def test_refused_on_two_instances_at_once_refreshes_once(app, app_factory, db_backend, people, requests_mock):
    """Six syncs on two app instances (one database) meet TikTok's refusal at the same
    moment: one refresh, and the stored pair is the one TikTok returned."""
    second = app_factory(db_backend)
    conn = sealed_connection(app, people.workspace, people.creator)
    conn_id = conn.id

    def slow_refresh(request, context):
        time.sleep(0.3)  # the others arrive while the first holds the lease
        return refresh_body()

    call = requests_mock.post(REFRESH, json=slow_refresh)
    refused = token_vault.AccessToken(token_vault.USABLE, "act.OLD")
    barrier = threading.Barrier(6)
    answers, errors = [], []

    def worker(instance):
        with instance.app_context():
            barrier.wait()
            try:
                answers.append(token_vault.usable_token(conn_id, client=get_client(instance),
                                                        keyring=token_sealing.get_keyring(instance), now=NOW,
                                                        refused=refused))
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(app if i % 2 else second,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    assert call.call_count == 1
    assert {a.status for a in answers} <= {token_vault.USABLE, token_vault.NOT_NOW}
    assert {a.value for a in answers if a.usable} == {"act.NEW"}
    db.session.expire_all()
    assert tokens_of(app, db.session.get(TikTokConnection, conn_id)) == ("act.NEW", "rft.NEW")


# ------------------------------------------------------------------ the sync path


def test_sync_result_arriving_after_a_disconnect_is_discarded(app, people, requests_mock):
    conn = sealed_connection(app, people.workspace, people.creator, expires_in=86400)
    conn_id = conn.id
    register_data(requests_mock)
    page = load("video_list_page1")
    page["data"]["has_more"] = False

    def disconnect_meanwhile(request, context):
        with db.engine.begin() as other:  # another request disconnects while TikTok answers
            other.execute(sa.update(TikTokConnection).where(TikTokConnection.id == conn_id)
                          .values(status="disconnected", access_token_sealed=None, refresh_token_sealed=None))
        return page

    videos = requests_mock.get(BUSINESS + "business/video/list/", json=disconnect_meanwhile)
    outcome = sync_workflow.sync_connection(conn_id, client=get_client(app), keyring=token_sealing.get_keyring(app),
                                            now=NOW)
    assert outcome.status == "skipped" and videos.called
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AccountSnapshot)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Post)) == 0
    conn = db.session.get(TikTokConnection, conn_id, populate_existing=True)
    assert conn.status == "disconnected" and conn.last_synced_at is None and conn.access_token_sealed is None


def test_sync_reads_forward_through_the_vault(app, people, requests_mock):
    """Refused → the vault refreshes once → the fetch runs again with the new token → stored."""
    conn = sealed_connection(app, people.workspace, people.creator, expires_in=86400)
    expired = {"code": 40105, "message": "access token expired", "request_id": "r", "data": {}}
    register_data(requests_mock)
    profile = requests_mock.get(BUSINESS + "business/get/", [{"json": expired}, {"json": load("business_get_success")}])
    token_info_says(requests_mock, DEAD)
    refresh = requests_mock.post(REFRESH, json=refresh_body())
    outcome = sync_workflow.sync_connection(conn.id, client=get_client(app), keyring=token_sealing.get_keyring(app),
                                            now=NOW)
    assert outcome.status == "synced" and refresh.call_count == 1
    assert [r.headers["Access-Token"] for r in profile.request_history] == ["act.OLD", "act.NEW"]
    assert not db.session().in_transaction()
    db.session.refresh(conn)
    assert conn.last_synced_at == NOW and tokens_of(app, conn)[0] == "act.NEW"


# ------------------------------------------------------------------ leases


def test_a_lease_neither_commits_nor_rolls_back_the_callers_work(app, people):
    conn_id = sealed_connection(app, people.workspace, people.creator).id
    conn = db.session.get(TikTokConnection, conn_id)
    conn.last_error = "pending, not committed"
    owner = acquire_lease(TOKEN_LEASE, str(conn_id), now=NOW, ttl=timedelta(seconds=30))
    assert owner and conn.last_error == "pending, not committed"  # the caller's change is still there…
    with db.engine.connect() as other:  # …and not committed: another connection does not see it
        assert other.scalar(sa.select(TikTokConnection.last_error).where(TikTokConnection.id == conn_id)) is None
    assert acquire_lease(TOKEN_LEASE, str(conn_id), now=NOW, ttl=timedelta(seconds=30)) is None  # visible at once
    release_lease(TOKEN_LEASE, str(conn_id), owner)
    assert conn.last_error == "pending, not committed"  # releasing rolled nothing back either
    db.session.rollback()
    assert db.session.get(TikTokConnection, conn_id, populate_existing=True).last_error is None
    assert acquire_lease(TOKEN_LEASE, str(conn_id), now=NOW, ttl=timedelta(seconds=30))

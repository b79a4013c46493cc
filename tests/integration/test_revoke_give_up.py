"""A revocation TikTok never confirms is retried for REVOKE_GIVE_UP_DAYS, then given up:
the token is wiped, the connection and the audit log say TikTok never confirmed, and
the purge goes ahead with a receipt that says so."""
import json
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from app.extensions import db
from app.models import AuditEvent, DeletionReceipt, TikTokConnection
from app.services import disconnect
from app.services.token_sealing import get_keyring
from app.tiktok import get_client
from jobs.runner import run_job as _run_job
from tests.conftest import login
from tests.factories import make_connected
from tests.tiktok_fixtures import BUSINESS, load

REVOKE = BUSINESS + "tt_user/oauth2/revoke/"
FAILURE = {"status_code": 500, "json": {"code": 50000, "message": "internal", "request_id": "x", "data": {}}}
T0 = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)


def run_job(app, name, **kw):
    result = _run_job(app, name, **kw)
    db.session.expire_all()
    return result


def reload(conn_id):
    db.session.expire_all()
    return db.session.get(TikTokConnection, conn_id)


def disconnected_with_failing_revoke(app, people, requests_mock, *, delete=False):
    conn = make_connected(app, people.workspace, people.admin, username="neverconfirmed", access="act.NEVER")
    db.session.commit()
    requests_mock.post(REVOKE, **FAILURE)
    if delete:
        disconnect.request_deletion(conn, now=T0, retention_days=app.config["RETENTION_DAYS"])
    else:
        disconnect.mark_disconnected(conn, now=T0, retention_days=app.config["RETENTION_DAYS"])
    db.session.commit()
    outcome = disconnect.try_revoke(conn, client=get_client(app), keyring=get_keyring(app), now=T0)
    db.session.commit()
    assert outcome.result == disconnect.RETRY_LATER
    return conn.id


def retry_until_settled(app, conn_id, *, limit=200) -> list[datetime]:
    """Run revoke-retry at each scheduled attempt; the times it ran."""
    times = []
    for _ in range(limit):
        conn = reload(conn_id)
        if not conn.revoke_pending:
            return times
        times.append(conn.next_revoke_at)
        run_job(app, "revoke-retry", now=conn.next_revoke_at)
    raise AssertionError("revoke-retry never settled")


def test_never_confirmed_revocation_is_given_up_on_the_deadline(app, people, requests_mock):
    conn_id = disconnected_with_failing_revoke(app, people, requests_mock)
    deadline = T0 + timedelta(days=app.config["REVOKE_GIVE_UP_DAYS"])
    times = retry_until_settled(app, conn_id)
    assert times[-1] == deadline  # the last attempt falls exactly on the deadline
    assert all(t < deadline for t in times[:-1])
    conn = reload(conn_id)
    assert conn.status == "disconnected" and not conn.revoke_pending and conn.next_revoke_at is None
    assert conn.access_token_sealed is None and conn.refresh_token_sealed is None
    assert conn.revoke_unconfirmed_at == deadline
    assert conn.revoke_attempts == len(times) + 1  # + the attempt at disconnect
    assert conn.revoke_attempts < 50  # bounded: 6-hourly at worst
    events = list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.event == "revoke.unconfirmed")))
    assert len(events) == 1
    assert events[0].connection_id == conn_id and events[0].detail["attempts"] == conn.revoke_attempts
    assert events[0].detail["days"] == app.config["REVOKE_GIVE_UP_DAYS"]
    # Settled: nothing more to do, ever.
    assert run_job(app, "revoke-retry", now=deadline + timedelta(days=1)).counts == {}
    assert requests_mock.request_history[-1].url == REVOKE


def test_a_failure_before_the_deadline_still_retries(app, people, requests_mock):
    conn_id = disconnected_with_failing_revoke(app, people, requests_mock)
    conn = reload(conn_id)
    deadline = T0 + timedelta(days=app.config["REVOKE_GIVE_UP_DAYS"])
    conn.next_revoke_at = deadline - timedelta(seconds=1)
    db.session.commit()
    result = run_job(app, "revoke-retry", now=deadline - timedelta(seconds=1))
    assert result.counts == {"retry_later": 1}
    conn = reload(conn_id)
    assert conn.revoke_pending and conn.access_token_sealed is not None and conn.revoke_unconfirmed_at is None
    assert conn.next_revoke_at == deadline  # backoff clamped to the deadline


def test_a_rate_limit_cannot_push_the_retry_past_the_deadline(app, people, requests_mock):
    conn_id = disconnected_with_failing_revoke(app, people, requests_mock)
    deadline = T0 + timedelta(days=app.config["REVOKE_GIVE_UP_DAYS"])
    requests_mock.post(REVOKE, status_code=429, headers={"Retry-After": str(30 * 86400)},
                       json={"code": 40100, "message": "Too many requests", "request_id": "r", "data": {}})
    run_job(app, "revoke-retry", now=reload(conn_id).next_revoke_at)
    assert reload(conn_id).next_revoke_at == deadline


def test_purge_waits_then_goes_ahead_and_the_receipt_says_tiktok_never_confirmed(app, client, people,
                                                                                 requests_mock):
    conn_id = disconnected_with_failing_revoke(app, people, requests_mock, delete=True)
    assert run_job(app, "purge", now=T0 + timedelta(days=1)).counts.get("connections_purged") is None
    assert reload(conn_id) is not None
    retry_until_settled(app, conn_id)
    login(client, people.admin)
    row = client.get("/settings/integrations").get_data(as_text=True)
    assert "TikTok never confirmed the revocation" in row
    deadline = T0 + timedelta(days=app.config["REVOKE_GIVE_UP_DAYS"])
    assert run_job(app, "purge", now=deadline + timedelta(hours=1)).counts["connections_purged"] == 1
    assert db.session.get(TikTokConnection, conn_id) is None
    receipt = db.session.scalar(sa.select(DeletionReceipt))
    assert receipt.counts["tiktok_revocation"] == "never_confirmed" and receipt.counts["complete"] is True
    assert "neverconfirmed" not in json.dumps(receipt.counts)
    # The audit event stays, pointing at the receipt instead of the account.
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.event == "revoke.unconfirmed"))
    assert event.connection_id is None and event.detail["deleted_account"] == receipt.reference


def test_confirmed_revocation_leaves_no_never_confirmed_mark(app, people, requests_mock):
    conn = make_connected(app, people.workspace, people.admin)
    db.session.commit()
    requests_mock.post(REVOKE, json=load("revoke_success"))
    disconnect.request_deletion(conn, now=T0, retention_days=90)
    db.session.commit()
    assert disconnect.try_revoke(conn, client=get_client(app), keyring=get_keyring(app), now=T0).confirmed
    db.session.commit()
    assert reload(conn.id).revoke_unconfirmed_at is None
    run_job(app, "purge", now=T0 + timedelta(hours=1))
    assert "tiktok_revocation" not in db.session.scalar(sa.select(DeletionReceipt)).counts


def test_the_deadline_follows_the_setting(app, people, requests_mock):
    app.config["REVOKE_GIVE_UP_DAYS"] = 2
    conn_id = disconnected_with_failing_revoke(app, people, requests_mock)
    times = retry_until_settled(app, conn_id)
    assert times[-1] == T0 + timedelta(days=2)
    assert reload(conn_id).revoke_unconfirmed_at == T0 + timedelta(days=2)


def test_zero_days_gives_up_at_the_first_failure(app, people, requests_mock):
    conn = make_connected(app, people.workspace, people.admin, access="act.ZERO")
    db.session.commit()
    requests_mock.post(REVOKE, **FAILURE)
    disconnect.mark_disconnected(conn, now=T0, retention_days=1)
    outcome = disconnect.try_revoke(conn, client=get_client(app), keyring=get_keyring(app), now=T0,
                                    give_up_after=timedelta(0))
    db.session.commit()
    assert outcome.result == disconnect.GAVE_UP and not outcome.confirmed
    conn = reload(conn.id)
    assert conn.revoke_unconfirmed_at == T0 and conn.access_token_sealed is None and not conn.revoke_pending

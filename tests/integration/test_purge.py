"""The nightly purge: everything of a due connection goes, in batches, resumably; nothing
of any other connection or workspace is touched; an anonymous receipt remains."""
import json
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import (AccountSnapshot, AuditEvent, DeletionReceipt, Post, PostMetric, PurgeReceiptLink, Report,
                        ReportConnection, SparkAdMetric, TikTokConnection)
from app.services import disconnect
from jobs.runner import run_job as _run_job
from tests.conftest import login
from tests.factories import make_connected, make_connection, seed_account_data
from tests.tiktok_fixtures import BUSINESS, load

NOW = datetime(2026, 6, 1, 3, 0, tzinfo=timezone.utc)


def run_job(app, name, **kw):
    """Run a job as the scheduler would (its own session), then look at the database afresh."""
    result = _run_job(app, name, **kw)
    db.session.expire_all()
    return result


def count(model, *where):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def disconnected(app, people, *, days_ago: float, workspace=None, **kw):
    conn = make_connection(workspace or people.workspace, people.admin, **kw)
    disconnect.mark_disconnected(conn, now=NOW - timedelta(days=days_ago), retention_days=90)
    return conn


def every_row():
    """(table, column, value) for every value in the database."""
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(sa.select(table)).mappings():
            for column, value in row.items():
                yield table, column, value


def assert_nothing_references(conn_id: int, needles: list[str]):
    for table, column, value in every_row():
        text = json.dumps(value, default=str) if isinstance(value, (dict, list)) else str(value)
        for needle in needles:
            assert needle.lower() not in text.lower(), (table.name, column, needle)
        col = table.c[column]
        if any(fk.column.table.name == "tiktok_connections" for fk in col.foreign_keys):
            assert value != conn_id, (table.name, column)
        if isinstance(value, (dict, list)):
            assert f'"connection_id": {conn_id}' not in text, (table.name, column)
        if table.name == "job_claims" and column == "key":  # no lease left naming it either
            assert value != f"connection:{conn_id}"


def test_purge_removes_everything_of_the_connection_and_nothing_else(app, people):
    conn = disconnected(app, people, days_ago=91, username="purgeme_canary", open_id="open-PURGE-CANARY")
    seeded = seed_account_data(conn, posts=4, metrics_per_post=3)
    # The same workspace's other account and another workspace's account: canaries that must survive.
    keep_same_ws = make_connection(people.workspace, people.admin, username="keeper_same_ws")
    keep_other_ws = make_connection(people.other_workspace, people.outsider, username="keeper_other_ws")
    seed_account_data(keep_same_ws, report=seeded["report"])
    seed_account_data(keep_other_ws)
    shared = seeded["report"]
    shared.figures = {**shared.figures, "accounts": shared.figures["accounts"] + [
        {"connection_id": keep_same_ws.id, "username": "keeper_same_ws"}]}
    db.session.commit()
    conn_id = conn.id
    totals_before = {m: count(m) for m in (Post, PostMetric, AccountSnapshot, SparkAdMetric, ReportConnection)}

    result = run_job(app, "purge", now=NOW)

    assert result.counts["connections_purged"] == 1 and not result.errors
    assert count(TikTokConnection, TikTokConnection.id == conn_id) == 0
    assert_nothing_references(conn_id, ["purgeme_canary", "open-PURGE-CANARY"])
    # Other accounts' rows are all still there.
    assert count(Post) == totals_before[Post] - 4
    assert count(PostMetric) == totals_before[PostMetric] - 12
    assert count(AccountSnapshot) == totals_before[AccountSnapshot] - seeded["account_snapshots"]
    assert count(SparkAdMetric) == totals_before[SparkAdMetric] - 2
    assert count(ReportConnection) == totals_before[ReportConnection] - 1
    for keeper in (keep_same_ws, keep_other_ws):
        assert db.session.get(TikTokConnection, keeper.id) is not None
        assert count(Post, Post.connection_id == keeper.id) == 3
    # The shared report keeps the other account's entries and its totals.
    figures = db.session.get(Report, seeded["report"].id).figures
    assert figures["views"] == 1234
    assert figures["accounts"] == [{"connection_id": keep_same_ws.id, "username": "keeper_same_ws"}]
    assert figures["top_posts"] == []
    # One anonymous receipt with counts.
    receipt = db.session.scalar(sa.select(DeletionReceipt))
    assert receipt.counts["complete"] is True and receipt.counts["source"] == "retention"
    assert receipt.counts["posts"] == 4 and receipt.counts["post_metrics"] == 12
    assert receipt.counts["spark_ad_metrics"] == 2 and receipt.counts["account_snapshots"] == 3
    assert receipt.counts["report_connections"] == 1 and receipt.counts["connections"] == 1
    assert receipt.completed_at == NOW and len(receipt.reference) == 24


def test_audit_events_stay_without_the_account_reference(app, people):
    conn = disconnected(app, people, days_ago=91, username="audited_canary")
    seed_account_data(conn)
    db.session.commit()
    conn_id = conn.id
    n_events = count(AuditEvent, AuditEvent.connection_id == conn_id)
    run_job(app, "purge", now=NOW)
    receipt = db.session.scalar(sa.select(DeletionReceipt))
    tomb = list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.detail.is_not(None))))
    detached = [e for e in tomb if (e.detail or {}).get("deleted_account") == receipt.reference]
    assert len(detached) == n_events >= 2
    assert all(e.connection_id is None and "username" not in e.detail for e in detached)
    assert {e.event for e in detached} >= {"connection.disconnected", "connect.succeeded"}
    done = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.event == "purge.completed"))
    assert done.detail["receipt"] == receipt.reference and done.workspace_id == people.workspace.id


def test_purge_interrupted_midway_resumes_into_one_receipt(app, people):
    conn = disconnected(app, people, days_ago=91, username="interrupted_canary")
    seed_account_data(conn, posts=5, metrics_per_post=2)
    db.session.commit()
    conn_id = conn.id

    class Killed(Exception):
        pass

    def die(step, rows):
        raise Killed(step)

    first = run_job(app, "purge", now=NOW, batch_size=3, after_batch=die)
    assert first.errors and "Killed" in first.errors[0]
    assert db.session.get(TikTokConnection, conn_id) is not None
    remaining = count(PostMetric) + count(Post, Post.connection_id == conn_id)
    assert 0 < remaining  # part done, part left
    partial = db.session.scalar(sa.select(DeletionReceipt))
    assert partial.counts["complete"] is False

    steps_seen = []
    second = run_job(app, "purge", now=NOW, batch_size=3, after_batch=lambda s, n: steps_seen.append(s))
    assert second.counts["connections_purged"] == 1 and not second.errors
    assert count(TikTokConnection, TikTokConnection.id == conn_id) == 0
    assert count(Post) == count(PostMetric) == count(AccountSnapshot) == count(ReportConnection) == 0
    receipts = list(db.session.scalars(sa.select(DeletionReceipt)))
    assert len(receipts) == 1 and receipts[0].reference == partial.reference
    assert receipts[0].counts["post_metrics"] == 10 and receipts[0].counts["posts"] == 5
    assert receipts[0].counts["complete"] is True
    assert count(PurgeReceiptLink) == 0
    assert steps_seen.count("post_metrics") >= 1
    # Running again finds nothing to do.
    assert run_job(app, "purge", now=NOW).counts.get("connections_purged") is None
    assert count(DeletionReceipt) == 1


def test_receipt_holds_nothing_identifying(app, people):
    conn = disconnected(app, people, days_ago=91, username="receipt_canary", open_id="open-RECEIPT-CANARY")
    seed_account_data(conn)
    db.session.commit()
    run_job(app, "purge", now=NOW)
    receipt = db.session.scalar(sa.select(DeletionReceipt))
    dumped = json.dumps({"ref": receipt.reference, "counts": receipt.counts}).lower()
    for needle in ("receipt_canary", "open-receipt-canary"):
        assert needle not in dumped
    assert set(receipt.counts) <= {"source", "complete", "report_figures", "post_metrics", "spark_ad_metrics",
                                   "posts", "account_snapshots", "report_connections", "audit_references",
                                   "connections"} | {t.name for t in db.metadata.sorted_tables}
    assert len(receipt.reference) == 24 and int(receipt.reference, 16) >= 0  # random, not derived from ids


@pytest.mark.parametrize("days_ago, purged", [(89, False), (90.5, True), (91, True)])
def test_retention_window(app, people, days_ago, purged):
    conn = disconnected(app, people, days_ago=days_ago)
    db.session.commit()
    conn_id = conn.id
    run_job(app, "purge", now=NOW)
    assert (count(TikTokConnection, TikTokConnection.id == conn_id) == 0) is purged


def test_active_and_reconnected_connections_are_never_purged(app, people):
    active = make_connection(people.workspace, people.admin, purge_after=NOW - timedelta(days=5))
    needs = make_connection(people.workspace, people.admin, status="needs_reconnect",
                            purge_after=NOW - timedelta(days=5))
    db.session.commit()
    result = run_job(app, "purge", now=NOW)
    assert result.counts.get("connections_purged") is None
    assert db.session.get(TikTokConnection, active.id) and db.session.get(TikTokConnection, needs.id)


def test_purge_stops_if_the_account_is_reconnected_mid_run(app, people):
    conn = disconnected(app, people, days_ago=91)
    seed_account_data(conn, posts=4, metrics_per_post=2)
    db.session.commit()
    conn_id = conn.id

    def reconnect(step, rows):
        with db.engine.begin() as c:  # another request, in its own transaction
            c.execute(sa.update(TikTokConnection).where(TikTokConnection.id == conn_id)
                      .values(status="active", purge_after=None, disconnected_at=None))

    result = run_job(app, "purge", now=NOW, batch_size=3, after_batch=reconnect)
    assert result.counts["stopped_reconnected"] == 1
    assert db.session.get(TikTokConnection, conn_id).status == "active"
    assert count(Post, Post.connection_id == conn_id) == 4
    assert count(PurgeReceiptLink) == 0


def test_pending_revocation_defers_the_purge(app, people, requests_mock):
    conn = make_connected(app, people.workspace, people.admin)
    disconnect.request_deletion(conn, now=NOW - timedelta(hours=1), retention_days=90)
    db.session.commit()
    assert conn.revoke_pending
    result = run_job(app, "purge", now=NOW)
    assert result.counts.get("connections_purged") is None
    assert db.session.get(TikTokConnection, conn.id).access_token_sealed is not None
    requests_mock.post(BUSINESS + "tt_user/oauth2/revoke/", json=load("revoke_success"))
    run_job(app, "revoke-retry", now=NOW)
    assert run_job(app, "purge", now=NOW).counts["connections_purged"] == 1


def test_same_open_id_in_two_workspaces_only_the_due_one_goes(app, people):
    w1 = disconnected(app, people, days_ago=91, open_id="open-SHARED", username="shared_acct")
    w2 = make_connection(people.other_workspace, people.outsider, open_id="open-SHARED", username="shared_acct")
    seed_account_data(w1)
    seed_account_data(w2)
    db.session.commit()
    w1_id, w2_id = w1.id, w2.id
    run_job(app, "purge", now=NOW)
    assert count(TikTokConnection, TikTokConnection.id == w1_id) == 0
    assert db.session.get(TikTokConnection, w2_id).status == "active"
    assert count(Post, Post.connection_id == w2_id) == 3
    assert count(AuditEvent, AuditEvent.connection_id == w2_id) == 1


def test_disconnect_request_deletion_purge_end_to_end(app, client, people, requests_mock):
    """Connect (tokens sealed), data synced and reported, disconnect, ask for deletion,
    run purge: no table references the account's open_id, username or connection id."""
    conn = make_connected(app, people.workspace, people.admin, username="e2e_canary_acct",
                          open_id="open-E2E-CANARY", access="act.E2E-ACCESS", refresh="rft.E2E-REFRESH")
    seed_account_data(conn, posts=3)
    keeper = make_connection(people.other_workspace, people.outsider, username="other_ws_keeper")
    seed_account_data(keeper)
    # a real weekly report of the week the posts were made in, naming the account
    from app.models import Report, ReportConnection
    from app.services import metrics, report_figures

    week = metrics.iso_week_label(datetime.now(timezone.utc).date() - timedelta(days=7))
    report = report_figures.build_report(people.workspace, week, now=datetime.now(timezone.utc))
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReportConnection).where(
        ReportConnection.report_id == report.id, ReportConnection.connection_id == conn.id)) == 1
    conn_id = conn.id
    requests_mock.post(BUSINESS + "tt_user/oauth2/revoke/", json=load("revoke_success"))
    login(client, people.admin)
    assert client.hx("post", f"/connections/{conn_id}/disconnect").status_code == 200
    assert client.hx("post", f"/connections/{conn_id}/deletion").status_code == 200
    result = run_job(app, "purge", now=datetime.now(timezone.utc) + timedelta(minutes=1))
    assert result.counts["connections_purged"] == 1
    assert_nothing_references(conn_id, ["e2e_canary_acct", "open-E2E-CANARY", "E2E-ACCESS", "E2E-REFRESH"])
    assert db.session.get(Report, report.id) is not None  # the workspace's report stays, without the account
    receipt = db.session.scalar(sa.select(DeletionReceipt))
    assert receipt.counts["source"] == "user_request"
    assert db.session.get(TikTokConnection, keeper.id) is not None
    html = client.get("/settings/integrations").get_data(as_text=True)
    assert "e2e_canary_acct" not in html

"""No silent job failures: a failed item is logged with its traceback and counted; every
run is recorded in `job_runs` (shared by all instances); `flask jobs status` and
/metrics show it. The start-up catch-up runs once per missed scheduled time, not once
per (recycled) worker. Webhook keys and purge receipt links live in their own tables."""
from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

import jobs
from app.extensions import db
from app.models import (AdsAccount, DeletionReceipt, JobClaim, JobRun, PurgeReceiptLink, Report, ReportDelivery,
                        WebhookDelivery)
from app.services import job_runs
from app.services import sync as sync_service
from app.workflows import sync as sync_workflow
from jobs import scheduler
from jobs.result import JobResult
from jobs.runner import run_job
from tests.conftest import Client
from tests.factories import make_connected, make_connection

TOKEN = "metrics-token-for-tests-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def app(app_factory, db_backend):
    app = app_factory(db_backend, METRICS_TOKEN=TOKEN)
    app.test_client_class = Client
    with app.app_context():
        yield app


def run_row(name: str) -> JobRun | None:
    db.session.expire_all()
    return db.session.scalar(sa.select(JobRun).where(JobRun.name == name))


def jobs_status(app) -> str:
    result = app.test_cli_runner().invoke(args=["jobs", "status"])
    assert result.exit_code == 0, result.output
    return result.output


def status_line(output: str, name: str) -> str:
    return next(line for line in output.splitlines() if line.startswith(f"{name} "))


def scrape(client) -> str:
    r = client.get("/metrics", headers=BEARER)
    assert r.status_code == 200 and r.content_type.startswith("text/plain")
    return r.get_data(as_text=True)


def break_one_sync_item(monkeypatch, *, connection_id: int, ads_id: int) -> None:
    """The sync job's per-item steps raise for one connection and one ads account (a bug,
    not a TikTok error: nothing in the job expects it); every other item syncs."""

    def sync_connection(cid, **_):
        if cid == connection_id:
            raise KeyError("profile")
        return sync_service.SyncOutcome("synced")

    def sync_ads_account(aid, **_):
        if aid == ads_id:
            raise ValueError("report row without a day")
        return sync_service.SyncOutcome("synced")

    monkeypatch.setattr(sync_workflow, "sync_connection", sync_connection)
    monkeypatch.setattr(sync_workflow, "sync_ads_account", sync_ads_account)


# ------------------------------------------------------------------ a failing item


def test_a_failing_sync_item_is_logged_with_traceback_counted_and_shown(app, client, people, monkeypatch, caplog):
    make_connected(app, people.workspace, people.admin)
    broken = make_connected(app, people.workspace, people.admin)
    ads = AdsAccount(workspace_id=people.workspace.id, advertiser_id="7000000000000000009", currency="EUR")
    db.session.add(ads)
    db.session.commit()
    break_one_sync_item(monkeypatch, connection_id=broken.id, ads_id=ads.id)
    caplog.set_level(logging.INFO, logger="jobs")

    result = run_job(app, "sync")

    assert result.counts["synced"] == 1 and result.counts["error"] == 1
    assert result.errors == [f"connection {broken.id}: KeyError: 'profile'",
                             f"ads account {ads.id}: ValueError: report row without a day"]
    assert "2 failed" in str(result)
    # The log: one error per item, each with its traceback (down to the step that raised).
    failed = [r for r in caplog.records if r.name == "jobs.sync" and r.levelno == logging.ERROR]
    assert [r.getMessage() for r in failed] == [f"job item failed job=sync item=connection {broken.id}",
                                                f"job item failed job=sync item=ads account {ads.id}"]
    assert all(r.exc_info for r in failed)
    assert "Traceback" in caplog.text and 'raise KeyError("profile")' in caplog.text
    assert 'raise ValueError("report row without a day")' in caplog.text
    # The shared record.
    run = run_row("sync")
    assert (run.runs_total, run.failures_total, run.item_errors_total) == (1, 0, 2)
    assert run.last_status == "partial" and run.last_success_at is not None
    assert run.last_error == f"connection {broken.id}: KeyError: 'profile' (and 1 more)"
    assert run.last_counts == {"synced": 1, "error": 1}
    # `flask jobs status` shows it.
    out = jobs_status(app)
    line = status_line(out, "sync")
    assert "partial" in line and re.search(r" 1 +0 +2  ", line), line  # runs, failed, item errors
    assert "KeyError: 'profile' (and 1 more)" in out
    # /metrics counts it.
    text = scrape(client)
    assert 'logic_target_job_item_errors_total{job="sync"} 2.0' in text
    assert 'logic_target_job_runs_total{job="sync"} 1.0' in text
    assert 'logic_target_job_failures_total{job="sync"} 0.0' in text


def test_item_errors_add_up_across_runs_and_instances(app, people, monkeypatch):
    broken = make_connected(app, people.workspace, people.admin)
    ads = AdsAccount(workspace_id=people.workspace.id, advertiser_id="7000000000000000010", currency="EUR")
    db.session.add(ads)
    db.session.commit()
    break_one_sync_item(monkeypatch, connection_id=broken.id, ads_id=ads.id)
    run_job(app, "sync")
    other_instance = app  # a second process writes the same row: the counts are added in SQL, not overwritten
    run_job(other_instance, "sync", now=datetime.now(timezone.utc) + timedelta(hours=1))
    run = run_row("sync")
    assert run.runs_total == 2 and run.item_errors_total == 4


def test_a_job_that_raises_is_recorded_without_secrets_and_shown(app, client, monkeypatch):
    jobs.load_all()

    def boom(**_):
        raise RuntimeError("upstream said access_token=act.SECRET-VALUE\nsecond line")

    monkeypatch.setitem(jobs.REGISTRY, "purge", boom)
    with pytest.raises(RuntimeError):
        run_job(app, "purge")
    run = run_row("purge")
    assert (run.runs_total, run.failures_total, run.last_status) == (1, 1, "failed")
    assert run.last_success_at is None and run.last_finished_at is not None
    assert run.last_error.startswith("RuntimeError: upstream said access_token=")
    assert "SECRET-VALUE" not in run.last_error and "second line" not in run.last_error
    out = jobs_status(app)
    assert "failed" in status_line(out, "purge") and "RuntimeError" in out and "SECRET-VALUE" not in out
    assert 'logic_target_job_failures_total{job="purge"} 1.0' in scrape(client)


def test_status_lists_jobs_that_never_ran(app):
    out = jobs_status(app)
    for name in jobs.REGISTRY:
        assert "never" in status_line(out, name)


def test_result_prints_its_errors_bounded():
    result = JobResult("sync")
    result.add("synced", 3)
    for i in range(5):
        try:
            raise TimeoutError(f"slow {i}")
        except TimeoutError as e:
            result.item_failed(f"connection {i}", e)
    text = str(result)
    assert text.startswith("sync: synced=3; 5 failed: connection 0: TimeoutError: slow 0")
    assert "connection 2" in text and "connection 3" not in text and text.endswith("and 2 more")


# ------------------------------------------------------------------------ /metrics


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong-token-of-some-length-000000"},
                                     {"Authorization": f"Basic {TOKEN}"}, {"Authorization": TOKEN},
                                     {"Authorization": "Bearer "}])
def test_metrics_without_the_token_is_404(client, headers):
    r = client.get("/metrics", headers=headers)
    assert r.status_code == 404 and "logic_target" not in r.get_data(as_text=True)
    assert client.get(f"/metrics?token={TOKEN}").status_code == 404


def test_metrics_do_not_exist_without_metrics_token(app_factory, db_backend):
    app = app_factory(db_backend)
    assert app.config["METRICS_TOKEN"] is None
    assert app.test_client().get("/metrics", headers=BEARER).status_code == 404


def test_a_guessable_metrics_token_is_refused_at_start(app_factory):
    from config import ConfigError

    with pytest.raises(ConfigError, match="METRICS_TOKEN"):
        app_factory(METRICS_TOKEN="letmein")


def test_metrics_show_sync_lag_by_status_and_mail_outcomes(app, client, people):
    now = datetime.now(timezone.utc)
    make_connection(people.workspace, people.admin, last_synced_at=now - timedelta(minutes=10))
    make_connection(people.workspace, people.admin, last_synced_at=now - timedelta(hours=5))
    make_connection(people.workspace, people.admin, status="needs_reconnect",
                    last_synced_at=now - timedelta(days=2))
    report = Report(workspace_id=people.workspace.id, iso_week="2026-W21", week_start=datetime(2026, 5, 18).date(),
                    week_end=datetime(2026, 5, 24).date(), figures={})
    db.session.add(report)
    db.session.flush()
    for i, status in enumerate(["sent", "sent", "failed", "pending"]):
        db.session.add(ReportDelivery(report_id=report.id, recipient_email=f"r{i}@example.com", status=status))
    db.session.commit()
    text = scrape(client)
    values = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
              for line in text.splitlines() if line and not line.startswith("#")}
    assert values['logic_target_connections{status="active"}'] == 2
    assert values['logic_target_connections{status="needs_reconnect"}'] == 1
    assert values['logic_target_connections{status="disconnected"}'] == 0
    assert 5 * 3600 <= values['logic_target_sync_lag_seconds_max{status="active"}'] < 5 * 3600 + 120
    assert values['logic_target_sync_lag_seconds_max{status="needs_reconnect"}'] >= 2 * 86400
    assert values['logic_target_report_deliveries{status="sent"}'] == 2
    assert values['logic_target_report_deliveries{status="failed"}'] == 1
    assert values['logic_target_report_deliveries{status="pending"}'] == 1
    assert values['logic_target_report_deliveries{status="sending"}'] == 0


def test_metrics_show_job_times_and_lag(app, client):
    run_job(app, "purge")
    text = scrape(client)
    assert 'logic_target_job_last_success_timestamp_seconds{job="purge"}' in text
    assert 'logic_target_job_lag_seconds{job="purge"} 0.0' in text
    assert 'job="sync"' not in text  # never ran: no made-up figures


# ------------------------------------------------------------- schedule arithmetic

MON_0900 = datetime(2026, 6, 1, 9, 0, tzinfo=timezone.utc)  # a Monday


@pytest.mark.parametrize("name, now, expected", [
    ("weekly-reports", MON_0900 + timedelta(days=1, hours=1, minutes=20), MON_0900 + timedelta(days=1, hours=1)),
    ("weekly-reports", MON_0900, MON_0900),
    ("weekly-reports", MON_0900 - timedelta(minutes=1), MON_0900 - timedelta(hours=1)),
    ("purge", MON_0900 - timedelta(hours=7), datetime(2026, 5, 31, 3, 0, tzinfo=timezone.utc)),
    ("purge", MON_0900, datetime(2026, 6, 1, 3, 0, tzinfo=timezone.utc)),
    ("sync", MON_0900, None),
])
def test_previous_fire_time(name, now, expected):
    assert scheduler.previous_fire_time(name, now) == expected


def test_lag_against_the_schedule():
    now = MON_0900 + timedelta(days=1)
    assert scheduler.lag("sync", now - timedelta(minutes=20), now) == timedelta(minutes=5)
    assert scheduler.lag("sync", now - timedelta(minutes=10), now) == timedelta(0)
    assert scheduler.lag("sync", None, now) is None
    later = now + timedelta(minutes=30)  # hourly, on the hour: due since 09:00
    assert scheduler.lag("weekly-reports", now + timedelta(minutes=2), later) == timedelta(0)
    assert scheduler.lag("weekly-reports", now - timedelta(minutes=30), later) == timedelta(minutes=30)


# --------------------------------------------------------------------- catch-up


def test_restarted_workers_catch_up_once(app):
    """gunicorn recycles a worker (max_requests): the new one starts its scheduler again.
    Only the first start's catch-up runs the job."""
    for _ in range(2):
        sched = scheduler.start_scheduler(app)
        try:
            assert {"weekly-reports-catch-up", "purge-catch-up"} <= {j.id for j in sched.get_jobs()}
            job = sched.get_job("purge-catch-up")
            job.func(*job.args)  # what the scheduler runs CATCH_UP_DELAY after the start
        finally:
            sched.shutdown(wait=False)
            app.extensions.pop("scheduler", None)
    run = run_row("purge")
    assert run.runs_total == 1 and run.last_catch_up_at is not None


def test_catch_up_runs_when_the_scheduled_time_was_missed(app):
    now = datetime.now(timezone.utc)
    due = scheduler.previous_fire_time("purge", now)
    db.session.add(JobRun(name="purge", last_success_at=due - timedelta(minutes=5), last_status="ok", runs_total=1))
    db.session.commit()
    assert scheduler.catch_up(app, "purge") is not None  # down across 03:00: caught up
    assert scheduler.catch_up(app, "purge") is None  # a second worker, or a recycled one
    assert run_row("purge").runs_total == 2


def test_no_catch_up_after_a_run_that_succeeded_on_time(app):
    run_job(app, "purge")
    assert scheduler.catch_up(app, "purge") is None
    assert run_row("purge").runs_total == 1


def test_a_failed_catch_up_is_not_repeated_by_every_worker(app, monkeypatch):
    jobs.load_all()
    calls = []

    def boom(**_):
        calls.append(1)
        raise RuntimeError("broken")

    monkeypatch.setitem(jobs.REGISTRY, "purge", boom)
    with pytest.raises(RuntimeError):
        scheduler.catch_up(app, "purge")
    assert scheduler.catch_up(app, "purge") is None
    assert len(calls) == 1 and run_row("purge").failures_total == 1


def test_claim_catch_up_is_one_winner(app):
    due = datetime.now(timezone.utc) - timedelta(hours=1)
    now = datetime.now(timezone.utc)
    assert [job_runs.claim_catch_up("purge", due_since=due, now=now) for _ in range(3)] == [True, False, False]


# ----------------------------------------------------------------- own tables


def test_webhook_keys_are_forgotten_after_the_retry_window(app):
    now = datetime.now(timezone.utc)
    db.session.add_all([WebhookDelivery(key="a" * 64, received_at=now - timedelta(days=8)),
                        WebhookDelivery(key="b" * 64, received_at=now - timedelta(days=1))])
    db.session.commit()
    result = run_job(app, "purge")
    assert result.counts["webhook_keys_forgotten"] == 1
    db.session.expire_all()
    assert list(db.session.scalars(sa.select(WebhookDelivery.key))) == ["b" * 64]


def test_upgrade_moves_webhook_keys_and_receipt_links_out_of_job_claims(app):
    db.session.remove()
    db.drop_all()
    with db.engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
    upgrade(revision="0005")
    from app.services import accounts

    now = datetime.now(timezone.utc).replace(microsecond=0)
    ws = accounts.get_or_create_workspace("Before the upgrade")
    db.session.flush()
    # The connection as revision 0005's table holds it (today's model has later columns).
    then = sa.Table("tiktok_connections", sa.MetaData(), autoload_with=db.session.connection())
    conn = SimpleNamespace(id=db.session.execute(then.insert().values(
        workspace_id=ws.id, open_id="open-before", username="before", display_name="Before", status="disconnected",
        granted_scopes="user.info.basic", connected_at=now, refresh_failures=0, revoke_pending=False,
        revoke_attempts=0)).inserted_primary_key[0])
    receipt = DeletionReceipt(reference="f" * 24, counts={"complete": False}, completed_at=now)
    db.session.add(receipt)
    db.session.add_all([
        JobClaim(job="tiktok-webhook", key="c" * 64, owner="processed", claimed_at=now, expires_at=now),
        JobClaim(job="purge-receipt", key=f"connection:{conn.id}", owner=receipt.reference, claimed_at=now,
                 expires_at=now + timedelta(days=3650)),
        JobClaim(job="purge-receipt", key="connection:999999", owner="gone", claimed_at=now, expires_at=now),
        JobClaim(job="sync", key="connection:1", owner="someone", claimed_at=now, expires_at=now),
    ])
    db.session.commit()
    conn_id, receipt_id = conn.id, receipt.id
    db.session.remove()

    upgrade()
    assert [(d.key, d.received_at) for d in db.session.scalars(sa.select(WebhookDelivery))] == [("c" * 64, now)]
    assert [(link.connection_id, link.receipt_id) for link in db.session.scalars(sa.select(PurgeReceiptLink))] \
        == [(conn_id, receipt_id)]
    assert list(db.session.scalars(sa.select(JobClaim.job))) == ["sync"]
    db.session.remove()

    downgrade(revision="0005")
    claims = db.session.execute(sa.text("SELECT job, key, owner FROM job_claims ORDER BY job, key")).all()
    assert [tuple(c) for c in claims] == [("purge-receipt", f"connection:{conn_id}", "f" * 24),
                                          ("sync", "connection:1", "someone"),
                                          ("tiktok-webhook", "c" * 64, "processed")]
    db.session.remove()
    upgrade()

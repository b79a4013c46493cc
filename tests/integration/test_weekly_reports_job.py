"""The weekly-reports job against a real SMTP server (aiosmtpd): one message per
recipient however often it runs, crashes or meets SMTP failures; retries with
backoff; the CLI; and two instances on PostgreSQL at once."""
from __future__ import annotations

import threading
from datetime import date, datetime, timedelta, timezone
from email.header import decode_header, make_header

import pytest
import sqlalchemy as sa
import time_machine
from flask import template_rendered

from app.extensions import db
from app.models import Report, ReportDelivery, ReportSettings, TikTokConnection
from app.services import accounts, report_delivery
from jobs.runner import run_job
from tests.conftest import Client, login
from tests.factories import make_connection
from tests.report_data import NOW, WEEK, add_post, seed_brass


@pytest.fixture
def app(app_factory, db_backend, smtp_server):
    """The suite's app, sending through the test's SMTP server."""
    app = app_factory(db_backend, **smtp_server.config)
    app.test_client_class = Client
    with app.app_context():
        yield app


def received(smtp_server) -> list[str]:
    return sorted(m["To"] for m in smtp_server.messages)


def deliveries() -> dict[str, ReportDelivery]:
    db.session.expire_all()
    return {d.recipient_email: d for d in db.session.scalars(sa.select(ReportDelivery))}


def text_and_html(msg) -> tuple[str, str]:
    parts = {p.get_content_type(): p.get_payload(decode=True).decode() for p in msg.walk() if not p.is_multipart()}
    return parts["text/plain"], parts["text/html"]


def test_one_run_mails_each_recipient_once_with_the_metrics_figures(app, people, smtp_server):
    seed_brass(people)
    result = run_job(app, "weekly-reports", now=NOW)
    assert result.counts["reports_built"] == 1
    assert result.counts["workspaces_without_accounts"] == 1  # Other Client: nothing to report
    assert result.counts["emails_sent"] == 2
    # Its admin and the creator with posts that week (not creator2: no post that week).
    assert received(smtp_server) == ["admin@example.com", "creator@example.com"]
    report = db.session.scalar(sa.select(Report).where(Report.workspace_id == people.workspace.id))
    assert report.iso_week == WEEK
    msg = next(m for m in smtp_server.messages if m["To"] == "creator@example.com")
    assert str(make_header(decode_header(msg["Subject"]))) == \
        "Brass Studio · TikTok weekly report · Week 21 · May 18 – May 24, 2026"
    assert msg["Message-ID"] == report_delivery.message_id(report, "creator@example.com")
    assert msg["Message-ID"].startswith(f"<report-{report.id}-") and msg["Message-ID"].endswith("@logic-target>")
    text, html = text_and_html(msg)
    f = report.figures
    for body in (text, html):
        assert "Week 21 · May 18 – May 24, 2026" in body
        assert "4,200" in body and f["organic"]["views"] == 4200  # = metrics.views (test_reports.py)
        assert "+84" in body and "2.50 EUR" in body and "@brassorbit3" in body
        assert f"{app.config['APP_BASE_URL']}/reports/{WEEK}?workspace={people.workspace.id}" in body
        assert "Source: TikTok API for Business · Generated May 25, 2026 09:00 UTC" in body
    assert "<h1 style=" in html and "<style" not in html  # CSS inlined by css-inline
    sent = deliveries()["creator@example.com"]
    assert sent.status == "sent" and sent.sent_at == NOW and sent.message_id == msg["Message-ID"]


def test_the_email_holds_no_comment_text_or_per_viewer_data(app, people, smtp_server):
    seed_brass(people)
    run_job(app, "weekly-reports", now=NOW)
    text, html = text_and_html(smtp_server.messages[0])
    for body in (text.lower(), html.lower()):
        assert "comment" not in body  # only counts feed the engagement rate; no text, no commenters
        assert "viewer" not in body and "open_id" not in body and "open-" not in body


def test_a_second_run_sends_nothing(app, people, smtp_server):
    seed_brass(people)
    run_job(app, "weekly-reports", now=NOW)
    again = run_job(app, "weekly-reports", now=NOW + timedelta(minutes=30))
    retries = run_job(app, "report-retries", now=NOW + timedelta(hours=2))
    assert "emails_sent" not in again.counts and "emails_sent" not in retries.counts
    assert "reports_built" not in again.counts  # figures are frozen once mailed
    assert len(smtp_server.messages) == 2
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReportDelivery)) == 2


def test_a_crash_after_the_first_send_resends_nothing_and_the_rerun_sends_the_rest(app, people, smtp_server):
    seed_brass(people)

    def crash(delivery):
        raise RuntimeError("instance killed")

    with pytest.raises(RuntimeError):
        run_job(app, "weekly-reports", now=NOW, after_send=crash)
    assert len(smtp_server.messages) == 1
    states = {d.status for d in deliveries().values()}
    assert states == {"sent", "pending"}  # every row was written before the first send
    run_job(app, "weekly-reports", now=NOW + timedelta(minutes=1))
    assert received(smtp_server) == ["admin@example.com", "creator@example.com"]


def test_a_row_claimed_by_a_live_instance_waits_for_its_lease(app, people, smtp_server):
    """An instance that died between SMTP's 250 and its commit leaves the row "sending":
    nobody touches it while the claim lasts; after it, it is sent again with the same
    Message-ID (the documented at-least-once window)."""
    seed_brass(people)
    run_job(app, "weekly-reports", now=NOW, limit=0)  # build and queue only
    row = deliveries()["admin@example.com"]
    row.status, row.claimed_until = "sending", NOW + report_delivery.CLAIM_TTL
    db.session.commit()
    run_job(app, "report-retries", now=NOW + timedelta(minutes=1))
    assert "admin@example.com" not in received(smtp_server)
    run_job(app, "report-retries", now=NOW + report_delivery.CLAIM_TTL)
    assert received(smtp_server).count("admin@example.com") == 1
    admin_msg = next(m for m in smtp_server.messages if m["To"] == "admin@example.com")
    assert admin_msg["Message-ID"] == deliveries()["admin@example.com"].message_id


def test_a_temporary_smtp_failure_is_retried_after_backoff_and_sent_once(app, people, smtp_server):
    seed_brass(people)
    smtp_server.fail_next_data = 1  # the first message (admin@example.com) gets 451
    result = run_job(app, "weekly-reports", now=NOW)
    assert result.counts["emails_retry"] == 1 and result.counts["emails_sent"] == 1
    row = deliveries()["admin@example.com"]
    assert row.status == "pending" and row.attempts == 1 and "451" in row.last_error
    assert row.next_attempt_at == NOW + timedelta(minutes=5)
    assert run_job(app, "report-retries", now=NOW + timedelta(minutes=4)).counts.get("emails_sent") is None
    assert run_job(app, "report-retries", now=NOW + timedelta(minutes=5)).counts["emails_sent"] == 1
    run_job(app, "report-retries", now=NOW + timedelta(hours=1))
    assert received(smtp_server) == ["admin@example.com", "creator@example.com"]
    row = deliveries()["admin@example.com"]
    assert row.status == "sent" and row.attempts == 2 and row.last_error is None


def test_a_recipient_that_keeps_failing_backs_off_and_is_given_up(app, people, smtp_server):
    accounts.create_user("busy-admin@example.com", role="client_admin", workspace=people.workspace,
                         password="long enough pw")
    seed_brass(people)
    now = NOW
    run_job(app, "weekly-reports", now=now)
    waits = []
    while deliveries()["busy-admin@example.com"].status == "pending":
        row = deliveries()["busy-admin@example.com"]
        waits.append(row.next_attempt_at - now)
        now = row.next_attempt_at
        run_job(app, "report-retries", now=now)
    assert waits == [timedelta(minutes=m) for m in (5, 10, 20, 40, 80, 160, 320, 360, 360)]  # capped at 6 h
    row = deliveries()["busy-admin@example.com"]
    assert row.status == "failed" and row.attempts == report_delivery.MAX_ATTEMPTS and "Gave up" in row.last_error
    assert "busy-admin@example.com" not in received(smtp_server)


def test_a_refused_recipient_fails_at_once_and_shows_in_the_delivery_log(app, people, smtp_server):
    accounts.create_user("refuse-admin@example.com", role="client_admin", workspace=people.workspace,
                         password="long enough pw")
    seed_brass(people)
    result = run_job(app, "weekly-reports", now=NOW)
    assert result.counts["emails_failed"] == 1
    row = deliveries()["refuse-admin@example.com"]
    assert row.status == "failed" and row.attempts == 1 and "550" in row.last_error
    assert received(smtp_server) == ["admin@example.com", "creator@example.com"]
    run_job(app, "report-retries", now=NOW + timedelta(days=1))
    assert deliveries()["refuse-admin@example.com"].attempts == 1  # permanent: never retried

    client = app.test_client()
    login(client, people.admin)
    html = client.get(f"/reports/{WEEK}").get_data(as_text=True)
    assert "refuse-admin@example.com" in html and "recipient refused ([550])" in html and "failed" in html


def test_recipients_are_checked_again_at_send_time(app, people, smtp_server):
    seed_brass(people)
    run_job(app, "weekly-reports", now=NOW, limit=0)  # queued, not sent
    accounts.remove_member(people.creator, people.workspace)
    db.session.commit()
    run_job(app, "report-retries", now=NOW + timedelta(minutes=1))
    assert received(smtp_server) == ["admin@example.com"]
    row = deliveries()["creator@example.com"]
    assert row.status == "failed" and row.last_error.startswith("Not sent: no longer a recipient")


def test_an_account_disconnected_before_sending_is_left_out_of_the_email(app, people, smtp_server):
    conn, _ = seed_brass(people)
    run_job(app, "weekly-reports", now=NOW, limit=0)
    conn.status = "disconnected"
    db.session.commit()
    result = run_job(app, "report-retries", now=NOW + timedelta(minutes=1))
    assert result.counts["emails_rebuilt"] == 1
    text, _ = text_and_html(next(m for m in smtp_server.messages if m["To"] == "admin@example.com"))
    assert "@brassorbit3" not in text
    assert "creator@example.com" not in received(smtp_server)  # no post of theirs in it any more


def test_the_email_is_rendered_once_per_report_and_addressed_to_each_recipient(app, people, smtp_server):
    for i in range(5):
        accounts.create_user(f"admin{i}@example.com", role="client_admin", workspace=people.workspace,
                             password="long enough pw")
    seed_brass(people)
    rendered = []

    def record(sender, template, context, **extra):
        rendered.append(template.name)

    with template_rendered.connected_to(record, app):
        result = run_job(app, "weekly-reports", now=NOW)
    assert result.counts["emails_sent"] == 7 and len(smtp_server.messages) == 7
    assert sorted(rendered) == ["email/weekly_report.html", "email/weekly_report.txt"]
    assert len({m["Message-ID"] for m in smtp_server.messages}) == 7  # one per recipient all the same


def test_a_report_rebuilt_during_a_run_is_rendered_again_for_the_rest(app, people, smtp_server):
    """Once an account is disconnected, no later email of that run shows its figures,
    even though the report's email was already rendered for an earlier recipient."""
    accounts.create_user("zz-admin@example.com", role="client_admin", workspace=people.workspace,
                         password="long enough pw")
    conn_id = seed_brass(people)[0].id

    def disconnect_after_the_first(delivery):  # runs in the job's app context and session
        conn = db.session.get(TikTokConnection, conn_id)
        if conn.status != "disconnected":
            conn.status = "disconnected"
            db.session.commit()

    result = run_job(app, "weekly-reports", now=NOW, after_send=disconnect_after_the_first)
    assert result.counts["emails_rebuilt"] == 1 and result.counts["emails_skipped"] == 1  # creator: no post left
    assert received(smtp_server) == ["admin@example.com", "zz-admin@example.com"]
    first, last = (text_and_html(next(m for m in smtp_server.messages if m["To"] == to))[0]
                   for to in ("admin@example.com", "zz-admin@example.com"))
    assert "@brassorbit3" in first and "@brassorbit3" not in last


def test_each_workspace_gets_the_week_just_ended_at_its_own_local_morning_once(app, people, smtp_server):
    """The job runs every hour across a Monday: Tokyo's admin gets week 21 at 09:00 in
    Tokyo (00:00 UTC), Honolulu's at 09:00 in Honolulu (19:00 UTC), each exactly once,
    and nobody gets the week before."""
    people.workspace.timezone = "Asia/Tokyo"
    people.other_workspace.timezone = "Pacific/Honolulu"
    for ws in (people.workspace, people.other_workspace):
        make_connection(ws, None)
    db.session.commit()
    sent_at: dict[str, list[datetime]] = {}
    start = datetime(2026, 5, 24, 18, 0, tzinfo=timezone.utc)  # Sunday; already Monday 03:00 in Tokyo
    for hour in range(31):  # until Tuesday 00:00 UTC
        moment = start + timedelta(hours=hour)
        before = len(smtp_server.messages)
        with time_machine.travel(moment, tick=False):
            run_job(app, "weekly-reports")  # the job's clock is the (travelled) real one
        for msg in smtp_server.messages[before:]:
            sent_at.setdefault(msg["To"], []).append(moment)
    tokyo_09 = datetime(2026, 5, 25, 0, 0, tzinfo=timezone.utc)
    honolulu_09 = datetime(2026, 5, 25, 19, 0, tzinfo=timezone.utc)
    assert sent_at == {"admin@example.com": [tokyo_09], "outsider@example.com": [honolulu_09]}
    weeks = dict(db.session.execute(sa.select(Report.workspace_id, Report.period_key)).all())
    assert weeks == {people.workspace.id: "2026-W21", people.other_workspace.id: "2026-W21"}
    for msg in smtp_server.messages:
        assert "Week 21 · May 18 – May 24, 2026" in str(make_header(decode_header(msg["Subject"])))
    assert {d.sent_at for d in deliveries().values()} == {tokyo_09, honolulu_09}


def test_a_workspace_that_chose_tuesday_15h_gets_its_week_then(app, people, smtp_server):
    people.workspace.timezone = "America/Los_Angeles"
    make_connection(people.workspace, None)
    db.session.add(ReportSettings(workspace_id=people.workspace.id, delivery_weekday=1, delivery_hour=15))
    db.session.commit()
    tuesday_15_la = datetime(2026, 5, 26, 22, 0, tzinfo=timezone.utc)
    assert run_job(app, "weekly-reports", now=tuesday_15_la - timedelta(hours=1)).counts.get("reports_built") is None
    assert run_job(app, "weekly-reports", now=tuesday_15_la).counts["emails_sent"] == 1
    assert run_job(app, "weekly-reports", now=tuesday_15_la + timedelta(hours=1)).counts["already_queued"] == 1
    assert received(smtp_server) == ["admin@example.com"]
    assert db.session.scalar(sa.select(Report.period_key)) == "2026-W21"


def test_a_monthly_workspace_gets_the_calendar_month_on_the_first_at_its_hour(app, people, smtp_server):
    seed_brass(people)  # Europe/London
    db.session.add(ReportSettings(workspace_id=people.workspace.id, cadence="both"))
    db.session.commit()
    first_09_london = datetime(2026, 6, 1, 8, 0, tzinfo=timezone.utc)  # a Monday: both are due
    assert "reports_built" not in run_job(app, "weekly-reports", now=first_09_london - timedelta(hours=1)).counts
    result = run_job(app, "weekly-reports", now=first_09_london)
    assert result.counts["reports_built"] == 2
    reports = {r.period_key: r for r in db.session.scalars(sa.select(Report))}
    assert set(reports) == {"2026-W22", "2026-05"}
    may = reports["2026-05"]
    assert may.kind == "monthly" and (may.period_start, may.period_end) == (date(2026, 5, 1), date(2026, 5, 31))
    assert may.figures["label"] == "May 2026" and may.figures["organic"]["posts_published"] == 10
    subjects = sorted(str(make_header(decode_header(m["Subject"]))) for m in smtp_server.messages
                      if m["To"] == "admin@example.com")
    assert subjects == ["Brass Studio · TikTok monthly report · May 2026",
                        "Brass Studio · TikTok weekly report · Week 22 · May 25 – May 31, 2026"]
    text, html = text_and_html(next(m for m in smtp_server.messages if "monthly" in m["Subject"]
                                    and m["To"] == "admin@example.com"))
    assert "Posts published: 10 (behind cadence (10 of 14)" in text  # 3 a week over 31 days, rounded up
    # The seeded data ends May 24: no change against April is given, and the email says why.
    assert may.figures["comparison"]["views_change"] is None
    assert "Some days of this month have no views figures, so a change would mislead." in html
    assert "No post with views was published in April 2026." in html


def test_cli_builds_the_given_week(app, people, smtp_server):
    seed_brass(people)
    result = app.test_cli_runner().invoke(args=["jobs", "run", "weekly-reports", "--week", WEEK])
    assert result.exit_code == 0, result.output
    assert "reports_built=1" in result.output
    report = db.session.scalar(sa.select(Report).where(Report.workspace_id == people.workspace.id))
    assert report.iso_week == WEEK and report.figures["organic"]["posts_published"] == 7


def test_cli_builds_and_sends_a_given_month(app, people, smtp_server):
    seed_brass(people)
    result = app.test_cli_runner().invoke(args=["jobs", "run", "weekly-reports", "--week", "2026-05"])
    assert result.exit_code == 0, result.output
    report = db.session.scalar(sa.select(Report).where(Report.workspace_id == people.workspace.id))
    assert (report.kind, report.period_key, report.figures["organic"]["posts_published"]) == ("monthly", "2026-05", 10)
    assert received(smtp_server) == ["admin@example.com", "creator@example.com"]


def test_cli_refuses_a_malformed_week_with_a_clear_message(app, people, smtp_server):
    result = app.test_cli_runner().invoke(args=["jobs", "run", "weekly-reports", "--week", "2026-W99"])
    assert result.exit_code != 0
    assert "“2026-W99” is not an ISO week (use YYYY-Www, e.g. 2026-W21)" in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Report)) == 0


def test_two_instances_at_once_on_postgresql_send_each_email_once(app_factory, smtp_server):
    apps = [app_factory("postgresql", **smtp_server.config) for _ in range(2)]
    with apps[0].app_context():
        ws = accounts.get_or_create_workspace("Brass Studio", timezone="Europe/London")
        for i in range(12):
            accounts.create_user(f"admin{i:02d}@example.com", role="client_admin", workspace=ws,
                                 password="long enough pw")
        make_connection(ws, None)
        db.session.commit()
    barrier = threading.Barrier(2)
    results, errors = [], []

    def run(app):
        try:
            barrier.wait(5)
            results.append(run_job(app, "weekly-reports", now=NOW))
        except Exception as e:  # surfaced below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(a,)) for a in apps]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert received(smtp_server) == [f"admin{i:02d}@example.com" for i in range(12)]
    assert sum(r.counts.get("emails_sent", 0) for r in results) == 12
    with apps[0].app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Report)) == 1
        assert set(db.session.scalars(sa.select(ReportDelivery.status))) == {"sent"}


def _two_creators_with_posts(people):
    conn, conn2 = seed_brass(people)
    add_post(conn2, "moon-w21", datetime(2026, 5, 20, 12, tzinfo=timezone.utc), views=5000, caption="moon post")
    db.session.commit()


def _body(smtp_server, to: str) -> str:
    text, _ = text_and_html(next(m for m in smtp_server.messages if m["To"] == to))
    return text.split("Unsubscribe (", 1)[0]  # the rest is the recipient's own link


def test_with_the_creator_cut_each_creator_is_mailed_only_their_accounts_and_admins_everything(
        app, people, smtp_server):
    _two_creators_with_posts(people)
    db.session.add(ReportSettings(workspace_id=people.workspace.id, creator_cut=True))
    db.session.commit()
    rendered = []

    def record(sender, template, context, **extra):
        rendered.append(template.name)

    with template_rendered.connected_to(record, app):
        assert run_job(app, "weekly-reports", now=NOW).counts["emails_sent"] == 3
    admin, creator, creator2 = (_body(smtp_server, to) for to in
                                ("admin@example.com", "creator@example.com", "creator2@example.com"))
    assert "@brassorbit3" in admin and "@moontideco2" in admin and "moon post" in admin
    assert "Post number 6" in creator and "moon post" not in creator and "@moontideco2" not in creator
    assert "moon post" in creator2 and "@brassorbit3" not in creator2 and "Post number" not in creator2
    # Rendered once per cut (the whole workspace, and each creator's), not once per recipient.
    assert rendered.count("email/weekly_report.txt") == 3


def test_by_default_creators_and_admins_are_mailed_the_same_report(app, people, smtp_server):
    _two_creators_with_posts(people)
    assert run_job(app, "weekly-reports", now=NOW).counts["emails_sent"] == 3
    admin, creator, creator2 = (_body(smtp_server, to) for to in
                                ("admin@example.com", "creator@example.com", "creator2@example.com"))
    assert admin == creator == creator2
    assert "@brassorbit3" in creator2 and "moon post" in creator

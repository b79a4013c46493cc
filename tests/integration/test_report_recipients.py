"""Who receives the weekly report beyond the default rule, one-click unsubscribe
(RFC 8058), and approval before sending, against a real SMTP server (aiosmtpd): the
settings page, the unsubscribe link, "Approve and send" and the jobs together."""
from __future__ import annotations

from datetime import timedelta
from email.header import decode_header, make_header
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
import time_machine
from markupsafe import escape

from app.extensions import db
from app.models import (AuditEvent, Report, ReportDelivery, ReportExternalRecipient, ReportSettings,
                        ReportUnsubscribe)
from app.services import report_delivery, report_recipients
from jobs.runner import run_job
from tests.conftest import Client, login
from tests.factories import make_connection
from tests.report_data import NOW, WEEK, seed_brass

NEXT_MONDAY = NOW + timedelta(days=7)


@pytest.fixture
def app(app_factory, db_backend, smtp_server):
    app = app_factory(db_backend, **smtp_server.config)
    app.test_client_class = Client
    with app.app_context():
        yield app


def received(smtp_server) -> list[str]:
    return sorted(m["To"] for m in smtp_server.messages)


def events(name: str) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.event == name).order_by(AuditEvent.id)))


def bodies(msg) -> tuple[str, str]:
    parts = {p.get_content_type(): p.get_payload(decode=True).decode().replace("\r\n", "\n")
             for p in msg.walk() if not p.is_multipart()}
    return parts["text/plain"], parts["text/html"]


def to(smtp_server, address: str):
    return next(m for m in smtp_server.messages if m["To"] == address)


def report_of(ws) -> Report:
    db.session.expire_all()
    return db.session.scalar(sa.select(Report).where(Report.workspace_id == ws.id, Report.iso_week == WEEK))


def require_approval(ws, hours: int = 48) -> None:
    db.session.add(ReportSettings(workspace_id=ws.id, approval_required=True, approval_window_hours=hours))
    db.session.commit()


def at(moment):
    """Requests see `moment` as now (the jobs are given theirs)."""
    return time_machine.travel(moment, tick=False)


def add_external(ws, email: str) -> None:
    db.session.add(ReportExternalRecipient(workspace_id=ws.id, email=email))
    db.session.commit()


# ------------------------------------------------------------------ approval before sending


def test_with_approval_on_nobody_is_emailed_until_an_agency_user_approves_then_each_once(
        app, people, smtp_server):
    seed_brass(people)
    require_approval(people.workspace)
    add_external(people.workspace, "boss@client.example")
    result = run_job(app, "weekly-reports", now=NOW)
    assert result.counts["reports_built"] == 1 and result.counts["reports_waiting_for_approval"] == 1
    assert smtp_server.messages == [] and db.session.scalar(sa.select(sa.func.count(ReportDelivery.id))) == 0
    run_job(app, "weekly-reports", now=NOW + timedelta(minutes=30))
    run_job(app, "report-retries", now=NOW + timedelta(hours=1))
    assert smtp_server.messages == []
    report = report_of(people.workspace)
    assert report_delivery.delivery_state(report, now=NOW) == "waiting_for_approval"
    assert report.approval_expires_at == NOW + timedelta(hours=48)

    admin, agency = app.test_client(), app.test_client()
    with at(NOW + timedelta(hours=1)):
        login(admin, people.admin)
        page = admin.get(f"/reports/{WEEK}").get_data(as_text=True)
        assert "Ready for review" in page and "Approve and send" not in page  # the client waits for the agency
        assert admin.post_form(f"/reports/{WEEK}/approve?workspace={people.workspace.id}").status_code == 403

        login(agency, people.agency)
        page = agency.get(f"/reports/{WEEK}?workspace={people.workspace.id}").get_data(as_text=True)
        assert "Ready for review" in page and "Approve and send" in page
        r = agency.post_form(f"/reports/{WEEK}/approve?workspace={people.workspace.id}",
                             {"note": "Great week — the Friday posts did it.\nMore next week."})
        assert r.status_code == 303
        # A second click (or a second agency user at once) changes nothing.
        agency.post_form(f"/reports/{WEEK}/approve?workspace={people.workspace.id}", {"note": "again"})
    report = report_of(people.workspace)
    assert report.approval_status == "approved" and report.approved_by_user_id == people.agency.id
    assert report_delivery.delivery_state(report, now=NOW) == "queued"
    assert smtp_server.messages == []  # deliveries are rows; the jobs send them
    [approved] = events("report.approved")
    assert approved.actor_user_id == people.agency.id and approved.detail["recipients"] == 3
    assert report_of(people.workspace).client_note.startswith("Great week") and len(events("report.approved")) == 1

    later = NOW + timedelta(hours=2)
    assert run_job(app, "report-retries", now=later).counts["emails_sent"] == 3
    for name, moment in (("weekly-reports", later), ("report-retries", later + timedelta(hours=1)),
                     ("weekly-reports", later + timedelta(hours=2))):
        assert "emails_sent" not in run_job(app, name, now=moment).counts
    assert received(smtp_server) == ["admin@example.com", "boss@client.example", "creator@example.com"]
    assert report_delivery.delivery_state(report_of(people.workspace), now=later) == "sent"
    text, html = bodies(to(smtp_server, "boss@client.example"))
    assert "A NOTE FROM YOUR AGENCY\nGreat week — the Friday posts did it.\nMore next week." in text
    assert "A note from your agency" in html and "Great week — the Friday posts did it." in html
    assert text.index("Great week") < text.index("ORGANIC")  # at the top
    with at(later):
        page = admin.get(f"/reports/{WEEK}").get_data(as_text=True)
    assert "A note from your agency" in page and "Great week" in page


def test_a_report_nobody_approves_in_time_is_never_sent_and_its_page_says_so(app, people, smtp_server):
    seed_brass(people)
    require_approval(people.workspace, hours=24)
    run_job(app, "weekly-reports", now=NOW)
    assert run_job(app, "report-retries", now=NOW + timedelta(hours=23)).counts.get("reports_expired") is None
    result = run_job(app, "report-retries", now=NOW + timedelta(hours=24))
    assert result.counts["reports_expired"] == 1
    [expired] = events("report.approval_expired")
    assert expired.workspace_id == people.workspace.id and expired.detail["week"] == WEEK
    assert report_delivery.delivery_state(report_of(people.workspace), now=NOW + timedelta(hours=24)) == "expired"

    agency = app.test_client()
    with at(NOW + timedelta(hours=24, minutes=5)):
        login(agency, people.agency)
        page = agency.get(f"/reports/{WEEK}?workspace={people.workspace.id}").get_data(as_text=True)
        r = agency.post_form(f"/reports/{WEEK}/approve?workspace={people.workspace.id}", follow_redirects=True)
    assert "Not sent" in page and "Nobody approved this report by" in page and "Approve and send" not in page
    assert "Nobody approved this report in time, so it was not sent." in r.get_data(as_text=True)
    run_job(app, "weekly-reports", now=NOW + timedelta(hours=25))
    run_job(app, "report-retries", now=NOW + timedelta(hours=26))
    assert smtp_server.messages == [] and db.session.scalar(sa.select(sa.func.count(ReportDelivery.id))) == 0
    assert report_of(people.workspace).approval_status == "expired"


def test_approval_is_refused_once_the_window_passed_even_before_the_job_marks_it(app, people, smtp_server):
    seed_brass(people)
    require_approval(people.workspace, hours=1)
    run_job(app, "weekly-reports", now=NOW)
    report = report_of(people.workspace)
    with pytest.raises(report_delivery.ApprovalError):
        report_delivery.approve(report, people.agency, note=None, now=NOW + timedelta(hours=1))
    assert report_delivery.delivery_state(report, now=NOW + timedelta(hours=1)) == "expired"


def test_without_approval_the_report_goes_out_as_before(app, people, smtp_server):
    seed_brass(people)
    db.session.add(ReportSettings(workspace_id=people.workspace.id, approval_required=False))
    db.session.commit()
    assert run_job(app, "weekly-reports", now=NOW).counts["emails_sent"] == 2
    assert report_delivery.delivery_state(report_of(people.workspace), now=NOW) == "sent"


# ------------------------------------------------------------------ unsubscribe


def test_every_report_email_carries_one_click_unsubscribe_headers_and_a_footer_link(app, people, smtp_server):
    seed_brass(people)
    run_job(app, "weekly-reports", now=NOW)
    base = app.config["APP_BASE_URL"].rstrip("/")
    for address in ("admin@example.com", "creator@example.com"):
        msg = to(smtp_server, address)
        url = report_delivery.unsubscribe_url(people.workspace.id, address)
        assert url.startswith(f"{base}/unsubscribe/")
        assert msg["List-Unsubscribe"] == f"<{url}>"
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        text, html = bodies(msg)
        assert url in text and f'href="{url}"' in html
        assert report_delivery.UNSUBSCRIBE_PLACEHOLDER not in text + html
    assert to(smtp_server, "admin@example.com")["List-Unsubscribe"] != to(smtp_server, "creator@example.com")[
        "List-Unsubscribe"]


def test_one_click_post_unsubscribes_that_address_from_that_workspace_only(app, people, smtp_server):
    seed_brass(people)
    make_connection(people.other_workspace, people.outsider)
    add_external(people.other_workspace, "admin@example.com")  # the same person, on another client's list
    add_external(people.workspace, "boss@client.example")
    db.session.commit()
    run_job(app, "weekly-reports", now=NOW)
    assert received(smtp_server) == ["admin@example.com", "admin@example.com", "boss@client.example",
                                     "creator@example.com", "outsider@example.com"]
    brass_id = people.workspace.id
    link = next(m for m in smtp_server.messages if m["To"] == "admin@example.com"
                and "Brass Studio" in str(make_header(decode_header(m["Subject"]))))["List-Unsubscribe"][1:-1]
    path = urlsplit(link).path

    scanner = app.test_client()  # a link scanner: GET only
    page = scanner.get(path)
    assert page.status_code == 200 and "Unsubscribe admin@example.com" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store" and page.headers["Referrer-Policy"] == "no-referrer"
    assert db.session.scalar(sa.select(sa.func.count(ReportUnsubscribe.id))) == 0

    provider = app.test_client()  # the mail provider's POST: no cookie, no CSRF token
    r = provider.post(path, data={"List-Unsubscribe": "One-Click"})
    assert r.status_code == 200 and "no longer receives Brass Studio" in r.get_data(as_text=True)
    assert provider.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200  # idempotent
    rows = db.session.scalars(sa.select(ReportUnsubscribe)).all()
    assert [(u.workspace_id, u.email) for u in rows] == [(brass_id, "admin@example.com")]
    [audited] = events("report.unsubscribed")
    assert audited.workspace_id == brass_id and audited.detail == {"email": "admin@example.com"}

    smtp_server.messages.clear()
    run_job(app, "weekly-reports", now=NEXT_MONDAY)
    # Brass Studio's W22 goes to its other recipients (the creator had no post that week);
    # the other workspace still mails admin@example.com.
    assert received(smtp_server) == ["admin@example.com", "boss@client.example", "outsider@example.com"]
    other = to(smtp_server, "admin@example.com")
    assert "Other Client" in str(make_header(decode_header(other["Subject"])))

    agency = app.test_client()
    login(agency, people.agency)
    page = agency.get(f"/settings/report-recipients?workspace={brass_id}").get_data(as_text=True)
    assert "Unsubscribed" in page and "admin@example.com" in page and "without their consent" in page


def test_a_get_never_unsubscribes_and_a_forged_token_changes_nothing(app, people, smtp_server):
    token = report_recipients.unsubscribe_token(people.workspace.id, "admin@example.com")
    client = app.test_client()
    for _ in range(3):
        assert client.get(f"/unsubscribe/{token}").status_code == 200
    assert not report_recipients.is_unsubscribed(people.workspace.id, "admin@example.com")
    ws_id, email_b64, mac = token.split(".")
    forged = [
        f"{people.other_workspace.id}.{email_b64}.{mac}",  # another workspace
        f"{ws_id}.{report_recipients.unsubscribe_token(ws_id, 'creator@example.com').split('.')[1]}.{mac}",
        f"{ws_id}.{email_b64}.{mac[:-2]}AA",
        "garbage", "1.2.3", "99999999999999999999.a.b",
    ]
    for bad in forged:
        r = client.post(f"/unsubscribe/{bad}", data={"List-Unsubscribe": "One-Click"})
        assert r.status_code == 404 and "not valid" in r.get_data(as_text=True), bad
    assert db.session.scalar(sa.select(sa.func.count(ReportUnsubscribe.id))) == 0
    assert client.post(f"/unsubscribe/{token}", data={"x": "1"}).status_code == 400


def test_the_person_can_subscribe_again_from_their_link(app, people, smtp_server):
    token = report_recipients.unsubscribe_token(people.workspace.id, "Admin@Example.com")
    client = app.test_client()
    client.post(f"/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"})
    assert report_recipients.is_unsubscribed(people.workspace.id, "admin@example.com")
    r = client.post(f"/unsubscribe/{token}", data={"action": "resubscribe"})
    assert "You are subscribed again" in r.get_data(as_text=True)
    assert not report_recipients.is_unsubscribed(people.workspace.id, "admin@example.com")
    assert len(events("report.resubscribed")) == 1


def test_an_address_that_unsubscribes_after_its_email_was_queued_is_not_sent_and_not_a_failure(
        app, people, smtp_server):
    seed_brass(people)
    run_job(app, "weekly-reports", now=NOW, limit=0)
    report_recipients.unsubscribe(people.workspace.id, "creator@example.com", now=NOW)
    db.session.commit()
    result = run_job(app, "report-retries", now=NOW + timedelta(minutes=1))
    assert result.counts["emails_skipped"] == 1 and received(smtp_server) == ["admin@example.com"]
    row = db.session.scalar(sa.select(ReportDelivery).where(ReportDelivery.recipient_email == "creator@example.com"))
    assert row.status == "failed" and row.last_error == report_delivery.UNSUBSCRIBED
    assert report_delivery.delivery_state(report_of(people.workspace), now=NOW) == "sent"


# ------------------------------------------------------------------ recipients and the settings page


def test_opted_in_agency_staff_and_added_addresses_receive_it_each_address_once(app, people, smtp_server):
    seed_brass(people)
    agency = app.test_client()
    login(agency, people.agency)
    ws_id = people.workspace.id
    page = agency.get(f"/settings/report-recipients?workspace={ws_id}").get_data(as_text=True)
    assert "Send it to me too" in page
    r = agency.hx("post", "/settings/report-recipients/agency", data={"workspace_id": ws_id, "opt_in": "on"})
    assert r.status_code == 200 and 'id="agency-recipients"' in r.get_data(as_text=True)
    assert "<html" not in r.get_data(as_text=True) and "agency@example.com" in r.get_data(as_text=True)
    assert "notify" in r.headers["HX-Trigger"]

    admin = app.test_client()
    login(admin, people.admin)
    for email in ("  Boss@Client.Example ", "ADMIN@example.com"):  # the admin's own address: not twice
        r = admin.hx("post", "/settings/report-recipients/external", data={"workspace_id": ws_id, "email": email})
        assert r.status_code == 200 and 'id="external-recipients"' in r.get_data(as_text=True)
    r = admin.hx("post", "/settings/report-recipients/external", data={"workspace_id": ws_id,
                                                                        "email": "boss@client.example"})
    assert r.status_code == 422 and "already receives" in r.get_data(as_text=True)
    r = admin.hx("post", "/settings/report-recipients/external", data={"workspace_id": ws_id, "email": "not an email"})
    assert r.status_code == 422 and "is not an email address" in r.get_data(as_text=True)
    stored = db.session.scalars(sa.select(ReportExternalRecipient.email).order_by(ReportExternalRecipient.email)).all()
    assert stored == ["admin@example.com", "boss@client.example"]

    run_job(app, "weekly-reports", now=NOW)
    assert received(smtp_server) == ["admin@example.com", "agency@example.com", "boss@client.example",
                                     "creator@example.com"]
    row = db.session.scalar(sa.select(ReportDelivery).where(ReportDelivery.recipient_email == "boss@client.example"))
    assert row.recipient_user_id is None
    assert [e.detail["email"] for e in events("report.recipient_added")] == ["boss@client.example",
                                                                             "admin@example.com"]
    assert len(events("report.agency_opted_in")) == 1

    # Removing the address and opting out: next week they get nothing.
    ext = db.session.scalar(sa.select(ReportExternalRecipient)
                            .where(ReportExternalRecipient.email == "boss@client.example"))
    r = admin.hx("post", f"/settings/report-recipients/external/{ext.id}/remove")
    assert r.status_code == 200 and "boss@client.example" not in r.get_data(as_text=True)
    agency.hx("post", "/settings/report-recipients/agency", data={"workspace_id": ws_id, "opt_in": "off"})
    assert len(events("report.recipient_removed")) == 1 and len(events("report.agency_opted_out")) == 1
    smtp_server.messages.clear()
    run_job(app, "weekly-reports", now=NEXT_MONDAY)
    assert received(smtp_server) == ["admin@example.com"]


def test_at_most_twenty_added_addresses(app, people, smtp_server):
    for i in range(report_recipients.MAX_EXTERNAL):
        report_recipients.add_external(people.workspace, f"person{i}@client.example", by=people.admin, now=NOW)
    db.session.commit()
    admin = app.test_client()
    login(admin, people.admin)
    r = admin.post_form("/settings/report-recipients/external",
                        {"workspace_id": people.workspace.id, "email": "one-more@client.example"},
                        follow_redirects=True)
    assert "At most 20 other addresses" in r.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(ReportExternalRecipient.id))) == 20


def test_who_may_change_what_on_the_settings_page(app, people, smtp_server):
    ws_id = people.workspace.id
    creator = app.test_client()
    login(creator, people.creator)
    assert creator.get(f"/settings/report-recipients?workspace={ws_id}").status_code == 403
    admin = app.test_client()
    login(admin, people.admin)
    page = admin.get(f"/settings/report-recipients?workspace={ws_id}").get_data(as_text=True)
    assert "Your agency sets this." in page and "Agency staff choose this for themselves." in page
    assert admin.post_form("/settings/report-recipients/approval",
                           {"workspace_id": ws_id, "approval_required": "on"}).status_code == 403
    assert admin.post_form("/settings/report-recipients/agency",
                           {"workspace_id": ws_id, "opt_in": "on"}).status_code == 403

    agency = app.test_client()
    login(agency, people.agency)
    r = agency.hx("post", "/settings/report-recipients/approval",
                  data={"workspace_id": ws_id, "approval_required": "on", "approval_window_hours": "72"})
    assert r.status_code == 200 and "within 72 hours" in r.get_data(as_text=True)
    settings = report_recipients.settings_of(ws_id)
    assert settings.approval_required and settings.approval_window_hours == 72
    r = agency.hx("post", "/settings/report-recipients/approval",
                  data={"workspace_id": ws_id, "approval_required": "on", "approval_window_hours": "0"})
    assert r.status_code == 422 and "between 1 and 336 hours" in r.get_data(as_text=True)
    [changed] = events("report.approval_required")
    assert changed.actor_user_id == people.agency.id and changed.detail == {"window_hours": 72}


# ------------------------------------------------------------------ which reports, when, creator cut


SCHEDULE_URL = "/settings/report-recipients/schedule"


@pytest.mark.parametrize("fields, message", [
    ({"delivery_time": "25:00"}, "“25:00” is not a time of day (use HH:MM, e.g. 09:00)."),
    ({"delivery_time": "nine"}, "“nine” is not a time of day (use HH:MM, e.g. 09:00)."),
    ({"delivery_time": ""}, "“” is not a time of day (use HH:MM, e.g. 09:00)."),
    ({"delivery_time": "09:30"}, "Reports go out on the hour: choose a whole hour such as 09:00, not 09:30."),
    ({"delivery_weekday": "7"}, "“7” is not a weekday: choose one from Monday to Sunday."),
    ({"delivery_weekday": "Funday"}, "“Funday” is not a weekday: choose one from Monday to Sunday."),
    ({"cadence": "daily"}, "Choose weekly, monthly or both."),
])
def test_a_bad_delivery_time_or_weekday_is_refused_with_a_clear_message_and_nothing_saved(
        app, people, fields, message):
    admin = app.test_client()
    login(admin, people.admin)
    data = {"workspace_id": people.workspace.id, "cadence": "monthly", "delivery_weekday": "2",
            "delivery_time": "07:00", "creator_cut": "on", **fields}
    r = admin.hx("post", SCHEDULE_URL, data=data)
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and 'id="report-schedule"' in html and "<html" not in html
    assert str(escape(message)) in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReportSettings)) == 0
    assert events("report.schedule_changed") == []
    r = admin.post_form(SCHEDULE_URL, data)  # without htmx: back to the page, the message flashed
    assert r.status_code == 303
    assert str(escape(message)) in admin.get(r.headers["Location"]).get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReportSettings)) == 0


def test_a_client_admin_chooses_monthly_on_wednesdays_at_seven_and_the_creator_cut(app, people):
    admin = app.test_client()
    login(admin, people.admin)
    page = admin.get(f"/settings/report-recipients?workspace={people.workspace.id}").get_data(as_text=True)
    assert "weekly reports on Mondays, at 09:00 (Europe/London)" in page  # the default
    r = admin.hx("post", SCHEDULE_URL, data={"workspace_id": people.workspace.id, "cadence": "both",
                                             "delivery_weekday": "2", "delivery_time": "07:00", "creator_cut": "on"})
    assert r.status_code == 200
    assert "weekly reports on Wednesdays and monthly reports on the 1st, at 07:00 (Europe/London)" in \
        r.get_data(as_text=True)
    settings = report_recipients.settings_of(people.workspace.id)
    assert (settings.cadence, settings.delivery_weekday, settings.delivery_hour, settings.creator_cut) == (
        "both", 2, 7, True)
    assert [e.detail for e in events("report.schedule_changed")] == [
        {"cadence": "both", "weekday": 2, "hour": 7, "creator_cut": True}]
    creator = app.test_client()
    login(creator, people.creator)
    assert creator.post_form(SCHEDULE_URL, {"workspace_id": people.workspace.id, "cadence": "weekly",
                                            "delivery_weekday": "0", "delivery_time": "09:00"}).status_code == 403

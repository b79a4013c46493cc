"""Weekly reports: figures from the metrics module over ISO weeks in the workspace's
timezone, recipients, and the /reports pages (list, show, not generated, build,
preview, test send; creators see only weeks with their posts)."""
from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from email import message_from_bytes, policy
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from app.extensions import db
from app.models import AccountSnapshot, Post, Report, ReportConnection, ReportDelivery, ReportSettings
from app.services import accounts, dashboard, mail, metrics, report_delivery, report_figures
from tests.factories import make_connection, seed_performance
from tests.report_data import NOW, WEEK, add_post, seed_brass

LONDON = ZoneInfo("Europe/London")


def _expected_views(conn_id: int, window: metrics.Window) -> metrics.Views:
    snaps = [metrics.AccountDay(s.day, s.followers_count, s.video_views, s.captured_at) for s in db.session.scalars(
        sa.select(AccountSnapshot).where(AccountSnapshot.connection_id == conn_id))]
    return metrics.views(snaps, window), metrics.followers(snaps, window)


def _rows(conn_ids) -> list[metrics.PostRow]:
    return [dashboard.post_row(p) for p in db.session.scalars(sa.select(Post).where(Post.connection_id.in_(conn_ids)))]


# ------------------------------------------------------------------ figures


def test_figures_equal_the_metrics_modules_results(app, people):
    conn, conn2 = seed_brass(people)
    report = report_figures.build_report(people.workspace, WEEK, now=NOW)
    db.session.commit()
    f = report.figures
    window = metrics.iso_week_window(2026, 21, LONDON)
    rows = _rows([conn.id, conn2.id])

    (v1, f1), (v2, f2) = _expected_views(conn.id, window), _expected_views(conn2.id, window)
    assert f["organic"]["views"] == v1.total + v2.total == 7 * 500 + 7 * 100
    assert f["organic"]["views_change"] == 0.0  # the same every day, both weeks complete
    assert f["organic"]["new_followers"] == f1.delta + f2.delta == 7 * 10 + 7 * 2
    assert f["organic"]["posts_published"] == metrics.cadence(rows, window, 3).posts == 7
    assert f["organic"]["cadence_label"] == "on cadence"
    engagement = metrics.engagement(rows, window)
    assert f["organic"]["engagement_rate"] == pytest.approx(engagement.rate)
    assert f["organic"]["engagement_change_pp"] == pytest.approx(engagement.change_pp)
    top = metrics.top_posts(rows, window)
    assert [t["views"] for t in f["top_posts"]] == [p.views for p in top] == [1006, 1005, 1004]
    assert [t["username"] for t in f["top_posts"]] == ["brassorbit3"] * 3
    assert f["top_posts"][0]["engagement_rate"] == pytest.approx(metrics.post_engagement(top[0]))
    # Spark Ads: 2 posts x (10,000 impressions, 150 clicks, 25.00 EUR) on May 24
    assert f["paid"] == {"boosted_posts": 2, "impressions": 20_000, "clicks": 300, "spend": "50.00", "ctr": 0.015,
                         "cpm": "2.50", "currency": "EUR", "delivered": True}
    assert metrics.paid([metrics.AdDay(1, window.end, 10_000, 150, Decimal("25")),
                         metrics.AdDay(2, window.end, 10_000, 150, Decimal("25"))], window).cpm == Decimal("2.50")
    assert {a["username"]: a["posts"] for a in f["accounts"]} == {"brassorbit3": 7, "moontideco2": 0}
    assert f["label"] == "Week 21 · May 18 – May 24, 2026"
    assert f["source"] == "TikTok API for Business" and f["generated_at"].startswith("2026-05-25T09:00")
    assert {rc.connection_id for rc in db.session.scalars(sa.select(ReportConnection))} == {conn.id, conn2.id}


def test_figures_are_aggregates_only(app, people):
    conn, _ = seed_brass(people)
    f = report_figures.build_report(people.workspace, WEEK, now=NOW).figures
    assert set(f) == {"version", "kind", "period", "week", "label", "timezone", "organic", "comparison", "paid",
                      "top_posts", "accounts", "notes", "cuts", "source", "generated_at", "data_as_of"}
    assert set(f["top_posts"][0]) == {"connection_id", "item_id", "username", "caption", "share_url", "posted",
                                      "views", "engagement_rate"}
    assert set(f["accounts"][0]) == {"connection_id", "username", "posts", "views", "views_missing_days",
                                     "new_followers", "engagement_rate"}
    json.dumps(f)  # stored as JSON: no Decimals or datetimes


def test_no_ads_account_means_no_paid_section(app, people):
    seed_brass(people, spark_posts=0)
    assert report_figures.build_report(people.workspace, WEEK, now=NOW).figures["paid"] is None


def test_rebuilding_a_week_updates_the_one_report(app, people):
    conn, _ = seed_brass(people)
    first = report_figures.build_report(people.workspace, WEEK, now=NOW)
    db.session.commit()
    add_post(conn, "late-1", datetime(2026, 5, 20, 12, tzinfo=timezone.utc), views=5_000_000)
    second = report_figures.build_report(people.workspace, WEEK, now=NOW + timedelta(hours=1))
    db.session.commit()
    assert first.id == second.id
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Report)) == 1
    assert second.figures["organic"]["posts_published"] == 8
    assert second.figures["top_posts"][0]["views"] == 5_000_000


@pytest.mark.parametrize("zone, in_w21", [("Europe/London", True), ("Europe/Berlin", False)])
def test_iso_week_is_the_workspaces_week(app, people, zone, in_w21):
    """22:30 UTC on Sunday May 24 is 23:30 Sunday in London (week 21) but 00:30 Monday in
    Berlin (week 22); 22:30 UTC on Sunday May 17 is Sunday in both (week 20)."""
    people.workspace.timezone = zone
    conn = make_connection(people.workspace, people.creator, username="edge")
    add_post(conn, "sunday-late", datetime(2026, 5, 24, 22, 30, tzinfo=timezone.utc), views=900)
    add_post(conn, "monday-early-local", datetime(2026, 5, 17, 22, 30, tzinfo=timezone.utc), views=800)
    add_post(conn, "monday-midday", datetime(2026, 5, 18, 12, 0, tzinfo=timezone.utc), views=700)
    db.session.commit()
    f = report_figures.build_report(people.workspace, WEEK, now=NOW).figures
    captions_views = [t["views"] for t in f["top_posts"]]
    if in_w21:
        assert f["organic"]["posts_published"] == 2 and captions_views == [900, 700]
    else:  # Berlin: 00:30 Monday May 18 is in, 00:30 Monday May 25 is out
        assert f["organic"]["posts_published"] == 2 and captions_views == [800, 700]
    w22 = report_figures.build_report(people.workspace, "2026-W22", now=NOW + timedelta(days=7)).figures
    assert w22["organic"]["posts_published"] == (0 if in_w21 else 1)


def test_a_disconnected_account_is_left_out(app, people):
    conn, conn2 = seed_brass(people)
    conn.status = "disconnected"
    db.session.commit()
    f = report_figures.build_report(people.workspace, WEEK, now=NOW).figures
    assert [a["username"] for a in f["accounts"]] == ["moontideco2"]
    assert f["organic"]["posts_published"] == 0 and f["top_posts"] == []
    assert f["paid"]["delivered"] is False  # its boosted posts' ads go with it


# ------------------------------------------------------------------ query budget


@contextmanager
def statements_run():
    """Every SQL statement sent while the block runs."""
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


@pytest.mark.parametrize("gap_day", [None, 3], ids=["daily-views-complete", "a-day-without-daily-views"])
def test_figures_take_the_same_queries_for_one_account_or_ten(app, people, gap_day):
    """Posts, snapshots and post view gains are loaded for all the workspace's accounts at
    once, not per account: 1 account or 10, the same statements."""
    ten = accounts.get_or_create_workspace("Ten Accounts", timezone="Europe/London")
    for ws, n in ((people.workspace, 1), (ten, 10)):
        for i in range(n):
            conn = make_connection(ws, None, username=f"{ws.id}-acct{i}")
            seed_performance(conn, tz="Europe/London", days=40, posts=10, now=NOW, spark_posts=1,
                             skip_days=(gap_day,) if gap_day else ())
    db.session.commit()
    week = report_figures.parse_week(WEEK)
    counts = {}
    for ws in (people.workspace, ten):
        ws_id, _ = ws.id, ws.timezone  # loaded before counting
        with statements_run() as seen:
            figures = report_figures.compute_figures(ws, week, now=NOW)
        counts[ws_id] = len(seen)
        assert figures["organic"]["posts_published"] == 7 * len(figures["accounts"])
    assert counts[people.workspace.id] == counts[ten.id], counts
    # accounts, posts, snapshots, Spark Ads (advertisers, rows), the previous period's report, and post
    # view gains only when needed
    assert counts[ten.id] == (7 if gap_day else 6), counts


# ------------------------------------------------------------------ recipients


def test_recipients_are_admins_and_creators_with_a_post_that_week(app, people):
    seed_brass(people)  # creator has posts in W21, creator2 none
    report = report_figures.build_report(people.workspace, WEEK, now=NOW)
    db.session.commit()
    assert [r.email for r in report_delivery.recipients(report)] == ["admin@example.com", "creator@example.com"]


def test_removed_members_and_disabled_users_are_not_recipients(app, people):
    seed_brass(people)
    admin2, _ = accounts.create_user("admin2@example.com", role="client_admin", workspace=people.workspace,
                                     password="long enough pw")
    report = report_figures.build_report(people.workspace, WEEK, now=NOW)
    db.session.commit()
    assert "admin2@example.com" in [r.email for r in report_delivery.recipients(report)]
    accounts.remove_member(people.creator, people.workspace)
    admin2.disabled = True
    db.session.commit()
    assert [r.email for r in report_delivery.recipients(report)] == ["admin@example.com"]


# ------------------------------------------------------------------ pages


def _build(people, week=WEEK, now=NOW):
    report = report_figures.build_report(people.workspace, week, now=now)
    db.session.commit()
    return report


def test_list_shows_reports_newest_first(client, people, login_as):
    seed_brass(people)
    _build(people, "2026-W20")
    _build(people, WEEK)
    login_as("admin")
    html = client.get("/reports").get_data(as_text=True)
    assert html.index("Week 21 · May 18 – May 24, 2026") < html.index("Week 20 · May 11 – May 17, 2026")
    assert f'href="/reports/2026-W21?workspace={people.workspace.id}"' in html


def test_report_page_shows_the_figures_and_the_delivery_log_to_admins(client, people, login_as):
    seed_brass(people)
    report = _build(people)
    db.session.add(ReportDelivery(report_id=report.id, recipient_email="refuse@example.com", status="failed",
                                  attempts=1, last_error="recipient refused ([550])"))
    db.session.commit()
    login_as("admin")
    r = client.get(f"/reports/{WEEK}")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "Week 21 · May 18 – May 24, 2026" in html and "Top-performing creative" in html
    assert "4,200" in html and "+84" in html and "2.50 EUR" in html and "@brassorbit3" in html
    assert "Source: TikTok API for Business · Generated May 25, 2026 09:00 UTC" in html
    assert "Delivery log" in html and "refuse@example.com" in html and "recipient refused ([550])" in html
    assert "Preview email" in html and "Send me a test" in html
    assert "style=" not in html and "<script>" not in html  # CSP: no inline style or script


def test_creator_sees_only_weeks_with_a_post_of_theirs(client, people, login_as):
    conn, conn2 = seed_brass(people)
    add_post(conn2, "moon-w20", datetime(2026, 5, 12, 12, tzinfo=timezone.utc))
    db.session.commit()
    _build(people, "2026-W20")
    _build(people, WEEK)
    login_as("creator2")  # posts only in week 20
    html = client.get("/reports").get_data(as_text=True)
    assert "Week 20" in html and "Week 21" not in html
    assert client.get("/reports/2026-W20").status_code == 200
    r = client.get(f"/reports/{WEEK}")
    assert r.status_code == 404 and "nothing here" in r.get_data(as_text=True)
    login_as("creator")
    page = client.get(f"/reports/{WEEK}").get_data(as_text=True)
    assert "Week 21" in page and "Delivery log" not in page and "Preview email" not in page


def test_malformed_week_is_404_with_a_helpful_message(client, people, login_as):
    login_as("admin")
    for bad in ("2026-W99", "2025-W53", "W21"):
        r = client.get(f"/reports/{bad}")
        assert r.status_code == 404
        assert f"“{bad}” is not an ISO week (use YYYY-Www, e.g. 2026-W21)" in r.get_data(as_text=True)
    for bad in ("2026-21", "2026-13", "2026-5", "May-2026"):
        r = client.get(f"/reports/{bad}")
        assert r.status_code == 404
        assert (f"“{bad}” is not a report period (use YYYY-Www for a week, e.g. 2026-W21, or YYYY-MM for a month, "
                f"e.g. 2026-05)") in r.get_data(as_text=True)


def test_week_not_built_offers_admins_to_build_it_now(client, people, login_as):
    seed_brass(people)
    login_as("creator")
    html = client.get(f"/reports/{WEEK}").get_data(as_text=True)
    assert "Not generated yet" in html and "Build it now" not in html
    login_as("admin")
    html = client.get(f"/reports/{WEEK}").get_data(as_text=True)
    assert "Not generated yet" in html and "Build it now" in html
    r = client.post_form(f"/reports/{WEEK}/build?workspace={people.workspace.id}")
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/reports/{WEEK}?workspace={people.workspace.id}")
    report = db.session.scalar(sa.select(Report))
    assert report.iso_week == WEEK and report.figures["organic"]["posts_published"] == 7
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReportDelivery)) == 0  # building sends nothing
    assert "Report for Week 21" in client.get(r.headers["Location"]).get_data(as_text=True)


def test_a_week_that_is_not_over_cannot_be_built(client, people, login_as):
    login_as("admin")
    far = "2099-W10"
    assert "isn't over yet" in client.get(f"/reports/{far}").get_data(as_text=True)
    r = client.post_form(f"/reports/{far}/build", follow_redirects=True)
    assert "isn&#39;t over yet" in r.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Report)) == 0


def test_creator_cannot_build_preview_or_test_send(client, people, login_as):
    seed_brass(people)
    _build(people)
    login_as("creator")
    assert client.post_form(f"/reports/{WEEK}/build").status_code == 403
    assert client.get(f"/reports/{WEEK}/email").status_code == 403
    assert client.post_form(f"/reports/{WEEK}/test-send").status_code == 403


def test_admin_previews_the_html_email(client, people, login_as):
    seed_brass(people)
    _build(people)
    login_as("admin")
    r = client.get(f"/reports/{WEEK}/email")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and r.mimetype == "text/html"
    assert "Week 21 · May 18 – May 24, 2026" in html and "<h1 style=" in html and "<style" not in html
    assert "script-src" not in r.headers["Content-Security-Policy"] and "sandbox" in r.headers["Content-Security-Policy"]
    assert f"/reports/{WEEK}?workspace={people.workspace.id}" in html


def test_send_me_a_test_mails_only_the_admin_and_records_no_delivery(app, client, people, login_as):
    seed_brass(people)
    _build(people)
    login_as("admin")
    r = client.post_form(f"/reports/{WEEK}/test-send", follow_redirects=True)
    assert "Test email sent to admin@example.com" in r.get_data(as_text=True)
    sent = [message_from_bytes(m, policy=policy.default) for m in mail.outbox_messages(app.config["MAIL_OUTBOX_DIR"])]
    assert [m["To"] for m in sent] == ["admin@example.com"]
    assert sent[0]["Subject"].startswith("[Test] Brass Studio · TikTok weekly report · Week 21")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReportDelivery)) == 0


def test_captions_are_escaped_on_the_page_and_in_the_email(app, client, people, login_as):
    conn = make_connection(people.workspace, people.creator, username="xss")
    add_post(conn, "x1", datetime(2026, 5, 20, 12, tzinfo=timezone.utc), caption="<script>alert(1)</script> hi")
    db.session.commit()
    report = _build(people)
    login_as("admin")
    assert "<script>alert(1)" not in client.get(f"/reports/{WEEK}").get_data(as_text=True)
    html = report_delivery.render_email_html(report, people.workspace)  # the app context is enough
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html


# ------------------------------------------------------------------ history, months, comparisons, cuts


def _views_in(conn, week_key: str, per_day: int) -> None:
    """Set the account's daily views for every day of the week."""
    week = report_figures.parse_week(week_key)
    db.session.execute(sa.update(AccountSnapshot).where(
        AccountSnapshot.connection_id == conn.id, AccountSnapshot.day.between(week.start, week.end))
        .values(video_views=per_day))


def test_three_weeks_and_a_month_are_listed_and_week_twos_comparison_is_their_arithmetic(client, people, login_as):
    conn, conn2 = seed_brass(people)
    for day in (5, 6, 7):  # week 19 gets posts too, with a lower engagement than the seeded ones
        post = add_post(conn, f"w19-{day}", datetime(2026, 5, day, 12, tzinfo=timezone.utc), views=200)
        post.likes = 5
    _views_in(conn, "2026-W20", 800)
    db.session.commit()
    w19 = _build(people, "2026-W19", NOW - timedelta(days=14)).figures
    w20 = _build(people, "2026-W20", NOW - timedelta(days=7)).figures
    w21 = _build(people, "2026-W21", NOW).figures
    _build(people, "2026-05", datetime(2026, 6, 1, 9, tzinfo=timezone.utc))

    assert (w19["organic"]["views"], w20["organic"]["views"]) == (4200, 6300)  # 7 x (500 + 100), 7 x (800 + 100)
    c = w20["comparison"]
    assert c["basis"] == "report" and c["previous_key"] == "2026-W19"
    assert c["views_change"] == pytest.approx((6300 - 4200) / 4200)
    assert c["engagement_change_pp"] == pytest.approx(
        (w20["organic"]["engagement_rate"] - w19["organic"]["engagement_rate"]) * 100)
    assert c["posts_change"] == w20["organic"]["posts_published"] - w19["organic"]["posts_published"] == 3 - 3
    assert w20["organic"]["views_change"] == c["views_change"]  # what the page and the email show
    assert w21["comparison"]["views_change"] == pytest.approx((4200 - 6300) / 6300)

    login_as("admin")
    html = client.get("/reports").get_data(as_text=True)
    labels = ["May 2026", "Week 21 · May 18 – May 24, 2026", "Week 20 · May 11 – May 17, 2026",
              "Week 19 · May 4 – May 10, 2026"]
    assert [html.index(label) for label in labels] == sorted(html.index(label) for label in labels)  # newest first
    for key in ("2026-05", "2026-W21", "2026-W20", "2026-W19"):
        assert f'href="/reports/{key}?workspace={people.workspace.id}"' in html
    assert html.count(">Built</span>") == 4  # delivery status: built, nobody emailed yet
    page = client.get("/reports/2026-W20").get_data(as_text=True)
    assert "+50.0% vs previous week" in page
    assert f'href="/reports/2026-W19?workspace={people.workspace.id}" rel="prev"' in page
    assert f'href="/reports/2026-W21?workspace={people.workspace.id}" rel="next"' in page
    month = client.get("/reports/2026-05").get_data(as_text=True)
    assert "Monthly report" in month and "May 2026" in month and "No earlier monthly report" in month


def test_a_comparison_without_a_stored_report_uses_the_stored_data_or_says_why(app, people):
    conn, _ = seed_brass(people)
    f = report_figures.build_report(people.workspace, WEEK, now=NOW).figures  # no W20 report stored
    assert f["comparison"]["basis"] == "data" and f["comparison"]["views_change"] == 0.0
    early = report_figures.build_report(people.workspace, "2026-W15", now=NOW).figures  # before any data
    assert early["comparison"]["views_change"] is None
    assert early["comparison"]["reasons"]["views"] == "No report or stored data for Week 14, 2026 to compare with."


def test_the_list_pages_twenty_reports_at_a_time(client, people, login_as):
    make_connection(people.workspace, None)
    db.session.commit()
    week = report_figures.parse_week("2026-W21")
    for _ in range(21):
        _build(people, week)
        week = week.previous()
    login_as("admin")
    first = client.get("/reports").get_data(as_text=True)
    assert first.count('<tr id="report-') == 20 and "Week 21 · May 18" in first and 'rel="next"' in first
    second = client.get("/reports?page=2").get_data(as_text=True)
    assert second.count('<tr id="report-') == 1 and "Week 1 · Dec 29, 2025" in second and 'rel="prev"' in second


def test_a_creator_with_no_post_in_any_report_is_told_why_the_list_is_empty(client, people, login_as):
    seed_brass(people)  # creator2's account has no posts
    _build(people, "2026-W20")
    _build(people, WEEK)
    login_as("creator2")
    html = client.get("/reports").get_data(as_text=True)
    assert "Brass Studio has 2 reports, but none of a period in which a post of an account you connected" in html


def test_with_the_creator_cut_a_creator_sees_only_their_accounts_and_the_page_says_so(client, people, login_as):
    conn, conn2 = seed_brass(people)
    add_post(conn2, "moon-w21", datetime(2026, 5, 20, 12, tzinfo=timezone.utc), views=300, caption="moon post")
    db.session.add(ReportSettings(workspace_id=people.workspace.id, creator_cut=True))
    db.session.commit()
    _build(people)
    login_as("creator2")
    page = client.get(f"/reports/{WEEK}").get_data(as_text=True)
    assert "Your accounts only (@moontideco2)" in page and "moon post" in page
    assert "@brassorbit3" not in page and "Post number" not in page
    assert "700" in page  # their views: 7 x 100
    listed = client.get("/reports").get_data(as_text=True)
    assert '<td class="num">700</td>' in listed and "4,200" not in listed  # the list shows their cut too
    login_as("admin")
    page = client.get(f"/reports/{WEEK}").get_data(as_text=True)
    assert "The whole workspace" in page and "@brassorbit3" in page and "@moontideco2" in page

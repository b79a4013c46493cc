"""An account's audience page: the latest demographics, new and lost followers per day, and
the best-time heatmap shifted from TikTok's UTC hours into the workspace's timezone, with
the account's posts placed on it; empty sections say why.

(The same page against a real sync from the sandbox: tests/e2e/test_post_and_audience_live.py.)"""
import re
from collections import defaultdict
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from markupsafe import escape

from app.extensions import db
from app.models import AccountSnapshot, AudienceSnapshot, Post
from app.services import audience, definitions, disconnect
from tests.conftest import login, without_csrf
from tests.factories import make_connection

NOW = datetime(2026, 11, 12, 9, 0, tzinfo=timezone.utc)
INSIGHTS = "user.info.basic,user.info.stats,user.insights,video.list,video.insights"


def count_of(day: date, hour: int) -> int:
    """A distinct, made-up reading per UTC day and hour."""
    return 1000 + day.toordinal() % 97 * 10 + hour * 7


def activity_days(conn, first: date, last: date, followers: int = 5000) -> None:
    d = first
    while d <= last:
        db.session.add(AccountSnapshot(
            connection_id=conn.id, day=d, followers_count=followers, new_followers=d.day + 10, lost_followers=d.day % 4,
            audience_activity=[[h, count_of(d, h)] for h in range(24)], captured_at=NOW))
        d += timedelta(days=1)


def cells(html: str) -> dict[tuple[int, int], tuple[str, int]]:
    """(weekday, hour) -> (data-active, data-posts) of every heatmap cell."""
    found = re.findall(r'data-cell="(\d)-(\d+)" data-active="(\d*)" data-posts="(\d+)"', html)
    assert len(found) == 7 * 24
    return {(int(w), int(h)): (a, int(p)) for w, h, a, p in found}


def set_timezone(ws, name: str) -> None:
    ws.timezone = name
    db.session.commit()


@pytest.fixture
def account(people):
    conn = make_connection(people.workspace, people.creator, username="brassorbit3", scopes=INSIGHTS,
                           last_synced_at=NOW)
    db.session.commit()
    return conn


def test_heatmap_cells_are_the_stored_utc_hours_averaged_in_new_york_across_the_dst_change(
        client, people, account):
    # Oct 16 – Nov 12 2026: 28 UTC days; New York leaves daylight saving time on Sunday Nov 1.
    activity_days(account, date(2026, 10, 16), date(2026, 11, 12))
    # A post on Monday Nov 2, 14:30 UTC = 09:30 EST, and one on Monday Oct 26, 13:10 UTC = 09:10 EDT.
    for k, moment in enumerate((datetime(2026, 11, 2, 14, 30, tzinfo=timezone.utc),
                                datetime(2026, 10, 26, 13, 10, tzinfo=timezone.utc))):
        db.session.add(Post(connection_id=account.id, item_id=f"73000000000000000{k}", create_time=moment))
    set_timezone(people.workspace, "America/New_York")
    login(client, people.creator)
    html = client.get(f"/performance/audience?account={account.id}").get_data(as_text=True)
    got = cells(html)

    # Monday 09:00 New York: Oct 19 and 26 at 13:00 UTC (EDT, UTC-4), Nov 2 and 9 at 14:00 UTC (EST, UTC-5).
    monday_9 = [count_of(date(2026, 10, 19), 13), count_of(date(2026, 10, 26), 13),
                count_of(date(2026, 11, 2), 14), count_of(date(2026, 11, 9), 14)]
    assert got[(0, 9)] == (str(round(sum(monday_9) / 4)), 2)
    # Sunday Nov 1, 01:00 happens twice (05:00 UTC EDT, 06:00 UTC EST): both readings count.
    sunday_1 = [count_of(date(2026, 10, 18), 5), count_of(date(2026, 10, 25), 5), count_of(date(2026, 11, 1), 5),
                count_of(date(2026, 11, 1), 6), count_of(date(2026, 11, 8), 6)]
    assert got[(6, 1)] == (str(round(sum(sunday_1) / 5)), 0)

    # Every cell: the stored readings, each moved to the local hour it starts in, averaged.
    expected = defaultdict(list)
    d = date(2026, 10, 16)
    while d <= date(2026, 11, 12):
        for h in range(24):
            local = datetime.combine(d, time(h), tzinfo=timezone.utc).astimezone(ZoneInfo("America/New_York"))
            expected[(local.weekday(), local.hour)].append(count_of(d, h))
        d += timedelta(days=1)
    assert {k: int(v[0]) for k, v in got.items()} == {k: round(sum(v) / len(v)) for k, v in expected.items()}
    assert "America/New_York" in html and "October 16, 2026 – November 12, 2026" in html
    assert escape(definitions.DEFINITIONS["active_followers"].text) in html


def test_half_hour_zone_counts_each_utc_hour_in_the_local_hour_it_starts(client, people, account):
    activity_days(account, date(2026, 11, 9), date(2026, 11, 9))  # one Monday
    set_timezone(people.workspace, "Asia/Kolkata")  # UTC+5:30, no DST
    login(client, people.creator)
    got = cells(client.get(f"/performance/audience?account={account.id}").get_data(as_text=True))
    # UTC 10:00–11:00 is 15:30–16:30 in Kolkata: the 15:00 cell. UTC 20:00 is 01:30 on Tuesday.
    assert got[(0, 15)][0] == str(count_of(date(2026, 11, 9), 10))
    assert got[(1, 1)][0] == str(count_of(date(2026, 11, 9), 20))
    # Monday before 05:30 has no reading: "no reading", not 0.
    assert got[(0, 4)][0] == "" and got[(0, 5)][0] == str(count_of(date(2026, 11, 9), 0))


def test_local_slot_of_a_utc_hour():
    ny, kolkata = ZoneInfo("America/New_York"), ZoneInfo("Asia/Kolkata")
    assert audience.local_slot(date(2026, 11, 2), 14, ny) == (0, 9)  # EST
    assert audience.local_slot(date(2026, 10, 26), 13, ny) == (0, 9)  # EDT
    assert audience.local_slot(date(2026, 3, 8), 7, ny) == (6, 3)  # 02:00 does not exist that Sunday
    assert audience.local_slot(date(2026, 11, 9), 10, kolkata) == (0, 15)
    assert audience.local_slot(date(2026, 11, 8), 23, kolkata) == (0, 4)  # Sunday 23:00 UTC = Monday 04:30


def test_demographics_are_the_latest_snapshot_and_say_its_date(client, people, account):
    db.session.add_all([
        AudienceSnapshot(connection_id=account.id, day=date(2026, 11, 10), ages=[["18-24", 0.9]],
                         genders=[["Female", 0.9]], countries=[["FR", 0.9]], cities=[["Paris", 0.9]]),
        AudienceSnapshot(connection_id=account.id, day=date(2026, 11, 11),
                         ages=[["25-34", 0.33], ["18-24", 0.41], ["35-44", 0.26]],
                         genders=[["Female", 0.62], ["Male", 0.35], ["Other", 0.03]],
                         countries=[["US", 0.5], ["GB", 0.2]],
                         cities=[["London", 0.1], ["New York", 0.08]]),
    ])
    activity_days(account, date(2026, 11, 11), date(2026, 11, 11), followers=70_312)
    db.session.commit()
    login(client, people.admin)
    html = client.get(f"/performance/audience?account={account.id}").get_data(as_text=True)
    assert 'data-figure="demographics-day">November 11, 2026<' in html and "out of 70,312 followers" in html

    def rows(table_id):
        body = html.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
        return re.findall(r'<th scope="row">([^<]+)</th>\s*<td class="num">([^<]+)</td>', body)

    assert rows("ages-table") == [("18-24", "41.0%"), ("25-34", "33.0%"), ("35-44", "26.0%")]
    assert rows("genders-table") == [("Female", "62.0%"), ("Male", "35.0%"), ("Other", "3.0%")]
    assert rows("countries-table") == [("US", "50.0%"), ("GB", "20.0%")]
    assert rows("cities-table") == [("London", "10.0%"), ("New York", "8.0%")]
    assert "Paris" not in html and "FR" not in rows("countries-table")


def test_follower_growth_is_new_and_lost_per_day_as_stored(client, people, account):
    activity_days(account, date(2026, 10, 16), date(2026, 11, 12))
    db.session.commit()
    login(client, people.creator)
    html = client.get(f"/performance/audience?account={account.id}").get_data(as_text=True)
    days = [date(2026, 10, 16) + timedelta(days=i) for i in range(28)]
    new, lost = sum(d.day + 10 for d in days), sum(d.day % 4 for d in days)
    assert f'data-figure="new">{new:,}<' in html and f'data-figure="lost">{lost:,}<' in html
    table = html.split('id="growth-data"', 1)[1].split("</table>", 1)[0]
    assert '<th scope="row">2026-11-03</th><td>13</td><td>3</td><td>+10</td>' in table
    assert len(re.findall("<tr><th scope=\"row\">", table)) == 28
    assert escape(definitions.DEFINITIONS["new_lost_followers"].text) in html


@pytest.mark.parametrize("case, expected", [
    ("small", "TikTok gives follower demographics and active hours only for accounts with at least 100 followers; "
              "@quietfern7 has 64."),
    ("no_scope", "Needs the user.insights permission (TikTok&#39;s account insights), which was not granted when "
                 "@quietfern7 was connected. Reconnect the account and keep it ticked."),
    ("never_synced", "@quietfern7 has not finished its first sync"),
])
def test_an_account_without_audience_data_says_why_instead_of_zeros(client, people, case, expected):
    conn = make_connection(people.workspace, people.creator, username="quietfern7",
                           scopes="user.info.basic,video.list" if case == "no_scope" else INSIGHTS,
                           last_synced_at=None if case == "never_synced" else NOW)
    if case == "small":  # TikTok sends new/lost followers but no activity or demographics under 100
        db.session.add(AccountSnapshot(connection_id=conn.id, day=date(2026, 11, 11), followers_count=64,
                                       new_followers=2, lost_followers=1))
    db.session.commit()
    login(client, people.creator)
    html = client.get(f"/performance/audience?account={conn.id}").get_data(as_text=True)
    assert 'data-missing="activity"' in html and 'data-missing="demographics"' in html
    # The heatmap and the demographics, and growth too unless TikTok sent it (small accounts get it).
    assert html.count(expected) == (2 if case == "small" else 3)
    assert ("Reconnect on Integrations" in html) == (case == "no_scope")
    assert 'id="heatmap"' not in html and "0.0%" not in html
    if case == "small":
        assert 'data-figure="new">2<' in html  # growth still shows: it has no follower minimum
    else:
        assert 'data-missing="growth"' in html


@pytest.mark.parametrize("who, status", [("creator", 200), ("admin", 200), ("agency", 200), ("creator2", 404),
                                         ("outsider", 404)])
def test_only_readers_of_the_account_see_its_audience(client, people, account, who, status):
    login(client, getattr(people, who))
    assert client.get(f"/performance/audience?account={account.id}").status_code == status


def test_foreign_account_looks_like_a_missing_one_and_no_account_picks_the_first_visible(client, people, account):
    login(client, people.outsider)
    foreign = client.get(f"/performance/audience?account={account.id}")
    missing = client.get("/performance/audience?account=999999")
    assert foreign.status_code == missing.status_code == 404 and without_csrf(foreign) == without_csrf(missing)
    assert client.get(f"/performance/audience?workspace={people.workspace.id}").status_code == 404
    no_accounts = client.get("/performance/audience").get_data(as_text=True)
    assert "No TikTok accounts yet" in no_accounts
    login(client, people.creator)
    assert "Audience · @brassorbit3" in client.get("/performance/audience").get_data(as_text=True)


def test_disconnected_account_shows_its_last_figures_under_a_banner(client, people, account):
    activity_days(account, date(2026, 11, 1), date(2026, 11, 12))
    disconnect.mark_disconnected(account, now=NOW, retention_days=90)
    db.session.commit()
    login(client, people.creator)
    html = client.get(f"/performance/audience?account={account.id}").get_data(as_text=True)
    assert "@brassorbit3 is disconnected since November 12, 2026" in html and "deleted on February 10, 2027" in html
    assert 'id="heatmap"' in html


def test_dashboard_links_to_the_selected_accounts_audience(client, people, account):
    login(client, people.creator)
    html = client.get(f"/performance?account={account.id}").get_data(as_text=True)
    assert f'href="/performance/audience?account={account.id}">Audience and best time to post</a>' in html


def test_the_page_asks_the_same_number_of_queries_for_a_week_or_two_months_of_data(client, people, account):
    from sqlalchemy import event

    def statements() -> int:
        seen = []
        listener = lambda *args: seen.append(1)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert client.get(f"/performance/audience?account={account.id}").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(seen)

    login(client, people.creator)
    activity_days(account, date(2026, 11, 6), date(2026, 11, 12))
    db.session.commit()
    week = statements()
    activity_days(account, date(2026, 9, 1), date(2026, 11, 5))
    for k in range(40):
        db.session.add(Post(connection_id=account.id, item_id=f"7400000000000000{k:03d}",
                            create_time=datetime(2026, 10, 1, 12, tzinfo=timezone.utc) + timedelta(days=k)))
    db.session.commit()
    assert statements() == week

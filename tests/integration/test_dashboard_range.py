"""The dashboard's period and comparison, checked against the sandbox's own arithmetic.

The account is seeded from the sandbox's deterministic demo data (app/sandbox/demo_data.py):
the daily history a sync stores (followers, video views per day) and every public post with
its latest counters, for the recent months and for the same months a year before. The
expected figures are added up here from that data, without the metrics module, and compared
with what the page shows (tiles, chart data tables, posts table) and with the CSV.
"""
import csv
import io
import math
import re
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from app.extensions import db
from app.models import AccountSnapshot, Post
from app.sandbox import demo_data
from tests.conftest import login
from tests.factories import make_connection

TZ = "America/Los_Angeles"  # not UTC: posts are placed on the workspace's days
USER = "brassorbit3"


def today_local() -> date:
    return datetime.now(timezone.utc).astimezone(ZoneInfo(TZ)).date()


@pytest.fixture
def sandbox_account(people):
    """brassorbit3 as the sandbox has it now and as it had it a year ago."""
    people.workspace.timezone = TZ
    conn = make_connection(people.workspace, people.admin, username=USER,
                           scopes="user.info.basic,user.info.stats,user.insights,video.list,video.insights")
    utc_today = datetime.now(timezone.utc).date()
    now_acct = demo_data.account(USER, utc_today)
    year_ago = demo_data.account(USER, utc_today - timedelta(days=365))
    as_of = now_acct.as_of_ts
    days = {d.date: d for acct in (year_ago, now_acct) for d in acct.days}
    posts = {p.item_id: p for acct in (year_ago, now_acct) for p in acct.public_posts}
    captured = datetime.now(timezone.utc)
    db.session.execute(AccountSnapshot.__table__.insert(), [
        {"connection_id": conn.id, "day": d.date, "followers_count": d.followers_count,
         "video_views": d.video_views, "captured_at": captured} for d in days.values()])
    rows = []
    for p in posts.values():
        c = p.counters_at(as_of)
        rows.append({"connection_id": conn.id, "item_id": p.item_id, "caption": p.caption,
                     "share_url": f"https://www.tiktok.com/@{USER}/video/{p.item_id}",
                     "create_time": datetime.fromtimestamp(p.create_time, timezone.utc),
                     "views": c["video_views"], "likes": c["likes"], "comments": c["comments"],
                     "shares": c["shares"], "full_video_watched_rate": c["full_video_watched_rate"],
                     "metrics_as_of": captured, "first_seen_at": captured})
    db.session.execute(Post.__table__.insert(), rows)
    conn.last_synced_at = captured
    db.session.commit()
    return conn, days, posts, as_of


# ------------------------------------------------------------------ the test's own arithmetic


def local_day(post) -> date:
    return datetime.fromtimestamp(post.create_time, ZoneInfo(TZ)).date()


def run(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def expected(days, posts, as_of, start: date, end: date) -> dict:
    window = run(start, end)
    published = [p for p in posts.values() if start <= local_day(p) <= end]
    counters = [p.counters_at(as_of) for p in published]
    views = sum(c["video_views"] for c in counters)
    return {
        "views": sum(days[d].video_views for d in window),
        "views_per_day": {d: days[d].video_views for d in window},
        "followers_per_day": {d: days[d].followers_count for d in window},
        "followers_gained": days[end].followers_count - days[start - timedelta(days=1)].followers_count,
        "posts": sorted(published, key=lambda p: -p.create_time),
        "engagement": sum(c["likes"] + c["comments"] + c["shares"] for c in counters) / views,
    }


# ------------------------------------------------------------------ reading the page


def text(resp) -> str:
    return resp.get_data(as_text=True)


def tile(html: str, figure: str) -> str:
    m = re.search(r'<article class="tile[^"]*" data-figure="' + figure + r'">\s*<h2[^>]*>[^<]*</h2>(.*?)</article>',
                  html, re.S)
    assert m, f"no tile {figure!r}"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", m.group(1))).strip()


def chart_rows(html: str, table_id: str) -> dict[date, int | None]:
    body = html.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    return {date.fromisoformat(d): None if v == "no data" else int(v.replace(",", ""))
            for d, v in re.findall(r'<th scope="row">([0-9-]+)</th><td>([^<]+)</td>', body)}


def compact(n: int) -> str:
    return f"{n / 1_000_000:.2f}M" if abs(n) >= 1_000_000 else f"{n:,}"


def signed(n: int) -> str:
    return ("+" if n >= 0 else "−") + compact(abs(n))


def label(start: date, end: date, years: bool) -> str:
    y = years
    day = lambda d: f"{d:%b} {d.day}, {d.year}" if y else f"{d:%b} {d.day}"  # noqa: E731
    if start.month == end.month and start.year == end.year:
        return f"{start:%b} {start.day}–{end.day}" + (f", {end.year}" if y else "")
    return f"{day(start)} – {day(end)}"


def read_csv(resp) -> list[list[str]]:
    return list(csv.reader(io.StringIO(resp.get_data().decode("utf-8-sig"))))


# ------------------------------------------------------------------ the tests


@pytest.mark.parametrize("compare", ["previous", "year"])
def test_a_custom_range_covers_exactly_its_days_with_the_sandboxs_figures(client, people, sandbox_account, compare):
    conn, days, posts, as_of = sandbox_account
    today = today_local()
    start, end = today - timedelta(days=40), today - timedelta(days=12)  # 29 days
    if compare == "year":
        before = (start.replace(year=start.year - 1), end.replace(year=end.year - 1))
    else:
        before = (start - timedelta(days=29), start - timedelta(days=1))
    want, then = expected(days, posts, as_of, start, end), expected(days, posts, as_of, *before)
    login(client, people.admin)
    query = f"account={conn.id}&from={start.isoformat()}&to={end.isoformat()}" + (
        "&compare=year" if compare == "year" else "")
    r = client.get(f"/performance?{query}")
    assert r.status_code == 200
    html = text(r)

    # both windows written out (with years when their days are not all in one year)
    years = len({start.year, end.year, before[0].year, before[1].year}) > 1
    vs = label(*before, years)
    assert f"<strong>{label(start, end, years)}</strong> vs {vs} " in html

    # tiles: this period's figures, the comparison's beside them
    change = (want["views"] - then["views"]) / then["views"] * 100
    assert tile(html, "views").startswith(
        f"{compact(want['views'])} {'+' if change >= 0 else '−'}{abs(change):.1f}% vs {vs}: {compact(then['views'])} ")
    latest = days[max(days)].followers_count
    assert tile(html, "followers").startswith(
        f"{compact(latest)} {signed(want['followers_gained'])} gained vs {vs}: {signed(then['followers_gained'])} ")
    pp = (want["engagement"] - then["engagement"]) * 100
    rate, before_rate = f"{want['engagement'] * 100:.1f}%", f"{then['engagement'] * 100:.1f}%"
    assert tile(html, "engagement").startswith(f"{rate} {'+' if pp >= 0 else '−'}{abs(pp):.1f} pp vs {vs}: {before_rate} ")
    target = math.ceil(3 * 29 / 7)
    n = len(want["posts"])
    cadence = "on cadence" if n >= target else f"behind cadence ({n} of {target})"
    assert tile(html, "posts").startswith(f"{n} {cadence} vs {vs}: {len(then['posts'])} ")

    # charts: exactly the period's days, the sandbox's values
    assert chart_rows(html, "views-data") == want["views_per_day"]
    assert chart_rows(html, "followers-data") == want["followers_per_day"]

    # the posts table: the period's posts only
    assert f"1–{min(n, 20)} of {n}" in html

    # the CSV: every post of the period, with the sandbox's counters, nothing outside it
    export = re.search(r'href="(/performance/export\.csv\?[^"]+)"', html).group(1).replace("&amp;", "&")
    assert f"from={start.isoformat()}" in export and f"to={end.isoformat()}" in export
    download = client.get(export)
    assert download.headers["Content-Disposition"] == (
        f'attachment; filename="{USER}-posts-{start.isoformat()}-to-{end.isoformat()}.csv"')
    rows = read_csv(download)
    assert len(rows) == n + 1
    by_caption_views = sorted((r[0], int(r[2])) for r in rows[1:])
    assert by_caption_views == sorted((p.caption, p.counters_at(as_of)["video_views"]) for p in want["posts"])
    assert all(start <= date.fromisoformat(r[1][:10]) <= end for r in rows[1:])


def test_presets_and_the_comparison_are_in_every_link(client, people, sandbox_account):
    conn, *_ = sandbox_account
    login(client, people.admin)
    html = text(client.get(f"/performance?account={conn.id}&range=7&compare=year"))
    assert re.search(r'range=7&amp;compare=year" aria-current="page">7 days</a>', html)
    assert re.search(r'href="[^"]*compare=year[^"]*" aria-current="page">Same days last year</a>', html)
    # the table's sort links and the export keep the period and the comparison
    sort_link = re.search(r'hx-get="([^"]*sort=views[^"]*)"', html).group(1)
    assert "range=7" in sort_link and "compare=year" in sort_link
    assert re.search(r'export\.csv\?range=7&amp;compare=year&amp;', html)
    # a pushed table URL opened directly renders the whole page for the same period
    page = text(client.get(sort_link.replace("&amp;", "&")))
    assert "<html" in page and 'range=7&amp;compare=year" aria-current="page">7 days</a>' in page


@pytest.mark.parametrize("query, message", [
    ("from=2026-13-01&to=2026-12-01", "There is no 2026-13-01: check the start date."),
    ("from=yesterday&to=2026-12-01", "The start date must be a date like 2026-11-24, not “yesterday”."),
    ("from=&to=", "Choose both a start and an end date for a custom range."),
    ("from=2026-01-01", "Choose both a start and an end date for a custom range."),
    ("from={late}&to={early}", "is after the end date"),
    ("from={early}&to={today}", "at the latest: the days after it are not over yet."),
    ("from={year_and_more}&to={early}", "A range can be at most 366 days long"),
    ("from=1999-12-31&to={early}", "The start date must be in 2000 or later."),
])
def test_a_bad_custom_range_is_a_400_that_says_what_to_fix(client, people, sandbox_account, query, message):
    conn, *_ = sandbox_account
    today = today_local()
    query = query.format(today=today, early=today - timedelta(days=10), late=today - timedelta(days=5),
                         year_and_more=today - timedelta(days=10 + 366))
    login(client, people.admin)
    r = client.get(f"/performance?account={conn.id}&{query}")
    html = text(r)
    assert r.status_code == 400 and message in html.replace("&#34;", '"').replace("&#39;", "'")
    assert 'role="alert" id="range-error"' in html and 'aria-invalid="true"' in html
    assert 'id="kpi-tiles"' in html  # the default period is still shown below the message
    partial = client.hx("get", f"/performance/posts?account={conn.id}&{query}")
    assert partial.status_code == 400 and message in text(partial).replace("&#34;", '"')
    export = client.get(f"/performance/export.csv?account={conn.id}&{query}")
    assert export.status_code == 400 and message in export.get_data(as_text=True)


def test_a_custom_range_of_366_days_ending_yesterday_is_fine(client, people, sandbox_account):
    conn, *_ = sandbox_account
    today = today_local()
    login(client, people.admin)
    r = client.get(f"/performance?account={conn.id}&from={today - timedelta(days=366)}&to={today - timedelta(days=1)}")
    assert r.status_code == 200 and "(366 days)" in text(r)

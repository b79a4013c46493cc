"""The post page and the audience page after a real sync from the sandbox, over real HTTP:
every figure must be the sandbox's own number for that post, Spark Ad and account."""
import re
from collections import defaultdict
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Post, SparkAdMetric, TikTokConnection, Workspace
from app.sandbox import demo_data
from app.services.audience import ACTIVITY_DAYS, GROWTH_DAYS, POSTS_DAYS
from app.services.sync import ADS_HISTORY_DAYS
from jobs.runner import run_job
from tests.e2e.helpers import connect_account, link_ads, sign_in

pytestmark = pytest.mark.e2e
SPARK = ("AUTH_CODE", "TT_USER", "BC_AUTH_TT")


def number(n) -> str:
    return f"{n:,}"


def pct(x) -> str:
    return f"{x * 100:.1f}%"


def data(html: str, attr: str, name: str) -> str:
    m = re.search(rf'{attr}="{re.escape(name)}">([^<]*)<', html)
    assert m, f"no {attr}={name!r}"
    return m.group(1)


def rows(html: str, table_id: str) -> list[tuple[str, str]]:
    body = html.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<th scope="row">([^<]+)</th>\s*<td[^>]*>([^<]+)</td>', body)


@pytest.fixture
def synced(live_server):
    """brassorbit3 (Business, ~70k followers) and quietfern7 (<100 followers) connected by a
    client admin, the Spark Ads advertiser linked, one sync run."""
    s, ws_id = sign_in(live_server, email="ana@brass.studio", role="client_admin", password="demo-ana-pass-1")
    assert connect_account(live_server, s, ws_id).ok
    assert connect_account(live_server, s, ws_id, username="quietfern7").ok
    link_ads(live_server, s, ws_id)
    now = datetime.now(timezone.utc)
    result = run_job(live_server.app, "sync", now=now)
    assert result.counts["synced"] == 2 and result.counts["ads_synced"] == 1, result
    sandbox = live_server.app.extensions["tiktok_sandbox"].sandbox_state
    with live_server.app.app_context():
        conns = dict(db.session.execute(sa.select(TikTokConnection.username, TikTokConnection.id)).all())
    return {"s": s, "ws_id": ws_id, "now": now, "acct": sandbox.account("brassorbit3"), "conns": conns,
            "url": live_server.url, "app": live_server.app}


def test_post_page_figures_equal_the_sandboxs_numbers_for_that_post_and_its_spark_ads(synced):
    acct, today = synced["acct"], synced["now"].date()
    app, mine = synced["app"], Post.connection_id == synced["conns"]["brassorbit3"]
    with app.app_context():
        boosted_item = db.session.scalar(
            sa.select(Post.item_id).join(SparkAdMetric, SparkAdMetric.post_id == Post.id).where(mine)
            .group_by(Post.item_id).order_by(sa.func.count().desc()).limit(1))
        plain_item = db.session.scalar(
            sa.select(Post.item_id).where(mine, ~Post.id.in_(sa.select(SparkAdMetric.post_id).where(
                SparkAdMetric.post_id.is_not(None)))).order_by(Post.create_time.desc()).limit(1))
        post_ids = dict(db.session.execute(sa.select(Post.item_id, Post.id)
                                           .where(Post.item_id.in_([boosted_item, plain_item]))).all())
    assert boosted_item and plain_item

    for item_id in (boosted_item, plain_item):
        post = next(p for p in acct.posts if p.item_id == item_id)
        c = post.counters_at(acct.as_of_ts)
        r = synced["s"].get(f"{synced['url']}/performance/posts/{post_ids[item_id]}")
        assert r.status_code == 200
        html = r.text
        figures = {k: data(html, "data-figure", k) for k in (
            "views", "reach", "likes", "comments", "shares", "saves", "engagement-rate", "watch-through",
            "average-watch-time", "new-followers-from-the-post", "profile-views-from-the-post")}
        assert figures == {
            "views": number(c["video_views"]), "reach": number(c["reach"]), "likes": number(c["likes"]),
            "comments": number(c["comments"]), "shares": number(c["shares"]), "saves": number(c["favorites"]),
            "engagement-rate": pct((c["likes"] + c["comments"] + c["shares"]) / c["video_views"]),
            "watch-through": pct(c["full_video_watched_rate"]),
            "average-watch-time": f"{c['average_time_watched']:.1f} s",
            "new-followers-from-the-post": number(c["new_followers"]),
            "profile-views-from-the-post": number(c["profile_views"]),
        }, item_id
        retention = post.retention()
        table = rows(html, "retention-data")
        assert len(table) == len(retention)
        assert table[0] == ("0", pct(retention[0][1])) and table[-1] == (str(retention[-1][0]), pct(retention[-1][1]))
        assert rows(html, "sources-table") == [(k, pct(v)) for k, v in post.impression_sources()]
        types = dict(post.audience_types())
        assert rows(html, "viewer-types-table") == [("New viewers", pct(types["NEW_VIEWER"])),
                                                    ("Returning viewers", pct(types["RETURN_VIEWER"]))]

        # Paid: every day of every Spark Ad on this post that the first ads sync asked for.
        start = today - timedelta(days=ADS_HISTORY_DAYS)
        days = [d for ad in acct.ads if ad.identity_type in SPARK and ad.post_item_id == item_id
                for d in ad.days if start <= d.date <= today]
        if item_id == plain_item:
            assert not any(d.impressions for d in days) and "Not boosted" in html
            continue
        impressions = sum(d.impressions for d in days)
        clicks = sum(d.clicks for d in days)
        spend = sum((Decimal(f"{d.spend:.2f}") for d in days), Decimal("0"))
        assert impressions > 0
        cpm = (spend / impressions * 1000).quantize(Decimal("0.01"))
        paid = {k: data(html, "data-paid", k) for k in ("impressions", "views", "clicks", "spend", "ctr", "cpm",
                                                         "reach", "likes", "follows")}
        assert paid == {
            "impressions": number(impressions), "views": number(sum(d.video_play_actions for d in days)),
            "clicks": number(clicks), "spend": f"{spend:,.2f} {acct.currency}", "ctr": pct(clicks / impressions),
            "cpm": f"{cpm:,.2f} {acct.currency}", "reach": number(sum(d.reach for d in days if d.impressions)),
            "likes": number(sum(d.likes for d in days)), "follows": number(sum(d.follows for d in days)),
        }
        # The organic column beside it is the post's own count.
        assert f'<th scope="row">Views</th><td class="num">{number(c["video_views"])}</td>' in html


def test_audience_page_equals_the_sandboxs_account_shifted_to_the_workspace_timezone(synced):
    acct, now = synced["acct"], synced["now"]
    zone = ZoneInfo("Asia/Kolkata")  # UTC+5:30: each UTC hour lands in the local hour it starts in
    with synced["app"].app_context():
        db.session.get(Workspace, synced["ws_id"]).timezone = zone.key
        db.session.commit()
    html = synced["s"].get(f"{synced['url']}/performance/audience?account={synced['conns']['brassorbit3']}").text

    # Heatmap: the sandbox's audience_activity of the last 28 UTC days, averaged per local cell.
    today = now.date()
    readings = defaultdict(list)
    for d in acct.days:
        if today - timedelta(days=ACTIVITY_DAYS) < d.date <= today:
            for hour, count in enumerate(d.audience_activity):
                local = datetime.combine(d.date, time(hour), tzinfo=timezone.utc).astimezone(zone)
                readings[(local.weekday(), local.hour)].append(count)
    since = (now - timedelta(days=POSTS_DAYS)).astimezone(zone).date()
    placed = defaultdict(int)
    for p in acct.public_posts:
        local = datetime.fromtimestamp(p.create_time, timezone.utc).astimezone(zone)
        if local.date() >= since:
            placed[(local.weekday(), local.hour)] += 1
    cells = {(int(w), int(h)): (a, int(n)) for w, h, a, n in re.findall(
        r'data-cell="(\d)-(\d+)" data-active="(\d*)" data-posts="(\d+)"', html)}
    assert len(cells) == 168 and sum(placed.values()) > 0
    assert cells == {(w, h): (str(round(sum(readings[(w, h)]) / len(readings[(w, h)]))), placed.get((w, h), 0))
                     for w in range(7) for h in range(24)}

    # Demographics: the sandbox's breakdowns, largest first, dated today (the sync's day).
    assert f'data-figure="demographics-day">{today:%B} {today.day}, {today.year}<' in html
    for table, answer, key in (("ages-table", demo_data.audience_ages, "age"),
                               ("genders-table", demo_data.audience_genders, "gender"),
                               ("countries-table", demo_data.audience_countries, "country"),
                               ("cities-table", demo_data.audience_cities, "city_name")):
        expected = sorted(answer("brassorbit3"), key=lambda r: -r["percentage"])
        assert rows(html, table) == [(r[key], pct(r["percentage"])) for r in expected], table

    # Growth: TikTok's daily new and lost followers of the last 28 days.
    growth = [d for d in acct.days if today - timedelta(days=GROWTH_DAYS) < d.date <= today]
    assert data(html, "data-figure", "new") == number(sum(d.daily_new_followers for d in growth))
    assert data(html, "data-figure", "lost") == number(sum(d.daily_lost_followers for d in growth))


def test_small_account_says_why_it_has_no_audience_figures(synced):
    html = synced["s"].get(f"{synced['url']}/performance/audience?account={synced['conns']['quietfern7']}").text
    followers = synced["app"].extensions["tiktok_sandbox"].sandbox_state.account("quietfern7").followers_count
    assert followers < 100
    assert (f"TikTok gives follower demographics and active hours only for accounts with at least 100 followers; "
            f"@quietfern7 has {followers}.") in html
    assert 'id="heatmap"' not in html and 'data-figure="new">' in html

"""One post's page: its stored figures, a boosted post's paid figures beside them, who may
open it, and what a disconnected or purged account's post shows.

(The same page against a real sync from the sandbox: tests/e2e/test_post_and_audience_live.py.)"""
import re
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from markupsafe import escape

from app.extensions import db
from app.models import AdsAccount, Post, SparkAdMetric, TikTokConnection
from app.services import definitions, disconnect
from jobs.runner import run_job
from tests.conftest import login, without_csrf
from tests.factories import make_connection, seed_performance

NOW = datetime.now(timezone.utc)


def add_post(conn, **fields) -> Post:
    values = dict(
        item_id="7301234567890123456", caption="Brass polishing in 30 seconds #fyp",
        create_time=datetime(2026, 11, 2, 14, 30, tzinfo=timezone.utc), views=48210, likes=3100, comments=220,
        shares=180, favorites=410, reach=39877, full_video_watched_rate=0.4123, video_duration=31.0,
        total_time_watched=650000.0, average_time_watched=13.48, new_followers=193, profile_views=964,
        retention=[[0, 1.0], [10, 0.61], [20, 0.5], [31, 0.4123]],
        impression_sources=[["Search", 0.05], ["For You", 0.72], ["Follow", 0.23]],
        audience_types=[["NEW_VIEWER", 0.83], ["RETURN_VIEWER", 0.17], ["FOLLOWER_PERCENT", 0.12],
                        ["NON_FOLLOWER_PERCENT", 0.88]],
        thumbnail_url="https://p16.example.com/t.jpg", share_url="https://www.tiktok.com/@brassorbit3/video/1",
        metrics_as_of=NOW - timedelta(hours=1),
    )
    values.update(fields)
    post = Post(connection_id=conn.id, **values)
    db.session.add(post)
    db.session.flush()
    return post


def figure(html: str, name: str) -> str:
    m = re.search(rf'data-figure="{re.escape(name)}">([^<]*)<', html)
    assert m, f"no figure {name!r}"
    return m.group(1)


def paid(html: str, name: str) -> str:
    m = re.search(rf'data-paid="{name}">([^<]*)<', html)
    assert m, f"no paid figure {name!r}"
    return m.group(1)




@pytest.fixture
def post(people):
    conn = make_connection(people.workspace, people.creator, username="brassorbit3")
    p = add_post(conn)
    db.session.commit()
    return p


def test_post_page_shows_every_stored_figure_with_its_definition(client, people, post):
    login(client, people.creator)
    r = client.get(f"/performance/posts/{post.id}")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    expected = {"views": "48,210", "reach": "39,877", "likes": "3,100", "comments": "220", "shares": "180",
                "saves": "410", "engagement-rate": "7.3%",  # (3100 + 220 + 180) / 48210 = 7.26 %
                "watch-through": "41.2%", "average-watch-time": "13.5 s",
                "new-followers-from-the-post": "193", "profile-views-from-the-post": "964"}
    assert {k: figure(html, k) for k in expected} == expected
    # Times in the workspace's zone (Europe/London, GMT in November).
    assert "November 2, 2026, 14:30" in html and "Europe/London" in html
    # The retention curve: drawn, and every point in its table.
    assert 'id="retention-title"' in html and '<path class="chart-line" d="M' in html
    table = html.split('id="retention-data"', 1)[1].split("</table>", 1)[0]
    assert re.findall(r"<th scope=\"row\">([^<]+)</th><td>([^<]+)</td>", table) == [
        ("0", "100.0%"), ("10", "61.0%"), ("20", "50.0%"), ("31", "41.2%")]
    # Traffic sources largest first; new vs returning, and followers vs not.
    sources = html.split('id="sources-table"', 1)[1].split("</table>", 1)[0]
    assert re.findall(r'<th scope="row">([^<]+)</th>\s*<td class="num">([^<]+)</td>', sources) == [
        ("For You", "72.0%"), ("Follow", "23.0%"), ("Search", "5.0%")]
    viewers = html.split('id="viewer-types-table"', 1)[1].split("</table>", 1)[0]
    assert re.findall(r'<th scope="row">([^<]+)</th>\s*<td class="num">([^<]+)</td>', viewers) == [
        ("New viewers", "83.0%"), ("Returning viewers", "17.0%")]
    # Definitions are on the page as text, not only in a title attribute.
    for key in ("reach", "engagement_rate", "watch_through", "average_watch_time", "retention", "traffic_sources",
                "viewer_types", "post_followers"):
        text = escape(definitions.DEFINITIONS[key].text)
        assert f">{text}<" in html or f"</strong> {text}<" in html, key
    assert "Not boosted" in html


def test_missing_insights_say_why_instead_of_zero(client, people):
    conn = make_connection(people.workspace, people.creator, scopes="user.info.basic,video.list")
    p = add_post(conn, full_video_watched_rate=None, average_time_watched=None, retention=None,
                 impression_sources=None, audience_types=None, new_followers=None, profile_views=None)
    db.session.commit()
    login(client, people.creator)
    html = client.get(f"/performance/posts/{p.id}").get_data(as_text=True)
    assert figure(html, "watch-through") == "—" and figure(html, "average-watch-time") == "—"
    assert "No retention curve: TikTok gives this with the video.insights permission" in html
    assert "No traffic sources" in html and 'id="retention-data"' not in html


def test_boosted_post_shows_paid_beside_organic_from_stored_spark_ads_rows(client, people, post):
    ads = AdsAccount(workspace_id=people.workspace.id, advertiser_id="adv-1", currency="USD")
    theirs = AdsAccount(workspace_id=people.other_workspace.id, advertiser_id="adv-2", currency="USD")
    db.session.add_all([ads, theirs])
    db.session.flush()
    rows = [  # ad A linked to the post; ad B stored before the post was (item id only)
        SparkAdMetric(ads_account_id=ads.id, post_id=post.id, ad_id="A", tiktok_item_id=post.item_id,
                      day=date(2026, 11, 3), impressions=10_000, clicks=150, spend=Decimal("40.00"),
                      video_play_actions=7_000, reach=8_000, likes=210, comments=14, shares=21, follows=14),
        SparkAdMetric(ads_account_id=ads.id, post_id=post.id, ad_id="A", tiktok_item_id=post.item_id,
                      day=date(2026, 11, 4), impressions=5_000, clicks=50, spend=Decimal("20.50"),
                      video_play_actions=3_500, reach=4_100, likes=105, comments=7, shares=10, follows=7),
        SparkAdMetric(ads_account_id=ads.id, post_id=None, ad_id="B", tiktok_item_id=post.item_id,
                      day=date(2026, 11, 6), impressions=2_000, clicks=40, spend=Decimal("9.50"),
                      video_play_actions=1_500, reach=1_800, likes=45, comments=3, shares=4, follows=3),
        # Another workspace's advertiser naming the same item id: not this workspace's money.
        SparkAdMetric(ads_account_id=theirs.id, post_id=None, ad_id="C", tiktok_item_id=post.item_id,
                      day=date(2026, 11, 6), impressions=999_999, clicks=1, spend=Decimal("999.00")),
    ]
    db.session.add_all(rows)
    db.session.commit()
    login(client, people.admin)
    html = client.get(f"/performance/posts/{post.id}").get_data(as_text=True)
    # impressions 17,000; clicks 240; spend 70.00; CTR 240 / 17,000 = 1.41 %; CPM 70 / 17,000 x 1000 = 4.12
    names = ("impressions", "views", "clicks", "spend", "ctr", "cpm", "likes", "follows")
    assert {k: paid(html, k) for k in names} == {
        "impressions": "17,000", "views": "12,000", "clicks": "240", "spend": "70.00 USD", "ctr": "1.4%",
        "cpm": "4.12 USD", "likes": "360", "follows": "24"}
    assert "Boosted with 2 Spark Ads, delivery from November 3, 2026 to November 6, 2026" in html
    # The organic column is the post's own counts, side by side (nothing subtracted).
    assert '<th scope="row">Views</th><td class="num">48,210</td>' in html
    for key in ("paid_impressions", "paid_views", "ctr", "cpm"):
        assert escape(definitions.DEFINITIONS[key].text) in html


@pytest.mark.parametrize("who, status", [("creator", 200), ("admin", 200), ("agency", 200), ("creator2", 404),
                                         ("outsider", 404)])
def test_only_readers_of_the_posts_account_see_it(client, people, post, who, status):
    login(client, getattr(people, who))
    assert client.get(f"/performance/posts/{post.id}").status_code == status


def test_a_foreign_post_looks_exactly_like_a_missing_one(client, people, post):
    login(client, people.outsider)
    foreign = client.get(f"/performance/posts/{post.id}")
    missing = client.get("/performance/posts/999999")
    assert foreign.status_code == missing.status_code == 404
    assert without_csrf(foreign) == without_csrf(missing)
    login(client, people.creator)
    assert client.get(f"/performance/posts/{post.id}?workspace={people.other_workspace.id}").status_code == 404


def test_disconnected_accounts_post_stays_readable_with_its_purge_date_and_is_gone_after_the_purge(
        app, client, people, post):
    post_id = post.id
    connection = db.session.get(TikTokConnection, post.connection_id)
    disconnect.mark_disconnected(connection, now=NOW - timedelta(days=91), retention_days=90)
    db.session.commit()
    purge_on = (NOW - timedelta(days=1)).date()
    login(client, people.creator)
    html = client.get(f"/performance/posts/{post_id}").get_data(as_text=True)
    assert "@brassorbit3 is disconnected since" in html
    assert f"deleted on {purge_on:%B} {purge_on.day}, {purge_on.year}" in html
    assert figure(html, "views") == "48,210"

    result = run_job(app, "purge", now=NOW)
    assert result.counts["connections_purged"] == 1, result
    assert client.get(f"/performance/posts/{post_id}").status_code == 404


def test_posts_table_rows_link_to_the_post_page(client, people):
    conn = make_connection(people.workspace, people.admin)
    seed_performance(conn, tz="Europe/London", posts=3)
    db.session.commit()
    login(client, people.admin)
    html = client.get(f"/performance?account={conn.id}").get_data(as_text=True)
    ids = db.session.scalars(db.select(Post.id).where(Post.connection_id == conn.id)).all()
    for post_id in ids:
        assert f'href="/performance/posts/{post_id}"' in html


def test_report_link_by_item_id_leads_to_the_post_page_for_readers_only(client, people, post):
    login(client, people.creator)
    r = client.get(f"/performance/accounts/{post.connection_id}/posts/{post.item_id}")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/performance/posts/{post.id}")
    assert client.get(f"/performance/accounts/{post.connection_id}/posts/123").status_code == 404
    missing = client.get(f"/performance/accounts/{post.connection_id}/posts/not-a-stored-id")
    assert missing.status_code == 404 and "TikTok no longer lists it, or its data was deleted" in missing.get_data(
        as_text=True)
    login(client, people.outsider)
    assert client.get(f"/performance/accounts/{post.connection_id}/posts/{post.item_id}").status_code == 404


def test_reports_top_creatives_link_to_their_post_pages(client, people):
    from app.services import report_figures
    from tests.report_data import NOW as REPORT_NOW
    from tests.report_data import WEEK, seed_brass

    conn, _ = seed_brass(people)
    report = report_figures.build_report(people.workspace, WEEK, now=REPORT_NOW)
    db.session.commit()
    login(client, people.admin)
    html = client.get(f"/reports/{WEEK}?workspace={people.workspace.id}").get_data(as_text=True)
    links = re.findall(r'<span class="caption"><a href="https?://[^/"]+(/performance/accounts/[^"]+)">', html)
    assert len(links) == len(report.figures["top_posts"]) == 3
    for link, top in zip(links, report.figures["top_posts"]):
        landed = client.get(link)
        post_id = db.session.scalar(db.select(Post.id).where(Post.connection_id == conn.id,
                                                              Post.item_id == top["item_id"]))
        assert landed.status_code == 302 and landed.headers["Location"].endswith(f"/performance/posts/{post_id}")
        page = client.get(landed.headers["Location"]).get_data(as_text=True)
        assert f'data-figure="views">{top["views"]:,}<' in page
    # The emailed report (rendered by the job, with no request) carries the same absolute links.
    from app.services import report_delivery

    email = report_delivery.render_email_html(report, people.workspace)
    assert re.findall(r'<span class="caption"><a href="https?://[^/"]+(/performance/accounts/[^"]+)"', email) == links

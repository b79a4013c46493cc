"""What a sync keeps from TikTok's documented fields, with TikTok stubbed at the HTTP boundary.

Bodies here follow the answer shapes of TikTok's field tables for `business/get/`,
`business/video/list/`, `ad/get/` and `report/integrated/get/` (see app/tiktok/fields.py
for the sources)."""
import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa

from app.extensions import db
from app.models import AccountSnapshot, AdsAccount, AudienceSnapshot, Post, SparkAdMetric
from app.services import token_sealing
from app.tiktok import fields as documented
from app.tiktok import get_client
from app.tiktok.types import TokenSet
from app.workflows import sync
from tests.factories import make_connection
from tests.tiktok_fixtures import BUSINESS

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=timezone.utc)
OK = {"code": 0, "message": "OK", "request_id": "r"}
ALL_SCOPES = ("user.info.basic,user.info.username,user.info.stats,user.account.type,user.insights,"
              "video.list,video.insights")


def connection(app, people, scopes=ALL_SCOPES, **kw):
    conn = make_connection(people.workspace, people.creator, scopes=scopes, **kw)
    tokens = TokenSet(access_token="act.A", refresh_token="rft.A", open_id=conn.open_id, scopes=(),
                      expires_in=86400, refresh_expires_in=86400 * 300)
    token_sealing.seal_tokens(conn, tokens, keyring=token_sealing.get_keyring(app), now=NOW)
    conn.granted_scopes = scopes
    db.session.commit()
    return conn


def query(request) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}


def day(d: date, n: int) -> dict:
    return {
        "date": d.isoformat(), "video_views": 1000 + n, "unique_video_views": 700 + n, "profile_views": 30,
        "likes": 90, "comments": 9, "shares": 4, "followers_count": 5000 + n, "daily_total_followers": 5000 + n,
        "daily_new_followers": 12, "daily_lost_followers": 3, "engaged_audience": 55 + n,
        "audience_activity": [{"hour": str(h), "count": 10 * h + n} for h in range(24)],
        "bio_link_clicks": 2, "email_clicks": 1,
    }


def profile_body(days: list[date]) -> dict:
    return {**OK, "data": {
        "display_name": "Brass Orbit", "profile_image": "https://p16-sign-va.tiktokcdn.com/avt.jpeg",
        "username": "brassorbit3", "is_business_account": True, "followers_count": 5100,
        "following_count": 12, "total_likes": 9000, "videos_count": 3,
        "metrics": [day(d, i) for i, d in enumerate(days)],
        "audience_ages": [{"age": "18-24", "percentage": 0.41}, {"age": "25-34", "percentage": 0.33}],
        "audience_genders": [{"gender": "Female", "percentage": 0.62}, {"gender": "Male", "percentage": 0.36}],
        "audience_countries": [{"country": "US", "percentage": 0.5}, {"country": "GB", "percentage": 0.2}],
        "audience_cities": [{"city_name": "London", "percentage": 0.1}],
    }}


def video(item_id: str, created: datetime, views: int = 5000) -> dict:
    return {
        "item_id": item_id, "create_time": int(created.timestamp()), "caption": f"post {item_id}",
        "thumbnail_url": "https://p16-sign-va.tiktokcdn.com/t.jpeg", "media_type": "VIDEO", "is_ad": False,
        "share_url": "javascript:alert(1)",  # never kept: only https links are shown
        "video_views": views, "likes": 400, "comments": 30, "shares": 12, "favorites": 44, "reach": 3900,
        "video_duration": 21.5, "full_video_watched_rate": 0.31, "total_time_watched": 52000.5,
        "average_time_watched": 10.4, "new_followers": 17, "profile_views": 80,
        "video_view_retention": [{"second": "0", "percentage": 1.0}, {"second": "10", "percentage": 0.52}],
        "impression_sources": [{"impression_source": "For You", "percentage": 0.8},
                               {"impression_source": "Search", "percentage": 0.05}],
        "audience_types": [{"type": "NEW_VIEWER", "percentage": 0.9}, {"type": "RETURN_VIEWER", "percentage": 0.1}],
    }


def test_first_sync_keeps_reach_followers_activity_demographics_and_post_insights(app, people, requests_mock):
    conn = connection(app, people)
    days = [NOW.date() - timedelta(days=i) for i in range(3, 0, -1)]
    profile = requests_mock.get(BUSINESS + "business/get/", json=profile_body(days))
    requests_mock.get(BUSINESS + "business/video/list/", json={**OK, "data": {
        "videos": [video("7300000000000000001", NOW - timedelta(days=2))], "cursor": 1, "has_more": False}})

    outcome = sync.sync_connection(conn.id, client=get_client(app), keyring=token_sealing.get_keyring(app), now=NOW)
    assert outcome.status == "synced", outcome

    asked = json.loads(query(profile.last_request)["fields"])
    assert "metrics" not in asked and not documented.undocumented(documented.BUSINESS_GET_FIELDS, asked)
    for name in ("video_views", "unique_video_views", "daily_new_followers", "daily_lost_followers",
                 "engaged_audience", "audience_activity", "audience_countries"):
        assert name in asked

    snap = db.session.scalar(sa.select(AccountSnapshot).where(AccountSnapshot.day == days[-1]))
    assert (snap.video_views, snap.reach, snap.new_followers, snap.lost_followers, snap.engaged_audience) == (
        1002, 702, 12, 3, 57)
    assert snap.followers_count == 5002 and snap.audience_activity[5] == [5, 52]
    assert snap.clicks == {"bio_link_clicks": 2, "email_clicks": 1}
    today = db.session.scalar(sa.select(AccountSnapshot).where(AccountSnapshot.day == NOW.date()))
    assert today.followers_count == 5100  # the top-level current total lands on today

    demo = db.session.scalar(sa.select(AudienceSnapshot))
    assert demo.day == NOW.date()
    assert demo.ages == [["18-24", 0.41], ["25-34", 0.33]] and demo.countries[0] == ["US", 0.5]
    assert demo.cities == [["London", 0.1]]

    post = db.session.scalar(sa.select(Post))
    assert (post.favorites, post.video_duration, post.average_time_watched, post.new_followers) == (44, 21.5, 10.4, 17)
    assert post.retention == [[0, 1.0], [10, 0.52]]
    assert post.impression_sources[0] == ["For You", 0.8] and post.audience_types[1] == ["RETURN_VIEWER", 0.1]
    assert post.share_url is None and post.thumbnail_url.startswith("https://")


def test_demographics_are_one_snapshot_per_day_and_absent_answers_keep_nothing_new(app, people, requests_mock):
    conn = connection(app, people)
    body = profile_body([NOW.date() - timedelta(days=1)])
    requests_mock.get(BUSINESS + "business/get/", json=body)
    requests_mock.get(BUSINESS + "business/video/list/", json={**OK, "data": {"videos": [], "has_more": False}})
    client, ring = get_client(app), token_sealing.get_keyring(app)
    sync.sync_connection(conn.id, client=client, keyring=ring, now=NOW)
    sync.sync_connection(conn.id, client=client, keyring=ring, now=NOW + timedelta(minutes=20))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AudienceSnapshot)) == 1
    # Under 100 followers TikTok sends no demographics: tomorrow gets no row, yesterday's stays.
    for key in ("audience_ages", "audience_genders", "audience_countries", "audience_cities"):
        del body["data"][key]
    requests_mock.get(BUSINESS + "business/get/", json=body)
    sync.sync_connection(conn.id, client=client, keyring=ring, now=NOW + timedelta(days=1))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AudienceSnapshot)) == 1


def test_insight_fields_follow_the_granted_scopes(app, people, requests_mock):
    conn = connection(app, people, scopes="user.info.basic,user.info.stats,video.list")
    profile = requests_mock.get(BUSINESS + "business/get/", json=profile_body([]))
    videos = requests_mock.get(BUSINESS + "business/video/list/", json={**OK, "data": {"videos": [], "has_more": False}})
    sync.sync_connection(conn.id, client=get_client(app), keyring=token_sealing.get_keyring(app), now=NOW)
    asked = json.loads(query(profile.last_request)["fields"])
    assert "followers_count" in asked and "video_views" not in asked and "audience_ages" not in asked
    asked_videos = json.loads(query(videos.last_request)["fields"])
    assert "video_views" in asked_videos and "total_time_watched" not in asked_videos


def test_routine_sync_walks_new_posts_and_refreshes_known_ones_by_id(app, people, requests_mock):
    conn = connection(app, people)
    requests_mock.get(BUSINESS + "business/get/", json=profile_body([]))
    old = [video(f"73{i:017d}", NOW - timedelta(days=5 + i)) for i in range(25)]
    first_page = {**OK, "data": {"videos": old, "cursor": 1, "has_more": False}}
    videos = requests_mock.get(BUSINESS + "business/video/list/", json=first_page)
    client, ring = get_client(app), token_sealing.get_keyring(app)
    sync.sync_connection(conn.id, client=client, keyring=ring, now=NOW)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Post)) == 25

    # An hour later: one new post on the newest page, which also reaches past the horizon.
    fresh = video("7399999999999999999", NOW + timedelta(minutes=30))
    newest = {**OK, "data": {"videos": [fresh, *old[:3]], "cursor": 2, "has_more": True}}
    by_id = lambda request, context: {**OK, "data": {  # noqa: E731
        "videos": [video(i, NOW - timedelta(days=6), views=9999)
                   for i in json.loads(query(request)["filters"])["video_ids"]], "has_more": False}}
    videos = requests_mock.get(BUSINESS + "business/video/list/", json=lambda request, context: (
        by_id(request, context) if "filters" in query(request) else newest))
    later = NOW + timedelta(hours=1)
    sync.sync_connection(conn.id, client=client, keyring=ring, now=later)

    walks = [r for r in videos.request_history if "filters" not in query(r)]
    refreshes = [r for r in videos.request_history if "filters" in query(r)]
    assert len(walks) == 1  # stopped at the last sync's horizon instead of walking everything
    ids = [i for r in refreshes for i in json.loads(query(r)["filters"])["video_ids"]]
    assert all(len(json.loads(query(r)["filters"])["video_ids"]) <= 20 for r in refreshes)
    assert sorted(ids) == sorted(v["item_id"] for v in old[3:])  # the ones the walk did not bring
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Post)) == 26
    assert db.session.scalar(sa.select(Post.views).where(Post.item_id == old[-1]["item_id"])) == 9999


# ------------------------------------------------------------------ Spark Ads


def ads_account(app, people):
    account = AdsAccount(workspace_id=people.workspace.id, advertiser_id="7000000000000000001", currency="EUR",
                         status="active")
    db.session.add(account)
    db.session.flush()
    token_sealing.seal_ads_token(account, "ads.TOKEN", keyring=token_sealing.get_keyring(app))
    db.session.commit()
    return account


def test_spark_ads_include_deleted_ones_batch_ids_and_match_video_id(app, people, requests_mock):
    conn = connection(app, people)
    post = Post(connection_id=conn.id, item_id="7311111111111111111", create_time=NOW - timedelta(days=3),
                first_seen_at=NOW)
    db.session.add(post)
    db.session.commit()
    account = ads_account(app, people)
    ads = [{"ad_id": f"17{i:016d}", "advertiser_id": account.advertiser_id, "identity_type": "AUTH_CODE",
            "tiktok_item_id": f"72{i:017d}"} for i in range(229)]
    ads.append({"ad_id": "1799999999999999999", "advertiser_id": account.advertiser_id, "identity_type": "TT_USER",
                "tiktok_item_id": "", "video_id": post.item_id})  # some ads name the post only by video_id
    ad_get = requests_mock.get(BUSINESS + "ad/get/", json={**OK, "data": {
        "list": ads, "page_info": {"page": 1, "page_size": 1000, "total_number": len(ads), "total_page": 1}}})

    def report(request, context):
        filtering = json.loads(query(request)["filtering"])
        ids = json.loads(next(f["filter_value"] for f in filtering if f["field_name"] == "ad_ids"))
        rows = [{"dimensions": {"ad_id": ad_id, "stat_time_day": f"{NOW.date() - timedelta(days=2)} 00:00:00"},
                 "metrics": {"spend": "12.50", "impressions": "1000", "clicks": "20", "ctr": "2.00", "cpm": "12.50",
                             "reach": "800", "frequency": "1.25", "video_play_actions": "900",
                             "video_watched_2s": "600", "video_watched_6s": "300", "video_views_p100": "100",
                             "likes": "50", "comments": "5", "shares": "2", "follows": "7", "profile_visits": "9"}}
                for ad_id in ids if ad_id == "1799999999999999999"
                and query(request)["start_date"] <= str(NOW.date() - timedelta(days=2)) <= query(request)["end_date"]]
        return {**OK, "data": {"list": rows, "page_info": {"page": 1, "page_size": 1000,
                                                          "total_number": len(rows), "total_page": 1}}}

    report_route = requests_mock.get(BUSINESS + "report/integrated/get/", json=report)
    outcome = sync.sync_ads_account(account.id, client=get_client(app), keyring=token_sealing.get_keyring(app), now=NOW)
    assert outcome.status == "synced", outcome

    assert json.loads(query(ad_get.last_request)["filtering"]) == {"primary_status": "STATUS_ALL"}
    batches = report_route.request_history
    windows = {(query(r)["start_date"], query(r)["end_date"]) for r in batches}
    assert len(batches) == 3 * len(windows)  # 230 ads: 100 + 100 + 30 ids, per ≤30-day window
    for request in batches:
        filtering = json.loads(query(request)["filtering"])
        ids = json.loads(next(f["filter_value"] for f in filtering if f["field_name"] == "ad_ids"))
        assert len(ids) <= 100
        assert {"field_name": "ad_status", "filter_type": "IN", "filter_value": '["STATUS_ALL"]'} in filtering
        assert not documented.undocumented(documented.REPORT_METRICS, json.loads(query(request)["metrics"]))

    row = db.session.scalar(sa.select(SparkAdMetric))
    assert row.post_id == post.id and row.tiktok_item_id == post.item_id
    assert (row.impressions, row.spend, row.reach, row.frequency) == (1000, Decimal("12.50"), 800, Decimal("1.25"))
    assert (row.video_views_p100, row.likes, row.follows, row.profile_visits) == (100, 50, 7, 9)

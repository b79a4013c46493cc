"""The same client calls against requests-mock fixtures and against the live sandbox must parse to
the same types and shapes, so the fixtures, the sandbox and TIKTOK_API.md cannot drift apart."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from app.tiktok import (
    AdsReportRow,
    AdsToken,
    AdvertiserInfo,
    DailyAccountMetrics,
    InvalidGrant,
    Profile,
    SparkAd,
    TokenInvalid,
    TokenSet,
    Video,
    VideoPage,
)
from app.tiktok.types import SPARK_IDENTITY_TYPES

ITEM_ID = re.compile(r"\d{19}")
COUNTS = ("video_views", "profile_views", "likes", "comments", "shares", "followers_count",
          "daily_new_followers", "daily_lost_followers")


def int_or_none(value) -> bool:
    return value is None or (type(value) is int and value >= 0)


def assert_token_set(tokens, client) -> None:
    assert isinstance(tokens, TokenSet)
    assert tokens.access_token.startswith("act.") and tokens.refresh_token.startswith("rft.")
    assert isinstance(tokens.open_id, str) and tokens.open_id
    assert isinstance(tokens.scopes, tuple) and all(isinstance(s, str) and s for s in tokens.scopes)
    assert set(client.scopes) <= set(tokens.scopes)
    assert type(tokens.expires_in) is int and tokens.expires_in > 0
    assert type(tokens.refresh_expires_in) is int and tokens.refresh_expires_in > 0
    assert tokens.token_type == "Bearer"
    assert tokens.access_token not in repr(tokens) and tokens.refresh_token not in repr(tokens)


def test_exchange_code_returns_a_token_set_with_lifetimes_from_the_response(tiktok):
    assert_token_set(tiktok.connect(), tiktok.client)


def test_refresh_returns_a_new_pair_and_rotates_the_refresh_token(tiktok):
    first = tiktok.connect()
    second = tiktok.track(tiktok.client.refresh(first.refresh_token))
    assert_token_set(second, tiktok.client)
    assert second.refresh_token != first.refresh_token
    assert second.access_token != first.access_token
    assert second.open_id == first.open_id


def test_revoke_kills_the_access_token_and_the_refresh_token(tiktok):
    tokens = tiktok.connect()
    assert tiktok.client.revoke(tokens.access_token) is None
    with pytest.raises(TokenInvalid):
        tiktok.client.get_business_profile(tokens.access_token, tokens.open_id)
    with pytest.raises(InvalidGrant):
        tiktok.client.refresh(tokens.refresh_token)


def assert_profile(profile, tokens, username) -> None:
    assert isinstance(profile, Profile)
    assert profile.business_id == tokens.open_id
    assert profile.username == username
    assert isinstance(profile.display_name, str) and profile.display_name
    assert isinstance(profile.avatar_url, str) and profile.avatar_url.startswith(("http://", "https://"))
    assert type(profile.is_business_account) is bool
    for name in ("followers_count", "following_count", "total_likes", "videos_count"):
        assert type(getattr(profile, name)) is int and getattr(profile, name) >= 0, name


def test_business_profile_without_a_date_range_has_counters_and_no_daily_rows(tiktok):
    tokens = tiktok.connect()
    profile = tiktok.client.get_business_profile(tokens.access_token, tokens.open_id)
    assert_profile(profile, tokens, tiktok.username)
    assert profile.daily == ()


def test_business_profile_with_a_date_range_has_typed_daily_rows_inside_it(tiktok):
    tokens = tiktok.connect()
    start, end = tiktok.today - dt.timedelta(days=6), tiktok.today
    profile = tiktok.client.get_business_profile(tokens.access_token, tokens.open_id, start_date=start, end_date=end)
    assert_profile(profile, tokens, tiktok.username)
    assert profile.daily, "no daily rows"
    assert [d.date for d in profile.daily] == sorted({d.date for d in profile.daily})
    for day in profile.daily:
        assert isinstance(day, DailyAccountMetrics)
        assert type(day.date) is dt.date and start <= day.date <= end
        for name in COUNTS:
            assert int_or_none(getattr(day, name)), (day.date, name, getattr(day, name))
    assert any(day.video_views is not None for day in profile.daily)


def assert_video(video) -> None:
    assert isinstance(video, Video)
    assert isinstance(video.item_id, str) and ITEM_ID.fullmatch(video.item_id), video.item_id
    assert isinstance(video.create_time, dt.datetime) and video.create_time.utcoffset() == dt.timedelta(0)
    rate = video.full_video_watched_rate
    assert rate is None or (type(rate) is float and 0.0 <= rate <= 1.0), rate
    for name in ("video_views", "likes", "comments", "shares", "reach"):
        assert int_or_none(getattr(video, name)), (video.item_id, name)
    assert type(video.is_ad) is bool
    assert isinstance(video.caption, str)


def test_list_videos_returns_a_typed_page_with_a_cursor(tiktok):
    tokens = tiktok.connect()
    page = tiktok.client.list_videos(tokens.access_token, tokens.open_id, max_count=20)
    assert isinstance(page, VideoPage)
    assert page.videos and len(page.videos) <= 20
    assert type(page.cursor) is int and type(page.has_more) is bool
    for video in page.videos:
        assert_video(video)


def test_iter_videos_walks_every_page_newest_first(tiktok):
    tokens = tiktok.connect()
    first_page = tiktok.client.list_videos(tokens.access_token, tokens.open_id)
    assert first_page.has_more, "a single page proves nothing about cursor paging"
    videos = list(tiktok.client.iter_videos(tokens.access_token, tokens.open_id))
    assert len(videos) > len(first_page.videos)
    assert tuple(videos[: len(first_page.videos)]) == first_page.videos
    assert len({v.item_id for v in videos}) == len(videos)
    assert [v.create_time for v in videos] == sorted((v.create_time for v in videos), reverse=True)
    for video in videos:
        assert_video(video)
    assert any(v.full_video_watched_rate is not None for v in videos)


def ads_setup(tiktok):
    token = tiktok.client.ads_exchange(tiktok.ads_code())
    tiktok.remember(token.access_token)
    advertiser_id = token.advertiser_ids[0]
    info = tiktok.client.get_advertiser_info(token.access_token, advertiser_id)
    spark = tiktok.client.list_spark_ads(token.access_token, advertiser_id)
    return token, advertiser_id, info, spark


def test_ads_exchange_lists_advertisers_with_info_and_spark_ads(tiktok):
    token, advertiser_id, info, spark = ads_setup(tiktok)
    assert isinstance(token, AdsToken) and isinstance(token.access_token, str) and token.access_token
    assert token.advertiser_ids and all(isinstance(a, str) and a.isdigit() for a in token.advertiser_ids)
    assert isinstance(token.scopes, tuple)

    advertisers = tiktok.client.list_advertisers(token.access_token)
    assert {a["advertiser_id"] for a in advertisers} == set(token.advertiser_ids)
    assert all(isinstance(a["advertiser_name"], str) and a["advertiser_name"] for a in advertisers)

    assert isinstance(info, AdvertiserInfo) and info.advertiser_id == advertiser_id
    assert isinstance(info.currency, str) and re.fullmatch(r"[A-Z]{3}", info.currency)
    assert isinstance(info.name, str) and isinstance(info.timezone, str)

    assert spark, "no Spark Ads to report on"
    for ad in spark:
        assert isinstance(ad, SparkAd) and ad.is_spark
        assert ad.identity_type in SPARK_IDENTITY_TYPES
        assert ad.advertiser_id == advertiser_id and ad.ad_id.isdigit()
        assert ad.tiktok_item_id is not None and ITEM_ID.fullmatch(ad.tiktok_item_id)


def test_ads_daily_report_rows_are_typed_and_inside_the_range(tiktok):
    token, advertiser_id, info, spark = ads_setup(tiktok)
    start, end = tiktok.today - dt.timedelta(days=29), tiktok.today
    spark_ids = {ad.ad_id for ad in spark}
    rows = tiktok.client.ads_daily_report(token.access_token, advertiser_id, start, end, ad_ids=sorted(spark_ids))
    assert rows, "no report rows"
    for row in rows:
        assert isinstance(row, AdsReportRow)
        assert row.ad_id in spark_ids
        assert type(row.day) is dt.date and start <= row.day <= end
        assert int_or_none(row.impressions) and int_or_none(row.clicks)
        for name in ("spend", "ctr", "cpm"):
            value = getattr(row, name)
            assert value is None or (isinstance(value, Decimal) and value.is_finite() and value >= 0), name
        assert row.currency == info.currency  # fetched by the client when not given


def test_ads_report_dash_means_no_figure_and_strings_parse_exactly(tiktok):
    token, advertiser_id, info, spark = ads_setup(tiktok)
    start, end = tiktok.today - dt.timedelta(days=29), tiktok.today
    ids = sorted(ad.ad_id for ad in spark)
    rows = tiktok.client.ads_daily_report(token.access_token, advertiser_id, start, end, ad_ids=ids,
                                          currency=info.currency)
    parsed = {(row.ad_id, row.day): row for row in rows}
    raw = tiktok.raw_report_rows(token.access_token, advertiser_id, start, end, ids)
    assert len(raw) == len(rows)
    dashes = 0
    for item in raw:
        row = parsed[(item["dimensions"]["ad_id"], dt.date.fromisoformat(item["dimensions"]["stat_time_day"][:10]))]
        for name, value in item["metrics"].items():
            assert isinstance(value, str), (name, value)  # the Marketing API sends every metric as text
            if value == "-":
                dashes += 1
                assert getattr(row, name) is None, (name, row)
            elif name in ("impressions", "clicks"):
                assert getattr(row, name) == int(value)
            else:
                assert getattr(row, name) == Decimal(value)
    assert dashes, 'no "-" in the report: the no-figure case went untested'

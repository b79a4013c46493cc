"""The same client calls against requests-mock fixtures and against the live sandbox must parse to
the same types and shapes, so the fixtures, the sandbox and TikTok's documented contract cannot
drift apart."""
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
from app.tiktok import fields as documented
from app.tiktok.client import REPORT_METRICS, insight_fields_for, profile_fields_for, video_fields_for
from app.tiktok.types import CLICK_METRICS, SPARK_IDENTITY_TYPES, Demographics, TokenInfo

ITEM_ID = re.compile(r"\d{19}")
COUNTS = ("video_views", "unique_video_views", "profile_views", "likes", "comments", "shares", "followers_count",
          "daily_total_followers", "daily_new_followers", "daily_lost_followers", "engaged_audience")
DECIMAL_METRICS = {"spend", "ctr", "cpm", "cpc", "frequency"}


def int_or_none(value) -> bool:
    return value is None or (type(value) is int and value >= 0)


def float_or_none(value, high: float | None = None) -> bool:
    return value is None or (type(value) is float and value >= 0 and (high is None or value <= high))


def assert_shares(pairs, what: str) -> None:
    """(label, share) pairs: labels are text, shares are fractions of 1."""
    assert isinstance(pairs, tuple), what
    for label, share in pairs:
        assert isinstance(label, str) and label, (what, label)
        assert type(share) is float and 0.0 <= share <= 1.0, (what, label, share)


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


# --- tokens ------------------------------------------------------------------------------------

def test_exchange_code_returns_a_token_set_with_lifetimes_from_the_response(tiktok):
    assert_token_set(tiktok.connect(), tiktok.client)


def test_refresh_returns_a_new_pair_and_rotates_the_refresh_token(tiktok):
    first = tiktok.connect()
    second = tiktok.track(tiktok.client.refresh(first.refresh_token, access_token=first.access_token))
    assert_token_set(second, tiktok.client)
    assert second.refresh_token != first.refresh_token
    assert second.access_token != first.access_token
    assert second.open_id == first.open_id


def test_token_info_names_the_creator_and_the_granted_scopes(tiktok):
    tokens = tiktok.connect()
    info = tiktok.client.token_info(tokens.access_token)
    assert isinstance(info, TokenInfo)
    assert info.creator_id == tokens.open_id
    assert info.app_id == tiktok.client.client_key
    assert set(tiktok.client.scopes) <= set(info.scopes)


def test_revoke_kills_the_access_token_and_the_refresh_token(tiktok):
    """TikTok documents no code for a dead token: every refusal here is recognised through token_info."""
    tokens = tiktok.connect()
    assert tiktok.client.revoke(tokens.access_token) is None
    with pytest.raises(TokenInvalid):
        tiktok.client.token_info(tokens.access_token)
    with pytest.raises(TokenInvalid):
        tiktok.client.get_business_profile(tokens.access_token, tokens.open_id)
    with pytest.raises(TokenInvalid):
        tiktok.client.list_videos(tokens.access_token, tokens.open_id)
    with pytest.raises(InvalidGrant):
        tiktok.client.refresh(tokens.refresh_token, access_token=tokens.access_token)
    with pytest.raises(InvalidGrant):
        tiktok.client.refresh(tokens.refresh_token)


# --- business/get/ ----------------------------------------------------------------------------

def assert_profile(profile, tokens, username) -> None:
    assert isinstance(profile, Profile)
    assert profile.business_id == tokens.open_id
    assert profile.username == username
    assert isinstance(profile.display_name, str) and profile.display_name
    assert isinstance(profile.avatar_url, str) and profile.avatar_url.startswith(("http://", "https://"))
    assert type(profile.is_business_account) is bool
    for name in ("followers_count", "following_count", "total_likes", "videos_count"):
        assert type(getattr(profile, name)) is int and getattr(profile, name) >= 0, name


def assert_day(day, start: dt.date, end: dt.date) -> None:
    assert isinstance(day, DailyAccountMetrics)
    assert type(day.date) is dt.date and start <= day.date <= end, day.date
    for name in COUNTS:
        assert int_or_none(getattr(day, name)), (day.date, name, getattr(day, name))
    for hour, count in day.audience_activity:
        assert type(hour) is int and 0 <= hour <= 23 and type(count) is int and count >= 0, (day.date, hour, count)
    assert set(day.clicks) <= set(CLICK_METRICS)
    assert all(type(n) is int and n >= 0 for n in day.clicks.values()), day.clicks


def test_business_profile_without_a_date_range_answers_the_last_7_days_ending_yesterday(tiktok):
    """No dates: profile counters now, and `followers_count` (asked once) also per day for TikTok's
    default range, the 7 days ending yesterday (UTC). Nothing else per day: nothing else was asked."""
    tokens = tiktok.connect()
    profile = tiktok.client.get_business_profile(tokens.access_token, tokens.open_id)
    assert_profile(profile, tokens, tiktok.username)
    yesterday = tiktok.today - dt.timedelta(days=1)
    assert profile.daily, "followers_count was asked: TikTok answers it per day as well"
    for day in profile.daily:
        assert_day(day, yesterday - dt.timedelta(days=6), yesterday)
        assert type(day.followers_count) is int
        assert day.video_views is None and day.likes is None and day.audience_activity == ()
    assert not profile.demographics


def test_business_profile_with_every_insight_field_has_typed_daily_rows_and_demographics(tiktok):
    tokens = tiktok.connect()
    start, end = tiktok.today - dt.timedelta(days=6), tiktok.today
    profile = tiktok.client.get_business_profile(tokens.access_token, tokens.open_id, start_date=start, end_date=end,
                                                 fields=insight_fields_for(tokens.scopes))
    assert_profile(profile, tokens, tiktok.username)
    assert profile.daily, "no daily rows"
    assert [d.date for d in profile.daily] == sorted({d.date for d in profile.daily})
    for day in profile.daily:
        assert_day(day, start, end)
    for name in ("video_views", "unique_video_views", "engaged_audience", "daily_new_followers"):
        assert any(getattr(day, name) is not None for day in profile.daily), name
    # A registered Business account with more than 100 followers: activity, clicks, demographics.
    assert any(len(day.audience_activity) == 24 for day in profile.daily)
    assert any(day.clicks for day in profile.daily)
    assert isinstance(profile.demographics, Demographics) and profile.demographics
    for name in ("ages", "genders", "countries", "cities"):
        pairs = getattr(profile.demographics, name)
        assert pairs, name
        assert_shares(pairs, name)


def test_business_profile_with_only_demographics_has_no_daily_rows(tiktok):
    tokens = tiktok.connect()
    profile = tiktok.client.get_business_profile(tokens.access_token, tokens.open_id,
                                                 fields=tuple(documented.DEMOGRAPHIC_FIELDS))
    assert profile.daily == () and profile.username is None and profile.followers_count is None
    assert profile.demographics.ages and profile.demographics.genders
    assert_shares(profile.demographics.countries, "countries")


def test_profile_fields_alone_ask_no_insights(tiktok):
    tokens = tiktok.connect()
    profile = tiktok.client.get_business_profile(tokens.access_token, tokens.open_id,
                                                 fields=profile_fields_for(tokens.scopes),
                                                 start_date=tiktok.today - dt.timedelta(days=2), end_date=tiktok.today)
    assert_profile(profile, tokens, tiktok.username)
    assert all(day.video_views is None and not day.clicks for day in profile.daily)
    assert not profile.demographics


# --- business/video/list/ -----------------------------------------------------------------------

def assert_video(video, *, insights: bool) -> None:
    assert isinstance(video, Video)
    assert isinstance(video.item_id, str) and ITEM_ID.fullmatch(video.item_id), video.item_id
    assert isinstance(video.create_time, dt.datetime) and video.create_time.utcoffset() == dt.timedelta(0)
    assert float_or_none(video.full_video_watched_rate, 1.0), video.full_video_watched_rate
    for name in ("video_views", "likes", "comments", "shares", "favorites", "reach", "new_followers",
                 "profile_views"):
        assert int_or_none(getattr(video, name)), (video.item_id, name)
    for name in ("video_duration", "total_time_watched", "average_time_watched"):
        assert float_or_none(getattr(video, name)), (video.item_id, name)
    assert type(video.is_ad) is bool
    assert isinstance(video.caption, str)
    assert video.thumbnail_url is None or video.thumbnail_url.startswith(("http://", "https://"))
    for second, share in video.video_view_retention:
        assert type(second) is int and second >= 0 and type(share) is float and 0.0 <= share <= 1.0
    assert_shares(video.impression_sources, "impression_sources")
    assert_shares(video.audience_types, "audience_types")
    if not insights:
        assert video.video_view_retention == () and video.total_time_watched is None


def test_list_videos_returns_a_typed_page_with_a_cursor(tiktok):
    tokens = tiktok.connect()
    page = tiktok.client.list_videos(tokens.access_token, tokens.open_id, max_count=20,
                                     fields=video_fields_for(tokens.scopes))
    assert isinstance(page, VideoPage)
    assert page.videos and len(page.videos) <= 20
    assert type(page.cursor) is int and type(page.has_more) is bool
    for video in page.videos:
        assert_video(video, insights=True)
    assert any(v.video_view_retention for v in page.videos)
    assert any(v.impression_sources for v in page.videos) and any(v.audience_types for v in page.videos)
    assert any(v.average_time_watched is not None for v in page.videos)


def test_list_videos_without_insight_scope_fields_has_no_insights(tiktok):
    tokens = tiktok.connect()
    page = tiktok.client.list_videos(tokens.access_token, tokens.open_id,
                                     fields=video_fields_for(["video.list"]))
    for video in page.videos:
        assert_video(video, insights=False)


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
        assert_video(video, insights=True)
    assert any(v.full_video_watched_rate is not None for v in videos)


def test_list_videos_by_id_answers_those_posts_only(tiktok):
    tokens = tiktok.connect()
    fields = video_fields_for(tokens.scopes)
    known = list(tiktok.client.iter_videos(tokens.access_token, tokens.open_id, fields=fields))
    wanted = [v.item_id for v in known[1::2]][: documented.VIDEO_FILTER_MAX_IDS]
    assert wanted, "no posts to ask for"
    page = tiktok.client.list_videos(tokens.access_token, tokens.open_id, fields=fields, video_ids=wanted)
    assert page.videos and {v.item_id for v in page.videos} <= set(wanted)
    by_id = {v.item_id: v for v in known}
    for video in page.videos:
        assert_video(video, insights=True)
        assert video.create_time == by_id[video.item_id].create_time


# --- Marketing API ------------------------------------------------------------------------------

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
        assert ad.post_item_id is not None and ITEM_ID.fullmatch(ad.post_item_id), ad
    # Some TT_USER / BC_AUTH_TT ads name their post by video_id only.
    assert any(ad.tiktok_item_id is None and ad.video_id == ad.post_item_id for ad in spark)


def test_spark_ads_include_the_deleted_ones_tiktok_hides_by_default(tiktok):
    token, advertiser_id, _, spark = ads_setup(tiktok)
    default = tiktok.raw_ad_ids(token.access_token, advertiser_id, every_status=False)
    everything = tiktok.raw_ad_ids(token.access_token, advertiser_id, every_status=True)
    hidden = everything - default
    assert hidden, "no deleted ad: the STATUS_ALL case went untested"
    assert hidden & {ad.ad_id for ad in spark}, "the client lost a deleted Spark Ad"


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
        for name in AdsReportRow.ENGAGEMENT:
            assert int_or_none(getattr(row, name)), name
        for name in ("spend", "ctr", "cpm", "frequency"):
            value = getattr(row, name)
            assert value is None or (isinstance(value, Decimal) and value.is_finite() and value >= 0), name
        assert row.currency == info.currency  # fetched by the client when not given
    assert len({(row.ad_id, row.day) for row in rows}) == len(rows), "a row came twice"
    default = tiktok.raw_ad_ids(token.access_token, advertiser_id, every_status=False)
    assert any(row.ad_id not in default and row.spend for row in rows), "the deleted Spark Ad's spend is missing"


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
        assert set(item["metrics"]) == set(REPORT_METRICS)
        for name, value in item["metrics"].items():
            assert isinstance(value, str), (name, value)  # the Marketing API sends every metric as text
            if value == "-":
                dashes += 1
                assert getattr(row, name) is None, (name, row)
            elif name in DECIMAL_METRICS:
                assert getattr(row, name) == Decimal(value), name
            else:
                assert getattr(row, name) == int(value), name
    assert dashes, 'no "-" in the report: the no-figure case went untested'

"""TikTok's documented request fields, in one place, each with the scope it needs.

Everything the client sends as ``fields``/``metrics`` and everything the sandbox
accepts comes from these tables; a contract test fails when the client asks for
a name that is not here. A name goes in only with a source:

* `business/get/` and `business/video/list/`: TikTok API for Business portal
  docs "Get profile data of a TikTok account" (doc id 1762228399168514) and
  "Get video data of a TikTok account" (doc id 1762228421622786), as translated
  field by field in the public Go SDK bububa/tiktok-business
  (`model/business/get.go`, `model/business/insight.go`,
  `model/business/video/list.go`, `model/business/video/video.go`).
  There is no request field called ``metrics``: the daily figures are asked
  for by name and come back in ``data.metrics[]``, one object per UTC date.
* Marketing API `ad/get/` and `report/integrated/get/`: TikTok's own
  tiktok-business-api-sdk (`js_sdk/docs/ReportingApi.md`) and bububa
  (`model/ad/get.go`, `model/ad/creative.go`, `model/report/integrated_get.go`).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

# --- Accounts API: business/get/ ----------------------------------------------------

#: Profile fields (top level of ``data``), by scope.
PROFILE_FIELDS: Mapping[str, str] = {
    "display_name": "user.info.basic",
    "profile_image": "user.info.basic",
    "username": "user.info.username",
    "profile_deep_link": "user.info.profile",
    "bio_description": "user.info.profile",
    "is_verified": "user.info.profile",
    "is_business_account": "user.account.type",
    "following_count": "user.info.stats",
    # Requested once, it comes back as the current total *and* per day in metrics[].
    "followers_count": "user.info.stats",
    "total_likes": "user.info.stats",
    "videos_count": "user.info.stats",
}

#: Daily metrics (each its own field; answered inside ``data.metrics[]`` per UTC date).
#: `audience_activity` is a list of {hour, count} per day, for accounts with ≥100 followers;
#: `profile_views` and the click metrics come only for registered Business accounts.
DAILY_METRIC_FIELDS: Mapping[str, str] = dict.fromkeys(
    (
        "video_views", "unique_video_views", "profile_views", "likes", "comments", "shares",
        "daily_total_followers", "daily_new_followers", "daily_lost_followers",
        "engaged_audience", "audience_activity",
        "bio_link_clicks", "phone_number_clicks", "email_clicks", "address_clicks",
        "app_download_clicks", "lead_submissions",
    ),
    "user.insights",
)

#: Follower demographics (top level; lists of {age|gender|country|city_name, percentage});
#: only for accounts with ≥100 followers. TikTok keeps no history of them.
DEMOGRAPHIC_FIELDS: Mapping[str, str] = dict.fromkeys(
    ("audience_ages", "audience_genders", "audience_countries", "audience_cities"), "user.insights",
)

#: Every documented `business/get/` field.
BUSINESS_GET_FIELDS: Mapping[str, str] = {**PROFILE_FIELDS, **DAILY_METRIC_FIELDS, **DEMOGRAPHIC_FIELDS}
#: What TikTok answers when `fields` is omitted.
BUSINESS_GET_DEFAULT_FIELDS: tuple[str, ...] = ("display_name", "profile_image")
#: TikTok looks back at most this many days on business/get/; without dates it answers
#: the last 7 days ending yesterday (UTC).
BUSINESS_GET_LOOKBACK_DAYS = 60
BUSINESS_GET_DEFAULT_DAYS = 7

# --- Accounts API: business/video/list/ ------------------------------------------

VIDEO_FIELDS: Mapping[str, str] = {
    **dict.fromkeys(
        (
            "item_id", "media_type", "is_ad", "create_time", "thumbnail_url", "share_url", "embed_url",
            "caption", "video_duration", "likes", "comments", "shares", "favorites", "reach", "video_views",
        ),
        "video.list",
    ),
    **dict.fromkeys(
        (
            "total_time_watched", "average_time_watched", "full_video_watched_rate", "new_followers",
            "profile_views", "website_clicks", "phone_number_clicks", "lead_submissions",
            "app_download_clicks", "email_clicks", "address_clicks",
            "video_view_retention", "impression_sources", "audience_types", "engagement_likes",
            "audience_genders", "audience_countries", "audience_cities",
        ),
        "video.insights",
    ),
}
VIDEO_DEFAULT_FIELDS: tuple[str, ...] = ("item_id",)
VIDEO_MAX_COUNT = 20
#: `filters={"video_ids": [...]}` takes at most this many ids.
VIDEO_FILTER_MAX_IDS = 20

# --- Marketing API -----------------------------------------------------------------

AD_GET_FIELDS: frozenset[str] = frozenset({
    "advertiser_id", "campaign_id", "adgroup_id", "ad_id", "ad_name", "identity_type", "identity_id",
    "tiktok_item_id", "video_id", "operation_status", "secondary_status", "create_time", "ad_text",
})
#: `advertiser/info/` fields (the `Advertiser` answer in bububa/tiktok-business `model/advertiser/advertiser.go`).
ADVERTISER_INFO_FIELDS: frozenset[str] = frozenset({
    "advertiser_id", "name", "currency", "timezone", "display_timezone", "status", "company",
})
REPORT_METRICS: frozenset[str] = frozenset({
    "spend", "impressions", "clicks", "ctr", "cpm", "cpc", "reach", "frequency", "video_play_actions",
    "video_watched_2s", "video_watched_6s", "video_views_p100", "likes", "comments", "shares", "follows",
    "profile_visits",
})
#: `ad/get/` `filtering.primary_status` and the report's `ad_status` filter: ask for every
#: status, deleted ads included (both hide deleted ads by default).
STATUS_ALL = "STATUS_ALL"
#: The report's `ad_ids` filter takes at most this many ids.
REPORT_MAX_AD_IDS = 100


def fields_allowed(table: Mapping[str, str], granted_scopes: Iterable[str],
                   wanted: Iterable[str] | None = None) -> tuple[str, ...]:
    """The names of `table` (in its order, or `wanted`'s subset) whose scope was granted."""
    granted = set(granted_scopes)
    names = table if wanted is None else [name for name in table if name in set(wanted)]
    return tuple(name for name in names if table[name] in granted)


def undocumented(table: Mapping[str, str] | frozenset[str], names: Iterable[str]) -> list[str]:
    """The names TikTok does not document for this table (should always be empty)."""
    return [name for name in names if name not in table]

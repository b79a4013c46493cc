"""Accounts API data endpoints: business/get/ and business/video/list/ (TIKTOK_API.md §7.3–7.5)."""
from __future__ import annotations

import datetime as dt

from flask import request, url_for

from . import demo_data
from .responses import RateLimited, access_token_header, check_fields, date_param, int_param, json_param, ok, state
from .state import INVALID_PARAMS, SCOPE_MISSING, SandboxError

LOOKBACK_DAYS = 60

ACCOUNT_FIELDS = {
    "display_name": "user.info.basic",
    "profile_image": "user.info.basic",
    "username": "user.info.username",
    "profile_deep_link": "user.info.profile",
    "bio_description": "user.info.profile",
    "is_verified": "user.info.profile",
    "is_business_account": "user.account.type",
    "following_count": "user.info.stats",
    "followers_count": "user.info.stats",
    "total_likes": "user.info.stats",
    "videos_count": "user.info.stats",
    "metrics": "user.insights",
    "audience_countries": "user.insights",
    "audience_genders": "user.insights",
}

VIDEO_FIELDS = {
    **dict.fromkeys(
        [
            "item_id", "media_type", "is_ad", "create_time", "thumbnail_url", "share_url", "embed_url",
            "caption", "video_duration", "likes", "comments", "shares", "favorites", "reach", "video_views",
        ],
        "video.list",
    ),
    **dict.fromkeys(
        [
            "total_time_watched", "average_time_watched", "full_video_watched_rate", "new_followers",
            "profile_views", "video_view_retention", "impression_sources",
        ],
        "video.insights",
    ),
}


def authorized_grant(endpoint: str) -> dict:
    """Access-Token → grant, then the sliding-window limits (per account per endpoint, and app-wide)."""
    st = state()
    grant = st.grant_for_access_token(access_token_header())
    retry = st.hit(
        [
            ("app", st.settings.app_qpm),
            (f"account:{grant['open_id']}:{endpoint}", st.settings.per_account_qpm),
        ]
    )
    if retry:
        raise RateLimited(retry)
    business_id = request.args.get("business_id")
    if not business_id:
        raise SandboxError(INVALID_PARAMS, "invalid params: business_id is required.")
    if business_id != grant["open_id"]:
        raise SandboxError(SCOPE_MISSING, "No permission to access this business_id with this access token.")
    return grant


def _metrics(acct: demo_data.Account, start: dt.date, end: dt.date) -> list[dict]:
    return [
        {
            "date": d.date.isoformat(),
            "video_views": d.video_views,
            "unique_video_views": d.unique_video_views,
            "profile_views": d.profile_views,
            "likes": d.likes,
            "comments": d.comments,
            "shares": d.shares,
            "followers_count": d.followers_count,
            "daily_total_followers": d.followers_count,
            "daily_new_followers": d.daily_new_followers,
            "daily_lost_followers": d.daily_lost_followers,
            "engaged_audience": round(d.unique_video_views * 0.08),
        }
        for d in acct.days
        if start <= d.date <= end
    ]


def business_get():
    grant = authorized_grant("business/get/")
    fields = json_param("fields", ["display_name", "profile_image"])
    check_fields(fields, ACCOUNT_FIELDS, grant["scopes"])
    st = state()
    acct = st.account(grant["username"])
    values = {
        "display_name": acct.display_name,
        "profile_image": url_for(".static", filename="avatar.svg", _external=True),
        "username": acct.username,
        "profile_deep_link": f"https://www.tiktok.com/@{acct.username}",
        "bio_description": acct.bio_description,
        "is_verified": acct.is_verified,
        "is_business_account": acct.is_business_account,
        "following_count": acct.following_count,
        "followers_count": acct.followers_count,
        "total_likes": acct.total_likes,
        "videos_count": len(acct.public_posts),
        "audience_countries": demo_data.audience_countries(acct.username),
        "audience_genders": demo_data.audience_genders(acct.username),
    }
    data = {f: values[f] for f in fields if f != "metrics"}
    if "metrics" in fields:
        today = st.today()
        start, end = date_param("start_date"), date_param("end_date")
        if start > end:
            raise SandboxError(INVALID_PARAMS, "invalid params: start_date must not be after end_date.")
        if start < today - dt.timedelta(days=LOOKBACK_DAYS):
            raise SandboxError(INVALID_PARAMS, f"invalid params: start_date is more than {LOOKBACK_DAYS} days ago.")
        # Days after today simply have no rows yet (a client a timezone ahead of UTC may ask for them).
        data["metrics"] = _metrics(acct, start, min(end, today))
    return ok(data)


def _video(acct: demo_data.Account, post: demo_data.Post, fields: list[str], boosted: set[str]) -> dict:
    c = post.counters_at(acct.as_of_ts)
    values = {
        "item_id": post.item_id,
        "media_type": "VIDEO",
        "is_ad": post.item_id in boosted,
        "create_time": post.create_time,
        "thumbnail_url": url_for(".static", filename="thumbnail.svg", _external=True),
        "share_url": f"https://www.tiktok.com/@{acct.username}/video/{post.item_id}",
        "embed_url": f"https://www.tiktok.com/player/v1/{post.item_id}",
        "caption": post.caption,
        "video_duration": float(post.duration),
        "video_view_retention": [
            {"second": s, "percentage": round(1 - (1 - post.full_video_watched_rate) * s / post.duration, 4)}
            for s in range(0, post.duration + 1, max(1, post.duration // 5))
        ],
        "impression_sources": [
            {"impression_source": "For You", "percentage": 0.78},
            {"impression_source": "Follow", "percentage": 0.09},
            {"impression_source": "Personal Profile", "percentage": 0.06},
            {"impression_source": "Search", "percentage": 0.05},
            {"impression_source": "Sound", "percentage": 0.02},
        ],
        **c,
    }
    return {f: values[f] for f in fields}


def video_list():
    grant = authorized_grant("business/video/list/")
    if "video.list" not in grant["scopes"]:
        raise SandboxError(SCOPE_MISSING, "scope/permission missing: this endpoint needs scope video.list.")
    fields = json_param("fields", ["item_id"])
    check_fields(fields, VIDEO_FIELDS, grant["scopes"])
    max_count = int_param("max_count", 10, 1, 20)
    acct = state().account(grant["username"])
    cursor = int_param("cursor", acct.as_of_ts * 1000, 0, 2**63 - 1)
    filters = json_param("filters", None, dict)
    boosted = {ad.tiktok_item_id for ad in acct.ads if ad.tiktok_item_id}
    if filters is not None:
        ids = filters.get("video_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 20:
            raise SandboxError(INVALID_PARAMS, "invalid params: filters.video_ids must list 1–20 ids.")
        found = [p for p in acct.public_posts if p.item_id in ids]
        return ok({"videos": [_video(acct, p, fields, boosted) for p in found], "cursor": cursor, "has_more": False})
    older = [p for p in acct.posts if p.create_time * 1000 < cursor]
    page = older[:max_count]
    # Private posts take a slot but are never returned, so pages can be short while has_more is true.
    videos = [_video(acct, p, fields, boosted) for p in page if p.public]
    next_cursor = page[-1].create_time * 1000 if page else cursor
    return ok({"videos": videos, "cursor": next_cursor, "has_more": len(older) > max_count})


ROUTES = [
    ("/open_api/v1.3/business/get/", "business_get", business_get, ["GET"]),
    ("/open_api/v1.3/business/video/list/", "video_list", video_list, ["GET"]),
]

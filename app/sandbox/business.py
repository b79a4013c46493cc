"""Accounts API data endpoints: business/get/ and business/video/list/.

The accepted field names and their scopes are TikTok's documented ones, read from
`app.tiktok.fields` (the one cited table the client uses too); any other name is refused with
40002, as TikTok refuses it. The shapes follow TikTok API for Business "Get profile data of a
TikTok account" and "Get video data of a TikTok account", as typed field by field in the Go SDK
bububa/tiktok-business (`model/business/insight.go`, `model/business/video/video.go`).
"""
from __future__ import annotations

import datetime as dt

from flask import request, url_for

from app.tiktok.fields import (
    BUSINESS_GET_DEFAULT_DAYS,
    BUSINESS_GET_DEFAULT_FIELDS,
    BUSINESS_GET_FIELDS,
    BUSINESS_GET_LOOKBACK_DAYS,
    DAILY_METRIC_FIELDS,
    DEMOGRAPHIC_FIELDS,
    PROFILE_FIELDS,
    VIDEO_DEFAULT_FIELDS,
    VIDEO_FIELDS,
    VIDEO_FILTER_MAX_IDS,
    VIDEO_MAX_COUNT,
)

from . import demo_data
from .responses import (
    RateLimited,
    access_token_header,
    check_fields,
    int_param,
    json_param,
    ok,
    optional_date_param,
    state,
)
from .state import INVALID_PARAMS, SCOPE_MISSING, SandboxError

#: Daily account metrics TikTok reports only for registered Business accounts.
BUSINESS_ONLY_DAILY = frozenset({
    "profile_views", "bio_link_clicks", "phone_number_clicks", "email_clicks", "address_clicks",
    "app_download_clicks", "lead_submissions",
})
#: Post metrics TikTok reports only for registered Business accounts.
BUSINESS_ONLY_VIDEO = frozenset({
    "profile_views", "website_clicks", "phone_number_clicks", "lead_submissions", "app_download_clicks",
    "email_clicks", "address_clicks",
})
NO_METRICS_FIELD = (' business/get/ has no field called "metrics": ask for each daily metric by name'
                    ' (e.g. "video_views"); the answer carries them in data.metrics[].')


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


def _date_range(today: dt.date) -> tuple[dt.date, dt.date]:
    """start_date/end_date as TikTok takes them: both or neither (then the 7 days ending yesterday, UTC)."""
    start, end = optional_date_param("start_date"), optional_date_param("end_date")
    if (start is None) != (end is None):
        raise SandboxError(INVALID_PARAMS, "invalid params: start_date and end_date must be given together.")
    if start is None or end is None:
        return today - dt.timedelta(days=BUSINESS_GET_DEFAULT_DAYS), today - dt.timedelta(days=1)
    if start > end:
        raise SandboxError(INVALID_PARAMS, "invalid params: start_date must not be after end_date.")
    if start < today - dt.timedelta(days=BUSINESS_GET_LOOKBACK_DAYS):
        raise SandboxError(
            INVALID_PARAMS, f"invalid params: start_date is more than {BUSINESS_GET_LOOKBACK_DAYS} days ago."
        )
    return start, end


def _day(acct: demo_data.Account, d: demo_data.DayStats, names: list[str]) -> dict:
    """One `data.metrics[]` entry: the date plus only the requested daily names TikTok has for this account."""
    row: dict[str, object] = {"date": d.date.isoformat()}
    for name in names:
        if name in BUSINESS_ONLY_DAILY and not acct.is_business_account:
            continue
        if name == "audience_activity":
            if acct.has_demographics:
                row[name] = [{"hour": str(h), "count": n} for h, n in enumerate(d.audience_activity)]
        elif name == "daily_total_followers":
            row[name] = d.followers_count
        else:
            row[name] = getattr(d, name)
    return row


def business_get():
    grant = authorized_grant("business/get/")
    requested = json_param("fields", None) or list(BUSINESS_GET_DEFAULT_FIELDS)
    fields = check_fields(requested, BUSINESS_GET_FIELDS, grant["scopes"],
                          hint=NO_METRICS_FIELD if "metrics" in requested else "")
    st = state()
    today = st.today()
    start, end = _date_range(today)
    acct = st.account(grant["username"])
    profile = {
        "display_name": lambda: acct.display_name,
        "profile_image": lambda: url_for(".static", filename="avatar.svg", _external=True),
        "username": lambda: acct.username,
        "profile_deep_link": lambda: f"https://www.tiktok.com/@{acct.username}",
        "bio_description": lambda: acct.bio_description,
        "is_verified": lambda: acct.is_verified,
        "is_business_account": lambda: acct.is_business_account,
        "following_count": lambda: acct.following_count,
        "followers_count": lambda: acct.followers_count,
        "total_likes": lambda: acct.total_likes,
        "videos_count": lambda: len(acct.public_posts),
    }
    demographics = {
        "audience_ages": demo_data.audience_ages,
        "audience_genders": demo_data.audience_genders,
        "audience_countries": demo_data.audience_countries,
        "audience_cities": demo_data.audience_cities,
    }
    data: dict[str, object] = {f: profile[f]() for f in fields if f in PROFILE_FIELDS}
    if acct.has_demographics:  # TikTok leaves them out below 100 followers
        data.update({f: demographics[f](acct.username) for f in fields if f in DEMOGRAPHIC_FIELDS})
    # followers_count comes back twice: the current total above, and per day in metrics[].
    daily = [f for f in fields if f in DAILY_METRIC_FIELDS or f == "followers_count"]
    if daily:
        # Days after today simply have no rows yet (a client a timezone ahead of UTC may ask for them).
        data["metrics"] = [_day(acct, d, daily) for d in acct.days if start <= d.date <= end]
    return ok(data)


def _seconds(points: list[tuple[int, float]]) -> list[dict]:
    # `second` is a string, as TikTok's SDKs type it.
    return [{"second": str(s), "percentage": p} for s, p in points]


def _video(acct: demo_data.Account, post: demo_data.Post, fields: list[str], boosted: set[str]) -> dict:
    c = post.counters_at(acct.as_of_ts)
    values = {
        "item_id": lambda: post.item_id,
        "media_type": lambda: "VIDEO",
        "is_ad": lambda: post.item_id in boosted,
        "create_time": lambda: post.create_time,
        "thumbnail_url": lambda: url_for(".static", filename="thumbnail.svg", _external=True),
        "share_url": lambda: f"https://www.tiktok.com/@{acct.username}/video/{post.item_id}",
        "embed_url": lambda: f"https://www.tiktok.com/player/v1/{post.item_id}",
        "caption": lambda: post.caption,
        "video_duration": lambda: float(post.duration),
        "video_view_retention": lambda: _seconds(post.retention()),
        "engagement_likes": lambda: _seconds(post.engagement_likes()),
        "impression_sources": lambda: [{"impression_source": k, "percentage": p} for k, p in post.impression_sources()],
        "audience_types": lambda: [{"type": k, "percentage": p} for k, p in post.audience_types()],
        **{k: (lambda k=k: demo_data.post_audience(acct.username, post, k))
           for k in ("audience_genders", "audience_countries", "audience_cities")},
        **{k: (lambda v=v: v) for k, v in c.items()},
    }
    if any(f in BUSINESS_ONLY_VIDEO for f in fields):
        values.update({k: (lambda v=v: v) for k, v in post.click_counters_at(acct.as_of_ts).items()})
    out = {}
    for f in fields:
        if f in BUSINESS_ONLY_VIDEO and not acct.is_business_account:
            continue
        if f == "audience_cities" and not acct.has_demographics:
            continue
        out[f] = values[f]()
    return out


def video_list():
    grant = authorized_grant("business/video/list/")
    if "video.list" not in grant["scopes"]:
        raise SandboxError(SCOPE_MISSING, "scope/permission missing: this endpoint needs scope video.list.")
    fields = check_fields(json_param("fields", None) or list(VIDEO_DEFAULT_FIELDS), VIDEO_FIELDS, grant["scopes"])
    max_count = int_param("max_count", 10, 1, VIDEO_MAX_COUNT)
    acct = state().account(grant["username"])
    cursor = int_param("cursor", acct.as_of_ts * 1000, 0, 2**63 - 1)
    filters = json_param("filters", None, dict)
    # Posts an ad still uses; a deleted ad no longer does.
    boosted = {ad.post_item_id for ad in acct.ads if ad.post_item_id and not ad.deleted}
    if filters is not None:
        ids = filters.get("video_ids")
        if set(filters) != {"video_ids"} or not isinstance(ids, list) \
                or not 1 <= len(ids) <= VIDEO_FILTER_MAX_IDS or not all(isinstance(i, str) for i in ids):
            raise SandboxError(
                INVALID_PARAMS,
                f"invalid params: filters must be {{\"video_ids\": [...]}} with 1–{VIDEO_FILTER_MAX_IDS} ids as strings.",
            )
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

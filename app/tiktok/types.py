"""What the TikTok client returns: frozen dataclasses, never raw JSON.

Each type has a ``from_api`` constructor that reads TikTok's JSON shape and
raises `BadResponse` on shapes it cannot trust, so a half-broken answer never
reaches the database as zeros. Numbers may arrive as JSON numbers or as
strings (the Marketing API sends every metric as a string); ``"-"``, ``""``
and ``null`` mean "no figure" and become ``None``, never 0.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable, Mapping

from .errors import BadResponse

#: Ads whose `identity_type` is one of these promote an organic post (Spark Ads).
SPARK_IDENTITY_TYPES = frozenset({"AUTH_CODE", "TT_USER", "BC_AUTH_TT"})

_NO_FIGURE = (None, "", "-")


# --- value parsers (shared by every type below) -------------------------------

def _require(data: Mapping[str, Any], key: str, what: str) -> Any:
    value = data.get(key)
    if value is None or value == "":
        raise BadResponse(f"{what}: missing {key!r}")
    return value


def _str(value: Any, key: str, what: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise BadResponse(f"{what}: {key!r} is not a string")
    return str(value)  # 19-digit ids may arrive as JSON numbers; keep them as text


def _int(value: Any, key: str, what: str) -> int | None:
    if isinstance(value, str):
        value = value.strip()
    if value in _NO_FIGURE:
        return None
    if isinstance(value, bool):
        raise BadResponse(f"{what}: {key!r} is a boolean, expected a number")
    if isinstance(value, int):
        return value
    number = _decimal(value, key, what)
    if number is None or number != number.to_integral_value():
        raise BadResponse(f"{what}: {key!r} is not a whole number")
    return int(number)


def _decimal(value: Any, key: str, what: str) -> Decimal | None:
    if isinstance(value, str):
        value = value.strip()
    if value in _NO_FIGURE:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise BadResponse(f"{what}: {key!r} is not a number")
    try:
        number = Decimal(str(value))  # str() so 0.1 stays 0.1, not its binary expansion
    except InvalidOperation:
        raise BadResponse(f"{what}: {key!r} is not a number") from None
    if not number.is_finite():
        raise BadResponse(f"{what}: {key!r} is not a finite number")
    return number


def _float(value: Any, key: str, what: str) -> float | None:
    number = _decimal(value, key, what)
    return None if number is None else float(number)


def _bool(value: Any, key: str, what: str) -> bool | None:
    if value is None:
        return None
    if not isinstance(value, bool):
        raise BadResponse(f"{what}: {key!r} is not a boolean")
    return value


def _date(value: Any, key: str, what: str) -> dt.date:
    """``YYYY-MM-DD`` or the Marketing API's ``YYYY-MM-DD HH:MM:SS`` (a day's start)."""
    if not isinstance(value, str) or len(value) < 10:
        raise BadResponse(f"{what}: {key!r} is not a date")
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        raise BadResponse(f"{what}: {key!r} is not a date") from None


def _epoch_seconds(value: Any, key: str, what: str) -> dt.datetime | None:
    seconds = _int(value, key, what)
    if seconds is None:
        return None
    try:
        return dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise BadResponse(f"{what}: {key!r} is not a timestamp") from None


def _scopes(value: Any, what: str) -> tuple[str, ...]:
    """TikTok sends scopes comma-separated (Accounts API) or as a list (Marketing API ids)."""
    if value is None:
        return ()
    if isinstance(value, str):
        items: Iterable[Any] = value.replace(" ", ",").split(",")
    elif isinstance(value, list):
        items = value
    else:
        raise BadResponse(f"{what}: 'scope' is neither a string nor a list")
    return tuple(dict.fromkeys(str(item).strip() for item in items if str(item).strip()))


def _dict(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise BadResponse(f"{what}: expected an object")
    return value


def _list(value: Any, key: str, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadResponse(f"{what}: {key!r} is not a list")
    return value


# --- Accounts API -------------------------------------------------------------

@dataclass(frozen=True)
class TokenSet:
    """A creator's token pair from `tt_user/oauth2/token/` or `…/refresh_token/`.

    Token text is excluded from ``repr``/``str`` so it can't reach a log line.
    Lifetimes are seconds from the moment of the response, read from TikTok.
    `refresh_expires_in` is None when the response did not state it: keep the
    stored horizon then (the Accounts API's refresh horizon is fixed from the
    original grant, TIKTOK_API.md §4.2).
    `open_id` (= the `business_id` for data calls) is always set by an
    exchange; a refresh response that omits it yields None.
    """

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    open_id: str | None
    scopes: tuple[str, ...]
    expires_in: int
    refresh_expires_in: int | None
    token_type: str = "Bearer"

    @classmethod
    def from_api(cls, data: Mapping[str, Any], *, previous_refresh_token: str | None = None) -> "TokenSet":
        what = "token response"
        data = _dict(data, what)
        access_token = _require(data, "access_token", what)
        # RFC 6749 §6: no refresh_token in a refresh answer means "keep using the old one".
        refresh_token = data.get("refresh_token") or previous_refresh_token
        if not refresh_token:
            raise BadResponse(f"{what}: missing 'refresh_token'")
        if not isinstance(access_token, str) or not isinstance(refresh_token, str):
            raise BadResponse(f"{what}: tokens are not strings")
        open_id = _str(data.get("open_id") or None, "open_id", what)
        if open_id is None and previous_refresh_token is None:
            raise BadResponse(f"{what}: missing 'open_id'")
        expires_in = _int(_require(data, "expires_in", what), "expires_in", what)
        # Accounts API says refresh_token_expires_in; Login Kit says refresh_expires_in.
        raw_refresh_life = data.get("refresh_token_expires_in", data.get("refresh_expires_in"))
        # Lenient on purpose: failing here after TikTok rotated would lose the new refresh token.
        refresh_expires_in = _int(raw_refresh_life, "refresh_token_expires_in", what)
        token_type = data.get("token_type") or "Bearer"
        return cls(
            access_token=access_token,
            refresh_token=refresh_token,
            open_id=open_id,
            scopes=_scopes(data.get("scope"), what),
            expires_in=expires_in,  # type: ignore[arg-type]  # _require made it non-None
            refresh_expires_in=refresh_expires_in,
            token_type=str(token_type),
        )

    def missing_scopes(self, required: Iterable[str]) -> tuple[str, ...]:
        """Scopes in `required` the user did not grant (users can untick scopes)."""
        granted = set(self.scopes)
        return tuple(scope for scope in required if scope not in granted)


@dataclass(frozen=True)
class DailyAccountMetrics:
    """One day of `business/get/` `metrics`; None where TikTok gave no figure."""

    date: dt.date
    video_views: int | None = None
    profile_views: int | None = None
    likes: int | None = None
    comments: int | None = None
    shares: int | None = None
    followers_count: int | None = None
    daily_new_followers: int | None = None
    daily_lost_followers: int | None = None

    _COUNTS = (
        "video_views", "profile_views", "likes", "comments", "shares",
        "followers_count", "daily_new_followers", "daily_lost_followers",
    )

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> "DailyAccountMetrics":
        what = "account metrics"
        data = _dict(data, what)
        counts = {key: _int(data.get(key), key, what) for key in cls._COUNTS}
        return cls(date=_date(data.get("date"), "date", what), **counts)


@dataclass(frozen=True)
class Profile:
    """A TikTok account from `business/get/`: current counters plus daily history."""

    business_id: str
    username: str | None = None
    display_name: str | None = None
    avatar_url: str | None = field(default=None, repr=False)
    is_business_account: bool | None = None
    followers_count: int | None = None
    following_count: int | None = None
    total_likes: int | None = None
    videos_count: int | None = None
    daily: tuple[DailyAccountMetrics, ...] = ()

    @property
    def open_id(self) -> str:
        """The token response's `open_id` is the Accounts API `business_id`."""
        return self.business_id

    @classmethod
    def from_api(cls, data: Mapping[str, Any], *, business_id: str) -> "Profile":
        what = "business profile"
        data = _dict(data, what)
        daily = tuple(
            sorted(
                (DailyAccountMetrics.from_api(row) for row in _list(data.get("metrics"), "metrics", what)),
                key=lambda day: day.date,
            )
        )
        return cls(
            business_id=business_id,
            username=_str(data.get("username"), "username", what),
            display_name=_str(data.get("display_name"), "display_name", what),
            avatar_url=_str(data.get("profile_image"), "profile_image", what),
            is_business_account=_bool(data.get("is_business_account"), "is_business_account", what),
            followers_count=_int(data.get("followers_count"), "followers_count", what),
            following_count=_int(data.get("following_count"), "following_count", what),
            total_likes=_int(data.get("total_likes"), "total_likes", what),
            videos_count=_int(data.get("videos_count"), "videos_count", what),
            daily=daily,
        )


@dataclass(frozen=True)
class Video:
    """A post from `business/video/list/`.

    `item_id` stays a string (19-digit ids overflow JavaScript and some
    databases' floats). `create_time` is UTC-aware; None only when the field
    was not requested. `full_video_watched_rate` is passed through as TikTok
    reports it (share of views that watched to the end).
    """

    item_id: str
    create_time: dt.datetime | None = None
    caption: str | None = None
    thumbnail_url: str | None = field(default=None, repr=False)
    share_url: str | None = field(default=None, repr=False)
    media_type: str | None = None
    video_views: int | None = None
    likes: int | None = None
    comments: int | None = None
    shares: int | None = None
    reach: int | None = None
    full_video_watched_rate: float | None = None
    is_ad: bool | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> "Video":
        what = "video"
        data = _dict(data, what)
        return cls(
            item_id=_str(_require(data, "item_id", what), "item_id", what),  # type: ignore[arg-type]
            create_time=_epoch_seconds(data.get("create_time"), "create_time", what),
            caption=_str(data.get("caption"), "caption", what),
            thumbnail_url=_str(data.get("thumbnail_url"), "thumbnail_url", what),
            share_url=_str(data.get("share_url"), "share_url", what),
            media_type=_str(data.get("media_type"), "media_type", what),
            video_views=_int(data.get("video_views"), "video_views", what),
            likes=_int(data.get("likes"), "likes", what),
            comments=_int(data.get("comments"), "comments", what),
            shares=_int(data.get("shares"), "shares", what),
            reach=_int(data.get("reach"), "reach", what),
            full_video_watched_rate=_float(data.get("full_video_watched_rate"), "full_video_watched_rate", what),
            is_ad=_bool(data.get("is_ad"), "is_ad", what),
        )


@dataclass(frozen=True)
class VideoPage:
    """One page of posts. `cursor` is TikTok's (epoch ms) to pass back for the next page."""

    videos: tuple[Video, ...]
    cursor: int | None
    has_more: bool

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> "VideoPage":
        what = "video list"
        data = _dict(data, what)
        has_more = data.get("has_more", False)
        if not isinstance(has_more, bool):
            raise BadResponse(f"{what}: 'has_more' is not a boolean")
        return cls(
            videos=tuple(Video.from_api(item) for item in _list(data.get("videos"), "videos", what)),
            cursor=_int(data.get("cursor"), "cursor", what),
            has_more=has_more,
        )


# --- Marketing API (Spark Ads) ------------------------------------------------

@dataclass(frozen=True)
class AdsToken:
    """An advertiser token from `oauth2/access_token/` (long-lived, until revoked)."""

    access_token: str = field(repr=False)
    advertiser_ids: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> "AdsToken":
        what = "ads token response"
        data = _dict(data, what)
        access_token = _require(data, "access_token", what)
        if not isinstance(access_token, str):
            raise BadResponse(f"{what}: 'access_token' is not a string")
        ids = tuple(_str(item, "advertiser_ids", what) or "" for item in _list(data.get("advertiser_ids"), "advertiser_ids", what))
        return cls(access_token=access_token, advertiser_ids=ids, scopes=_scopes(data.get("scope"), what))


@dataclass(frozen=True)
class AdvertiserInfo:
    """From `advertiser/info/`: what the ad account reports its money in."""

    advertiser_id: str
    name: str | None = None
    currency: str | None = None
    timezone: str | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> "AdvertiserInfo":
        what = "advertiser info"
        data = _dict(data, what)
        return cls(
            advertiser_id=_str(_require(data, "advertiser_id", what), "advertiser_id", what),  # type: ignore[arg-type]
            name=_str(data.get("name"), "name", what),
            currency=_str(data.get("currency"), "currency", what),
            timezone=_str(data.get("timezone"), "timezone", what),
        )


@dataclass(frozen=True)
class SparkAd:
    """An ad promoting an organic post; `tiktok_item_id` is that post's `item_id`."""

    ad_id: str
    advertiser_id: str
    identity_type: str
    tiktok_item_id: str | None = None
    ad_name: str | None = None

    @property
    def is_spark(self) -> bool:
        return self.identity_type in SPARK_IDENTITY_TYPES

    @classmethod
    def from_api(cls, data: Mapping[str, Any], *, advertiser_id: str) -> "SparkAd":
        what = "ad"
        data = _dict(data, what)
        return cls(
            ad_id=_str(_require(data, "ad_id", what), "ad_id", what),  # type: ignore[arg-type]
            advertiser_id=_str(data.get("advertiser_id") or advertiser_id, "advertiser_id", what),  # type: ignore[arg-type]
            identity_type=_str(data.get("identity_type") or "", "identity_type", what),  # type: ignore[arg-type]
            tiktok_item_id=_str(data.get("tiktok_item_id") or None, "tiktok_item_id", what),
            ad_name=_str(data.get("ad_name"), "ad_name", what),
        )


@dataclass(frozen=True)
class AdsReportRow:
    """One ad on one day from `report/integrated/get/`.

    Metric strings are parsed; ``"-"`` (no delivery) is None. `spend` and `cpm`
    are in `currency` (the ad account's); `ctr` is TikTok's percentage.
    """

    ad_id: str
    day: dt.date
    impressions: int | None = None
    clicks: int | None = None
    spend: Decimal | None = None
    ctr: Decimal | None = None
    cpm: Decimal | None = None
    currency: str | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any], *, currency: str | None = None) -> "AdsReportRow":
        what = "report row"
        data = _dict(data, what)
        dimensions = _dict(data.get("dimensions"), f"{what} dimensions")
        metrics = _dict(data.get("metrics"), f"{what} metrics")
        return cls(
            ad_id=_str(_require(dimensions, "ad_id", what), "ad_id", what),  # type: ignore[arg-type]
            day=_date(dimensions.get("stat_time_day"), "stat_time_day", what),
            impressions=_int(metrics.get("impressions"), "impressions", what),
            clicks=_int(metrics.get("clicks"), "clicks", what),
            spend=_decimal(metrics.get("spend"), "spend", what),
            ctr=_decimal(metrics.get("ctr"), "ctr", what),
            cpm=_decimal(metrics.get("cpm"), "cpm", what),
            currency=currency,
        )


# --- Webhooks -------------------------------------------------------------------

@dataclass(frozen=True)
class WebhookEvent:
    """A developers.tiktok.com webhook event; `content` already decoded from its JSON string.

    (event, user_openid, create_time) is the natural dedup key: delivery is at-least-once.
    """

    client_key: str
    event: str
    create_time: int
    user_openid: str
    content: dict[str, Any]

    @property
    def created_at(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.create_time, tz=dt.timezone.utc)

    @property
    def reason(self) -> int | None:
        """`authorization.removed` reason: 0 unknown, 1 user, 2 deleted, 3 age, 4 banned, 5 our revoke."""
        value = self.content.get("reason")
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @classmethod
    def from_api(cls, data: Any) -> "WebhookEvent":
        what = "webhook event"
        data = _dict(data, what)
        fields: dict[str, str] = {}
        for key in ("client_key", "event", "user_openid"):
            value = data.get(key)
            if not isinstance(value, str) or not value:
                raise BadResponse(f"{what}: {key!r} missing or not a string")
            fields[key] = value
        create_time = data.get("create_time")
        if isinstance(create_time, bool) or not isinstance(create_time, int):
            raise BadResponse(f"{what}: 'create_time' is not an integer")
        raw_content = data.get("content")
        if not isinstance(raw_content, str):
            raise BadResponse(f"{what}: 'content' is not a JSON-encoded string")
        try:
            content = json.loads(raw_content)
        except (ValueError, RecursionError):
            raise BadResponse(f"{what}: 'content' is not valid JSON") from None
        if not isinstance(content, dict):
            raise BadResponse(f"{what}: 'content' is not a JSON object")
        return cls(create_time=create_time, content=content, **fields)


__all__ = [
    "SPARK_IDENTITY_TYPES",
    "AdsReportRow",
    "AdsToken",
    "AdvertiserInfo",
    "DailyAccountMetrics",
    "Profile",
    "SparkAd",
    "TokenSet",
    "Video",
    "VideoPage",
    "WebhookEvent",
]

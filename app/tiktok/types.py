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


def _media_url(value: Any, key: str, what: str, *, allow_http: bool) -> str | None:
    """A link TikTok gives us to show (thumbnail, avatar, share link): https only.

    Anything else (http, javascript:, data:) is dropped, never shown: it would be mixed
    content at best. `allow_http` is for the local sandbox, which serves its images over
    plain http on loopback.
    """
    text = _str(value, key, what)
    if not text:
        return None
    scheme = text.split(":", 1)[0].lower() if ":" in text else ""
    if scheme == "https" or (allow_http and scheme == "http"):
        return text
    return None


def _distribution(value: Any, label_key: str, key: str, what: str) -> tuple[tuple[str, float], ...]:
    """A TikTok breakdown such as ``[{"country": "US", "percentage": 0.41}, …]`` as (label, share)."""
    out = []
    for item in _list(value, key, what):
        item = _dict(item, f"{what} {key}")
        label = _str(item.get(label_key), label_key, f"{what} {key}")
        share = _float(item.get("percentage"), "percentage", f"{what} {key}")
        if label is None or share is None:
            continue  # an entry without a label or a share says nothing
        out.append((label, share))
    return tuple(out)


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
    original grant: refresh answers count `refresh_token_expires_in` down from it).
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


#: Daily click metrics of registered Business accounts (``business/get/`` metrics[]).
CLICK_METRICS = (
    "bio_link_clicks", "phone_number_clicks", "email_clicks", "address_clicks",
    "app_download_clicks", "lead_submissions",
)


@dataclass(frozen=True)
class DailyAccountMetrics:
    """One UTC day of `business/get/` ``data.metrics[]``; None where TikTok gave no figure.

    `unique_video_views` is the day's reach (viewers who watched at least once);
    `audience_activity` is ((hour, active followers), …) for that day, empty when
    TikTok sent none (accounts under 100 followers); `clicks` holds the click metrics
    TikTok sent (registered Business accounts only).
    """

    date: dt.date
    video_views: int | None = None
    unique_video_views: int | None = None
    profile_views: int | None = None
    likes: int | None = None
    comments: int | None = None
    shares: int | None = None
    followers_count: int | None = None
    daily_total_followers: int | None = None
    daily_new_followers: int | None = None
    daily_lost_followers: int | None = None
    engaged_audience: int | None = None
    audience_activity: tuple[tuple[int, int], ...] = ()
    clicks: Mapping[str, int] = field(default_factory=dict)

    _COUNTS = (
        "video_views", "unique_video_views", "profile_views", "likes", "comments", "shares",
        "followers_count", "daily_total_followers", "daily_new_followers", "daily_lost_followers",
        "engaged_audience",
    )

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> "DailyAccountMetrics":
        what = "account metrics"
        data = _dict(data, what)
        counts = {key: _int(data.get(key), key, what) for key in cls._COUNTS}
        activity = []
        for item in _list(data.get("audience_activity"), "audience_activity", what):
            item = _dict(item, f"{what} audience_activity")
            hour = _int(item.get("hour"), "hour", what)
            count = _int(item.get("count"), "count", what)
            if hour is None or count is None:
                continue
            if not 0 <= hour <= 23:
                raise BadResponse(f"{what}: audience_activity hour {hour} is not 0-23")
            activity.append((hour, count))
        clicks = {key: value for key in CLICK_METRICS
                  if (value := _int(data.get(key), key, what)) is not None}
        return cls(date=_date(data.get("date"), "date", what), audience_activity=tuple(sorted(activity)),
                   clicks=clicks, **counts)


@dataclass(frozen=True)
class Demographics:
    """Follower demographics from `business/get/` (accounts with ≥100 followers): (label, share) pairs.

    TikTok keeps no history of these; each sync's answer is a snapshot of that day.
    """

    ages: tuple[tuple[str, float], ...] = ()
    genders: tuple[tuple[str, float], ...] = ()
    countries: tuple[tuple[str, float], ...] = ()
    cities: tuple[tuple[str, float], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.ages or self.genders or self.countries or self.cities)

    @classmethod
    def from_api(cls, data: Mapping[str, Any], what: str) -> "Demographics":
        return cls(
            ages=_distribution(data.get("audience_ages"), "age", "audience_ages", what),
            genders=_distribution(data.get("audience_genders"), "gender", "audience_genders", what),
            countries=_distribution(data.get("audience_countries"), "country", "audience_countries", what),
            cities=_distribution(data.get("audience_cities"), "city_name", "audience_cities", what),
        )


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
    demographics: Demographics = field(default_factory=Demographics)

    @property
    def open_id(self) -> str:
        """The token response's `open_id` is the Accounts API `business_id`."""
        return self.business_id

    @classmethod
    def from_api(cls, data: Mapping[str, Any], *, business_id: str, allow_http_media: bool = False) -> "Profile":
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
            avatar_url=_media_url(data.get("profile_image"), "profile_image", what, allow_http=allow_http_media),
            is_business_account=_bool(data.get("is_business_account"), "is_business_account", what),
            followers_count=_int(data.get("followers_count"), "followers_count", what),
            following_count=_int(data.get("following_count"), "following_count", what),
            total_likes=_int(data.get("total_likes"), "total_likes", what),
            videos_count=_int(data.get("videos_count"), "videos_count", what),
            daily=daily,
            demographics=Demographics.from_api(data, what),
        )


@dataclass(frozen=True)
class Video:
    """A post from `business/video/list/`.

    `item_id` stays a string (19-digit ids overflow JavaScript and some
    databases' floats). `create_time` is UTC-aware; None only when the field
    was not requested. Rates and distributions are passed through as TikTok
    reports them (shares of 1): `full_video_watched_rate` is the share of views
    that watched to the end; `video_view_retention` is ((second, share still
    watching), …); `impression_sources` is ((traffic source, share), …);
    `audience_types` is ((NEW_VIEWER | RETURN_VIEWER | FOLLOWER_PERCENT |
    NON_FOLLOWER_PERCENT, share), …). Watch times are seconds.
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
    favorites: int | None = None
    reach: int | None = None
    full_video_watched_rate: float | None = None
    is_ad: bool | None = None
    video_duration: float | None = None
    total_time_watched: float | None = None
    average_time_watched: float | None = None
    new_followers: int | None = None
    profile_views: int | None = None
    video_view_retention: tuple[tuple[int, float], ...] = ()
    impression_sources: tuple[tuple[str, float], ...] = ()
    audience_types: tuple[tuple[str, float], ...] = ()

    @classmethod
    def from_api(cls, data: Mapping[str, Any], *, allow_http_media: bool = False) -> "Video":
        what = "video"
        data = _dict(data, what)
        retention = []
        for item in _list(data.get("video_view_retention"), "video_view_retention", what):
            item = _dict(item, f"{what} video_view_retention")
            second = _int(item.get("second"), "second", what)
            share = _float(item.get("percentage"), "percentage", what)
            if second is not None and share is not None:
                retention.append((second, share))
        # TikTok's field table says "favorites"; one SDK types the answer as "favorities".
        favorites = data.get("favorites", data.get("favorities"))
        return cls(
            item_id=_str(_require(data, "item_id", what), "item_id", what),  # type: ignore[arg-type]
            create_time=_epoch_seconds(data.get("create_time"), "create_time", what),
            caption=_str(data.get("caption"), "caption", what),
            thumbnail_url=_media_url(data.get("thumbnail_url"), "thumbnail_url", what, allow_http=allow_http_media),
            share_url=_media_url(data.get("share_url"), "share_url", what, allow_http=allow_http_media),
            media_type=_str(data.get("media_type"), "media_type", what),
            video_views=_int(data.get("video_views"), "video_views", what),
            likes=_int(data.get("likes"), "likes", what),
            comments=_int(data.get("comments"), "comments", what),
            shares=_int(data.get("shares"), "shares", what),
            favorites=_int(favorites, "favorites", what),
            reach=_int(data.get("reach"), "reach", what),
            full_video_watched_rate=_float(data.get("full_video_watched_rate"), "full_video_watched_rate", what),
            is_ad=_bool(data.get("is_ad"), "is_ad", what),
            video_duration=_float(data.get("video_duration"), "video_duration", what),
            total_time_watched=_float(data.get("total_time_watched"), "total_time_watched", what),
            average_time_watched=_float(data.get("average_time_watched"), "average_time_watched", what),
            new_followers=_int(data.get("new_followers"), "new_followers", what),
            profile_views=_int(data.get("profile_views"), "profile_views", what),
            video_view_retention=tuple(sorted(retention)),
            impression_sources=_distribution(data.get("impression_sources"), "impression_source",
                                             "impression_sources", what),
            audience_types=_distribution(data.get("audience_types"), "type", "audience_types", what),
        )


@dataclass(frozen=True)
class VideoPage:
    """One page of posts. `cursor` is TikTok's (epoch ms) to pass back for the next page."""

    videos: tuple[Video, ...]
    cursor: int | None
    has_more: bool

    @classmethod
    def from_api(cls, data: Mapping[str, Any], *, allow_http_media: bool = False) -> "VideoPage":
        what = "video list"
        data = _dict(data, what)
        has_more = data.get("has_more", False)
        if not isinstance(has_more, bool):
            raise BadResponse(f"{what}: 'has_more' is not a boolean")
        return cls(
            videos=tuple(Video.from_api(item, allow_http_media=allow_http_media)
                         for item in _list(data.get("videos"), "videos", what)),
            cursor=_int(data.get("cursor"), "cursor", what),
            has_more=has_more,
        )


@dataclass(frozen=True)
class TokenInfo:
    """`tt_user/token_info/get/`: the token is alive, for this creator, with these scopes."""

    app_id: str | None
    creator_id: str | None
    scopes: tuple[str, ...]

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> "TokenInfo":
        what = "token info"
        data = _dict(data, what)
        return cls(
            app_id=_str(data.get("app_id") or None, "app_id", what),
            creator_id=_str(data.get("creator_id") or None, "creator_id", what),
            scopes=_scopes(data.get("scope"), what),
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
    """An ad promoting an organic post.

    The post is named by `tiktok_item_id`, or for some TT_USER / BC_AUTH_TT ads only by
    `video_id` (the same organic post id): `post_item_id` is whichever TikTok sent.
    """

    ad_id: str
    advertiser_id: str
    identity_type: str
    tiktok_item_id: str | None = None
    ad_name: str | None = None
    video_id: str | None = None

    @property
    def is_spark(self) -> bool:
        return self.identity_type in SPARK_IDENTITY_TYPES

    @property
    def post_item_id(self) -> str | None:
        return self.tiktok_item_id or self.video_id

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
            video_id=_str(data.get("video_id") or None, "video_id", what),
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
    reach: int | None = None
    frequency: Decimal | None = None
    video_play_actions: int | None = None
    video_watched_2s: int | None = None
    video_watched_6s: int | None = None
    video_views_p100: int | None = None
    likes: int | None = None
    comments: int | None = None
    shares: int | None = None
    follows: int | None = None
    profile_visits: int | None = None

    #: Paid engagement counts, stored per ad and day beside impressions, clicks and spend.
    ENGAGEMENT = ("reach", "video_play_actions", "video_watched_2s", "video_watched_6s", "video_views_p100",
                  "likes", "comments", "shares", "follows", "profile_visits")

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
            frequency=_decimal(metrics.get("frequency"), "frequency", what),
            **{key: _int(metrics.get(key), key, what) for key in cls.ENGAGEMENT},
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
    "Demographics",
    "Profile",
    "SparkAd",
    "TokenInfo",
    "TokenSet",
    "Video",
    "VideoPage",
    "WebhookEvent",
]

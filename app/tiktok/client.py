"""`TikTokClient`: the only code in the product that sends requests to TikTok.

Surfaces (DESIGN.md "Which TikTok surfaces", TIKTOK_API.md §3, §7, §8):

* Login Kit authorize page with TikTok's hex-S256 PKCE (a browser redirect we build).
* TikTok API for Business, Accounts API: `tt_user/oauth2/{token,refresh_token,revoke}/`,
  `business/get/`, `business/video/list/` (header ``Access-Token``).
* Marketing API for Spark Ads: `oauth2/access_token/`, `oauth2/advertiser/get/`,
  `advertiser/info/`, `ad/get/`, `report/integrated/get/`.

Why plain `requests` and not requests-oauthlib: oauthlib refuses any non-https
endpoint (``InsecureTransportError``), and the sandbox is served over http on our
own origin in development; it also always adds ``client_id`` and joins scopes
with spaces on the authorize URL, while TikTok wants ``client_key`` and commas;
and every Accounts API token call is a JSON body inside a ``{code, data}``
envelope, so all four compliance hooks would be rewriting everything oauthlib
does. Building the query string with `urlencode` and posting JSON ourselves is
shorter and easier to audit.

Errors are mapped in one place, `interpret_response()`, and only from codes that are
documented or corroborated:

=========  ====================================================  ===================
code       meaning                                               raised
=========  ====================================================  ===================
0          OK
40100      throttled (any HTTP status, TikTok uses 200)          `RateLimited`
40101      app id + secret refused                               `ClientConfigError`
40110      authorization code invalid or expired (10 min)        `InvalidGrant`
other      anything else non-zero                                `TikTokError`
=========  ====================================================  ===================

40100 is in TikTok's rate-limit docs; 40101 and 40110 are what independent clients of
the Marketing and Accounts APIs handle. TikTok documents no code for an expired,
revoked or under-scoped token, so we do not guess one: when an Accounts API data call
fails with any other code, the client asks `tt_user/token_info/get/` whether the token
is alive and which scopes it carries, and raises `TokenInvalid` (dead), `ScopeMissing`
(alive, but without a scope the call needed) or the original `TikTokError`.

Beyond codes: HTTP 429 → `RateLimited`; HTTP 5xx, timeouts and connection errors →
`Unavailable`; non-JSON or no `code` → `BadResponse`; OAuth-style string errors
(``{"error": "invalid_grant"}``) are mapped by name. On the token-grant endpoints (code
exchange, refresh, ads exchange) a "token invalid" answer means the grant itself was
refused, so it becomes `InvalidGrant` there. No retries happen here: jobs own backoff,
using `RateLimited.retry_after` and `TikTokError.retryable`.

Request fields come from `app.tiktok.fields`, TikTok's documented field tables with
their sources; asking for a name that is not there is a `ValueError` before anything
is sent.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import logging
import re
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import requests
from requests.adapters import HTTPAdapter

from . import fields as documented
from . import pkce
from .errors import (
    BadResponse,
    ClientConfigError,
    InvalidGrant,
    RateLimited,
    ScopeMissing,
    TikTokError,
    TokenInvalid,
    Unavailable,
)
from .types import (
    SPARK_IDENTITY_TYPES,
    AdsReportRow,
    AdsToken,
    AdvertiserInfo,
    Profile,
    SparkAd,
    TokenInfo,
    TokenSet,
    Video,
    VideoPage,
)

if TYPE_CHECKING:  # the client itself stays Flask-free
    from flask import Flask

logger = logging.getLogger("app.tiktok")

# --- error codes (see module docstring) -------------------------------------------
RATE_LIMITED_CODE = 40100
CLIENT_CONFIG_CODES = frozenset({40101})
INVALID_GRANT_CODES = frozenset({40110})

#: OAuth-style string errors: RFC 6749 `error` values and the Display API's `error.code`.
_STRING_ERRORS: Mapping[str, type[TikTokError]] = {
    "invalid_grant": InvalidGrant,
    "invalid_client": ClientConfigError,
    "unauthorized_client": ClientConfigError,
    "unsupported_grant_type": ClientConfigError,
    "invalid_scope": ScopeMissing,
    "scope_not_authorized": ScopeMissing,
    "scope_permission_missed": ScopeMissing,
    "access_token_invalid": TokenInvalid,
    "rate_limit_exceeded": RateLimited,
    "server_error": Unavailable,
    "temporarily_unavailable": Unavailable,
    "internal_error": Unavailable,
}

DEFAULT_RETRY_AFTER = 60.0
DEFAULT_TIMEOUT = (3.05, 10.0)  # (connect, read) seconds; requests has no default

#: What a sync asks `business/video/list/` for: everything the dashboard, post page and
#: report show (the remaining documented fields are not needed, so not fetched).
SYNC_VIDEO_FIELDS: tuple[str, ...] = (
    "item_id", "create_time", "caption", "thumbnail_url", "share_url", "media_type", "is_ad",
    "video_views", "likes", "comments", "shares", "favorites", "reach", "video_duration",
    "full_video_watched_rate", "total_time_watched", "average_time_watched", "new_followers",
    "profile_views", "video_view_retention", "impression_sources", "audience_types",
)
DEFAULT_PROFILE_FIELDS: tuple[str, ...] = tuple(documented.PROFILE_FIELDS)
DEFAULT_VIDEO_FIELDS: tuple[str, ...] = SYNC_VIDEO_FIELDS


def profile_fields_for(granted_scopes: Iterable[str]) -> tuple[str, ...]:
    """The `business/get/` profile fields these scopes allow (no daily metrics, no demographics).

    Asking for a field whose scope the user did not grant fails the whole call, so
    callers always pass the connection's granted scopes through here."""
    return documented.fields_allowed(documented.PROFILE_FIELDS, granted_scopes)


def insight_fields_for(granted_scopes: Iterable[str]) -> tuple[str, ...]:
    """Profile fields, every daily metric and the demographics these scopes allow (a sync's ask)."""
    return documented.fields_allowed(documented.BUSINESS_GET_FIELDS, granted_scopes)


def video_fields_for(granted_scopes: Iterable[str]) -> tuple[str, ...]:
    """The `business/video/list/` fields a sync asks for that these scopes allow
    (watch time, retention and traffic sources only with video.insights)."""
    if "video.list" not in set(granted_scopes):
        return ()
    return documented.fields_allowed(documented.VIDEO_FIELDS, granted_scopes, wanted=SYNC_VIDEO_FIELDS)


MAX_VIDEO_PAGE = documented.VIDEO_MAX_COUNT
SPARK_AD_FIELDS: tuple[str, ...] = (
    "ad_id", "advertiser_id", "ad_name", "identity_type", "tiktok_item_id", "video_id",
)
REPORT_METRICS: tuple[str, ...] = (
    "spend", "impressions", "clicks", "ctr", "cpm", "reach", "frequency", "video_play_actions",
    "video_watched_2s", "video_watched_6s", "video_views_p100", "likes", "comments", "shares", "follows",
    "profile_visits",
)
REPORT_WINDOW_DAYS = 30  # daily breakdowns kept to ≤30-day requests (TIKTOK_API.md §8)
ADS_PAGE_SIZE = 1000
MAX_PAGES = 1000  # a runaway `total_page` must not loop forever


class TikTokClient:
    """Typed calls to TikTok. Thread-safe enough to share per app (one pooled Session)."""

    def __init__(
        self,
        *,
        auth_url: str,
        business_api_base: str,
        ads_auth_url: str,
        client_key: str,
        client_secret: str,
        redirect_uri: str,
        scopes: Sequence[str],
        ads_app_id: str | None = None,
        ads_secret: str | None = None,
        ads_redirect_uri: str | None = None,
        session: requests.Session | None = None,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        allow_http_media: bool = False,
    ) -> None:
        if not client_key or not client_secret:
            raise ClientConfigError("TikTok client_key and client_secret are required")
        if not redirect_uri:
            raise ClientConfigError("TikTok redirect_uri is required")
        scopes = list(scopes)
        if not scopes or any(not s or "," in s or " " in s for s in scopes):
            raise ClientConfigError("TikTok scopes must be a non-empty list of scope names")
        self.auth_url = auth_url
        self.business_api_base = business_api_base.rstrip("/") + "/"
        self.ads_auth_url = ads_auth_url
        self.client_key = client_key
        self._client_secret = client_secret
        self.redirect_uri = redirect_uri  # sent byte for byte; never derived from a request
        self.scopes = tuple(scopes)
        self.ads_app_id = str(ads_app_id) if ads_app_id else None
        self._ads_secret = ads_secret or None
        self.ads_redirect_uri = ads_redirect_uri or None
        self.timeout = timeout
        # Thumbnails, avatars and share links must be https; the local sandbox serves http.
        self.allow_http_media = allow_http_media
        self._session = session if session is not None else _new_session()
        install_log_redaction()

    def close(self) -> None:
        """Close pooled connections (tests and shutdown)."""
        self._session.close()

    def __repr__(self) -> str:  # no secrets
        return f"TikTokClient(business_api_base={self.business_api_base!r}, client_key={self.client_key!r})"

    # --- Login Kit + Accounts API tokens ------------------------------------------

    def authorize_url(self, state: str, code_challenge: str | None, *, scopes: Sequence[str] | None = None) -> str:
        """The Login Kit consent URL (built with `urlencode`; see the module docstring).

        `code_challenge` must be `pkce.challenge(verifier)`; passing anything that
        is not 64 lowercase hex characters (a verifier, say) is refused so the
        verifier can never end up in a URL. ``None`` sends no PKCE parameters at
        all (``TIKTOK_PKCE=false``). `scopes` narrows the request below the app's
        configured scopes (the deletion form's ownership check asks for
        ``user.info.basic`` only).
        """
        if not state:
            raise ValueError("state is required")
        if code_challenge is not None and not pkce.is_challenge(code_challenge):
            raise ValueError("code_challenge must be pkce.challenge(verifier): 64 lowercase hex characters")
        requested = tuple(scopes) if scopes is not None else self.scopes
        if not requested or any(not s or "," in s or " " in s for s in requested):
            raise ValueError("scopes must be a non-empty list of scope names")
        params = {
            "client_key": self.client_key,
            "response_type": "code",
            "scope": ",".join(requested),
            "redirect_uri": self.redirect_uri,
            "state": state,
        }
        if code_challenge is not None:
            params["code_challenge"] = code_challenge
            params["code_challenge_method"] = pkce.CHALLENGE_METHOD
        query = urlencode(params)
        return f"{self.auth_url}{'&' if '?' in self.auth_url else '?'}{query}"

    def exchange_code(self, code: str, code_verifier: str | None) -> TokenSet:
        """Trade the callback's code (single use, never re-sent after a timeout) for tokens.

        `code_verifier` is None when the consent URL carried no challenge (``TIKTOK_PKCE=false``):
        then no verifier is sent either.
        """
        if not code:
            raise ValueError("authorization code is required")
        if code_verifier is not None and not pkce.is_valid_verifier(code_verifier):
            raise ValueError("code_verifier must be 43-128 characters of [A-Za-z0-9-._~]")
        body = {
            "client_id": self.client_key,
            "client_secret": self._client_secret,
            "grant_type": "authorization_code",
            "auth_code": code,
            "redirect_uri": self.redirect_uri,
        }
        if code_verifier is not None:
            body["code_verifier"] = code_verifier
        data = self._call(
            "POST", "tt_user/oauth2/token/", json_body=body,
            grant=True, sensitive=tuple(s for s in (code, code_verifier) if s),
        )
        return TokenSet.from_api(data)

    def refresh(self, refresh_token: str, *, access_token: str | None = None) -> TokenSet:
        """Refresh; the returned `refresh_token` replaces the old one (the old one is dead).

        If TikTok omits `refresh_token`, the old one is carried over (RFC 6749 §6).
        TikTok documents no code for a refused refresh token, so an undocumented code is
        resolved with `token_info` on the current `access_token`: a dead grant is
        `InvalidGrant` (reconnect), a live one leaves the failure a plain `TikTokError`
        (try again later). Without `access_token` an undocumented code is `InvalidGrant`.
        """
        if not refresh_token:
            raise ValueError("refresh_token is required")
        try:
            data = self._call(
                "POST", "tt_user/oauth2/refresh_token/",
                json_body={
                    "client_id": self.client_key,
                    "client_secret": self._client_secret,
                    "grant_type": "refresh_token",
                    "refresh_token": refresh_token,
                },
                grant=True, sensitive=(refresh_token,),
            )
        except TikTokError as error:
            if type(error) is not TikTokError:
                raise
            if access_token and not self._token_is_dead(access_token):
                raise  # the grant is alive: this refusal is something else, try again later
            raise InvalidGrant(error.message, error.code, error.log_id, http_status=error.http_status) from None
        return TokenSet.from_api(data, previous_refresh_token=refresh_token)

    def token_info(self, access_token: str) -> TokenInfo:
        """`tt_user/token_info/get/`: is this token alive, for whom, with which scopes.

        Cheap (no data), so the daily token check uses it to notice a revocation that
        came with no webhook and to keep the stored scopes true. A dead token raises
        `TokenInvalid` (TikTok documents no code for it: any refusal other than a
        throttle or our own credentials means the token is not usable).
        """
        if not access_token:
            raise ValueError("access_token is required")
        try:
            data = self._call(
                "POST", "tt_user/token_info/get/",
                json_body={"app_id": self.client_key, "access_token": access_token},
                sensitive=(access_token,),
            )
        except TikTokError as error:
            if type(error) is TikTokError:
                raise TokenInvalid(error.message, error.code, error.log_id, http_status=error.http_status) from None
            raise
        return TokenInfo.from_api(data)

    def _token_is_dead(self, access_token: str) -> bool:
        """True only when `token_info` positively refuses the token (a throttle or outage proves nothing)."""
        try:
            self.token_info(access_token)
        except TokenInvalid:
            return True
        except TikTokError:
            return False
        return False

    def _data_call(self, path: str, params: Mapping[str, Any], access_token: str,
                   needs_scopes: Iterable[str]) -> dict[str, Any]:
        """An Accounts API data call; an undocumented error code is resolved with `token_info`."""
        try:
            return self._call("GET", path, params=params, access_token=access_token)
        except TikTokError as error:
            if type(error) is not TikTokError:
                raise
            try:
                info = self.token_info(access_token)
            except TokenInvalid:
                raise TokenInvalid(
                    f"TikTok no longer accepts this access token ({path})", error.code, error.log_id,
                    http_status=error.http_status,
                ) from None
            except TikTokError:
                raise error from None  # token_info itself throttled or down: we can't tell
            missing = sorted(set(needs_scopes) - set(info.scopes))
            if missing:
                raise ScopeMissing(
                    f"TikTok refused {path}: the account no longer grants {', '.join(missing)}",
                    error.code, error.log_id, http_status=error.http_status,
                ) from None
            raise

    def revoke(self, access_token: str) -> None:
        """Revoke the grant. `TokenInvalid` here means TikTok already considers it gone."""
        if not access_token:
            raise ValueError("access_token is required")
        self._call(
            "POST", "tt_user/oauth2/revoke/",
            json_body={"client_id": self.client_key, "client_secret": self._client_secret, "access_token": access_token},
            sensitive=(access_token,),
        )

    # --- Accounts API data --------------------------------------------------------

    def get_business_profile(
        self,
        access_token: str,
        business_id: str,
        *,
        start_date: dt.date | None = None,
        end_date: dt.date | None = None,
        fields: Iterable[str] | None = None,
    ) -> Profile:
        """`business/get/`: profile, daily metrics (one `DailyAccountMetrics` per UTC day in
        ``data.metrics[]``) and demographics — whichever of them `fields` names.

        Every name must be one of TikTok's documented fields (`app.tiktok.fields`); daily
        metrics are requested one by one by name. Without dates TikTok answers the last 7
        days ending yesterday (UTC); it looks back at most 60 days.
        """
        if (start_date is None) != (end_date is None):
            raise ValueError("give both start_date and end_date, or neither")
        wanted = list(fields) if fields is not None else list(DEFAULT_PROFILE_FIELDS)
        unknown = documented.undocumented(documented.BUSINESS_GET_FIELDS, wanted)
        if unknown:
            raise ValueError(f"business/get/ has no field {', '.join(unknown)} (see app/tiktok/fields.py)")
        params: dict[str, str] = {"business_id": business_id, "fields": _json_list(wanted)}
        if start_date is not None and end_date is not None:
            if start_date > end_date:
                raise ValueError("start_date is after end_date")
            params["start_date"] = start_date.isoformat()
            params["end_date"] = end_date.isoformat()
        needs = {documented.BUSINESS_GET_FIELDS[f] for f in wanted}
        data = self._data_call("business/get/", params, access_token, needs)
        return Profile.from_api(data, business_id=business_id, allow_http_media=self.allow_http_media)

    def list_videos(
        self,
        access_token: str,
        business_id: str,
        *,
        cursor: int | None = None,
        max_count: int = MAX_VIDEO_PAGE,
        fields: Iterable[str] | None = None,
        video_ids: Sequence[str] | None = None,
    ) -> VideoPage:
        """One page of posts, newest first. Pages can be shorter than `max_count` while `has_more`.

        `video_ids` (at most 20) asks for those posts only (``filters={"video_ids": […]}``):
        how a sync refreshes older posts without walking the whole list again.
        """
        if not 1 <= max_count <= MAX_VIDEO_PAGE:
            raise ValueError(f"max_count must be 1-{MAX_VIDEO_PAGE}")
        wanted = list(fields) if fields is not None else list(DEFAULT_VIDEO_FIELDS)
        unknown = documented.undocumented(documented.VIDEO_FIELDS, wanted)
        if unknown:
            raise ValueError(f"business/video/list/ has no field {', '.join(unknown)} (see app/tiktok/fields.py)")
        if len(wanted) > 1 and "item_id" not in wanted:
            wanted.insert(0, "item_id")  # TikTok asks for item_id whenever several fields are requested
        params: dict[str, Any] = {
            "business_id": business_id,
            "fields": _json_list(wanted),
            "max_count": max_count,
        }
        if video_ids is not None:
            ids = [str(i) for i in video_ids]
            if not 1 <= len(ids) <= documented.VIDEO_FILTER_MAX_IDS:
                raise ValueError(f"video_ids takes 1-{documented.VIDEO_FILTER_MAX_IDS} ids")
            params["filters"] = json.dumps({"video_ids": ids}, separators=(",", ":"))
        if cursor is not None:
            params["cursor"] = cursor
        needs = {"video.list", *(documented.VIDEO_FIELDS[f] for f in wanted)}
        data = self._data_call("business/video/list/", params, access_token, needs)
        return VideoPage.from_api(data, allow_http_media=self.allow_http_media)

    def iter_videos(
        self,
        access_token: str,
        business_id: str,
        *,
        cursor: int | None = None,
        max_count: int = MAX_VIDEO_PAGE,
        fields: Iterable[str] | None = None,
    ) -> Iterator[Video]:
        """Every post, following cursors until `has_more` is false.

        Lazy: a caller that only needs recent posts stops iterating and no further
        page is fetched. A cursor TikTok already gave us ends the walk (no loops).
        """
        fields = tuple(fields) if fields is not None else None
        seen: set[int] = set() if cursor is None else {cursor}
        for _ in range(MAX_PAGES):
            page = self.list_videos(access_token, business_id, cursor=cursor, max_count=max_count, fields=fields)
            yield from page.videos
            if not page.has_more or page.cursor is None:
                return
            if page.cursor in seen:
                logger.warning("tiktok business/video/list/ repeated cursor %s; stopping", page.cursor)
                return
            seen.add(page.cursor)
            cursor = page.cursor
        logger.warning("tiktok business/video/list/ stopped after %d pages", MAX_PAGES)

    # --- Marketing API (Spark Ads) --------------------------------------------------

    def ads_authorize_url(self, state: str) -> str:
        """Where a workspace admin authorizes an advertiser account for us."""
        app_id, _ = self._ads_credentials()
        if not state:
            raise ValueError("state is required")
        if not self.ads_redirect_uri:
            raise ClientConfigError("TIKTOK_ADS_REDIRECT_URI is not configured")
        query = urlencode({"app_id": app_id, "state": state, "redirect_uri": self.ads_redirect_uri})
        return f"{self.ads_auth_url}{'&' if '?' in self.ads_auth_url else '?'}{query}"

    def ads_exchange(self, auth_code: str) -> AdsToken:
        app_id, secret = self._ads_credentials()
        if not auth_code:
            raise ValueError("auth_code is required")
        data = self._call(
            "POST", "oauth2/access_token/",
            json_body={"app_id": app_id, "secret": secret, "auth_code": auth_code},
            grant=True, sensitive=(auth_code,),
        )
        return AdsToken.from_api(data)

    def list_advertisers(self, access_token: str) -> list[dict[str, str]]:
        """Advertiser accounts this token may read: ``[{"advertiser_id", "advertiser_name"}]``.

        TikTok wants the app secret in this GET's query string; it is scrubbed from
        our messages and from urllib3's debug log (`install_log_redaction`).
        """
        app_id, secret = self._ads_credentials()
        data = self._call(
            "GET", "oauth2/advertiser/get/",
            params={"app_id": app_id, "secret": secret}, access_token=access_token,
        )
        advertisers = []
        for item in _data_list(data, "advertisers"):
            if not isinstance(item, dict) or item.get("advertiser_id") in (None, ""):
                raise BadResponse("advertisers: entry without 'advertiser_id'")
            advertisers.append({
                "advertiser_id": str(item["advertiser_id"]),
                "advertiser_name": str(item.get("advertiser_name") or ""),
            })
        return advertisers

    def get_advertiser_info(self, access_token: str, advertiser_id: str) -> AdvertiserInfo:
        """Name, currency and time zone of one ad account (`advertiser/info/`)."""
        data = self._call(
            "GET", "advertiser/info/",
            params={
                "advertiser_ids": _json_list([str(advertiser_id)]),
                "fields": _json_list(["advertiser_id", "name", "currency", "timezone"]),
            },
            access_token=access_token,
        )
        for item in _data_list(data, "advertiser info"):
            info = AdvertiserInfo.from_api(item)
            if info.advertiser_id == str(advertiser_id):
                return info
        raise BadResponse("advertiser info: requested advertiser not in the answer")

    def list_spark_ads(self, access_token: str, advertiser_id: str) -> list[SparkAd]:
        """The advertiser's Spark Ads (identity_type AUTH_CODE, TT_USER or BC_AUTH_TT), deleted ones
        included: `ad/get/` hides deleted ads unless asked for ``primary_status: STATUS_ALL``, yet a
        finished Spark Ad the advertiser deleted still spent money in its weeks."""
        ads: list[SparkAd] = []
        for item in self._pages(
            "ad/get/",
            {
                "advertiser_id": str(advertiser_id),
                "fields": _json_list(SPARK_AD_FIELDS),
                "filtering": json.dumps({"primary_status": documented.STATUS_ALL}, separators=(",", ":")),
            },
            access_token,
        ):
            ad = SparkAd.from_api(item, advertiser_id=str(advertiser_id))
            if ad.identity_type in SPARK_IDENTITY_TYPES:
                ads.append(ad)
        return ads

    def ads_daily_report(
        self,
        access_token: str,
        advertiser_id: str,
        start_date: dt.date,
        end_date: dt.date,
        ad_ids: Iterable[str] | None = None,
        *,
        currency: str | None = None,
    ) -> list[AdsReportRow]:
        """Daily rows per ad, `start_date`..`end_date` inclusive, in ≤30-day requests.

        Rows carry the ad account's `currency`: pass it if already stored, otherwise
        one `get_advertiser_info` call fetches it. `ad_ids` (e.g. the Spark Ads from
        `list_spark_ads`) narrows the report; an empty list asks nothing.
        """
        if start_date > end_date:
            raise ValueError("start_date is after end_date")
        ids = None if ad_ids is None else [str(ad_id) for ad_id in ad_ids]
        if ids is not None and not ids:
            return []
        if currency is None:
            currency = self.get_advertiser_info(access_token, advertiser_id).currency
        base_params: dict[str, Any] = {
            "advertiser_id": str(advertiser_id),
            "report_type": "BASIC",
            "service_type": "AUCTION",
            "data_level": "AUCTION_AD",
            "dimensions": _json_list(["ad_id", "stat_time_day"]),
            "metrics": _json_list(REPORT_METRICS),
        }
        # Deleted ads are left out of the report unless every status is asked for.
        status_filter = {"field_name": "ad_status", "filter_type": "IN",
                         "filter_value": json.dumps([documented.STATUS_ALL])}
        if ids is None:
            batches: list[list[dict[str, str]]] = [[status_filter]]
        else:
            step = documented.REPORT_MAX_AD_IDS  # the ad_ids filter takes at most 100 ids
            batches = [
                [{"field_name": "ad_ids", "filter_type": "IN", "filter_value": json.dumps(ids[i:i + step])},
                 status_filter]
                for i in range(0, len(ids), step)
            ]
        rows: list[AdsReportRow] = []
        for filtering in batches:
            batch_params = dict(base_params, filtering=json.dumps(filtering))
            for window_start, window_end in report_windows(start_date, end_date):
                params = dict(batch_params, start_date=window_start.isoformat(), end_date=window_end.isoformat())
                for item in self._pages("report/integrated/get/", params, access_token):
                    rows.append(AdsReportRow.from_api(item, currency=currency))
        return rows

    def _ads_credentials(self) -> tuple[str, str]:
        if not self.ads_app_id or not self._ads_secret:
            raise ClientConfigError("TIKTOK_ADS_APP_ID and TIKTOK_ADS_SECRET are not configured")
        return self.ads_app_id, self._ads_secret

    def _pages(self, path: str, params: Mapping[str, Any], access_token: str) -> Iterator[Any]:
        """Items of a Marketing API list, following `data.page_info.total_page`."""
        for page in range(1, MAX_PAGES + 1):
            data = self._call(
                "GET", path, params=dict(params, page=page, page_size=ADS_PAGE_SIZE), access_token=access_token,
            )
            items = _data_list(data, path)
            yield from items
            page_info = data.get("page_info")
            if not isinstance(page_info, dict):
                return  # unpaged answer: everything came at once
            try:
                total_page = int(page_info.get("total_page") or 0)
            except (TypeError, ValueError):
                raise BadResponse(f"{path}: 'page_info.total_page' is not a number") from None
            if page >= total_page or not items:
                return
        logger.warning("tiktok %s stopped after %d pages", path, MAX_PAGES)

    # --- transport: the one place requests are sent and answers judged --------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Mapping[str, Any] | None = None,
        access_token: str | None = None,
        grant: bool = False,
        sensitive: Iterable[str] = (),
    ) -> dict[str, Any]:
        """Send one request, log one line, return the envelope's `data` or raise a typed error."""
        headers = {"Accept": "application/json"}
        if access_token is not None:
            if not access_token:
                raise ValueError("access_token is required")
            headers["Access-Token"] = access_token  # TikTok for Business: no "Bearer"
        secrets = tuple(s for s in (self._client_secret, self._ads_secret, access_token, *sensitive) if s)
        started = time.monotonic()
        try:
            response = self._session.request(
                method,
                self.business_api_base + path,
                params=params,
                json=json_body,
                headers=headers,
                timeout=self.timeout,
                # A redirect would re-send Access-Token (requests strips only Authorization).
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            # Build our own message: requests' includes the URL, which for
            # oauth2/advertiser/get/ carries the app secret. `from None` drops it.
            elapsed_ms = (time.monotonic() - started) * 1000
            error = _transport_error(exc, method, path)
            logger.warning(
                "tiktok %s %s failed: %s after %.0f ms", method, path, type(exc).__name__, elapsed_ms,
            )
            raise error from None
        elapsed_ms = (time.monotonic() - started) * 1000
        try:
            data, log_id = _interpret(
                response.status_code, response.headers, response.content,
                grant=grant, what=f"{method} {path}", secrets=secrets, now=None,
            )
        except TikTokError as error:
            logger.warning(
                # "error_code=", not "code=": log redactors scrub anything named code.
                "tiktok %s %s -> %s %s error_code=%s request_id=%s in %.0f ms",
                method, path, response.status_code, type(error).__name__, error.code, error.log_id, elapsed_ms,
            )
            raise
        logger.info(
            "tiktok %s %s -> %s request_id=%s in %.0f ms",
            method, path, response.status_code, log_id, elapsed_ms,
        )
        return data


def get_client(app: "Flask") -> TikTokClient:
    """The app's client, built from `app.config` once and cached in ``app.extensions["tiktok"]``."""
    client = app.extensions.get("tiktok")
    if client is None:
        cfg = app.config
        scopes = cfg["TIKTOK_SCOPES"]
        if isinstance(scopes, str):
            scopes = [s.strip() for s in scopes.split(",") if s.strip()]
        client = TikTokClient(
            auth_url=cfg["TIKTOK_AUTH_URL"],
            business_api_base=cfg["TIKTOK_BUSINESS_API_BASE"],
            ads_auth_url=cfg["TIKTOK_ADS_AUTH_URL"],
            client_key=cfg["TIKTOK_CLIENT_KEY"],
            client_secret=cfg["TIKTOK_CLIENT_SECRET"],
            redirect_uri=cfg["TIKTOK_REDIRECT_URI"],
            scopes=scopes,
            ads_app_id=cfg.get("TIKTOK_ADS_APP_ID"),
            ads_secret=cfg.get("TIKTOK_ADS_SECRET"),
            ads_redirect_uri=cfg.get("TIKTOK_ADS_REDIRECT_URI"),
            timeout=(DEFAULT_TIMEOUT[0], float(cfg.get("TIKTOK_HTTP_TIMEOUT", DEFAULT_TIMEOUT[1]))),
            allow_http_media=bool(cfg.get("TIKTOK_SANDBOX")),
        )
        app.extensions["tiktok"] = client
    return client


# --- response interpretation ------------------------------------------------------

def interpret_response(
    status: int,
    headers: Mapping[str, str],
    content: bytes,
    *,
    grant: bool = False,
    what: str = "TikTok",
    secrets: Iterable[str] = (),
    now: float | None = None,
) -> dict[str, Any]:
    """Judge one TikTok answer: return the envelope's `data` or raise the typed error.

    This is the single error mapping of the product. Body-level codes win over the
    HTTP status (TikTok throttles with HTTP 200), except that 429 is always
    `RateLimited` and 5xx always `Unavailable`. `grant` marks token-grant
    endpoints, where a token-invalid code means the code/refresh token was refused.
    `secrets` are scrubbed from TikTok's message before it enters the exception.
    """
    return _interpret(status, headers, content, grant=grant, what=what, secrets=secrets, now=now)[0]


def _interpret(
    status: int,
    headers: Mapping[str, str],
    content: bytes,
    *,
    grant: bool,
    what: str,
    secrets: Iterable[str],
    now: float | None,
) -> tuple[dict[str, Any], str | None]:
    secrets = tuple(secrets)
    body: Any = None
    try:
        body = json.loads(content) if content else None
    except (ValueError, RecursionError):
        body = None
    envelope = body if isinstance(body, dict) else {}
    code = envelope.get("code")
    if isinstance(code, str) and code.strip().lstrip("-").isdigit():
        code = int(code)
    nested_error = envelope.get("error") if isinstance(envelope.get("error"), dict) else {}
    log_id = _log_id(envelope, headers)
    message = _clean(envelope.get("message") or envelope.get("error_description") or nested_error.get("message"), secrets)

    if code == RATE_LIMITED_CODE or status == 429 or nested_error.get("code") == "rate_limit_exceeded":
        raise RateLimited(
            f"TikTok rate limit on {what}" + (f": {message}" if message else ""),
            code if isinstance(code, int) else None, log_id,
            retry_after=_retry_after(headers, now), http_status=status,
        )
    if status >= 500:
        raise Unavailable(
            f"TikTok server error on {what}" + (f": {message}" if message else ""),
            code, log_id, http_status=status,
        )
    if not isinstance(body, dict):
        kind = "an unexpected redirect" if 300 <= status < 400 else "no JSON object"
        raise BadResponse(f"TikTok sent {kind} for {what}", None, log_id, http_status=status)

    error_class: type[TikTokError]
    if "code" not in envelope:
        # OAuth-style `{"error": "invalid_grant", ...}` or Display-style `{"error": {"code": ...}}`.
        string_code = envelope.get("error") if isinstance(envelope.get("error"), str) else nested_error.get("code")
        if isinstance(string_code, str) and string_code not in ("", "ok"):
            error_class = _STRING_ERRORS.get(string_code, TikTokError)
            if grant and error_class is TokenInvalid:
                error_class = InvalidGrant
            raise error_class(
                f"TikTok refused {what}: {_clean(string_code, secrets)}" + (f": {message}" if message else ""),
                _clean(string_code, secrets), log_id, http_status=status,
            )
        raise BadResponse(f"TikTok answer for {what} has no 'code'", None, log_id, http_status=status)

    if isinstance(code, bool) or not isinstance(code, int):
        raise BadResponse(f"TikTok answer for {what} has a non-numeric 'code'", None, log_id, http_status=status)

    if code != 0:
        if code in INVALID_GRANT_CODES:
            error_class = InvalidGrant
        elif code in CLIENT_CONFIG_CODES:
            error_class = ClientConfigError
        else:
            error_class = TikTokError  # undocumented: the caller resolves it (see `_data_call`)
        raise error_class(
            f"TikTok refused {what}" + (f": {message}" if message else ""), code, log_id, http_status=status,
        )
    if not 200 <= status < 300:
        raise BadResponse(f"TikTok sent HTTP {status} with code 0 for {what}", code, log_id, http_status=status)

    data = envelope.get("data")
    if data is None:
        return {}, log_id
    if not isinstance(data, dict):
        raise BadResponse(f"TikTok answer for {what} has a non-object 'data'", code, log_id, http_status=status)
    return data, log_id


def _transport_error(exc: requests.RequestException, method: str, path: str) -> TikTokError:
    name = type(exc).__name__
    if isinstance(exc, (requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema,
                        requests.exceptions.InvalidURL)):
        return ClientConfigError(f"TikTok base URL is not usable for {method} {path} ({name})")
    if isinstance(exc, requests.Timeout):
        return Unavailable(f"TikTok timed out on {method} {path} ({name})")
    if isinstance(exc, requests.ConnectionError):
        return Unavailable(f"TikTok unreachable for {method} {path} ({name})")
    return Unavailable(f"TikTok transport error on {method} {path} ({name})")


def _retry_after(headers: Mapping[str, str], now: float | None) -> float:
    """Seconds to wait: `Retry-After` (seconds or HTTP date), else `X-RateLimit-Reset`
    (seconds, or an epoch timestamp when it looks like one), else 60."""
    now = time.time() if now is None else now
    for name in ("Retry-After", "X-RateLimit-Reset"):
        raw = (headers.get(name) or "").strip()
        if not raw:
            continue
        try:
            value = float(raw)
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(raw)
            except (TypeError, ValueError, IndexError):
                continue
            if when.tzinfo is None:
                when = when.replace(tzinfo=dt.timezone.utc)
            return max(0.0, when.timestamp() - now)
        if value != value or value in (float("inf"), float("-inf")):
            continue
        if value > 1_000_000_000:  # an epoch timestamp, not a delay
            value -= now
        return max(0.0, value)
    return DEFAULT_RETRY_AFTER


_LOG_ID_RE = re.compile(r"[^A-Za-z0-9_.:-]")


def _log_id(envelope: Mapping[str, Any], headers: Mapping[str, str]) -> str | None:
    """TikTok's request id, from the body or the `X-Tt-Logid` header, safe to log."""
    nested = envelope.get("error")
    raw = (
        envelope.get("request_id")
        or envelope.get("log_id")
        or (nested.get("log_id") if isinstance(nested, dict) else None)
        or headers.get("X-Tt-Logid")
    )
    if raw is None:
        return None
    return _LOG_ID_RE.sub("", str(raw))[:64] or None


_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]+")


def _clean(text: Any, secrets: Iterable[str]) -> str:
    """TikTok's message, made safe for exceptions and logs: no secrets, no CR/LF, short."""
    if text is None or text == "":
        return ""
    cleaned = str(text)
    for secret in secrets:
        if secret:
            cleaned = cleaned.replace(secret, "[redacted]")
    return _CONTROL_RE.sub(" ", cleaned)[:300]


# --- plumbing ---------------------------------------------------------------------

def _new_session() -> requests.Session:
    session = requests.Session()
    # Pool reuse; max_retries=0 because jobs decide when to try again.
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=16, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def _json_list(values: Iterable[str]) -> str:
    """TikTok for Business takes array parameters as JSON text: ``["a","b"]``."""
    return json.dumps(list(values), separators=(",", ":"))


def _data_list(data: Mapping[str, Any], what: str) -> list[Any]:
    items = data.get("list")
    if items is None:
        return []
    if not isinstance(items, list):
        raise BadResponse(f"{what}: 'list' is not a list")
    return items


def report_windows(start: dt.date, end: dt.date, days: int = REPORT_WINDOW_DAYS) -> list[tuple[dt.date, dt.date]]:
    """Split an inclusive date range into consecutive windows of at most `days` days."""
    windows = []
    while start <= end:
        window_end = min(end, start + dt.timedelta(days=days - 1))
        windows.append((start, window_end))
        start = window_end + dt.timedelta(days=1)
    return windows


class RedactQuerySecrets(logging.Filter):
    """Scrubs secret-bearing query parameters from log records (urllib3 logs request lines at DEBUG)."""

    _PATTERN = re.compile(
        r"((?:^|[?&\s\"'])(?:secret|client_secret|access_token|refresh_token|auth_code|code|code_verifier)=)"
        r"[^&\s\"']*",
        re.IGNORECASE,
    )

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken record is not ours to fix
            return True
        cleaned = self._PATTERN.sub(r"\1[redacted]", message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


# Not "app.tiktok": our own lines are built from method, path, status and ids only.
_REDACTED_LOGGERS = ("urllib3.connectionpool", "urllib3.connection", "urllib3.util.retry", "urllib3.poolmanager")


def install_log_redaction(*extra_loggers: str) -> None:
    """Attach `RedactQuerySecrets` to the loggers that could print our request lines (idempotent).

    `extra_loggers` covers other transports, e.g. tests pass ``"requests_mock.adapter"``.
    """
    for name in (*_REDACTED_LOGGERS, *extra_loggers):
        target = logging.getLogger(name)
        if not any(isinstance(f, RedactQuerySecrets) for f in target.filters):
            target.addFilter(RedactQuerySecrets())


__all__ = [
    "DEFAULT_PROFILE_FIELDS",
    "DEFAULT_VIDEO_FIELDS",
    "SYNC_VIDEO_FIELDS",
    "TikTokClient",
    "get_client",
    "install_log_redaction",
    "insight_fields_for",
    "interpret_response",
    "profile_fields_for",
    "report_windows",
    "video_fields_for",
]

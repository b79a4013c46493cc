"""TikTok API for Business, Accounts API: consent, tokens and a creator's data.

Login Kit consent URL with TikTok's hex-S256 PKCE (optional: ``TIKTOK_PKCE``), the
`tt_user/oauth2/{token,refresh_token,revoke}/` and `tt_user/token_info/get/` token calls,
and `business/get/` / `business/video/list/` (header ``Access-Token``). Request fields
come from `app.tiktok.fields`, TikTok's documented tables: a name that is not there is a
`ValueError` before anything is sent.

TikTok documents no error code for a dead or under-scoped token, so a data call that
fails with an undocumented code asks `token_info`: `TokenInvalid` (dead), `ScopeMissing`
(alive, missing a scope the call needed) or the original `TikTokError`.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Callable
from urllib.parse import urlencode

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
from .types import Profile, TokenInfo, TokenSet, Video, VideoPage
from .transport import json_list

logger = logging.getLogger("app.tiktok")

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
MAX_PAGES = 1000  # a runaway cursor must not loop forever


class AccountsAPI:
    """The Accounts API half of `TikTokClient` (it provides `_call` and the credentials)."""

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
            if isinstance(error, (RateLimited, Unavailable, BadResponse, ClientConfigError)):
                raise  # a throttle, an outage or our own credentials say nothing about the token
            raise TokenInvalid(error.message, error.code, error.log_id, http_status=error.http_status) from None
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
        """Revoke the grant. `TokenInvalid` means TikTok already considers it gone.

        TikTok documents no code for "that token is already dead", so an undocumented
        refusal is resolved with `token_info`: dead → `TokenInvalid` (nothing left to
        revoke), otherwise the refusal stands and the caller tries again later.
        """
        if not access_token:
            raise ValueError("access_token is required")
        try:
            self._call(
                "POST", "tt_user/oauth2/revoke/",
                json_body={"client_id": self.client_key, "client_secret": self._client_secret,
                           "access_token": access_token},
                sensitive=(access_token,),
            )
        except TikTokError as error:
            if type(error) is TikTokError and self._token_is_dead(access_token):
                raise TokenInvalid(error.message, error.code, error.log_id, http_status=error.http_status) from None
            raise

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
        params: dict[str, str] = {"business_id": business_id, "fields": json_list(wanted)}
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
            "fields": json_list(wanted),
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

    def iter_video_pages(
        self,
        access_token: str,
        business_id: str,
        *,
        cursor: int | None = None,
        max_count: int = MAX_VIDEO_PAGE,
        fields: Iterable[str] | None = None,
        fetch: Callable[..., VideoPage] | None = None,
    ) -> Iterator[VideoPage]:
        """Pages of posts, newest first, following cursors until `has_more` is false.

        Lazy: a caller that only needs recent posts stops iterating and no further page
        is fetched. A cursor TikTok already gave us ends the walk (no loops). `fetch`
        wraps each page's call (a sync passes one that waits out TikTok's rate limit and
        repeats that page), defaulting to `list_videos` itself.
        """
        fetch = fetch or (lambda fn, *args, **kwargs: fn(*args, **kwargs))
        fields = tuple(fields) if fields is not None else None
        seen: set[int] = set() if cursor is None else {cursor}
        for _ in range(MAX_PAGES):
            page = fetch(self.list_videos, access_token, business_id, cursor=cursor, max_count=max_count,
                         fields=fields)
            yield page
            if not page.has_more or page.cursor is None:
                return
            if page.cursor in seen:
                logger.warning("tiktok business/video/list/ repeated cursor %s; stopping", page.cursor)
                return
            seen.add(page.cursor)
            cursor = page.cursor
        logger.warning("tiktok business/video/list/ stopped after %d pages", MAX_PAGES)

    def iter_videos(
        self,
        access_token: str,
        business_id: str,
        *,
        cursor: int | None = None,
        max_count: int = MAX_VIDEO_PAGE,
        fields: Iterable[str] | None = None,
    ) -> Iterator[Video]:
        """Every post, newest first (`iter_video_pages`, one post at a time)."""
        for page in self.iter_video_pages(access_token, business_id, cursor=cursor, max_count=max_count,
                                          fields=fields):
            yield from page.videos

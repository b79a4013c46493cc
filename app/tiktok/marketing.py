"""TikTok Marketing API, for Spark Ads figures: advertiser consent, ad list, daily report.

Spark Ads are the ads whose `identity_type` is AUTH_CODE, TT_USER or BC_AUTH_TT; the
organic post they promote is named by `tiktok_item_id` (or, for some, `video_id`). Both
`ad/get/` and the report hide deleted ads unless every status is asked for, yet a
finished Spark Ad the advertiser deleted still spent money in its weeks: so every call
here asks for STATUS_ALL. Metric values arrive as strings (``"-"`` means none).
"""
from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import urlencode

from . import fields as documented
from .errors import BadResponse, ClientConfigError
from .types import SPARK_IDENTITY_TYPES, AdsReportRow, AdsToken, AdvertiserInfo, SparkAd
from .transport import json_list

logger = logging.getLogger("app.tiktok")

SPARK_AD_FIELDS: tuple[str, ...] = (
    "ad_id", "advertiser_id", "ad_name", "identity_type", "tiktok_item_id", "video_id",
)
REPORT_METRICS: tuple[str, ...] = (
    "spend", "impressions", "clicks", "ctr", "cpm", "reach", "frequency", "video_play_actions",
    "video_watched_2s", "video_watched_6s", "video_views_p100", "likes", "comments", "shares", "follows",
    "profile_visits",
)
ADVERTISER_INFO_FIELDS: tuple[str, ...] = ("advertiser_id", "name", "currency", "timezone")
REPORT_WINDOW_DAYS = 30  # TikTok's daily breakdowns are kept to ≤30-day requests
ADS_PAGE_SIZE = 1000
MAX_PAGES = 1000  # a runaway `total_page` must not loop forever




class MarketingAPI:
    """The Marketing API half of `TikTokClient` (it provides `_call` and the credentials)."""

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
                "advertiser_ids": json_list([str(advertiser_id)]),
                "fields": json_list(ADVERTISER_INFO_FIELDS),
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
                "fields": json_list(SPARK_AD_FIELDS),
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
            "dimensions": json_list(["ad_id", "stat_time_day"]),
            "metrics": json_list(REPORT_METRICS),
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

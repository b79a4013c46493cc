"""Marketing API for Spark Ads figures: advertiser auth, ad list and the daily ad report.

`ad/get/` fields and the report's metrics are TikTok's documented names, read from
`app.tiktok.fields`; anything else is refused with 40002. Deleted ads are hidden by default from
both `ad/get/` and the report, as on TikTok, and come back with STATUS_ALL (TikTok's
tiktok-business-api-sdk `js_sdk/docs/ReportingApi.md`; bububa/tiktok-business `model/ad/get.go`,
`model/report/integrated_get.go`).
"""
from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable

from flask import render_template, request

from app.tiktok.fields import AD_GET_FIELDS, REPORT_MAX_AD_IDS, REPORT_METRICS, STATUS_ALL

from . import demo_data
from .oauth import APP_NAME, LEGAL_ENTITY, USERNAME_RE, error_page, redirect_to
from .responses import access_token_header, check_fields, date_param, int_param, json_body, json_param, ok, state
from .state import INVALID_PARAMS, SCOPE_MISSING, SandboxError

MAX_REPORT_SPAN_DAYS = 30
DEFAULT_ACCOUNTS = "brassorbit3, moontideco2"
#: `ad/get/` without `fields` answers every field (in this order).
_AD_FIELD_ORDER = ("advertiser_id", "campaign_id", "adgroup_id", "ad_id", "ad_name", "identity_type", "identity_id",
                   "tiktok_item_id", "video_id", "operation_status", "secondary_status", "create_time", "ad_text")
DEFAULT_AD_FIELDS = [f for f in _AD_FIELD_ORDER if f in AD_GET_FIELDS] + sorted(AD_GET_FIELDS - set(_AD_FIELD_ORDER))
ADVERTISER_FIELDS = dict.fromkeys(
    ["advertiser_id", "name", "currency", "timezone", "display_timezone", "status", "company"], ""
)
#: The report's metrics when the request names none (TikTok's default for BASIC reports).
DEFAULT_REPORT_METRICS = ["spend", "impressions"]
#: Primary statuses this sandbox filters on. Without a status filter TikTok applies STATUS_NOT_DELETE.
PRIMARY_STATUSES = frozenset({STATUS_ALL, "STATUS_NOT_DELETE", "STATUS_DELETE", "STATUS_DELIVERY_OK",
                              "STATUS_DISABLE"})
#: ad/get/ `filtering.ad_ids|adgroup_ids|campaign_ids` take 1–100 ids each.
AD_GET_MAX_IDS = 100


# -- authorization ---------------------------------------------------------------------------
def portal_auth():
    if request.method == "POST":
        return portal_decide()
    s = state().settings
    bad = []
    if request.args.get("app_id") != s.ads_app_id:
        bad.append("app_id")
    redirect_uri = request.args.get("redirect_uri", "")
    if redirect_uri not in s.ads_redirect_uris:
        bad.append("redirect_uri")
    if not request.args.get("state"):
        bad.append("state")
    if bad:
        return error_page(bad)
    return ads_consent({"redirect_uri": redirect_uri, "state": request.args["state"]})


def ads_consent(pending: dict, accounts: str = DEFAULT_ACCOUNTS, error: str | None = None, status: int = 200):
    return (
        render_template(
            "sandbox/ads_consent.html",
            app_name=APP_NAME,
            legal_entity=LEGAL_ENTITY,
            nonce=state().new_nonce(pending),
            accounts=accounts,
            error=error,
        ),
        status,
    )


def portal_decide():
    st = state()
    pending = st.take_nonce(request.form.get("nonce", ""))
    if pending is None:
        return error_page([], "This authorization request has expired or was already answered.")
    if request.form.get("action") != "grant":
        return redirect_to(pending["redirect_uri"], {"error": "access_denied", "state": pending["state"]})
    raw = request.form.get("accounts", "")
    usernames = list(dict.fromkeys(demo_data.normalize_username(u) for u in raw.split(",") if u.strip()))
    if not usernames or not all(USERNAME_RE.fullmatch(u) for u in usernames):
        return ads_consent(pending, raw, "List one or more TikTok usernames, separated by commas.", 400)
    code = st.issue_ads_code(redirect_uri=pending["redirect_uri"], usernames=usernames)
    return redirect_to(pending["redirect_uri"], {"auth_code": code, "state": pending["state"]})


def access_token():
    body = json_body()
    st = state()
    st.check_ads_client(body.get("app_id"), body.get("secret"))
    auth_code = body.get("auth_code")
    if not isinstance(auth_code, str) or not auth_code:
        raise SandboxError(INVALID_PARAMS, "invalid_request: auth_code is required.")
    return ok(st.exchange_ads_code(auth_code))


# -- data ------------------------------------------------------------------------------------
def _ads_grant() -> dict:
    return state().ads_grant(access_token_header())


def _advertiser(grant: dict, advertiser_id: object) -> demo_data.Account:
    if not advertiser_id:
        raise SandboxError(INVALID_PARAMS, "invalid params: advertiser_id is required.")
    for username in grant["usernames"]:
        if demo_data.advertiser_id_for(username) == str(advertiser_id):
            return state().account(username)
    raise SandboxError(SCOPE_MISSING, f"No permission to operate advertiser {advertiser_id}.")


def advertiser_get():
    st = state()
    st.check_ads_client(request.args.get("app_id"), request.args.get("secret"))
    grant = _ads_grant()
    items = [
        {"advertiser_id": demo_data.advertiser_id_for(u), "advertiser_name": st.account(u).advertiser_name}
        for u in grant["usernames"]
    ]
    return ok({"list": items})


def advertiser_info():
    grant = _ads_grant()
    ids = json_param("advertiser_ids")
    if not ids:
        raise SandboxError(INVALID_PARAMS, "invalid params: advertiser_ids is required.")
    # Like TikTok, `fields` picks the keys of each entry; without it, all of them come back.
    fields = json_param("fields", list(ADVERTISER_FIELDS))
    check_fields(fields, ADVERTISER_FIELDS, [""])
    out = []
    for advertiser_id in ids:
        acct = _advertiser(grant, advertiser_id)
        values = {
            "advertiser_id": acct.advertiser_id,
            "name": acct.advertiser_name,
            "currency": acct.currency,
            "timezone": "Etc/GMT",
            "display_timezone": "Etc/GMT",
            "status": "STATUS_ENABLE",
            "company": f"{acct.display_name} Ltd.",
        }
        out.append({f: values[f] for f in fields})
    return ok({"list": out})


def _page_info(page: int, page_size: int, total: int) -> dict:
    return {"page": page, "page_size": page_size, "total_number": total, "total_page": math.ceil(total / page_size)}


def _statuses(ad: demo_data.Ad, today: dt.date) -> tuple[str, str, str]:
    """(primary_status, operation_status, secondary_status) of an ad today."""
    if ad.deleted:
        return "STATUS_DELETE", "DISABLE", "AD_STATUS_DELETE"
    if ad.days and ad.days[-1].date >= today:
        return "STATUS_DELIVERY_OK", "ENABLE", "AD_STATUS_DELIVERY_OK"
    return "STATUS_DISABLE", "DISABLE", "AD_STATUS_DISABLE"


def _status_matches(primary: str, wanted: set[str]) -> bool:
    if STATUS_ALL in wanted:
        return True
    if "STATUS_NOT_DELETE" in wanted and primary != "STATUS_DELETE":
        return True
    return primary in wanted


def _id_list(value: object, what: str, limit: int) -> set[str]:
    if not isinstance(value, list) or not 1 <= len(value) <= limit \
            or not all(isinstance(i, (str, int)) and not isinstance(i, bool) for i in value):
        raise SandboxError(INVALID_PARAMS, f"invalid params: {what} must list 1–{limit} ids.")
    return {str(i) for i in value}


def _status_set(values: object, what: str) -> set[str]:
    values = [values] if isinstance(values, str) else values
    if not isinstance(values, list) or not values or any(v not in PRIMARY_STATUSES for v in values):
        raise SandboxError(INVALID_PARAMS, f"invalid params: {what} must be one of {', '.join(sorted(PRIMARY_STATUSES))}.")
    return set(values)


def _ad_get_filter(filtering: dict) -> Callable[[demo_data.Ad, str], bool]:
    """`filtering` of ad/get/ (a JSON object): ad/adgroup/campaign ids and primary_status."""
    supported = {"ad_ids", "adgroup_ids", "campaign_ids", "primary_status"}
    unknown = sorted(set(filtering) - supported)
    if unknown:
        raise SandboxError(INVALID_PARAMS, f"invalid params: filtering.{unknown[0]} is not supported here "
                                           f"(supported: {', '.join(sorted(supported))}).")
    ids = {k: _id_list(filtering[k], f"filtering.{k}", AD_GET_MAX_IDS)
           for k in ("ad_ids", "adgroup_ids", "campaign_ids") if k in filtering}
    # TikTok's default is STATUS_NOT_DELETE: deleted ads only with STATUS_ALL (or STATUS_DELETE).
    statuses = _status_set(filtering["primary_status"], "filtering.primary_status") \
        if "primary_status" in filtering else {"STATUS_NOT_DELETE"}

    def keep(ad: demo_data.Ad, primary: str) -> bool:
        return (
            ("ad_ids" not in ids or ad.ad_id in ids["ad_ids"])
            and ("adgroup_ids" not in ids or ad.adgroup_id in ids["adgroup_ids"])
            and ("campaign_ids" not in ids or ad.campaign_id in ids["campaign_ids"])
            and _status_matches(primary, statuses)
        )

    return keep


def ad_get():
    grant = _ads_grant()
    acct = _advertiser(grant, request.args.get("advertiser_id"))
    fields = check_fields(json_param("fields", None) or DEFAULT_AD_FIELDS, AD_GET_FIELDS)
    keep = _ad_get_filter(json_param("filtering", {}, dict))
    page, page_size = int_param("page", 1, 1, 10**6), int_param("page_size", 10, 1, 1000)
    ads = []
    for ad in acct.ads:
        primary, operation, secondary = _statuses(ad, acct.today)
        if not keep(ad, primary):
            continue
        ads.append({
            "advertiser_id": acct.advertiser_id,
            "campaign_id": ad.campaign_id,
            "adgroup_id": ad.adgroup_id,
            "ad_id": ad.ad_id,
            "ad_name": ad.ad_name,
            "identity_type": ad.identity_type,
            "identity_id": ad.identity_id,
            "tiktok_item_id": ad.tiktok_item_id,
            "video_id": ad.video_id,
            "operation_status": operation,
            "secondary_status": secondary,
            "create_time": ad.create_time,
            "ad_text": ad.ad_name,
        })
    chunk = ads[(page - 1) * page_size : page * page_size]
    return ok({"list": [{f: a[f] for f in fields} for a in chunk], "page_info": _page_info(page, page_size, len(ads))})


def _ratio(num: float, den: float, scale: float = 1.0) -> str:
    # TikTok reports a metric it cannot compute as "-", not 0.
    return f"{num / den * scale:.2f}" if den else "-"


def _metric_values(d: demo_data.AdDay) -> dict[str, str]:
    return {
        "spend": f"{d.spend:.2f}",
        "impressions": str(d.impressions),
        "clicks": str(d.clicks),
        "ctr": _ratio(d.clicks, d.impressions, 100),
        "cpm": _ratio(d.spend, d.impressions, 1000),
        "cpc": _ratio(d.spend, d.clicks),
        "reach": str(d.reach) if d.impressions else "-",
        "frequency": _ratio(d.impressions, d.reach),
        "video_play_actions": str(d.video_play_actions),
        "video_watched_2s": str(d.video_watched_2s),
        "video_watched_6s": str(d.video_watched_6s),
        "video_views_p100": str(d.video_views_p100),
        "likes": str(d.likes),
        "comments": str(d.comments),
        "shares": str(d.shares),
        "follows": str(d.follows),
        "profile_visits": str(d.profile_visits),
    }


def report_integrated():
    grant = _ads_grant()
    acct = _advertiser(grant, request.args.get("advertiser_id"))
    a = request.args
    if a.get("report_type") != "BASIC":
        raise SandboxError(INVALID_PARAMS, "invalid params: report_type must be BASIC.")
    if a.get("data_level") != "AUCTION_AD":
        raise SandboxError(INVALID_PARAMS, "invalid params: this sandbox serves data_level AUCTION_AD only.")
    if a.get("service_type", "AUCTION") != "AUCTION":
        raise SandboxError(INVALID_PARAMS, "invalid params: service_type must be AUCTION.")
    dims = json_param("dimensions")
    if not dims or sorted(dims) != ["ad_id", "stat_time_day"]:
        raise SandboxError(INVALID_PARAMS, 'invalid params: dimensions must be ["ad_id","stat_time_day"].')
    metrics = check_fields(json_param("metrics", None) or DEFAULT_REPORT_METRICS, REPORT_METRICS, what="metric")
    start, end = date_param("start_date"), date_param("end_date")
    if start > end or (end - start).days > MAX_REPORT_SPAN_DAYS:
        raise SandboxError(
            INVALID_PARAMS, f"invalid params: end_date must be within {MAX_REPORT_SPAN_DAYS} days after start_date."
        )
    page, page_size = int_param("page", 1, 1, 10**6), int_param("page_size", 10, 1, 1000)
    only, statuses = _report_filters(json_param("filtering"))
    rows = []
    for ad in acct.ads:
        if only is not None and ad.ad_id not in only:
            continue
        if not _status_matches(_statuses(ad, acct.today)[0], statuses):
            continue  # by default TikTok leaves deleted ads' rows out, money spent or not
        for d in ad.days:
            if start <= d.date <= end:
                values = _metric_values(d)
                rows.append(
                    {
                        "dimensions": {"ad_id": ad.ad_id, "stat_time_day": f"{d.date.isoformat()} 00:00:00"},
                        "metrics": {m: values[m] for m in metrics},
                    }
                )
    chunk = rows[(page - 1) * page_size : page * page_size]
    return ok({"list": chunk, "page_info": _page_info(page, page_size, len(rows))})


def _report_filters(filtering: list | None) -> tuple[set[str] | None, set[str]]:
    """The report's `filtering` list: `ad_ids` (1–100 ids) and `ad_status`, each as
    {"field_name", "filter_type": "IN", "filter_value": "<JSON array string>"}.

    Returns (ad ids or None, statuses); without an ad_status filter TikTok applies STATUS_NOT_DELETE.
    """
    only: set[str] | None = None
    statuses = {"STATUS_NOT_DELETE"}
    seen = set()
    for f in filtering or []:
        if not isinstance(f, dict) or not {"field_name", "filter_type", "filter_value"} <= f.keys():
            raise SandboxError(INVALID_PARAMS, "invalid params: each filter needs field_name, filter_type and "
                                               "filter_value.")
        name = f["field_name"]
        if name not in ("ad_ids", "ad_status"):
            raise SandboxError(INVALID_PARAMS, f"invalid params: filter field_name {name!r} is not supported here "
                                               "(supported: ad_ids, ad_status).")
        if name in seen:
            raise SandboxError(INVALID_PARAMS, f"invalid params: filter {name!r} is given twice.")
        seen.add(name)
        if f["filter_type"] != "IN":
            raise SandboxError(INVALID_PARAMS, f"invalid params: filter {name!r} takes filter_type IN.")
        value = f["filter_value"]
        try:
            values = json.loads(value) if isinstance(value, str) else None
        except ValueError:
            values = None
        if not isinstance(values, list):
            raise SandboxError(INVALID_PARAMS, "invalid params: filter_value must be a JSON array string.")
        if name == "ad_ids":
            only = _id_list(values, "the ad_ids filter", REPORT_MAX_AD_IDS)
        else:
            statuses = _status_set(values, "the ad_status filter")
    return only, statuses


ROUTES = [
    ("/portal/auth", "portal_auth", portal_auth, ["GET", "POST"]),
    ("/portal/auth/decide", "portal_auth_decide", portal_decide, ["POST"]),
    ("/open_api/v1.3/oauth2/access_token/", "ads_access_token", access_token, ["POST"]),
    ("/open_api/v1.3/oauth2/advertiser/get/", "advertiser_get", advertiser_get, ["GET"]),
    ("/open_api/v1.3/advertiser/info/", "advertiser_info", advertiser_info, ["GET"]),
    ("/open_api/v1.3/ad/get/", "ad_get", ad_get, ["GET"]),
    ("/open_api/v1.3/report/integrated/get/", "report_integrated", report_integrated, ["GET"]),
]

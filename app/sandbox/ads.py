"""Marketing API for Spark Ads figures: advertiser auth, ad list and the daily ad report (§8)."""
from __future__ import annotations

import json
import math

from flask import render_template, request

from . import demo_data
from .oauth import APP_NAME, LEGAL_ENTITY, USERNAME_RE, error_page, redirect_to
from .responses import access_token_header, check_fields, date_param, int_param, json_body, json_param, ok, state
from .state import INVALID_PARAMS, SCOPE_MISSING, SandboxError

MAX_REPORT_SPAN_DAYS = 30
DEFAULT_ACCOUNTS = "brassorbit3, moontideco2"

# Field name → scope, as for the Accounts API; ads fields need no scope beyond the token ("").
AD_FIELDS = dict.fromkeys(
    [
        "advertiser_id", "campaign_id", "adgroup_id", "ad_id", "ad_name", "identity_type", "identity_id",
        "tiktok_item_id", "operation_status", "create_time", "ad_text",
    ],
    "",
)
DEFAULT_AD_FIELDS = ["advertiser_id", "campaign_id", "adgroup_id", "ad_id", "ad_name", "identity_type",
                     "identity_id", "tiktok_item_id", "operation_status", "create_time"]
ADVERTISER_FIELDS = dict.fromkeys(
    ["advertiser_id", "name", "currency", "timezone", "display_timezone", "status", "company"], ""
)
REPORT_METRICS = dict.fromkeys(
    [
        "spend", "impressions", "clicks", "ctr", "cpm", "cpc", "reach", "frequency", "video_play_actions",
        "video_watched_2s", "video_watched_6s", "video_views_p100", "likes", "comments", "shares", "follows",
        "profile_visits",
    ],
    "",
)


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


def ad_get():
    grant = _ads_grant()
    acct = _advertiser(grant, request.args.get("advertiser_id"))
    fields = json_param("fields", DEFAULT_AD_FIELDS)
    check_fields(fields, AD_FIELDS, [""])
    page, page_size = int_param("page", 1, 1, 10**6), int_param("page_size", 10, 1, 1000)
    ads = [
        {
            "advertiser_id": acct.advertiser_id,
            "campaign_id": ad.campaign_id,
            "adgroup_id": ad.adgroup_id,
            "ad_id": ad.ad_id,
            "ad_name": ad.ad_name,
            "identity_type": ad.identity_type,
            "identity_id": ad.identity_id,
            "tiktok_item_id": ad.tiktok_item_id,
            "operation_status": "ENABLE" if ad.days and ad.days[-1].date >= acct.today else "DISABLE",
            "create_time": ad.create_time,
            "ad_text": ad.ad_name,
        }
        for ad in acct.ads
    ]
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
    metrics = json_param("metrics")
    if not metrics:
        raise SandboxError(INVALID_PARAMS, "invalid params: metrics is required.")
    check_fields(metrics, REPORT_METRICS, [""])
    start, end = date_param("start_date"), date_param("end_date")
    if start > end or (end - start).days > MAX_REPORT_SPAN_DAYS:
        raise SandboxError(
            INVALID_PARAMS, f"invalid params: end_date must be within {MAX_REPORT_SPAN_DAYS} days after start_date."
        )
    page, page_size = int_param("page", 1, 1, 10**6), int_param("page_size", 10, 1, 1000)
    only = _ad_id_filter(json_param("filtering"))
    rows = []
    for ad in acct.ads:
        if only is not None and ad.ad_id not in only:
            continue
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


def _ad_id_filter(filtering: list | None) -> set[str] | None:
    """Supports the one filter clients use here: [{"field_name":"ad_ids","filter_type":"IN","filter_value":"[...]"}]."""
    if not filtering:
        return None
    for f in filtering:
        if isinstance(f, dict) and f.get("field_name") == "ad_ids":
            value = f.get("filter_value")
            try:
                ids = json.loads(value) if isinstance(value, str) else value
            except ValueError:
                ids = None
            if not isinstance(ids, list):
                raise SandboxError(INVALID_PARAMS, "invalid params: filter_value must be a JSON array string.")
            return {str(i) for i in ids}
    return None


ROUTES = [
    ("/portal/auth", "portal_auth", portal_auth, ["GET", "POST"]),
    ("/portal/auth/decide", "portal_auth_decide", portal_decide, ["POST"]),
    ("/open_api/v1.3/oauth2/access_token/", "ads_access_token", access_token, ["POST"]),
    ("/open_api/v1.3/oauth2/advertiser/get/", "advertiser_get", advertiser_get, ["GET"]),
    ("/open_api/v1.3/advertiser/info/", "advertiser_info", advertiser_info, ["GET"]),
    ("/open_api/v1.3/ad/get/", "ad_get", ad_get, ["GET"]),
    ("/open_api/v1.3/report/integrated/get/", "report_integrated", report_integrated, ["GET"]),
]

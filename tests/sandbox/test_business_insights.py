"""business/get/ daily metrics and demographics, business/video/list/ insights: TikTok's shapes and rules.

Demo accounts with pinned facts: brassorbit3 (Business, ≥100 followers), moontideco2 (personal,
≥100 followers), quietfern7 (Business, <100 followers).
"""
import datetime as dt
import json
import math

import pytest

from app.tiktok.fields import DAILY_METRIC_FIELDS, VIDEO_FILTER_MAX_IDS

INVALID_PARAMS, SCOPE_MISSING = 40002, 40001
EVERY_SCOPE = ("user.info.basic,user.info.username,user.info.profile,user.info.stats,user.account.type,"
               "user.insights,video.list,video.insights")
BUSINESS_ONLY_DAILY = {"profile_views", "bio_link_clicks", "phone_number_clicks", "email_clicks", "address_clicks",
                       "app_download_clicks", "lead_submissions"}
BUSINESS_ONLY_VIDEO = {"profile_views", "website_clicks", "phone_number_clicks", "email_clicks", "address_clicks",
                       "app_download_clicks", "lead_submissions"}
DEMOGRAPHICS = ["audience_ages", "audience_genders", "audience_countries", "audience_cities"]
INSIGHTS = ["total_time_watched", "average_time_watched", "video_duration", "full_video_watched_rate",
            "video_view_retention", "impression_sources", "audience_types", "favorites", "new_followers",
            "engagement_likes", "audience_genders", "audience_countries", "audience_cities", *sorted(BUSINESS_ONLY_VIDEO)]


def account_get(sandbox, username, fields, **params):
    acct = sandbox.connect(request_scopes=EVERY_SCOPE, username=username)
    return sandbox.business_get(acct["access_token"], acct["open_id"], fields, **params).json()


def videos(sandbox, username, fields, **params):
    acct = sandbox.connect(request_scopes=EVERY_SCOPE, username=username)
    body = sandbox.video_list(acct["access_token"], acct["open_id"], fields, max_count=20, **params).json()
    assert body["code"] == 0, body
    return body["data"]["videos"]


# -- business/get/: daily metrics by name -------------------------------------------------------

def test_daily_metrics_come_per_date_holding_only_the_requested_names(sandbox):
    body = account_get(sandbox, "brassorbit3", ["display_name", "video_views", "likes", "engaged_audience"])
    assert body["code"] == 0, body
    data = body["data"]
    assert set(data) == {"display_name", "metrics"}  # daily names never appear top level
    assert data["metrics"] and all(set(row) == {"date", "video_views", "likes", "engaged_audience"}
                                   for row in data["metrics"])
    assert all(isinstance(row[k], int) and row[k] >= 0 for row in data["metrics"] for k in row if k != "date")


def test_followers_count_comes_back_as_the_total_and_per_day(sandbox):
    today = sandbox.state.today()
    body = account_get(sandbox, "brassorbit3", ["followers_count"],
                       start_date=(today - dt.timedelta(days=6)).isoformat(), end_date=today.isoformat())
    data = body["data"]
    assert isinstance(data["followers_count"], int) and data["followers_count"] > 0
    assert [set(row) for row in data["metrics"]] == [{"date", "followers_count"}] * 7
    assert data["metrics"][-1]["followers_count"] == data["followers_count"]
    totals = account_get(sandbox, "brassorbit3", ["daily_total_followers", "daily_new_followers",
                                                  "daily_lost_followers"],
                         start_date=(today - dt.timedelta(days=6)).isoformat(), end_date=today.isoformat())
    rows = totals["data"]["metrics"]
    assert [r["daily_total_followers"] for r in rows] == [r["followers_count"] for r in data["metrics"]]
    for prev, row in zip(rows, rows[1:]):
        assert row["daily_total_followers"] - prev["daily_total_followers"] == \
            row["daily_new_followers"] - row["daily_lost_followers"]


def test_without_dates_the_answer_is_the_7_days_ending_yesterday_utc(sandbox):
    today = sandbox.state.today()
    body = account_get(sandbox, "brassorbit3", ["video_views"])
    assert [r["date"] for r in body["data"]["metrics"]] == \
        [(today - dt.timedelta(days=d)).isoformat() for d in range(7, 0, -1)]


def test_dates_are_utc_days_of_the_sandbox_clock(sandbox):
    today = sandbox.state.today()
    body = account_get(sandbox, "brassorbit3", ["video_views"], start_date=today.isoformat(),
                       end_date=(today + dt.timedelta(days=3)).isoformat())
    assert [r["date"] for r in body["data"]["metrics"]] == [today.isoformat()]  # no rows from the future


@pytest.mark.parametrize("dates", [
    {"start_date": "TODAY"}, {"end_date": "TODAY"},                       # only one of the two
    {"start_date": "TODAY", "end_date": "YESTERDAY"},                     # start after end
    {"start_date": "61_DAYS_AGO", "end_date": "TODAY"},                   # beyond the 60-day look-back
    {"start_date": "2026/05/01", "end_date": "TODAY"},                    # not YYYY-MM-DD
])
def test_bad_date_ranges_are_invalid_params(sandbox, dates):
    today = sandbox.state.today()
    named = {"TODAY": today, "YESTERDAY": today - dt.timedelta(days=1), "61_DAYS_AGO": today - dt.timedelta(days=61)}
    params = {k: named[v].isoformat() if v in named else v for k, v in dates.items()}
    body = account_get(sandbox, "brassorbit3", ["video_views"], **params)
    assert body["code"] == INVALID_PARAMS and body["message"].startswith("invalid params:")


def test_sixty_days_back_is_the_limit(sandbox):
    today = sandbox.state.today()
    body = account_get(sandbox, "brassorbit3", ["video_views"],
                       start_date=(today - dt.timedelta(days=60)).isoformat(), end_date=today.isoformat())
    assert body["code"] == 0 and len(body["data"]["metrics"]) == 61


# -- demographics and audience_activity: only from 100 followers ---------------------------------

def test_demographics_and_hourly_activity_for_an_account_with_100_followers_or_more(sandbox):
    body = account_get(sandbox, "brassorbit3", ["followers_count", *DEMOGRAPHICS, "audience_activity"])
    data = body["data"]
    assert data["followers_count"] >= 100
    ages = data["audience_ages"]
    assert [a["age"] for a in ages] == ["18-24", "25-34", "35-44", "45-54", "55+"]
    assert {g["gender"] for g in data["audience_genders"]} == {"Female", "Male", "Other"}
    assert all(len(c["country"]) == 2 and c["country"].isupper() for c in data["audience_countries"])
    assert all(isinstance(c["city_name"], str) and c["city_name"] for c in data["audience_cities"])
    for name in ("audience_ages", "audience_genders", "audience_countries"):
        assert sum(x["percentage"] for x in data[name]) == pytest.approx(1, abs=0.01), name
    assert 0 < sum(c["percentage"] for c in data["audience_cities"]) < 1  # the top cities only
    assert all(0 <= x["percentage"] <= 1 for name in DEMOGRAPHICS for x in data[name])
    for row in data["metrics"]:
        activity = row["audience_activity"]
        assert [a["hour"] for a in activity] == [str(h) for h in range(24)]
        assert all(isinstance(a["count"], int) and 0 <= a["count"] <= data["followers_count"] for a in activity)


def test_no_demographics_or_hourly_activity_below_100_followers(sandbox):
    body = account_get(sandbox, "quietfern7",
                       ["username", "followers_count", *DEMOGRAPHICS, "audience_activity", "video_views"])
    assert body["code"] == 0, body
    data = body["data"]
    assert data["username"] == "quietfern7" and data["followers_count"] < 100
    assert not set(DEMOGRAPHICS) & set(data)
    assert data["metrics"] and all(set(row) == {"date", "followers_count", "video_views"} for row in data["metrics"])


# -- Business-only metrics ----------------------------------------------------------------------

def test_business_accounts_get_profile_views_and_click_metrics(sandbox):
    body = account_get(sandbox, "brassorbit3", ["is_business_account", *sorted(BUSINESS_ONLY_DAILY)])
    assert body["data"]["is_business_account"] is True
    assert all(set(row) == {"date", *BUSINESS_ONLY_DAILY} for row in body["data"]["metrics"])
    assert sum(row["profile_views"] for row in body["data"]["metrics"]) > 0


def test_personal_accounts_get_no_profile_views_or_click_metrics(sandbox):
    body = account_get(sandbox, "moontideco2", ["is_business_account", "video_views", *sorted(BUSINESS_ONLY_DAILY)])
    assert body["code"] == 0 and body["data"]["is_business_account"] is False
    assert all(set(row) == {"date", "video_views"} for row in body["data"]["metrics"])


def test_every_daily_metric_needs_user_insights(sandbox):
    acct = sandbox.connect(scopes=["user.info.basic", "user.info.stats", "video.list"])
    for name in [*DAILY_METRIC_FIELDS, *DEMOGRAPHICS]:
        body = sandbox.business_get(acct["access_token"], acct["open_id"], [name]).json()
        assert body["code"] == SCOPE_MISSING and "user.insights" in body["message"], name


# -- business/video/list/ insights ----------------------------------------------------------------

def test_video_insights_are_shaped_like_tiktok_s(sandbox):
    vids = videos(sandbox, "brassorbit3", ["item_id", "video_views", "reach", *INSIGHTS])
    assert len(vids) >= 10
    for v in vids:
        assert set(v) == {"item_id", "video_views", "reach", *INSIGHTS}
        for name in ("total_time_watched", "average_time_watched", "video_duration", "full_video_watched_rate"):
            assert isinstance(v[name], float), name
        assert 0 < v["average_time_watched"] <= v["video_duration"]
        assert v["total_time_watched"] == pytest.approx(v["average_time_watched"] * v["video_views"], rel=0.01)
        assert 0 < v["full_video_watched_rate"] < 1
        retention = v["video_view_retention"]
        assert retention[0] == {"second": "0", "percentage": 1.0}
        assert [r["second"] for r in retention] == [str(s) for s in range(len(retention))]
        assert len(retention) == math.floor(v["video_duration"]) + 1
        shares = [r["percentage"] for r in retention]
        assert shares == sorted(shares, reverse=True)
        assert shares[-1] == pytest.approx(v["full_video_watched_rate"], abs=0.001)
        likes = v["engagement_likes"]
        assert all(isinstance(x["second"], str) for x in likes)
        assert sum(x["percentage"] for x in likes) == pytest.approx(1, abs=0.01)
        sources = v["impression_sources"]
        assert {"For You", "Follow", "Personal Profile", "Search", "Sound", "Hashtag"} <= \
            {s["impression_source"] for s in sources}
        assert sources[0]["impression_source"] == "For You"
        assert [s["percentage"] for s in sources] == sorted((s["percentage"] for s in sources), reverse=True)
        assert sum(s["percentage"] for s in sources) == pytest.approx(1, abs=0.005)
        types = {t["type"]: t["percentage"] for t in v["audience_types"]}
        assert set(types) == {"NEW_VIEWER", "RETURN_VIEWER", "FOLLOWER_PERCENT", "NON_FOLLOWER_PERCENT"}
        assert types["NEW_VIEWER"] + types["RETURN_VIEWER"] == pytest.approx(1, abs=0.0002)
        assert types["FOLLOWER_PERCENT"] + types["NON_FOLLOWER_PERCENT"] == pytest.approx(1, abs=0.0002)
        assert {g["gender"] for g in v["audience_genders"]} == {"Female", "Male", "Other"}
        assert all(len(c["country"]) == 2 for c in v["audience_countries"])
        assert all(c["city_name"] for c in v["audience_cities"])
        for name in ("favorites", "new_followers", *BUSINESS_ONLY_VIDEO):
            assert isinstance(v[name], int) and v[name] >= 0, name
        assert v["favorites"] <= v["video_views"] and v["profile_views"] <= v["video_views"]
    # Posts differ from one another (the breakdowns are per post, not one canned list).
    assert len({json.dumps(v["impression_sources"]) for v in vids}) == len(vids)
    assert len({json.dumps(v["audience_types"]) for v in vids}) == len(vids)


def test_video_insights_are_deterministic(sandbox, make_sandbox):
    first = videos(sandbox, "brassorbit3", ["item_id", *INSIGHTS])
    again = videos(sandbox, "brassorbit3", ["item_id", *INSIGHTS])
    elsewhere = videos(make_sandbox(), "brassorbit3", ["item_id", *INSIGHTS])
    assert first == again == elsewhere


def test_personal_accounts_posts_carry_no_profile_views_or_clicks(sandbox):
    vids = videos(sandbox, "moontideco2", ["item_id", *INSIGHTS])
    assert vids and all(set(v) == {"item_id", *INSIGHTS} - BUSINESS_ONLY_VIDEO for v in vids)


def test_posts_of_an_account_below_100_followers_carry_no_audience_cities(sandbox):
    vids = videos(sandbox, "quietfern7", ["item_id", *INSIGHTS])
    assert vids and all(set(v) == {"item_id", *INSIGHTS} - {"audience_cities"} for v in vids)


def test_video_list_default_fields_are_item_id_only(sandbox):
    acct = sandbox.connect()
    body = sandbox.video_list(acct["access_token"], acct["open_id"]).json()
    assert body["code"] == 0 and all(set(v) == {"item_id"} for v in body["data"]["videos"])


def all_public_ids(sandbox, acct) -> list[str]:
    ids, cursor = [], None
    while True:
        page = sandbox.video_list(acct["access_token"], acct["open_id"], ["item_id"], max_count=20,
                                  **({"cursor": cursor} if cursor else {})).json()["data"]
        ids += [v["item_id"] for v in page["videos"]]
        cursor = page["cursor"]
        if not page["has_more"]:
            return ids


def test_filter_by_up_to_20_video_ids(sandbox):
    acct = sandbox.connect()
    ids = all_public_ids(sandbox, acct)[:VIDEO_FILTER_MAX_IDS]
    assert len(ids) == 20
    body = sandbox.video_list(acct["access_token"], acct["open_id"], ["item_id"],
                              filters=json.dumps({"video_ids": ids})).json()
    assert body["code"] == 0 and sorted(v["item_id"] for v in body["data"]["videos"]) == sorted(ids)


@pytest.mark.parametrize("filters", [
    {"video_ids": []},
    {"video_ids": ["7000000000000000000"] * 21},
    {"video_ids": [7000000000000000000]},          # ids are strings
    {"video_ids": "7000000000000000000"},
    {"item_ids": ["7000000000000000000"]},          # the one documented filter is video_ids
    ["7000000000000000000"],                         # a JSON object, not a list
])
def test_bad_video_filters_are_invalid_params(sandbox, filters):
    acct = sandbox.connect()
    body = sandbox.video_list(acct["access_token"], acct["open_id"], ["item_id"], filters=json.dumps(filters)).json()
    assert body["code"] == INVALID_PARAMS


def test_filters_must_be_json(sandbox):
    acct = sandbox.connect()
    body = sandbox.video_list(acct["access_token"], acct["open_id"], ["item_id"], filters="video_ids=1").json()
    assert body["code"] == INVALID_PARAMS


def test_is_ad_marks_posts_that_a_live_ad_promotes(sandbox):
    acct = sandbox.connect()
    ads = sandbox.ads_connect("brassorbit3")
    every = sandbox.get("ad/get/", ads["access_token"], advertiser_id=ads["advertiser_ids"][0], page_size=1000,
                        filtering={"primary_status": "STATUS_ALL"})["data"]["list"]
    live = {a["tiktok_item_id"] or a["video_id"] for a in every
            if a["identity_type"] != "CUSTOMIZED_USER" and a["secondary_status"] != "AD_STATUS_DELETE"}
    vids, cursor = [], None
    while True:
        page = sandbox.video_list(acct["access_token"], acct["open_id"], ["item_id", "is_ad"], max_count=20,
                                  **({"cursor": cursor} if cursor else {})).json()["data"]
        vids += page["videos"]
        cursor = page["cursor"]
        if not page["has_more"]:
            break
    assert {v["item_id"] for v in vids if v["is_ad"]} == live

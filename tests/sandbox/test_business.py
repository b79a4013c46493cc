"""Accounts API data endpoints: Access-Token, fields/scopes, daily metrics, video paging, rate limits."""
import datetime as dt

import pytest

SCOPE_MISSING, INVALID_PARAMS, RATE_LIMITED, TOKEN_INVALID = 40001, 40002, 40100, 40104


def test_business_get_returns_requested_fields(sandbox):
    data = sandbox.connect()
    body = sandbox.business_get(
        data["access_token"], data["open_id"], ["username", "display_name", "followers_count", "profile_image"]
    ).json()
    assert body["code"] == 0
    assert body["data"]["username"] == "brassorbit3"
    assert isinstance(body["data"]["followers_count"], int) and body["data"]["followers_count"] > 0
    # followers_count also comes back per day, so `metrics` is there too.
    assert set(body["data"]) == {"username", "display_name", "followers_count", "profile_image", "metrics"}


def test_profile_fields_alone_answer_no_metrics(sandbox):
    data = sandbox.connect()
    body = sandbox.business_get(data["access_token"], data["open_id"], ["username", "total_likes"]).json()
    assert body["code"] == 0 and set(body["data"]) == {"username", "total_likes"}


def test_without_fields_tiktok_answers_display_name_and_profile_image(sandbox):
    data = sandbox.connect()
    body = sandbox.business_get(data["access_token"], data["open_id"]).json()
    assert set(body["data"]) == {"display_name", "profile_image"}


def test_missing_access_token_is_refused(sandbox):
    data = sandbox.connect()
    assert sandbox.business_get(None, data["open_id"]).json()["code"] == TOKEN_INVALID


def test_authorization_bearer_is_refused(sandbox):
    data = sandbox.connect()
    resp = sandbox.business_get(None, data["open_id"], headers={"Authorization": f"Bearer {data['access_token']}"})
    assert resp.json()["code"] == TOKEN_INVALID
    assert "Access-Token" in resp.json()["message"]


def test_unknown_access_token_is_refused(sandbox):
    data = sandbox.connect()
    assert sandbox.business_get("act.forged", data["open_id"]).json()["code"] == TOKEN_INVALID


def test_business_id_must_be_the_tokens_open_id(sandbox):
    data = sandbox.connect()
    other = sandbox.connect(username="moontideco2")
    assert sandbox.business_get(data["access_token"], other["open_id"]).json()["code"] != 0


def test_unknown_field_is_invalid_params(sandbox):
    data = sandbox.connect()
    body = sandbox.business_get(data["access_token"], data["open_id"], ["display_name", "follower_count"]).json()
    assert body["code"] == INVALID_PARAMS


def test_fields_must_be_a_json_array_string(sandbox):
    data = sandbox.connect()
    resp = sandbox.http.get(
        sandbox.url("/open_api/v1.3/business/get/"),
        params={"business_id": data["open_id"], "fields": "display_name,username"},
        headers={"Access-Token": data["access_token"]},
    )
    body = resp.json()
    assert body["code"] == INVALID_PARAMS


def test_field_outside_granted_scopes_is_scope_missing(sandbox):
    data = sandbox.connect(scopes=["user.info.basic", "video.list"])
    body = sandbox.business_get(data["access_token"], data["open_id"], ["display_name", "followers_count"]).json()
    assert body["code"] == SCOPE_MISSING and "user.info.stats" in body["message"]


def test_daily_metrics_cover_the_requested_days(sandbox):
    data = sandbox.connect()
    today = sandbox.state.today()
    start, end = today - dt.timedelta(days=59), today
    body = sandbox.business_get(
        data["access_token"], data["open_id"], ["followers_count", "video_views"],
        start_date=start.isoformat(), end_date=end.isoformat(),
    ).json()
    assert body["code"] == 0
    rows = body["data"]["metrics"]
    assert [r["date"] for r in rows] == [(start + dt.timedelta(days=i)).isoformat() for i in range(60)]
    assert rows[-1]["followers_count"] == body["data"]["followers_count"]
    assert all(isinstance(r["video_views"], int) and r["video_views"] >= 0 for r in rows)


def test_metrics_older_than_60_days_are_refused(sandbox):
    data = sandbox.connect()
    today = sandbox.state.today()
    body = sandbox.business_get(
        data["access_token"], data["open_id"], ["video_views"],
        start_date=(today - dt.timedelta(days=61)).isoformat(), end_date=today.isoformat(),
    ).json()
    assert body["code"] == INVALID_PARAMS


def test_metrics_need_user_insights_scope(sandbox):
    data = sandbox.connect(scopes=["user.info.basic", "video.list"])
    today = sandbox.state.today().isoformat()
    body = sandbox.business_get(data["access_token"], data["open_id"], ["video_views"],
                                start_date=today, end_date=today).json()
    assert body["code"] == SCOPE_MISSING


def test_video_list_pages_newest_first_with_short_pages_until_has_more_is_false(sandbox):
    data = sandbox.connect()
    fields = ["item_id", "create_time", "video_views", "full_video_watched_rate"]
    seen, cursor, short_page_with_more, pages = [], None, False, 0
    while True:
        params = {"max_count": 5} | ({"cursor": cursor} if cursor is not None else {})
        body = sandbox.video_list(data["access_token"], data["open_id"], fields, **params).json()
        assert body["code"] == 0
        page = body["data"]
        assert len(page["videos"]) <= 5
        if page["has_more"] and len(page["videos"]) < 5:
            short_page_with_more = True
        seen += page["videos"]
        pages += 1
        if not page["has_more"]:
            break
        assert page["cursor"] < (cursor or 2**63)  # cursor moves back in time, in ms
        cursor = page["cursor"]
    assert short_page_with_more, "some page should be shorter than max_count while has_more is true"
    times = [v["create_time"] for v in seen]
    assert times == sorted(times, reverse=True) and len(set(v["item_id"] for v in seen)) == len(seen)
    assert all(1_600_000_000 < t < 2_000_000_000 for t in times)  # seconds, not ms
    assert all(isinstance(v["item_id"], str) and len(v["item_id"]) == 19 and v["item_id"].isdigit() for v in seen)
    assert all(0.40 <= v["full_video_watched_rate"] <= 0.75 for v in seen)
    assert pages > 3


@pytest.mark.parametrize("max_count", [0, 21, "ten"])
def test_video_list_max_count_out_of_range_is_invalid_params(sandbox, max_count):
    data = sandbox.connect()
    body = sandbox.video_list(data["access_token"], data["open_id"], ["item_id"], max_count=max_count).json()
    assert body["code"] == INVALID_PARAMS


def test_video_insights_fields_need_video_insights_scope(sandbox):
    data = sandbox.connect(scopes=["user.info.basic", "video.list"])
    ok = sandbox.video_list(data["access_token"], data["open_id"], ["item_id", "video_views", "reach"]).json()
    assert ok["code"] == 0 and "reach" in ok["data"]["videos"][0]
    body = sandbox.video_list(data["access_token"], data["open_id"], ["item_id", "full_video_watched_rate"]).json()
    assert body["code"] == SCOPE_MISSING


def test_video_list_needs_video_list_scope(sandbox):
    data = sandbox.connect(scopes=["user.info.basic"])
    assert sandbox.video_list(data["access_token"], data["open_id"], ["item_id"]).json()["code"] == SCOPE_MISSING


def test_video_list_filter_by_ids(sandbox):
    data = sandbox.connect()
    first = sandbox.video_list(data["access_token"], data["open_id"], ["item_id"], max_count=3).json()["data"]
    ids = [v["item_id"] for v in first["videos"]][:2]
    body = sandbox.video_list(data["access_token"], data["open_id"], ["item_id", "likes"],
                              filters=f'{{"video_ids": ["{ids[0]}", "{ids[1]}"]}}').json()
    assert sorted(v["item_id"] for v in body["data"]["videos"]) == sorted(ids)


def test_per_account_rate_limit_answers_40100_in_http_200_with_retry_after(make_sandbox):
    sbx = make_sandbox(per_account_qpm=3)
    data = sbx.connect()
    codes = [sbx.business_get(data["access_token"], data["open_id"]).json()["code"] for _ in range(3)]
    assert codes == [0, 0, 0]
    resp = sbx.business_get(data["access_token"], data["open_id"])
    assert resp.status_code == 200 and resp.json()["code"] == RATE_LIMITED
    assert 1 <= int(resp.headers["Retry-After"]) <= 60
    # Per endpoint: another endpoint still answers.
    assert sbx.video_list(data["access_token"], data["open_id"], ["item_id"]).json()["code"] == 0
    # Sliding window: a minute later the account may call again.
    sbx.state.advance_clock(61)
    assert sbx.business_get(data["access_token"], data["open_id"]).json()["code"] == 0


def test_app_wide_rate_limit_spans_accounts(make_sandbox):
    sbx = make_sandbox(app_qpm=4)
    a, b = sbx.connect(), sbx.connect(username="moontideco2")
    for _ in range(2):
        assert sbx.business_get(a["access_token"], a["open_id"]).json()["code"] == 0
        assert sbx.business_get(b["access_token"], b["open_id"]).json()["code"] == 0
    resp = sbx.business_get(b["access_token"], b["open_id"])
    assert resp.json()["code"] == RATE_LIMITED and "Retry-After" in resp.headers


def test_any_username_gets_a_stable_account(sandbox):
    first = sandbox.connect(username="Some.Creator_1")
    second = sandbox.connect(username="some.creator_1")
    assert first["open_id"] == second["open_id"]
    body = sandbox.business_get(first["access_token"], first["open_id"], ["username"]).json()
    assert body["data"]["username"] == "some.creator_1"

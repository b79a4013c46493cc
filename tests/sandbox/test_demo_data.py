"""Demo accounts: deterministic across processes and plausible."""
import datetime as dt
import json
import subprocess
import sys

import pytest

from app.sandbox import demo_data

TODAY = dt.date(2026, 5, 25)


@pytest.fixture(params=["brassorbit3", "moontideco2", "quietfern7", "some.new_creator"])
def account(request):
    return demo_data.account(request.param, TODAY)


def fingerprint(username: str, today: dt.date) -> list:
    a = demo_data.account(username, today)
    return [a.open_id, a.followers_count, [p.item_id for p in a.posts], [d.video_views for d in a.days],
            [ad.ad_id for ad in a.ads]]


def test_same_data_in_another_process():
    code = (
        "import json, datetime as dt; from app.sandbox import demo_data; "
        "a = demo_data.account('brassorbit3', dt.date(2026, 5, 25)); "
        "print(json.dumps([a.open_id, a.followers_count, [p.item_id for p in a.posts], "
        "[d.video_views for d in a.days], [ad.ad_id for ad in a.ads]]))"
    )
    # A different PYTHONHASHSEED proves nothing depends on hash().
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONHASHSEED": "12345", "PATH": ""}, cwd=str(__import__("pathlib").Path(__file__).parents[2]))
    assert json.loads(out.stdout) == fingerprint("brassorbit3", TODAY)


def test_usernames_get_different_accounts():
    assert fingerprint("brassorbit3", TODAY) != fingerprint("moontideco2", TODAY)
    assert demo_data.open_id_for("brassorbit3") == demo_data.open_id_for("@BrassOrbit3")


def test_history_is_stable_from_one_day_to_the_next():
    today, tomorrow = demo_data.account("brassorbit3", TODAY), demo_data.account("brassorbit3", TODAY + dt.timedelta(1))
    horizon = tomorrow.posts[-1].create_time  # the oldest post slides out of the window
    assert {p.item_id for p in today.posts if p.create_time >= horizon} <= {p.item_id for p in tomorrow.posts}
    assert [d for d in today.days[1:]] == [d for d in tomorrow.days[: len(today.days) - 1]]


def test_120_days_of_history_ending_today(account):
    assert len(account.days) == 120 and account.days[-1].date == TODAY
    assert [d.date for d in account.days] == [TODAY - dt.timedelta(days=119 - i) for i in range(120)]


def test_followers_grow_with_noise(account):
    followers = [d.followers_count for d in account.days]
    assert followers[-1] > followers[0] * 1.02
    assert followers[-1] < followers[0] * 1.5  # plausible for four months
    weekly = followers[::7]
    assert all(b >= a for a, b in zip(weekly, weekly[1:]))  # the trend never turns down week over week
    for d in account.days:
        assert d.daily_new_followers >= 0 and d.daily_lost_followers >= 0
    for prev, d in zip(account.days, account.days[1:]):
        assert d.followers_count - prev.followers_count == d.daily_new_followers - d.daily_lost_followers


def test_daily_views_are_the_sum_of_post_increments(account):
    assert all(d.video_views >= 0 for d in account.days)
    assert sum(d.video_views for d in account.days[-30:]) > 0


def test_one_to_three_posts_per_full_week(account):
    first_monday = account.days[0].date + dt.timedelta(days=(7 - account.days[0].date.weekday()) % 7)
    monday = first_monday
    while monday + dt.timedelta(days=7) <= TODAY:
        start = int(dt.datetime.combine(monday, dt.time(), dt.timezone.utc).timestamp())
        n = sum(1 for p in account.posts if start <= p.create_time < start + 7 * 86400)
        assert 1 <= n <= 3, monday
        monday += dt.timedelta(days=7)


def test_posts_plausible(account):
    for p in account.posts:
        assert isinstance(p.item_id, str) and len(p.item_id) == 19 and p.item_id.isdigit()
        assert 0.40 <= p.full_video_watched_rate <= 0.75
        c = p.counters_at(account.as_of_ts)
        assert c["likes"] <= c["video_views"] and c["comments"] <= c["likes"] and c["reach"] <= c["video_views"]
        assert p.caption
    assert any(not p.public for p in account.posts) or len(account.posts) < 20


def test_post_views_grow_and_flatten(account):
    post = account.posts[-1]  # the oldest
    day = 86400
    views = [post.views_at(post.create_time + k * day) for k in range(0, 30)]
    assert views == sorted(views)
    assert views[2] - views[1] > views[29] - views[28]  # growth slows down
    assert views[29] - views[28] <= max(1, views[29] // 100)


def test_spark_ads_deliver_on_recent_posts(account):
    spark = [a for a in account.ads if a.identity_type in demo_data.SPARK_IDENTITIES]
    assert spark
    post_ids = {p.item_id for p in account.public_posts}
    assert all(a.post_item_id in post_ids for a in spark)
    assert any(d.impressions > 0 and d.clicks > 0 and d.spend > 0 for a in spark for d in a.days)


def test_pinned_demo_accounts():
    brass, moon, fern = (demo_data.account(u, TODAY) for u in ("brassorbit3", "moontideco2", "quietfern7"))
    assert brass.is_business_account and brass.has_demographics and brass.followers_count >= 100
    assert not moon.is_business_account and moon.has_demographics
    assert fern.is_business_account and not fern.has_demographics
    # quietfern7 stays under 100 followers for years, whatever day the sandbox thinks it is.
    for year in range(2025, 2031):
        assert demo_data.account("quietfern7", dt.date(year, 6, 1)).followers_count < 100


def test_deleted_spark_ad_spent_money_in_recent_weeks(account):
    deleted = [a for a in account.ads if a.deleted]
    assert len(deleted) == 1 and deleted[0].identity_type in demo_data.SPARK_IDENTITIES
    recent = [d for d in deleted[0].days if (TODAY - d.date).days <= 30]
    assert sum(d.spend for d in recent) > 0 and deleted[0].days[-1].date < TODAY
    assert deleted[0].tiktok_item_id in {p.item_id for p in account.public_posts}


def test_one_spark_ad_names_its_post_only_by_video_id(account):
    video_only = [a for a in account.ads if a.identity_type in ("TT_USER", "BC_AUTH_TT") and not a.tiktok_item_id]
    assert len(video_only) == 1 and video_only[0].video_id in {p.item_id for p in account.public_posts}
    assert video_only[0].post_item_id == video_only[0].video_id and not video_only[0].deleted
    assert any(d.spend > 0 for d in video_only[0].days)


def test_extra_spark_ads_are_deterministic_recent_and_on_public_posts():
    plain = demo_data.account("brassorbit3", TODAY)
    more = demo_data.account("brassorbit3", TODAY, 130)
    assert more.ads is not plain.ads and len(more.ads) == len(plain.ads) + 130
    assert {a.ad_id for a in plain.ads} < {a.ad_id for a in more.ads}
    assert [a.ad_id for a in more.ads] == [a.ad_id for a in demo_data.account("brassorbit3", TODAY, 130).ads]
    extra = [a for a in more.ads if a.ad_id not in {b.ad_id for b in plain.ads}]
    public = {p.item_id for p in plain.public_posts}
    assert all(a.tiktok_item_id in public and a.identity_type in demo_data.SPARK_IDENTITIES for a in extra)
    assert all(a.days and all(0 <= (TODAY - d.date).days <= 20 and d.spend > 0 for d in a.days) for a in extra)


def test_daily_insights_are_plausible(account):
    for d in account.days:
        assert 0 <= d.engaged_audience <= d.unique_video_views <= d.video_views
        assert d.bio_link_clicks <= d.profile_views and d.lead_submissions <= d.profile_views
        assert len(d.audience_activity) == 24 and max(d.audience_activity) <= d.followers_count


def test_post_insights_in_another_process_are_the_same():
    code = (
        "import json, datetime as dt; from app.sandbox import demo_data; "
        "p = demo_data.account('brassorbit3', dt.date(2026, 5, 25)).posts[0]; "
        "print(json.dumps([p.retention(), p.impression_sources(), p.audience_types(), p.engagement_likes()]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONHASHSEED": "4321", "PATH": ""}, cwd=str(__import__("pathlib").Path(__file__).parents[2]))
    p = demo_data.account("brassorbit3", TODAY).posts[0]
    assert json.loads(out.stdout) == json.loads(json.dumps([p.retention(), p.impression_sources(), p.audience_types(),
                                                             p.engagement_likes()]))

"""What TikTok's documented fields give us, end to end: our app ↔ the sandbox over real HTTP.

The sandbox refuses any field TikTok does not document (the old `metrics` request field
included), so these pass only when the client asks TikTok's questions the way TikTok
documents them."""
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
import requests
import sqlalchemy as sa

from app.extensions import db
from app.models import AccountSnapshot, AdsAccount, AudienceSnapshot, Post, SparkAdMetric, TikTokConnection, Workspace
from app.sandbox import demo_data
from app.services import report_figures
from app.services.mail import outbox_messages
from jobs.runner import run_job
from tests.e2e.helpers import connect_account, link_ads, sign_in

pytestmark = pytest.mark.e2e


def sandbox(live_server):
    return live_server.app.extensions["tiktok_sandbox"].sandbox_state


def test_sync_keeps_daily_views_reach_followers_activity_and_demographics(live_server):
    s, ws_id = sign_in(live_server)
    assert connect_account(live_server, s, ws_id).ok
    app = live_server.app
    result = run_job(app, "sync", now=datetime.now(timezone.utc))
    assert result.counts["synced"] == 1, result
    with app.app_context():
        days = db.session.scalars(sa.select(AccountSnapshot).where(AccountSnapshot.video_views.is_not(None))).all()
        assert len(days) >= 55  # the 60-day look-back, asked for by name
        for snap in days:
            assert snap.reach is not None and 0 < snap.reach <= snap.video_views
            assert snap.new_followers is not None and snap.lost_followers is not None
            assert snap.engaged_audience is not None and snap.followers_count
            assert [hour for hour, _ in snap.audience_activity] == list(range(24))
        demo = db.session.scalars(sa.select(AudienceSnapshot)).all()
        assert len(demo) == 1 and demo[0].day == datetime.now(timezone.utc).date()
        for breakdown in (demo[0].ages, demo[0].genders):
            assert 0.99 <= sum(share for _, share in breakdown) <= 1.01
        assert demo[0].countries and demo[0].cities  # top places only: shares need not add up to 1
        posts = db.session.scalars(sa.select(Post)).all()
        assert posts and all(p.retention and p.impression_sources and p.audience_types for p in posts)
        assert all(p.average_time_watched is not None and p.video_duration for p in posts)


def test_account_under_100_followers_has_no_demographics_and_still_syncs(live_server):
    s, ws_id = sign_in(live_server)
    assert connect_account(live_server, s, ws_id, username="quietfern7").ok
    result = run_job(live_server.app, "sync", now=datetime.now(timezone.utc))
    assert result.counts["synced"] == 1, result
    with live_server.app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AudienceSnapshot)) == 0
        snaps = db.session.scalars(sa.select(AccountSnapshot).where(AccountSnapshot.video_views.is_not(None))).all()
        assert snaps and all(s.audience_activity is None for s in snaps)


def test_deleted_spark_ad_counts_in_its_weeks_paid_figures(live_server):
    admin, ws_id = sign_in(live_server, email="ana@brass.studio", role="client_admin", password="demo-ana-pass-1")
    assert connect_account(live_server, admin, ws_id).ok
    link_ads(live_server, admin, ws_id)
    app = live_server.app
    now = datetime.now(timezone.utc)
    result = run_job(app, "sync", now=now)
    assert result.counts["synced"] == 1 and result.counts["ads_synced"] == 1, result

    account = sandbox(live_server).account("brassorbit3")
    deleted = next(ad for ad in account.ads if ad.deleted)
    video_id_only = next(ad for ad in account.ads if ad.identity_type == "TT_USER" and not ad.tiktok_item_id)
    with app.app_context():
        stored = db.session.scalars(sa.select(SparkAdMetric).where(SparkAdMetric.ad_id == deleted.ad_id)).all()
        delivered = [d for d in deleted.days if d.date >= (now - timedelta(days=30)).date() and d.impressions]
        assert delivered and len(stored) == len(delivered)
        assert all(m.post_id is not None for m in stored)  # matched to its organic post
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SparkAdMetric).where(
            SparkAdMetric.ad_id == video_id_only.ad_id, SparkAdMetric.post_id.is_not(None))) > 0

        # The ISO week of the deleted ad's first delivery day: its spend and impressions are in
        # that week's paid figures (TikTok hides deleted ads from the default report).
        first = min(d.date for d in delivered)
        week = report_figures.Week(*first.isocalendar()[:2])
        workspace = db.session.get(Workspace, ws_id)
        figures = report_figures.compute_figures(workspace, week, now=now)
        window_days = {first - timedelta(days=first.weekday()) + timedelta(days=i) for i in range(7)}
        rows = db.session.scalars(sa.select(SparkAdMetric).where(SparkAdMetric.day.in_(window_days))).all()
        expected_spend = sum((m.spend or Decimal(0) for m in rows), Decimal(0))
        expected_impressions = sum(m.impressions or 0 for m in rows)
        deleted_in_week = [d for d in delivered if d.date in window_days]
        assert deleted_in_week
        assert expected_impressions >= sum(d.impressions for d in deleted_in_week)
        paid = figures["paid"]
        assert paid is not None
        assert paid["impressions"] == expected_impressions
        assert Decimal(paid["spend"]) == expected_spend


def test_more_than_100_spark_ads_are_fetched_in_batches(live_server):
    admin, ws_id = sign_in(live_server, email="ana@brass.studio", role="client_admin", password="demo-ana-pass-1")
    assert connect_account(live_server, admin, ws_id).ok
    link_ads(live_server, admin, ws_id)
    r = requests.post(live_server.url + "/sandbox/tiktok/_control/ads",
                      json={"username": "brassorbit3", "extra_spark_ads": 130})
    assert r.ok, r.text
    result = run_job(live_server.app, "sync", now=datetime.now(timezone.utc))
    assert result.counts["ads_synced"] == 1, result
    account = sandbox(live_server).account("brassorbit3")
    spark = [ad for ad in account.ads if ad.identity_type in ("AUTH_CODE", "TT_USER", "BC_AUTH_TT")
             and any(d.impressions for d in ad.days if d.date >= (datetime.now(timezone.utc) - timedelta(days=30)).date())]
    assert len(spark) > 130
    with live_server.app.app_context():
        stored = set(db.session.scalars(sa.select(SparkAdMetric.ad_id).distinct()))
    assert {ad.ad_id for ad in spark} <= stored  # every delivering Spark Ad, past the 100-id filter limit


def test_silent_revocation_is_found_by_token_check_and_the_owner_is_emailed_once(live_server):
    s, ws_id = sign_in(live_server)
    assert connect_account(live_server, s, ws_id).ok
    app = live_server.app
    r = requests.post(live_server.url + "/sandbox/tiktok/_control/deauthorize",
                      json={"username": "brassorbit3", "webhook": False})
    assert r.ok and r.json()["webhook"] is False
    assert not sandbox(live_server).webhooks or all(
        d.get("user_openid") != demo_data.open_id_for("brassorbit3") for d in sandbox(live_server).webhooks)
    now = datetime.now(timezone.utc)
    with app.app_context():
        assert db.session.scalar(sa.select(TikTokConnection.status)) == "active"  # nothing told us
    result = run_job(app, "token-check", now=now)
    assert result.counts["revoked"] == 1, result
    with app.app_context():
        assert db.session.scalar(sa.select(TikTokConnection.status)) == "needs_reconnect"
    run_job(app, "refresh-tokens", now=now + timedelta(minutes=10))
    run_job(app, "refresh-tokens", now=now + timedelta(minutes=20))
    mails = [m for m in outbox_messages(app.config["MAIL_OUTBOX_DIR"]) if b"maya@brass.studio" in m]
    assert len(mails) == 1 and b"Reconnect @brassorbit3" in mails[0]
    page = s.get(live_server.url + "/settings/integrations").text
    assert "reconnect" in page.lower()

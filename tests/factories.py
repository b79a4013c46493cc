"""Plain data builders for tests (CTFd's gen_* style): explicit, no magic."""
from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

from app.extensions import db
from app.models import TikTokConnection

_seq = itertools.count(1)


def make_connection(workspace, owner, *, username: str | None = None, status: str = "active",
                    scopes: str = "user.info.basic,video.list,video.insights", **fields) -> TikTokConnection:
    n = next(_seq)
    now = datetime.now(timezone.utc)
    conn = TikTokConnection(
        workspace_id=workspace.id,
        owner_user_id=owner.id if owner else None,
        open_id=fields.pop("open_id", f"open-{n}"),
        username=username or f"account{n}",
        display_name=f"Account {n}",
        status=status,
        granted_scopes=scopes,
        connected_at=fields.pop("connected_at", now - timedelta(days=3)),
        token_refreshed_at=fields.pop("token_refreshed_at", now - timedelta(hours=2)),
        **fields,
    )
    db.session.add(conn)
    db.session.flush()
    return conn


def seed_performance(conn, *, days: int = 40, posts: int = 10, tz: str = "UTC", followers_start: int = 1000,
                     followers_per_day: int = 10, views_per_day: int = 500, post_views: int = 1000,
                     skip_days: tuple[int, ...] = (), spark_posts: int = 0, posts_per_day: int = 1,
                     captions: list[str] | None = None, now: datetime | None = None):
    """Daily account snapshots for the `days` days before today (in `tz`) and `posts` posts,
    one a day going back from yesterday noon local time. Day i (1 = yesterday) has
    followers_start + (days - i) * followers_per_day followers and views_per_day views;
    `skip_days` leaves those days out of the snapshots. Posts are
    spread `posts_per_day` a day; post k (0 = newest) has post_views + k views and
    likes/comments/shares of 10 %/2 %/1 % of that. The first `spark_posts` posts get one
    Spark Ad row with impressions yesterday. Bulk inserts: fast for thousands of rows."""
    from decimal import Decimal
    from zoneinfo import ZoneInfo

    from app.models import AccountSnapshot, AdsAccount, Post, SparkAdMetric

    zone = ZoneInfo(tz)
    now = now or datetime.now(timezone.utc)
    today = now.astimezone(zone).date()
    snaps = [
        {"connection_id": conn.id, "day": today - timedelta(days=i),
         "followers_count": followers_start + (days - i) * followers_per_day, "video_views": views_per_day,
         "captured_at": now}
        for i in range(1, days + 1) if i not in skip_days
    ]
    if snaps:
        db.session.execute(AccountSnapshot.__table__.insert(), snaps)
    rows = []
    for k in range(posts):
        day = today - timedelta(days=k // posts_per_day + 1)
        local_noon = datetime.combine(day, datetime.min.time(), tzinfo=zone).replace(hour=12, minute=k % 60)
        views = post_views + k
        rows.append({"connection_id": conn.id, "item_id": f"{conn.id}-{k}", "caption": captions[k] if captions and k < len(captions) else f"Post number {k}",
                     "thumbnail_url": f"https://p16.example.com/{k}.jpg", "share_url": f"https://www.tiktok.com/@x/video/{k}",
                     "create_time": local_noon.astimezone(timezone.utc), "views": views, "likes": views // 10,
                     "comments": views // 50, "shares": views // 100, "full_video_watched_rate": 0.5 if k % 2 == 0 else None,
                     "metrics_as_of": now, "first_seen_at": now})
    if rows:
        db.session.execute(Post.__table__.insert(), rows)
    if spark_posts:
        ads = AdsAccount(workspace_id=conn.workspace_id, advertiser_id=f"adv-{conn.id}", currency="EUR")
        db.session.add(ads)
        db.session.flush()
        post_ids = db.session.scalars(
            db.select(Post.id).where(Post.connection_id == conn.id).order_by(Post.create_time.desc()).limit(spark_posts)
        ).all()
        db.session.execute(SparkAdMetric.__table__.insert(), [
            {"ads_account_id": ads.id, "post_id": pid, "ad_id": f"ad-{pid}", "day": today - timedelta(days=1),
             "impressions": 10_000, "clicks": 150, "spend": Decimal("25.00"), "captured_at": now}
            for pid in post_ids
        ])
    conn.last_synced_at = now
    db.session.flush()
    return today


def make_connected(app, workspace, owner, *, access: str = "act.LIVE-ACCESS", refresh: str = "rft.LIVE-REFRESH",
                   **fields) -> TikTokConnection:
    """A connection holding real sealed tokens (as after the connect flow)."""
    from app.services.token_sealing import get_keyring, seal_tokens
    from app.tiktok.types import TokenSet

    conn = make_connection(workspace, owner, **fields)
    tokens = TokenSet(access_token=access, refresh_token=refresh, open_id=conn.open_id,
                      scopes=tuple(conn.scopes), expires_in=86400, refresh_expires_in=31536000)
    seal_tokens(conn, tokens, keyring=get_keyring(app), now=datetime.now(timezone.utc))
    db.session.flush()
    return conn


def seed_account_data(conn, *, posts: int = 3, days: int = 3, metrics_per_post: int = 2, spark: bool = True,
                      report=None) -> dict:
    """Rows in every table that holds a connection's data: posts with daily metrics,
    snapshots, Spark Ads rows (one linked by post, one only by item id), a report link
    and audit events. Returns the row counts per table."""
    from datetime import date
    from decimal import Decimal

    from app.models import (AccountSnapshot, AdsAccount, AuditEvent, Post, PostMetric, Report, ReportConnection,
                            SparkAdMetric)

    now = datetime.now(timezone.utc)
    today = date(2026, 5, 25)
    post_rows = []
    for k in range(posts):
        p = Post(connection_id=conn.id, item_id=f"item-{conn.id}-{k}", caption=f"canary caption {conn.username} {k}",
                 create_time=now - timedelta(days=k), views=100 + k)
        db.session.add(p)
        post_rows.append(p)
    db.session.flush()
    for p in post_rows:
        for d in range(metrics_per_post):
            db.session.add(PostMetric(post_id=p.id, day=today - timedelta(days=d), views=10 * d))
    for d in range(days):
        db.session.add(AccountSnapshot(connection_id=conn.id, day=today - timedelta(days=d), followers_count=1000 + d))
    spark_rows = 0
    if spark:
        ads = AdsAccount(workspace_id=conn.workspace_id, advertiser_id=f"adv-{conn.id}")
        db.session.add(ads)
        db.session.flush()
        db.session.add(SparkAdMetric(ads_account_id=ads.id, post_id=post_rows[0].id, ad_id=f"ad-{conn.id}-a",
                                     tiktok_item_id=post_rows[0].item_id, day=today, impressions=5,
                                     spend=Decimal("1.00")))
        db.session.add(SparkAdMetric(ads_account_id=ads.id, post_id=None, ad_id=f"ad-{conn.id}-b",
                                     tiktok_item_id=post_rows[-1].item_id, day=today, impressions=7))
        spark_rows = 2
    if report is None:
        report = Report(workspace_id=conn.workspace_id, iso_week=f"2026-W{conn.id % 50 + 1:02d}",
                        week_start=today - timedelta(days=7), week_end=today - timedelta(days=1),
                        figures={"views": 1234, "accounts": [{"connection_id": conn.id, "username": conn.username}],
                                 "top_posts": [{"item_id": post_rows[0].item_id, "caption": "hi",
                                                "account": f"@{conn.username}"}]})
        db.session.add(report)
        db.session.flush()
    db.session.add(ReportConnection(report_id=report.id, connection_id=conn.id))
    db.session.add(AuditEvent(event="connect.succeeded", workspace_id=conn.workspace_id, connection_id=conn.id,
                              detail={"username": conn.username, "scopes": 3}))
    db.session.flush()
    return {"posts": posts, "post_metrics": posts * metrics_per_post, "account_snapshots": days,
            "spark_ad_metrics": spark_rows, "report_connections": 1, "audit": 1, "report": report}

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

"""Seed data for the weekly-report tests: two accounts of "Brass Studio" around ISO week
2026-W21 (May 18 – May 24, 2026), built with the dashboard's factories."""
from __future__ import annotations

from datetime import datetime, timezone

from app.extensions import db
from app.models import Post
from tests.factories import make_connection, seed_performance

NOW = datetime(2026, 5, 25, 9, 0, tzinfo=timezone.utc)  # the Monday 09:00 UTC run after W21
WEEK = "2026-W21"


def seed_brass(people, *, tz: str = "Europe/London", spark_posts: int = 2):
    """@brassorbit3 (creator's): 40 days of snapshots (10 followers and 500 views a day)
    and one post a day at local noon from May 24 back to May 15, 2 of them boosted
    (Spark Ads on May 24, EUR). @moontideco2 (creator2's): snapshots (2 followers and
    100 views a day), no posts. Returns both connections."""
    conn = make_connection(people.workspace, people.creator, username="brassorbit3")
    seed_performance(conn, tz=tz, days=40, posts=10, now=NOW, spark_posts=spark_posts)
    conn2 = make_connection(people.workspace, people.creator2, username="moontideco2")
    seed_performance(conn2, tz=tz, days=40, posts=0, now=NOW, followers_start=500, followers_per_day=2,
                     views_per_day=100)
    db.session.commit()
    return conn, conn2


def add_post(conn, item_id: str, create_time: datetime, *, views: int = 100, caption: str = "edge post") -> Post:
    post = Post(connection_id=conn.id, item_id=item_id, caption=caption, create_time=create_time, views=views,
                likes=10, comments=2, shares=1, metrics_as_of=NOW)
    db.session.add(post)
    db.session.flush()
    return post

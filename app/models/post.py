"""Posts of a connected account and their daily metrics."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from app.extensions import db
from app.models.base import UTCDateTime, utcnow


class Post(db.Model):
    __tablename__ = "posts"
    __data_inventory__ = {
        "what": "Each post of a connected account: ID, caption, thumbnail and post links, media type, publish time, "
                "length, and its latest views, likes, comments, shares, saves, reach, watch-through, watch time, "
                "retention curve, traffic sources, new vs returning viewers, new followers and profile views. "
                "No video files.",
        "source_scopes": ["video.list", "video.insights"],
        "deleted": "{retention_days} days after the account is disconnected, or at the next nightly purge when deletion is requested.",
    }

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    connection_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("tiktok_connections.id", ondelete="CASCADE")
    )
    item_id: so.Mapped[str] = so.mapped_column(sa.String(32))  # 19-digit ids stay strings
    caption: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    thumbnail_url: so.Mapped[str | None] = so.mapped_column(sa.String(2048))
    share_url: so.Mapped[str | None] = so.mapped_column(sa.String(2048))
    media_type: so.Mapped[str | None] = so.mapped_column(sa.String(32))
    create_time: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    # Latest cumulative counts (from the newest sync); daily history is in PostMetric.
    views: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)
    likes: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)
    comments: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)
    shares: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)
    reach: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)
    full_video_watched_rate: so.Mapped[float | None] = so.mapped_column(sa.Float)
    favorites: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)  # saves
    video_duration: so.Mapped[float | None] = so.mapped_column(sa.Float)  # seconds
    total_time_watched: so.Mapped[float | None] = so.mapped_column(sa.Float)  # seconds, all viewers
    average_time_watched: so.Mapped[float | None] = so.mapped_column(sa.Float)  # seconds per view
    new_followers: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)
    profile_views: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)
    # [[second, share still watching], …], [[source, share], …], [[viewer type, share], …]
    retention: so.Mapped[list | None] = so.mapped_column(sa.JSON)
    impression_sources: so.Mapped[list | None] = so.mapped_column(sa.JSON)
    audience_types: so.Mapped[list | None] = so.mapped_column(sa.JSON)
    metrics_as_of: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    first_seen_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        sa.UniqueConstraint("connection_id", "item_id"),
        sa.Index("ix_posts_connection_create_time", "connection_id", "create_time"),
    )

    def __repr__(self) -> str:
        return f"<Post {self.id} conn={self.connection_id} item={self.item_id}>"


class PostMetric(db.Model):
    """Cumulative counts of one post as seen on one day (one row per post and day)."""

    __tablename__ = "post_metrics"
    __data_inventory__ = {
        "what": "Daily history of each post's counts (views, likes, comments, shares, saves, reach, watch-through).",
        "source_scopes": ["video.list", "video.insights"],
        "deleted": "With the post: {retention_days} days after the account is disconnected, or at the next nightly purge when deletion is requested.",
    }

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    post_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("posts.id", ondelete="CASCADE"))
    day: so.Mapped[date] = so.mapped_column(sa.Date)
    views: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)
    likes: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)
    comments: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)
    shares: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)
    reach: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)
    full_video_watched_rate: so.Mapped[float | None] = so.mapped_column(sa.Float)
    favorites: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)
    captured_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (sa.UniqueConstraint("post_id", "day"),)

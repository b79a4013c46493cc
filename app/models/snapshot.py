"""Daily account snapshots and daily Spark Ads figures."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
import sqlalchemy.orm as so

from app.extensions import db
from app.models.base import UTCDateTime, utcnow


class AccountSnapshot(db.Model):
    """One row per connection and day: follower count at the end of the day and the
    day's account totals (`business/get/` daily metrics)."""

    __tablename__ = "account_snapshots"
    __data_inventory__ = {
        "what": "Daily account totals: followers, video views, reach (unique viewers), profile views, likes, "
                "comments, shares, new and lost followers, engaged audience, followers active per hour, "
                "and profile link clicks.",
        "source_scopes": ["user.info.stats", "user.insights"],
        "deleted": "{retention_days} days after the account is disconnected, or at the next nightly purge when deletion is requested.",
    }

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    connection_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("tiktok_connections.id", ondelete="CASCADE")
    )
    day: so.Mapped[date] = so.mapped_column(sa.Date)
    followers_count: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)
    video_views: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)  # views gained that day
    profile_views: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)
    likes: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)
    comments: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)
    shares: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)
    new_followers: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)
    lost_followers: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)
    # Viewers who watched at least once that day (TikTok's unique_video_views).
    reach: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)
    # Viewers who liked, commented or shared at least once that day.
    engaged_audience: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)
    # Followers active on TikTok per UTC hour that day: [[hour, count], …] (accounts ≥100 followers).
    audience_activity: so.Mapped[list | None] = so.mapped_column(sa.JSON)
    # Profile link clicks of registered Business accounts: {"bio_link_clicks": n, …}.
    clicks: so.Mapped[dict | None] = so.mapped_column(sa.JSON)
    captured_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (sa.UniqueConstraint("connection_id", "day"),)


class AudienceSnapshot(db.Model):
    """Follower demographics of one account as TikTok reported them on one day.

    TikTok keeps no history of demographics (only the current breakdown, and only for
    accounts with at least 100 followers), so each sync keeps that day's answer: one row
    per connection and day, lists of [label, share] pairs.
    """

    __tablename__ = "audience_snapshots"
    __data_inventory__ = {
        "what": "Follower demographics per day, as shares only: age groups, genders, top countries and "
                "top cities. Nothing about any single follower.",
        "source_scopes": ["user.insights"],
        "deleted": "{retention_days} days after the account is disconnected, or at the next nightly purge when deletion is requested.",
    }

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    connection_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("tiktok_connections.id", ondelete="CASCADE")
    )
    day: so.Mapped[date] = so.mapped_column(sa.Date)
    ages: so.Mapped[list | None] = so.mapped_column(sa.JSON)
    genders: so.Mapped[list | None] = so.mapped_column(sa.JSON)
    countries: so.Mapped[list | None] = so.mapped_column(sa.JSON)
    cities: so.Mapped[list | None] = so.mapped_column(sa.JSON)
    captured_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (sa.UniqueConstraint("connection_id", "day"),)


class SparkAdMetric(db.Model):
    """Daily delivery of one Spark Ad (an ad promoting an organic post)."""

    __tablename__ = "spark_ad_metrics"
    __data_inventory__ = {
        "what": "Daily Spark Ads delivery per ad: impressions, clicks, spend, reach, frequency, plays and "
                "watch milestones, likes, comments, shares, follows and profile visits, and the post it promotes.",
        "source": "marketing",
        "source_scopes": [],
        "deleted": "With the advertiser link, or with the promoted post ({retention_days} days after the account is disconnected, or at the next nightly purge when deletion is requested).",
    }

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    ads_account_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("ads_accounts.id", ondelete="CASCADE"))
    # The organic post it promotes, when that post belongs to a connection of the workspace.
    post_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    ad_id: so.Mapped[str] = so.mapped_column(sa.String(64))
    tiktok_item_id: so.Mapped[str | None] = so.mapped_column(sa.String(32), index=True)
    day: so.Mapped[date] = so.mapped_column(sa.Date)
    impressions: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)
    clicks: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)
    spend: so.Mapped[Decimal | None] = so.mapped_column(sa.Numeric(14, 2))
    # Paid engagement, so a boosted post can show organic and paid side by side.
    reach: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)
    frequency: so.Mapped[Decimal | None] = so.mapped_column(sa.Numeric(10, 2))
    video_play_actions: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)
    video_watched_2s: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)
    video_watched_6s: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)
    video_views_p100: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)
    likes: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)
    comments: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)
    shares: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)
    follows: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)
    profile_visits: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)
    captured_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        sa.UniqueConstraint("ads_account_id", "ad_id", "day"),
        sa.Index("ix_spark_ad_metrics_account_day", "ads_account_id", "day"),
    )

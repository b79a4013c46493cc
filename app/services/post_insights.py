"""One post's page: its latest figures as TikTok last reported them, and for a boosted post
its Spark Ads delivery beside them.

Everything here was stored by the sync (`business/video/list/` for the post, the Marketing
API report for its Spark Ads); nothing is fetched or estimated. A figure TikTok did not
send is None and shows as "—", never 0.

Organic and paid are two sources: TikTok's post counts and the ad report. TikTok does not
document whether a post's counts include the views its Spark Ads bought, so the page puts
them side by side and never subtracts one from the other.

Reads only; the request owns the transaction.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from werkzeug.exceptions import NotFound

from app.extensions import db
from app.models import AdsAccount, Post, SparkAdMetric, TikTokConnection, User, Workspace
from app.models.ids import is_storable_id
from app.services import access, charts, metrics
from app.services.audience import Share, shares

ITEM_ID = re.compile(r"[0-9A-Za-z_-]{1,32}")  # TikTok's item ids are digits, kept as text (32 at most)
#: TikTok's names for the viewer breakdowns in `audience_types`, as the page labels them.
VIEWER_TYPES = {"NEW_VIEWER": "New viewers", "RETURN_VIEWER": "Returning viewers"}
FOLLOWER_TYPES = {"FOLLOWER_PERCENT": "Followers", "NON_FOLLOWER_PERCENT": "Not following"}


@dataclass(frozen=True)
class PaidFigures:
    """A post's Spark Ads delivery, summed over every stored day of every ad promoting it."""

    ads: int
    first_day: date
    last_day: date
    impressions: int
    views: int | None  # video_play_actions: plays of the ad
    clicks: int
    spend: Decimal
    currency: str | None  # None when the ads run in more than one currency (no common unit)
    ctr: float | None
    cpm: Decimal | None
    reach: int | None  # summed per day: people reached on several days count once a day
    likes: int | None
    comments: int | None
    shares: int | None
    follows: int | None
    profile_visits: int | None


@dataclass(frozen=True)
class PostInsights:
    post: Post
    connection: TikTokConnection
    tz: ZoneInfo
    posted: datetime  # in the workspace's timezone
    as_of: datetime | None  # when these counts were fetched, in the workspace's timezone
    engagement: float | None
    watch_through: float | None
    retention: list[tuple[float, float]]
    retention_chart: charts.Chart
    sources: list[Share]
    viewer_types: list[Share]
    follower_types: list[Share]
    paid: PaidFigures | None
    has_insights: bool  # TikTok sent the video.insights figures (watch time, retention, sources)

    @property
    def saves(self) -> int | None:
        return self.post.favorites


def post_or_404(user: User, post_id: int) -> tuple[Post, TikTokConnection]:
    """A post of a connection the user may see (access.connection_or_404's rule: a creator
    only their own accounts' posts), or 404 — whether it exists elsewhere or not."""
    post = db.session.get(Post, post_id) if is_storable_id(post_id) else None
    if post is None:
        raise NotFound()
    return post, access.connection_or_404(user, post.connection_id)


def post_id_for_item(connection: TikTokConnection, item_id: str) -> int | None:
    """The stored post of `connection` with TikTok item id `item_id`, if any."""
    if not ITEM_ID.fullmatch(item_id):
        return None
    return db.session.scalar(sa.select(Post.id).where(Post.connection_id == connection.id, Post.item_id == item_id))


def _pairs(raw: list | None) -> list[tuple]:
    """Stored [[label, value], …] JSON as tuples, skipping anything malformed."""
    return [tuple(p) for p in raw or [] if isinstance(p, (list, tuple)) and len(p) == 2]


def _named(raw: list | None, names: dict[str, str]) -> list[Share]:
    """Only the pairs whose label is in `names`, renamed, in TikTok's order."""
    return [Share(names[label], float(share)) for label, share in _pairs(raw)
            if label in names and isinstance(share, (int, float))]


def _sum(values: list) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def paid_figures(post: Post, connection: TikTokConnection) -> PaidFigures | None:
    """Every stored Spark Ads day for `post`: rows linked to it, and rows that name its TikTok
    item id but were stored before the post was (linked later only for recent days), from the
    workspace's own ads accounts. None when it was never boosted."""
    by_item = sa.and_(SparkAdMetric.post_id.is_(None), SparkAdMetric.tiktok_item_id == post.item_id)
    rows = db.session.execute(
        sa.select(SparkAdMetric, AdsAccount.currency)
        .join(AdsAccount, AdsAccount.id == SparkAdMetric.ads_account_id)
        .where(AdsAccount.workspace_id == connection.workspace_id,
               sa.or_(SparkAdMetric.post_id == post.id, by_item))
        .order_by(SparkAdMetric.day)
    ).all()
    if not rows:
        return None
    ads = [r[0] for r in rows]
    # The CTR and CPM definitions of the dashboard's Paid tile, over the ads' whole life.
    life = metrics.Window(ads[0].day, ads[-1].day, ZoneInfo("UTC"))
    totals = metrics.paid([metrics.AdDay(post.id, a.day, a.impressions, a.clicks, a.spend) for a in ads], life)
    assert totals is not None  # rows exist and all lie in their own span
    currencies = {currency for _, currency in rows}
    currency = currencies.pop() if len(currencies) == 1 else None
    return PaidFigures(
        ads=len({a.ad_id for a in ads}), first_day=life.start, last_day=life.end,
        impressions=totals.impressions, views=_sum([a.video_play_actions for a in ads]), clicks=totals.clicks,
        spend=totals.spend, currency=currency, ctr=totals.ctr, cpm=totals.cpm if currency else None,
        reach=_sum([a.reach for a in ads]), likes=_sum([a.likes for a in ads]),
        comments=_sum([a.comments for a in ads]), shares=_sum([a.shares for a in ads]),
        follows=_sum([a.follows for a in ads]), profile_visits=_sum([a.profile_visits for a in ads]),
    )


def build(post: Post, connection: TikTokConnection, workspace: Workspace) -> PostInsights:
    tz = metrics.workspace_tz(workspace.timezone)
    row = metrics.PostRow(id=post.id, create_time=post.create_time, views=post.views, likes=post.likes,
                          comments=post.comments, shares=post.shares,
                          full_video_watched_rate=post.full_video_watched_rate)
    retention = [(float(s), float(v)) for s, v in _pairs(post.retention)
                 if isinstance(s, (int, float)) and isinstance(v, (int, float))]
    retention.sort()
    return PostInsights(
        post=post,
        connection=connection,
        tz=tz,
        posted=post.create_time.astimezone(tz),
        as_of=post.metrics_as_of.astimezone(tz) if post.metrics_as_of else None,
        engagement=metrics.post_engagement(row),
        watch_through=metrics.watch_through(row),
        retention=retention,
        retention_chart=charts.share_curve(retention),
        sources=shares(post.impression_sources),
        viewer_types=_named(post.audience_types, VIEWER_TYPES),
        follower_types=_named(post.audience_types, FOLLOWER_TYPES),
        paid=paid_figures(post, connection),
        has_insights=any(v is not None for v in (post.average_time_watched, post.full_video_watched_rate,
                                                 post.retention, post.impression_sources)),
    )

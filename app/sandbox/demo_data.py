"""Deterministic demo TikTok accounts for the sandbox.

Pure functions of (username, today). Every random draw comes from ``random.Random`` seeded with a
sha256 of stable strings (never ``hash()``, which is salted per process), and seeds are scoped to a
week, a post or a date, so the data a user saw yesterday is still the same data today: posts keep
their ids and counters only grow.

Any username gets an account. Three demo accounts have pinned facts that client tests may rely on:

* ``brassorbit3``: a registered Business account with tens of thousands of followers (so
  ``profile_views``, the click metrics, demographics and ``audience_activity`` all come back);
* ``moontideco2``: a personal account with tens of thousands of followers (no ``profile_views``
  and no click metrics, on the account or on its posts);
* ``quietfern7``: a Business account with fewer than 100 followers (no demographics, no
  ``audience_activity``, no post ``audience_cities``).

Every advertiser has, besides its ordinary Spark Ads: one *deleted* Spark Ad that spent money in
the weeks before today (hidden by TikTok unless asked for with ``STATUS_ALL``), one ``TT_USER``
Spark Ad naming its post only by ``video_id`` (``tiktok_item_id`` empty), and two non-Spark
``CUSTOMIZED_USER`` ads.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import math
import random
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable

HISTORY_DAYS = 120
# Posts start a month before the daily history so its first days already have views.
POSTS_FROM_DAYS = 150
# Follower curves are anchored to a fixed date so a given day's count never changes.
_EPOCH = dt.date(2025, 1, 1)

CAPTIONS = [
    "Behind the scenes of today's shoot",
    "3 things nobody tells you about {topic}",
    "POV: your first week of {topic}",
    "Trying the viral {topic} hack so you don't have to",
    "Day in the life: {topic} edition",
    "Answering your questions about {topic}",
    "The {topic} routine that changed everything",
    "Rating {topic} trends from 1 to 10",
    "Quick {topic} tutorial in under a minute",
    "Studio tour + what's next for {topic}",
]
TOPICS = ["brass", "coffee", "vinyl", "sneakers", "skincare", "home studio", "street food", "ceramics"]
HASHTAGS = ["#fyp", "#foryou", "#behindthescenes", "#tutorial", "#smallbusiness", "#creator", "#howto"]
SPARK_IDENTITIES = ["AUTH_CODE", "TT_USER", "BC_AUTH_TT"]
COUNTRIES = ["US", "GB", "DE", "FR", "CA", "AU", "NL", "ES"]
CITIES = ["New York", "London", "Los Angeles", "Berlin", "Paris", "Toronto", "Sydney", "Amsterdam", "Madrid",
          "Chicago"]
AGE_GROUPS = ["18-24", "25-34", "35-44", "45-54", "55+"]

#: TikTok returns follower demographics, `audience_activity` and post `audience_cities` only for
#: accounts with at least this many followers.
DEMOGRAPHICS_MIN_FOLLOWERS = 100
SMALL_ACCOUNT = "quietfern7"
#: Pinned `is_business_account` of the demo accounts (others are drawn, about 70 % Business).
PINNED_BUSINESS = {"brassorbit3": True, "moontideco2": False, SMALL_ACCOUNT: True}


def _seed(*parts: object) -> int:
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big")


def _rng(*parts: object) -> random.Random:
    return random.Random(_seed(*parts))


def normalize_username(username: str) -> str:
    return username.strip().lstrip("@").lower()


def open_id_for(username: str) -> str:
    """Stable per-username open_id (TikTok's Business open_ids look like UUIDs)."""
    digest = hashlib.sha256(f"open_id|{normalize_username(username)}".encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def advertiser_id_for(username: str) -> str:
    return str(7_000_000_000_000_000_000 + _seed("advertiser", normalize_username(username)) % 10**18)


def _midnight_ts(day: dt.date) -> int:
    return int(dt.datetime.combine(day, dt.time(), tzinfo=dt.timezone.utc).timestamp())


@dataclass(frozen=True)
class Post:
    item_id: str
    create_time: int  # epoch seconds, like TikTok
    caption: str
    duration: int
    public: bool  # private posts are never listed (and make some list pages short)
    final_views: float
    tau_days: float  # how fast views flatten
    like_rate: float
    comment_rate: float
    share_rate: float
    favorite_rate: float
    reach_ratio: float
    full_video_watched_rate: float

    def views_at(self, ts: float) -> int:
        age = (ts - self.create_time) / 86400
        if age <= 0:
            return 0
        return round(self.final_views * (1 - math.exp(-age / self.tau_days)))

    def counters_at(self, ts: float) -> dict:
        views = self.views_at(ts)
        avg = round(self.duration * (self.full_video_watched_rate + (1 - self.full_video_watched_rate) * 0.35), 2)
        return {
            "video_views": views,
            "likes": round(views * self.like_rate),
            "comments": round(views * self.comment_rate),
            "shares": round(views * self.share_rate),
            "favorites": round(views * self.favorite_rate),
            "reach": round(views * self.reach_ratio),
            "full_video_watched_rate": self.full_video_watched_rate if views else 0.0,
            "average_time_watched": avg if views else 0.0,
            "total_time_watched": round(avg * views, 2),
            "new_followers": round(views * 0.004),
            "profile_views": round(views * 0.02),
        }

    # -- video.insights breakdowns: fixed per post (seeded by item_id), scaled by views --------
    def click_counters_at(self, ts: float) -> dict:
        """Profile-button clicks that came from this post (TikTok gives them to Business accounts only)."""
        profile_views = self.counters_at(ts)["profile_views"]
        r = _rng(self.item_id, "clicks")
        rates = {
            "website_clicks": r.uniform(0.03, 0.08),
            "phone_number_clicks": r.uniform(0.0, 0.004),
            "email_clicks": r.uniform(0.0, 0.006),
            "address_clicks": r.uniform(0.0, 0.003),
            "app_download_clicks": r.uniform(0.0, 0.005),
            "lead_submissions": r.uniform(0.0, 0.003),
        }
        return {name: round(profile_views * rate) for name, rate in rates.items()}

    def retention(self) -> list[tuple[int, float]]:
        """Share of viewers still watching at each whole second: 1.0 at 0, the watch-through rate at the end."""
        r = _rng(self.item_id, "retention")
        swipe, k = r.uniform(0.25, 0.45), r.uniform(1.2, 2.2)  # early swipe-aways, then a slow decline
        fwr, d = self.full_video_watched_rate, self.duration
        floor = math.exp(-d / 1.5)

        def still_watching(s: int) -> float:
            early = (math.exp(-s / 1.5) - floor) / (1 - floor)  # 1 at the start, 0 at the end
            return fwr + (1 - fwr) * (swipe * early + (1 - swipe) * (1 - s / d) ** k)

        return [(s, round(still_watching(s), 4)) for s in range(d + 1)]

    def engagement_likes(self) -> list[tuple[int, float]]:
        """Share of the post's likes given at each second (peaks at one or two moments; sums to ~1)."""
        r = _rng(self.item_id, "like-moments")
        peaks = [r.uniform(0.15, 0.95) * self.duration for _ in range(r.randint(1, 2))]
        weights = [0.15 + sum(math.exp(-(((s - p) / 2.5) ** 2)) for p in peaks) for s in range(self.duration + 1)]
        total = sum(weights)
        return [(s, round(w / total, 4)) for s, w in enumerate(weights)]

    def impression_sources(self) -> list[tuple[str, float]]:
        """Where views came from, largest first, summing to ~1 (For You dominates, as on TikTok)."""
        r = _rng(self.item_id, "sources")
        for_you = r.uniform(0.55, 0.85)
        rest = {"Follow": r.uniform(0.3, 1.0), "Personal Profile": r.uniform(0.2, 0.8),
                "Search": r.uniform(0.05, 0.5), "Sound": r.uniform(0.02, 0.3),
                "Hashtag": r.uniform(0.01, 0.2), "Direct Message": r.uniform(0.0, 0.1)}
        total = sum(rest.values())
        shares = {"For You": for_you, **{k: (1 - for_you) * v / total for k, v in rest.items()}}
        return sorted(((k, round(v, 4)) for k, v in shares.items()), key=lambda kv: -kv[1])

    def audience_types(self) -> list[tuple[str, float]]:
        """New vs returning viewers, and followers vs non-followers (each pair sums to 1)."""
        r = _rng(self.item_id, "audience-types")
        new, follower = round(r.uniform(0.70, 0.95), 4), round(r.uniform(0.04, 0.30), 4)
        return [("NEW_VIEWER", new), ("RETURN_VIEWER", round(1 - new, 4)),
                ("FOLLOWER_PERCENT", follower), ("NON_FOLLOWER_PERCENT", round(1 - follower, 4))]


@dataclass(frozen=True)
class DayStats:
    date: dt.date
    followers_count: int
    daily_new_followers: int
    daily_lost_followers: int
    video_views: int
    unique_video_views: int
    profile_views: int
    likes: int
    comments: int
    shares: int
    engaged_audience: int
    # Profile-button clicks (TikTok reports them for Business accounts only).
    bio_link_clicks: int
    phone_number_clicks: int
    email_clicks: int
    address_clicks: int
    app_download_clicks: int
    lead_submissions: int
    audience_activity: tuple[int, ...]  # active followers in each UTC hour 0..23


@dataclass(frozen=True)
class AdDay:
    date: dt.date
    spend: float
    impressions: int
    clicks: int
    reach: int
    video_play_actions: int
    video_watched_2s: int
    video_watched_6s: int
    video_views_p100: int
    likes: int
    comments: int
    shares: int
    follows: int
    profile_visits: int


@dataclass(frozen=True)
class Ad:
    ad_id: str
    ad_name: str
    adgroup_id: str
    campaign_id: str
    identity_type: str
    identity_id: str
    tiktok_item_id: str  # the organic post; "" for non-Spark ads and for video_id-only Spark Ads
    create_time: str
    days: tuple[AdDay, ...]
    # Some TT_USER / BC_AUTH_TT Spark Ads name their post only here (tiktok_item_id empty);
    # non-Spark ads carry an ad-library video id that is no post's item_id.
    video_id: str = ""
    deleted: bool = False  # primary status STATUS_DELETE: hidden unless asked for with STATUS_ALL

    @property
    def post_item_id(self) -> str:
        return self.tiktok_item_id or (self.video_id if self.identity_type in SPARK_IDENTITIES else "")


@dataclass(frozen=True)
class Account:
    username: str
    open_id: str
    display_name: str
    bio_description: str
    is_verified: bool
    is_business_account: bool
    following_count: int
    today: dt.date
    days: tuple[DayStats, ...]  # oldest first, HISTORY_DAYS entries ending at today
    posts: tuple[Post, ...]  # newest first, public and private
    ads: tuple[Ad, ...] = field(default=())
    advertiser_id: str = ""
    advertiser_name: str = ""
    currency: str = "USD"

    @property
    def as_of_ts(self) -> int:
        # Counters are cumulative up to the end of `today` (UTC).
        return _midnight_ts(self.today + dt.timedelta(days=1))

    @property
    def public_posts(self) -> list[Post]:
        return [p for p in self.posts if p.public]

    @property
    def followers_count(self) -> int:
        return self.days[-1].followers_count

    @property
    def total_likes(self) -> int:
        return sum(p.counters_at(self.as_of_ts)["likes"] for p in self.public_posts)

    @property
    def has_demographics(self) -> bool:
        """TikTok answers demographics and audience_activity only from 100 followers on."""
        return self.followers_count >= DEMOGRAPHICS_MIN_FOLLOWERS


def _make_posts(username: str, today: dt.date, scale: float) -> list[Post]:
    first = today - dt.timedelta(days=POSTS_FROM_DAYS)
    monday = first - dt.timedelta(days=first.weekday())
    posts = []
    while monday <= today:
        week = _rng(username, "week", monday.isoformat())
        n = week.randint(1, 3)
        for offset in sorted(week.sample(range(7), n)):
            day = monday + dt.timedelta(days=offset)
            seconds = week.randint(7 * 3600, 22 * 3600)
            low32 = week.getrandbits(32)
            # Posts go out only on past days, so "today" never holds a post from the future.
            if not first <= day < today:
                continue
            create_time = _midnight_ts(day) + seconds
            item_id = str((create_time << 32) | low32)  # snowflake-like, 19 digits like TikTok ids
            r = _rng(username, "post", item_id)
            topic = r.choice(TOPICS)
            caption = r.choice(CAPTIONS).format(topic=topic) + " " + " ".join(r.sample(HASHTAGS, 2))
            posts.append(
                Post(
                    item_id=item_id,
                    create_time=create_time,
                    caption=caption,
                    duration=r.randint(8, 60),
                    public=r.random() >= 0.12,
                    final_views=scale * r.lognormvariate(0, 0.7),
                    tau_days=r.uniform(1.2, 4.0),
                    like_rate=r.uniform(0.04, 0.12),
                    comment_rate=r.uniform(0.002, 0.01),
                    share_rate=r.uniform(0.002, 0.015),
                    favorite_rate=r.uniform(0.005, 0.02),
                    reach_ratio=r.uniform(0.7, 0.9),
                    full_video_watched_rate=round(r.uniform(0.40, 0.75), 4),
                )
            )
        monday += dt.timedelta(days=7)
    posts.sort(key=lambda p: p.create_time, reverse=True)
    return posts


def _followers_on(username: str, day: dt.date, base: float, growth: float) -> int:
    n = (day - _EPOCH).days
    wiggle = 0.004 * math.sin(n / 9.0)  # slow campaigns-and-lulls wave
    noise = _rng(username, "followers", day.isoformat()).uniform(-0.0008, 0.0008)
    return round(base * (1 + growth) ** n * (1 + wiggle + noise))


def _small_followers_on(day: dt.date) -> int:
    """A small account's slowly saturating follower curve: always between 38 and 88, never down."""
    n = max((day - _EPOCH).days, 0)
    return round(38 + 50 * (1 - math.exp(-n / 500)))


def _audience_activity(followers: int, r: random.Random) -> tuple[int, ...]:
    """Followers active in each UTC hour: a quiet night and an evening peak."""
    out = []
    for hour in range(24):
        distance = min(abs(hour - 20), 24 - abs(hour - 20))
        share = 0.01 + 0.08 * math.exp(-((distance / 4.5) ** 2))
        out.append(round(followers * share * r.uniform(0.9, 1.1)))
    return tuple(out)


def _make_days(username: str, today: dt.date, posts: list[Post], followers_on: Callable[[dt.date], int],
               small: bool = False) -> list[DayStats]:
    days = []
    for i in range(HISTORY_DAYS - 1, -1, -1):
        day = today - dt.timedelta(days=i)
        start, end = _midnight_ts(day), _midnight_ts(day + dt.timedelta(days=1))
        inc = {"video_views": 0, "likes": 0, "comments": 0, "shares": 0, "profile_views": 0}
        for p in posts:
            if p.create_time >= end:
                continue
            a, b = p.counters_at(start), p.counters_at(end)
            for k in inc:
                inc[k] += b[k] - a[k]
        r = _rng(username, "day", day.isoformat())
        followers = followers_on(day)
        net = followers - followers_on(day - dt.timedelta(days=1))
        lost = r.randint(0, 2) if small else r.randint(2, 12) + round(followers * r.uniform(0.0002, 0.0006))
        new = max(net + lost, 0)
        unique = round(inc["video_views"] * r.uniform(0.78, 0.88))
        profile_views = inc["profile_views"] + (r.randint(0, 3) if small else r.randint(5, 40))
        # A separate stream, so the figures above stay what they were before these existed.
        x = _rng(username, "day-extra", day.isoformat())
        days.append(
            DayStats(
                date=day,
                followers_count=followers,
                daily_new_followers=new,
                daily_lost_followers=new - net,
                video_views=inc["video_views"],
                unique_video_views=unique,
                profile_views=profile_views,
                likes=inc["likes"],
                comments=inc["comments"],
                shares=inc["shares"],
                engaged_audience=round(unique * x.uniform(0.05, 0.11)),
                bio_link_clicks=round(profile_views * x.uniform(0.03, 0.08)),
                phone_number_clicks=round(profile_views * x.uniform(0.0, 0.004)),
                email_clicks=round(profile_views * x.uniform(0.0, 0.006)),
                address_clicks=round(profile_views * x.uniform(0.0, 0.003)),
                app_download_clicks=round(profile_views * x.uniform(0.0, 0.005)),
                lead_submissions=round(profile_views * x.uniform(0.0, 0.003)),
                audience_activity=_audience_activity(followers, x),
            )
        )
    return days


def _ad_days(seed_parts: tuple, start: dt.date, length: int, today: dt.date,
             always_deliver: bool = False) -> tuple[AdDay, ...]:
    r = _rng(*seed_parts, "delivery")
    budget, cpm, ctr = r.uniform(10, 60), r.uniform(4, 12), r.uniform(0.006, 0.025)
    out = []
    for i in range(length):
        day = start + dt.timedelta(days=i)
        if day > today:
            break
        d = _rng(*seed_parts, day.isoformat())
        paused = d.random() < 0.2 and not always_deliver  # no delivery that day: ratios come back as "-"
        spend = 0.0 if paused else round(budget * d.uniform(0.6, 1.05), 2)
        impressions = round(spend / cpm * 1000 * d.uniform(0.9, 1.1)) if spend else 0
        clicks = round(impressions * ctr * d.uniform(0.7, 1.3))
        plays = round(impressions * d.uniform(0.6, 0.9))
        out.append(
            AdDay(
                date=day,
                spend=spend,
                impressions=impressions,
                clicks=clicks,
                reach=round(impressions * d.uniform(0.7, 0.9)),
                video_play_actions=plays,
                video_watched_2s=round(plays * 0.6),
                video_watched_6s=round(plays * 0.3),
                video_views_p100=round(plays * 0.12),
                likes=round(plays * 0.03),
                comments=round(plays * 0.002),
                shares=round(plays * 0.003),
                follows=round(plays * 0.002),
                profile_visits=round(plays * 0.01),
            )
        )
    return tuple(out)


def _ad_id(*parts: object) -> str:
    return str(1_700_000_000_000_000_000 + _seed(*parts) % 10**17)


def _published(post: Post) -> dt.date:
    return dt.datetime.fromtimestamp(post.create_time, dt.timezone.utc).date()


def _pick_post(candidates: list[Post], avoid: set[str]) -> Post | None:
    """The newest candidate not in `avoid`, else the newest candidate at all."""
    fresh = [p for p in candidates if p.item_id not in avoid]
    return (fresh or candidates or [None])[0]


def _make_ads(username: str, today: dt.date, posts: list[Post], open_id: str) -> list[Ad]:
    ads = []
    campaign = _ad_id(username, "campaign")
    for p in posts:
        published = _published(p)
        r = _rng(username, "spark", p.item_id)
        if not p.public or (today - published).days > 75 or r.random() >= 0.35:
            continue
        start = published + dt.timedelta(days=r.randint(0, 2))
        ads.append(
            Ad(
                ad_id=_ad_id(username, "ad", p.item_id),
                ad_name=f"Spark · {p.caption[:30]}",
                adgroup_id=_ad_id(username, "adgroup", p.item_id),
                campaign_id=campaign,
                identity_type=r.choice(SPARK_IDENTITIES),
                identity_id=open_id,
                tiktok_item_id=p.item_id,
                create_time=f"{start.isoformat()} 09:00:00",
                days=_ad_days((username, "ad", p.item_id), start, r.randint(5, 14), today),
            )
        )
    public = [p for p in posts if p.public]  # newest first
    boosted = {a.tiktok_item_id for a in ads}
    # A finished Spark Ad the advertiser deleted: it spent money 1–6 weeks ago, on a post published
    # 8–40 days ago (one without another ad when there is one), and TikTok hides it by default.
    deleted_post = _pick_post([p for p in public if 8 <= (today - _published(p)).days <= 40], boosted) \
        or _pick_post([p for p in public if (today - _published(p)).days >= 8], boosted)
    if deleted_post is not None:
        start = _published(deleted_post) + dt.timedelta(days=1)
        ads.append(
            Ad(
                ad_id=_ad_id(username, "deleted", deleted_post.item_id),
                ad_name=f"Spark (ended) · {deleted_post.caption[:30]}",
                adgroup_id=_ad_id(username, "deleted-group", deleted_post.item_id),
                campaign_id=campaign,
                identity_type="AUTH_CODE",
                identity_id=open_id,
                tiktok_item_id=deleted_post.item_id,
                create_time=f"{start.isoformat()} 08:30:00",
                days=_ad_days((username, "deleted", deleted_post.item_id), start, 6, today, always_deliver=True),
                deleted=True,
            )
        )
        boosted.add(deleted_post.item_id)
    # A TT_USER Spark Ad that names its post only by video_id (tiktok_item_id empty).
    video_post = _pick_post([p for p in public if 2 <= (today - _published(p)).days <= 20], boosted) \
        or _pick_post([p for p in public if p is not deleted_post], boosted)
    if video_post is not None:
        start = _published(video_post) + dt.timedelta(days=1)
        ads.append(
            Ad(
                ad_id=_ad_id(username, "video-id", video_post.item_id),
                ad_name=f"Spark (own account) · {video_post.caption[:30]}",
                adgroup_id=_ad_id(username, "video-id-group", video_post.item_id),
                campaign_id=campaign,
                identity_type="TT_USER",
                identity_id=open_id,
                tiktok_item_id="",
                create_time=f"{start.isoformat()} 11:00:00",
                days=_ad_days((username, "video-id", video_post.item_id), start, 10, today, always_deliver=True),
                video_id=video_post.item_id,
            )
        )
    # Non-Spark creatives (CUSTOMIZED_USER) run alongside, so clients must filter by identity_type.
    for k in range(2):
        start = today - dt.timedelta(days=10 + 17 * k)
        ads.append(
            Ad(
                ad_id=_ad_id(username, "custom", k, start.isoformat()),
                ad_name=f"Custom creative {k + 1}",
                adgroup_id=_ad_id(username, "custom-group", k),
                campaign_id=campaign,
                identity_type="CUSTOMIZED_USER",
                identity_id="",
                tiktok_item_id="",
                create_time=f"{start.isoformat()} 10:00:00",
                days=_ad_days((username, "custom", k, start.isoformat()), start, 9, today),
                # An ad-library video id: the same field as a Spark Ad's, never a post's item_id.
                video_id="v10033g50000" + hashlib.sha256(f"{username}|custom|{k}".encode()).hexdigest()[:20],
            )
        )
    ads.sort(key=lambda a: a.ad_id)
    return ads


def _extra_spark_ads(username: str, today: dt.date, posts: list[Post], open_id: str, n: int) -> list[Ad]:
    """`n` more Spark Ads on the newest public posts, each with delivery in the last two weeks.

    A test hook (see the `extra_spark_ads` setting): an advertiser with more than 100 Spark Ads
    makes clients batch the report's ad_ids filter (at most 100 ids per request).
    """
    recent = [p for p in posts if p.public][:12]
    if not recent:
        return []
    campaign = _ad_id(username, "extra-campaign")
    ads = []
    for k in range(n):
        post = recent[k % len(recent)]
        start = max(_published(post) + dt.timedelta(days=1), today - dt.timedelta(days=3 + k % 12))
        start = min(start, today)
        ads.append(
            Ad(
                ad_id=_ad_id(username, "extra", k),
                ad_name=f"Spark boost #{k + 1} · {post.caption[:24]}",
                adgroup_id=_ad_id(username, "extra-group", k // 10),
                campaign_id=campaign,
                identity_type=SPARK_IDENTITIES[k % len(SPARK_IDENTITIES)],
                identity_id=open_id,
                tiktok_item_id=post.item_id,
                create_time=f"{start.isoformat()} 07:00:00",
                days=_ad_days((username, "extra", k), start, 3 + k % 5, today, always_deliver=True),
            )
        )
    return ads


@lru_cache(maxsize=64)
def account(username: str, today: dt.date, extra_spark_ads: int = 0) -> Account:
    """The demo account for ``username`` as of the end of ``today`` (UTC).

    `extra_spark_ads` adds that many more delivering Spark Ads to its advertiser (a test hook).
    """
    username = normalize_username(username)
    r = _rng(username, "account")
    scale = math.exp(r.uniform(math.log(3000), math.log(40000)))
    base_followers = scale * r.uniform(1.0, 3.0)
    growth = r.uniform(0.0004, 0.0015)  # 5–20 % a quarter
    small = username == SMALL_ACCOUNT
    if small:
        scale = 120.0  # a few dozen to a few hundred views a post

        def followers_on(day: dt.date) -> int:
            return _small_followers_on(day)
    else:
        def followers_on(day: dt.date) -> int:
            return _followers_on(username, day, base_followers, growth)
    oid = open_id_for(username)
    posts = _make_posts(username, today, scale)
    display = username.rstrip("0123456789").replace("_", " ").replace(".", " ").title() or username
    currency = "USD" if username == "brassorbit3" else r.choice(["USD", "USD", "EUR", "GBP"])
    is_verified = r.random() < 0.3
    is_business = r.random() < 0.7
    ads = _make_ads(username, today, posts, oid)
    if extra_spark_ads > 0:
        ads = sorted(ads + _extra_spark_ads(username, today, posts, oid, extra_spark_ads), key=lambda a: a.ad_id)
    return Account(
        username=username,
        open_id=oid,
        display_name=display,
        bio_description=f"{display} · new drops every week · collabs: hello@{username}.example",
        is_verified=is_verified and not small,
        is_business_account=PINNED_BUSINESS.get(username, is_business),
        following_count=r.randint(40, 900),
        today=today,
        days=tuple(_make_days(username, today, posts, followers_on, small)),
        posts=tuple(posts),
        ads=tuple(ads),
        advertiser_id=advertiser_id_for(username),
        advertiser_name=f"{display} Ads",
        currency=currency,
    )


def _shares(names: list[str], weights: list[float], key: str) -> list[dict]:
    total = sum(weights)
    return [{key: n, "percentage": round(w / total, 4)} for n, w in zip(names, weights)]


def _jitter(rows: list[dict], key: str, *seed: object) -> list[dict]:
    """The same breakdown nudged per post (a post's viewers are not exactly the account's followers)."""
    r = _rng(*seed)
    return _shares([row[key] for row in rows], [row["percentage"] * r.uniform(0.8, 1.2) for row in rows], key)


def audience_ages(username: str) -> list[dict]:
    r = _rng(normalize_username(username), "ages")
    young = r.uniform(0.8, 1.6)  # how much the audience leans young
    return _shares(AGE_GROUPS, [w * r.uniform(0.8, 1.2) for w in (0.38 * young, 0.32, 0.16, 0.08 / young,
                                                                     0.06 / young)], "age")


def audience_countries(username: str) -> list[dict]:
    r = _rng(normalize_username(username), "countries")
    weights = [r.random() ** 2 for _ in COUNTRIES]
    total = sum(weights)
    return [{"country": c, "percentage": round(w / total, 4)} for c, w in zip(COUNTRIES, weights)]


def audience_cities(username: str) -> list[dict]:
    """The top cities of the followers: shares of all followers, so they sum to well under 1."""
    r = _rng(normalize_username(username), "cities")
    picked = r.sample(CITIES, 5)
    weights = sorted((r.uniform(0.01, 0.08) for _ in picked), reverse=True)
    return [{"city_name": c, "percentage": round(w, 4)} for c, w in zip(picked, weights)]


def audience_genders(username: str) -> list[dict]:
    female = _rng(normalize_username(username), "genders").uniform(0.35, 0.7)
    return [
        {"gender": "Female", "percentage": round(female, 4)},
        {"gender": "Male", "percentage": round(1 - female - 0.03, 4)},
        {"gender": "Other", "percentage": 0.03},
    ]


def post_audience(username: str, post: Post, breakdown: str) -> list[dict]:
    """A post's viewer `audience_genders|countries|cities`: the account's, jittered per post."""
    if breakdown == "audience_genders":
        return _jitter(audience_genders(username), "gender", post.item_id, "genders")
    if breakdown == "audience_countries":
        return _jitter(audience_countries(username), "country", post.item_id, "countries")
    r = _rng(post.item_id, "cities")
    return [{"city_name": row["city_name"], "percentage": round(row["percentage"] * r.uniform(0.8, 1.2), 4)}
            for row in audience_cities(username)]

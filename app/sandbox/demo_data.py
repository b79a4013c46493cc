"""Deterministic demo TikTok accounts for the sandbox.

Pure functions of (username, today). Every random draw comes from ``random.Random`` seeded with a
sha256 of stable strings (never ``hash()``, which is salted per process), and seeds are scoped to a
week, a post or a date, so the data a user saw yesterday is still the same data today: posts keep
their ids and counters only grow.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import math
import random
import uuid
from dataclasses import dataclass, field
from functools import lru_cache

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
    tiktok_item_id: str  # "" for non-Spark ads
    create_time: str
    days: tuple[AdDay, ...]


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


def _make_days(username: str, today: dt.date, posts: list[Post], base: float, growth: float) -> list[DayStats]:
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
        followers = _followers_on(username, day, base, growth)
        net = followers - _followers_on(username, day - dt.timedelta(days=1), base, growth)
        lost = r.randint(2, 12) + round(followers * r.uniform(0.0002, 0.0006))
        new = max(net + lost, 0)
        days.append(
            DayStats(
                date=day,
                followers_count=followers,
                daily_new_followers=new,
                daily_lost_followers=new - net,
                video_views=inc["video_views"],
                unique_video_views=round(inc["video_views"] * r.uniform(0.78, 0.88)),
                profile_views=inc["profile_views"] + r.randint(5, 40),
                likes=inc["likes"],
                comments=inc["comments"],
                shares=inc["shares"],
            )
        )
    return days


def _ad_days(seed_parts: tuple, start: dt.date, length: int, today: dt.date) -> tuple[AdDay, ...]:
    r = _rng(*seed_parts, "delivery")
    budget, cpm, ctr = r.uniform(10, 60), r.uniform(4, 12), r.uniform(0.006, 0.025)
    out = []
    for i in range(length):
        day = start + dt.timedelta(days=i)
        if day > today:
            break
        d = _rng(*seed_parts, day.isoformat())
        paused = d.random() < 0.2  # no delivery that day: ratios come back as "-"
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


def _make_ads(username: str, today: dt.date, posts: list[Post], open_id: str) -> list[Ad]:
    ads = []
    campaign = _ad_id(username, "campaign")
    for p in posts:
        published = dt.datetime.fromtimestamp(p.create_time, dt.timezone.utc).date()
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
            )
        )
    ads.sort(key=lambda a: a.ad_id)
    return ads


@lru_cache(maxsize=64)
def account(username: str, today: dt.date) -> Account:
    """The demo account for ``username`` as of the end of ``today`` (UTC)."""
    username = normalize_username(username)
    r = _rng(username, "account")
    scale = math.exp(r.uniform(math.log(3000), math.log(40000)))
    base_followers = scale * r.uniform(1.0, 3.0)
    growth = r.uniform(0.0004, 0.0015)  # 5–20 % a quarter
    oid = open_id_for(username)
    posts = _make_posts(username, today, scale)
    display = username.rstrip("0123456789").replace("_", " ").replace(".", " ").title() or username
    currency = "USD" if username == "brassorbit3" else r.choice(["USD", "USD", "EUR", "GBP"])
    return Account(
        username=username,
        open_id=oid,
        display_name=display,
        bio_description=f"{display} · new drops every week · collabs: hello@{username}.example",
        is_verified=r.random() < 0.3,
        is_business_account=r.random() < 0.7,
        following_count=r.randint(40, 900),
        today=today,
        days=tuple(_make_days(username, today, posts, base_followers, growth)),
        posts=tuple(posts),
        ads=tuple(_make_ads(username, today, posts, oid)),
        advertiser_id=advertiser_id_for(username),
        advertiser_name=f"{display} Ads",
        currency=currency,
    )


def audience_countries(username: str) -> list[dict]:
    r = _rng(normalize_username(username), "countries")
    weights = [r.random() ** 2 for _ in COUNTRIES]
    total = sum(weights)
    return [{"country": c, "percentage": round(w / total, 4)} for c, w in zip(COUNTRIES, weights)]


def audience_genders(username: str) -> list[dict]:
    female = _rng(normalize_username(username), "genders").uniform(0.35, 0.7)
    return [
        {"gender": "Female", "percentage": round(female, 4)},
        {"gender": "Male", "percentage": round(1 - female - 0.03, 4)},
        {"gender": "Other", "percentage": 0.03},
    ]

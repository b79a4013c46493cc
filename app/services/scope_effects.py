"""What goes missing when a TikTok permission (scope) is not granted.

People can untick permissions on TikTok's consent page, and remove them later in TikTok's
settings. The connect callback, the Integrations row and anything else that warns about it
read this one table, so a scope's consequence is worded once. Each line names what the
scope feeds (the fields it unlocks are in app/tiktok/fields.py) and so what will read
"needs permission" instead of a figure.

Plain data (no Flask, no database).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class ScopeEffect:
    scope: str  # TikTok's name, e.g. "user.insights"
    permission: str  # what people call it, as on TikTok's consent page
    missing: str  # what will not show without it (a sentence)


_EFFECTS = (
    ScopeEffect("user.info.basic", "Basic profile",
                "The account cannot be identified: its name and picture will not show, and nothing can sync."),
    ScopeEffect("user.info.username", "Username",
                "The account is shown by its display name instead of its @handle."),
    ScopeEffect("user.info.profile", "Profile details",
                "The bio, profile link and verified badge will not show."),
    ScopeEffect("user.info.stats", "Profile stats",
                "The Followers tile shows no count unless the Insights permission is granted."),
    ScopeEffect("user.account.type", "Account type",
                "Whether it is a Business account is unknown, so Business-only figures are not asked for."),
    ScopeEffect("user.insights", "Insights",
                "Daily views, follower growth (new and lost), the audience page (age, gender, countries, "
                "cities) and best time to post will not show; the Views and Followers tiles and their "
                "charts say \u201cneeds the Insights permission\u201d."),
    ScopeEffect("video.list", "Videos",
                "No posts: the posts table, top creatives, posts per week, cadence and engagement rate "
                "stay empty."),
    ScopeEffect("video.insights", "Video insights",
                "Watch-through, average watch time, retention curves, traffic sources, new vs returning "
                "viewers and followers gained per post will not show."),
    ScopeEffect("comment.list", "Comments",
                "Nothing visible: Logic Target reads no comment text, and comment counts come with Videos."),
    ScopeEffect("biz.spark.auth", "Spark Ads authorisation",
                "Paid (Spark Ads) figures cannot be matched to this account's posts."),
    ScopeEffect("biz.ads.recommend", "Ads matching",
                "Paid (Spark Ads) figures may not be matched to the organic post they promote."),
    ScopeEffect("tto.campaign.link", "TikTok One campaigns",
                "Posts made for TikTok One campaigns cannot be linked to their campaign's paid figures."),
    ScopeEffect("biz.creator.info", "Creator information",
                "Nothing visible today: it only labels creator accounts."),
    ScopeEffect("biz.creator.insights", "Creator insights",
                "Nothing visible today for personal accounts; creator-level totals may be missing."),
    ScopeEffect("biz.brand.insights", "Brand insights",
                "Nothing visible today for personal accounts; brand-level totals may be missing."),
)
EFFECTS: dict[str, ScopeEffect] = {e.scope: e for e in _EFFECTS}
UNKNOWN_EFFECT = "Requested by this installation's configuration; what depends on it is not known to Logic Target."


def effect_of(scope: str) -> ScopeEffect:
    """The table's line for `scope`; a scope the table does not know still gets a line."""
    return EFFECTS.get(scope) or ScopeEffect(scope, scope, UNKNOWN_EFFECT)


def not_granted(requested: Iterable[str], granted: Iterable[str]) -> list[ScopeEffect]:
    """The requested scopes that were not granted, in the order they were requested,
    each with what will not show because of it."""
    have = set(granted)
    seen: set[str] = set()
    out = []
    for scope in requested:
        if scope not in have and scope not in seen:
            seen.add(scope)
            out.append(effect_of(scope))
    return out

"""What each metric means, said once, in words a client understands.

The dashboard, the post and audience pages and the weekly report show these next to the
figures they explain (visible text, not hover-only tooltips), so one figure never has two
meanings. The sentences describe what app/services/metrics.py actually computes; change
them together.

Plain data only (no Flask, no database): templates get them through `for_keys()` or
`DEFINITIONS[key]`.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Definition:
    key: str
    label: str  # short, as on a tile or column header
    text: str  # one plain sentence


_ALL = (
    Definition(
        "views", "Views",
        "Times the account's videos were watched during the period (TikTok's daily video views; "
        "where a day is missing, the growth of each post's cumulative views that day)."),
    Definition(
        "followers_gained", "Followers gained",
        "Followers at the end of the period minus followers at the end of the day before it "
        "(new followers minus those lost)."),
    Definition(
        "posts", "Posts",
        "Posts published during the period, by their publish time in the workspace's timezone."),
    Definition(
        "cadence", "Cadence",
        "Posts published per week compared with the workspace's target; a period is on cadence "
        "when it has at least the target's share of posts for its length."),
    Definition(
        "engagement_rate", "Engagement rate",
        "Likes, comments and shares divided by views, summed over the posts published in the period "
        "using their latest counts (not an average of per-post rates)."),
    Definition(
        "pp", "pp",
        "Percentage points: the plain difference between two percentages (4.1 % to 5.0 % is "
        "+0.9 pp), not a relative change."),
    Definition(
        "reach", "Reach",
        "Unique viewers: how many different people saw the post at least once, so never more "
        "than its views."),
    Definition(
        "watch_through", "Watch-through",
        "Share of a post's views that watched the video to the end, as TikTok reports it; "
        "\u201c\u2014\u201d when TikTok does not give it."),
    Definition(
        "change", "Change",
        "The period compared with the comparison period, in percent; shown only when both "
        "periods have every day's figure."),
)

DEFINITIONS: dict[str, Definition] = {d.key: d for d in _ALL}


def for_keys(*keys: str) -> list[Definition]:
    """The definitions for `keys`, in that order (a KeyError names an unknown key early)."""
    return [DEFINITIONS[k] for k in keys]

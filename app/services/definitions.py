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
        "saves", "Saves",
        "Times people saved the post to their favourites, as TikTok counts them."),
    Definition(
        "average_watch_time", "Average watch time",
        "Seconds watched per view on average: the post's total watch time divided by its views."),
    Definition(
        "post_followers", "New followers from the post",
        "People who followed the account from this post, as TikTok reports it."),
    Definition(
        "retention", "Retention",
        "Share of viewers still watching at each second of the video; it ends at the "
        "watch-through rate."),
    Definition(
        "traffic_sources", "Traffic sources",
        "Where the post's views came from (For You, Following, the profile, search, a sound, a "
        "hashtag…), as shares of its views."),
    Definition(
        "viewer_types", "New and returning viewers",
        "New viewers had not watched the account's videos before, returning viewers had; followers "
        "are the viewers who follow the account."),
    Definition(
        "new_lost_followers", "New and lost followers",
        "Followers gained and followers lost each day, as TikTok reports them; their difference is "
        "the day's growth."),
    Definition(
        "active_followers", "Active followers",
        "How many of the account's followers were on TikTok in each hour, averaged over the days "
        "TikTok reported, by weekday and hour in the workspace's timezone."),
    Definition(
        "paid_impressions", "Impressions (paid)",
        "Times the Spark Ad was shown to people in its paid delivery."),
    Definition(
        "paid_views", "Views (paid)",
        "Plays of the video from the Spark Ad's paid delivery (TikTok Ads' video plays), "
        "counted apart from its organic views."),
    Definition(
        "ctr", "CTR",
        "Click-through rate: the Spark Ads' clicks divided by their impressions."),
    Definition(
        "cpm", "CPM",
        "Cost per 1,000 impressions: spend divided by impressions, times 1,000, in the ad "
        "account's currency."),
    Definition(
        "change", "Change",
        "The period compared with the comparison period, in percent; shown only when both "
        "periods have every day's figure."),
    # One post's page and the audience page.
    Definition(
        "saves", "Saves",
        "Times viewers saved the post to their favourites (TikTok's favorites count)."),
    Definition(
        "average_watch_time", "Average watch time",
        "Total time viewers spent watching the post divided by its views, as TikTok reports it."),
    Definition(
        "retention", "Retention",
        "At each second of the video, the share of its viewers still watching: 100 % at the start, "
        "the watch-through at the end."),
    Definition(
        "traffic_sources", "Traffic sources",
        "Where the post's views came from (For You feed, Following, profile, search, sounds…), "
        "as shares of its views."),
    Definition(
        "viewer_types", "New vs returning viewers",
        "Shares of the post's viewers who were new to the account and who had watched it before, "
        "as TikTok classifies them."),
    Definition(
        "post_followers", "New followers from the post",
        "People who followed the account from this post, as TikTok attributes them."),
    Definition(
        "paid_impressions", "Paid impressions",
        "Times the Spark Ads promoting the post were shown, from the TikTok Ads report."),
    Definition(
        "paid_views", "Paid views",
        "Plays of the Spark Ads promoting the post (the ad report's video plays)."),
    Definition(
        "ctr", "CTR",
        "Click-through rate: clicks on the ads divided by their impressions."),
    Definition(
        "cpm", "CPM",
        "Cost per 1,000 impressions: spend divided by impressions, times 1,000, in the ad account's currency."),
    Definition(
        "new_lost_followers", "New and lost followers",
        "People who followed (new) and unfollowed (lost) the account each day, as TikTok reports them "
        "per UTC day; new minus lost is the day's change."),
    Definition(
        "demographics", "Follower demographics",
        "Shares of the account's followers by age, gender, country and city on the day shown "
        "(TikTok keeps no history); cities are only the top few, so they add up to less than 100 %."),
    Definition(
        "active_followers", "Active followers",
        "Followers who were on TikTok in that hour, averaged over the same weekday and hour of the "
        "last four weeks, in the workspace's timezone."),
)

DEFINITIONS: dict[str, Definition] = {d.key: d for d in _ALL}


def for_keys(*keys: str) -> list[Definition]:
    """The definitions for `keys`, in that order (a KeyError names an unknown key early)."""
    return [DEFINITIONS[k] for k in keys]

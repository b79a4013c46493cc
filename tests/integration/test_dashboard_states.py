"""The dashboard tells the truth about its data: what the account's sync is doing (banner),
and why a figure is missing or partial (on the tile, visible, with the action that fixes it)."""
import re
from datetime import datetime, timedelta, timezone

import pytest

from app.extensions import db
from app.models import utcnow
from tests.conftest import login
from tests.factories import make_connection, seed_performance

TZ = "Europe/London"
ALL_SCOPES = "user.info.basic,user.info.stats,user.insights,video.list,video.insights"
WITHOUT_STATS = "user.info.basic,video.list,video.insights"  # neither user.info.stats nor user.insights


def page(client, conn, query: str = "") -> str:
    r = client.get(f"/performance?account={conn.id}{query}")
    assert r.status_code == 200
    return r.get_data(as_text=True)


def banner(html: str) -> tuple[str, str]:
    m = re.search(r'<(?:div|p) class="[^"]*state-banner" role="status" data-state="([a-z_]+)">(.*?)</(?:div|p)>',
                  html, re.S)
    assert m, "no state banner"
    return m.group(1), re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", m.group(2))).strip()


def tile(html: str, figure: str) -> str:
    m = re.search(r'data-figure="' + figure + r'">\s*<h2[^>]*>[^<]*</h2>(.*?)</article>', html, re.S)
    assert m, f"no tile {figure!r}"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", m.group(1))).strip()


def tile_html(html: str, figure: str) -> str:
    return re.search(r'data-figure="' + figure + r'">(.*?)</article>', html, re.S).group(1)


# ------------------------------------------------------------------ banners


def test_synced_says_when_and_when_next(client, people):
    at = datetime(2026, 12, 1, 9, 5, tzinfo=timezone.utc)
    conn = make_connection(people.workspace, people.admin, username="fine_acct")
    seed_performance(conn, tz=TZ)
    conn.last_synced_at, conn.next_sync_at = at, at + timedelta(minutes=15)
    db.session.commit()
    login(client, people.admin)
    kind, text = banner(page(client, conn))
    assert kind == "synced" and text == "Synced Dec 1, 2026, 09:05 · next sync about 09:20 (Europe/London)."


def test_syncing_says_the_figures_are_from_the_previous_sync(client, people):
    conn = make_connection(people.workspace, people.admin, username="busy_acct")
    seed_performance(conn, tz=TZ)
    conn.last_synced_at = datetime(2026, 12, 1, 9, 5, tzinfo=timezone.utc)
    conn.sync_requested_at = conn.last_synced_at + timedelta(hours=1)
    db.session.commit()
    login(client, people.admin)
    kind, text = banner(page(client, conn))
    assert kind == "syncing"
    assert text == "Syncing @busy_acct now; the figures below are from the previous sync (Dec 1, 2026, 09:05)."


def test_a_failed_sync_says_why_and_when_it_retries_not_syncing_forever(client, people):
    conn = make_connection(people.workspace, people.admin, username="broken_acct")
    seed_performance(conn, tz=TZ)
    conn.last_synced_at = datetime(2026, 12, 1, 9, 5, tzinfo=timezone.utc)
    conn.sync_requested_at = conn.last_synced_at + timedelta(hours=1)  # asked for, never completed
    conn.last_error = "TikTok did not answer (2026-12-01 10:05 UTC)"
    conn.next_sync_at = datetime(2026, 12, 1, 10, 20, tzinfo=timezone.utc)
    db.session.commit()
    login(client, people.admin)
    html = page(client, conn)
    kind, text = banner(html)
    assert kind == "failed" and "Syncing" not in html
    assert text == ("The last sync of @broken_acct failed: TikTok did not answer (2026-12-01 10:05 UTC). "
                    "Next try: Dec 1, 2026, 10:20. The figures below are from the last good sync, Dec 1, 2026, 09:05.")


def test_a_first_sync_that_failed_says_so_instead_of_syncing(client, people):
    conn = make_connection(people.workspace, people.admin, username="new_broken")
    conn.last_error = "TikTok rate limit reached; waiting for it to reset (2026-12-01 10:05 UTC)"
    db.session.commit()
    login(client, people.admin)
    html = page(client, conn)
    kind, text = banner(html)
    assert kind == "failed" and text.endswith("No figures have arrived yet.")
    assert "is syncing" not in html and "No figures for @new_broken yet" in html and 'id="kpi-tiles"' not in html


def test_never_synced_says_it_is_syncing(client, people):
    conn = make_connection(people.workspace, people.admin, username="brand_new")
    db.session.commit()
    login(client, people.admin)
    html = page(client, conn)
    assert "@brand_new is syncing. First report appears within ~15 minutes" in html
    assert 'data-state="' not in html  # no banner on top of the card


def test_needs_reconnect_offers_the_reconnect_button(client, people):
    conn = make_connection(people.workspace, people.admin, username="expired_acct", status="needs_reconnect")
    seed_performance(conn, tz=TZ)
    conn.last_synced_at = datetime(2026, 12, 1, 9, 5, tzinfo=timezone.utc)
    db.session.commit()
    login(client, people.admin)
    html = page(client, conn)
    kind, text = banner(html)
    assert kind == "needs_reconnect"
    assert text.startswith("TikTok no longer accepts our access to @expired_acct. The figures below stop at the "
                           "last sync on Dec 1, 2026, 09:05. Reconnect to resume syncing; history is kept.")
    form = re.search(r'<form method="post" action="/tiktok/auth/connect".*?</form>', html, re.S).group(0)
    assert f'name="workspace_id" value="{people.workspace.id}"' in form and 'name="csrf_token"' in form
    assert ">Reconnect</button>" in form


def test_disconnected_shows_the_purge_date_and_marks_the_figures_not_live(client, people):
    gone = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
    conn = make_connection(people.workspace, people.admin, username="gone_acct", status="disconnected",
                           disconnected_at=gone, purge_after=gone + timedelta(days=90))
    seed_performance(conn, tz=TZ)
    conn.last_synced_at = datetime(2026, 11, 20, 11, 0, tzinfo=timezone.utc)
    db.session.commit()
    login(client, people.admin)
    html = page(client, conn)
    kind, text = banner(html)
    assert kind == "disconnected"
    assert text == ("@gone_acct is disconnected (since November 20, 2026). Nothing syncs any more: the figures below "
                    "are stored, not live, up to the last sync on Nov 20, 2026, 11:00. "
                    "All its data will be deleted on February 18, 2027.")
    assert "<strong>Not live:</strong> stored figures up to the last sync" in html  # in the panel itself


@pytest.fixture
def cache_on(app):
    app.config["FRAGMENT_CACHE_SECONDS"] = 60
    app.extensions.pop("fragment_cache", None)
    return app


def test_the_banner_is_current_even_when_the_panel_comes_from_the_cache(cache_on, client, people):
    conn = make_connection(people.workspace, people.admin, username="cached_acct")
    seed_performance(conn, tz=TZ)
    db.session.commit()
    login(client, people.admin)
    assert banner(page(client, conn))[0] == "synced"
    conn.last_error = "TikTok did not answer (2026-12-01 10:05 UTC)"  # the data version is unchanged
    db.session.commit()
    assert banner(page(client, conn))[0] == "failed"


# ------------------------------------------------------------------ why a figure is missing


def test_without_the_stats_and_insights_permissions_tiles_say_so_and_offer_reconnect(client, people):
    """Connected with user.info.stats and user.insights unticked: no follower counts and no
    daily views arrive (the e2e test syncs the sandbox with only Insights unticked)."""
    conn = make_connection(people.workspace, people.admin, username="no_insights", scopes=WITHOUT_STATS)
    seed_performance(conn, tz=TZ, days=0, posts=5)
    db.session.commit()
    login(client, people.admin)
    html = page(client, conn, "&range=7")
    assert tile(html, "followers").startswith("— Needs the Profile stats permission — Reconnect")
    assert tile(html, "views").startswith("— Needs the Insights permission — Reconnect")
    for figure in ("views", "followers"):
        assert '<a href="/settings/integrations">Reconnect</a>' in tile_html(html, figure)
        assert tile(html, figure).count("Needs the") == 1, figure  # one reason, not one per line
    assert "not sent" not in html and "not synced yet" not in tile(html, "views")
    chart = html.split('id="charts"', 1)[1].split("</section>", 1)[0]
    assert re.search(r'No daily views for [^<]+\. Needs the Insights permission — <a href="/settings/integrations">'
                     r'Reconnect</a>\.', chart)
    assert re.search(r'No daily follower counts for [^<]+\. Needs the Profile stats permission', chart)


def test_the_newest_days_missing_is_tiktoks_reporting_delay(client, people):
    conn = make_connection(people.workspace, people.admin, username="late_acct", scopes=ALL_SCOPES)
    seed_performance(conn, tz=TZ, posts=5, skip_days=(1, 2))
    db.session.commit()
    login(client, people.admin)
    views = tile(page(client, conn, "&range=7"), "views")
    assert views.startswith("2,500 5 of 7 days TikTok reports with a 48 h delay —"), views  # partial, labelled


def test_older_missing_days_are_not_blamed_on_the_delay(client, people):
    conn = make_connection(people.workspace, people.admin, username="gappy_acct", scopes=ALL_SCOPES)
    seed_performance(conn, tz=TZ, posts=5, skip_days=(1, 5))
    db.session.commit()
    login(client, people.admin)
    views = tile(page(client, conn, "&range=7"), "views")
    assert "5 of 7 days" in views and "TikTok sent no figures for these days" in views and "48 h" not in views


def test_a_period_without_posts_says_so(client, people):
    conn = make_connection(people.workspace, people.admin, username="quiet_acct", scopes=ALL_SCOPES)
    seed_performance(conn, tz=TZ, posts=3)  # yesterday and the two days before
    db.session.commit()
    login(client, people.admin)
    today = utcnow().date()
    html = page(client, conn, f"&from={today - timedelta(days=20)}&to={today - timedelta(days=10)}")
    assert tile(html, "posts").startswith("0 No posts in this period")
    assert "No posts in this period" in tile(html, "engagement")
    assert "No posts in this period (" in html  # the table


def test_without_video_list_posts_need_that_permission(client, people):
    conn = make_connection(people.workspace, people.admin, username="no_videos", scopes="user.info.basic,user.insights")
    seed_performance(conn, tz=TZ, posts=0)
    db.session.commit()
    login(client, people.admin)
    html = page(client, conn)
    assert "Needs the Videos permission — Reconnect" in tile(html, "posts")


def test_watch_through_without_video_insights_says_which_permission(client, people):
    conn = make_connection(people.workspace, people.admin, username="no_watch", scopes="user.info.basic,video.list")
    seed_performance(conn, tz=TZ, posts=3)
    db.session.commit()
    login(client, people.admin)
    assert "Watch-through: needs the video insights permission — " in page(client, conn)


def test_definitions_are_visible_text_under_the_tiles(client, people):
    from app.services.definitions import DEFINITIONS

    conn = make_connection(people.workspace, people.admin, username="defs_acct")
    seed_performance(conn, tz=TZ)
    db.session.commit()
    login(client, people.admin)
    html = page(client, conn)
    block = re.search(r'<dl class="definitions"[^>]*>(.*?)</dl>', html, re.S).group(1)
    for key in ("engagement_rate", "pp", "cadence", "watch_through", "views"):
        d = DEFINITIONS[key]
        assert f"<dt>{d.label}</dt><dd>{d.text.replace(chr(39), '&#39;')}</dd>" in block, key

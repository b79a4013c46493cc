"""The dashboard after a real sync from the sandbox over HTTP: an account connected with a
permission unticked says so on the figures that need it, instead of looking empty."""
import re
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import AccountSnapshot, TikTokConnection
from app.sandbox import demo_data
from jobs.runner import run_job
from tests.e2e.helpers import connect_account, sign_in

pytestmark = pytest.mark.e2e


def tile(html: str, figure: str) -> str:
    m = re.search(r'data-figure="' + figure + r'">\s*<h2[^>]*>[^<]*</h2>(.*?)</article>', html, re.S)
    assert m, f"no tile {figure!r}"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", m.group(1))).strip()


def test_connected_without_insights_the_tiles_say_needs_permission(live_server):
    s, ws_id = sign_in(live_server)
    assert connect_account(live_server, s, ws_id, untick=("user.insights",)).ok
    result = run_job(live_server.app, "sync", now=datetime.now(timezone.utc))
    assert result.counts["synced"] == 1, result
    with live_server.app.app_context():
        conn = db.session.scalars(sa.select(TikTokConnection)).one()
        assert "user.insights" not in conn.scopes
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AccountSnapshot)
                                 .where(AccountSnapshot.video_views.is_not(None))) == 0  # no daily history
        conn_id = conn.id
    html = s.get(f"{live_server.url}/performance?account={conn_id}&range=7").text
    views, followers = tile(html, "views"), tile(html, "followers")
    assert views.startswith("— Needs the Insights permission — Reconnect"), views
    # daily follower counts come with the profile stats permission: the followers tile is whole
    assert re.match(r"[0-9,.M]+ [+−][0-9,]+ gained", followers) and "Needs" not in followers, followers
    chart = html.split('id="charts"', 1)[1].split("</section>", 1)[0]
    assert "No daily views for " in chart and "Needs the Insights permission" in chart
    assert "not sent" not in html and "not synced yet" not in html
    assert 'data-state="synced"' in html


def test_after_a_full_sync_the_last_7_days_are_the_sandboxs_figures(live_server):
    s, ws_id = sign_in(live_server)
    assert connect_account(live_server, s, ws_id).ok
    now = datetime.now(timezone.utc)
    assert run_job(live_server.app, "sync", now=now).counts["synced"] == 1
    with live_server.app.app_context():
        conn_id = db.session.scalars(sa.select(TikTokConnection.id)).one()
        tz = db.session.scalar(sa.text("SELECT timezone FROM workspaces WHERE id = :w"), {"w": ws_id}) or "UTC"
    assert tz == "UTC"  # the demo workspace: the sandbox's days are the workspace's days
    account = demo_data.account("brassorbit3", now.date())
    by_day = {d.date: d for d in account.days}
    days = [now.date() - timedelta(days=i) for i in range(7, 0, -1)]
    views = sum(by_day[d].video_views for d in days)
    html = s.get(f"{live_server.url}/performance?account={conn_id}&range=7").text
    assert tile(html, "views").startswith(f"{views:,} ")
    gained = by_day[days[-1]].followers_count - by_day[days[0] - timedelta(days=1)].followers_count
    assert f"{'+' if gained >= 0 else '−'}{abs(gained):,} gained" in tile(html, "followers")

"""The dashboard's account panel is cached by what it shows, never by who looks."""
from datetime import timedelta

import pytest

from app.extensions import db
from app.models import utcnow
from tests.conftest import login, without_csrf
from tests.factories import make_connection, seed_performance
from tests.integration.test_performance import QueryCounter


@pytest.fixture
def cache_on(app):
    """The fragment cache as in production (tests run with it off by default)."""
    app.config["FRAGMENT_CACHE_SECONDS"] = 60
    app.extensions.pop("fragment_cache", None)
    return app


def account(people, owner=None, username="brassorbit3", posts=20):
    conn = make_connection(people.workspace, owner or people.admin, username=username)
    seed_performance(conn, tz="Europe/London", days=40, posts=posts)
    db.session.commit()
    return conn


def test_cached_panel_saves_queries_and_a_sync_refreshes_it(cache_on, client, people):
    conn = account(people)
    login(client, people.admin)
    url = f"/performance?account={conn.id}"
    with QueryCounter(db.engine) as first:
        page = without_csrf(client.get(url))
    with QueryCounter(db.engine) as second:
        again = without_csrf(client.get(url))
    assert len(second.statements) < len(first.statements)
    assert again == page
    # a sync changes the account's version: the next view is rendered afresh
    conn.last_synced_at = utcnow() + timedelta(seconds=1)
    db.session.commit()
    with QueryCounter(db.engine) as third:
        client.get(url)
    assert len(third.statements) == len(first.statements)


def test_panel_cache_never_crosses_accounts_or_access(cache_on, client, people):
    mine = account(people, people.creator, "creator_acct", posts=5)
    theirs = account(people, people.creator2, "other_creator_acct", posts=5)
    login(client, people.admin)
    assert "other_creator_acct" in client.get(f"/performance?account={theirs.id}").get_data(as_text=True)
    login(client, people.creator)  # the panel for `theirs` is cached now, but access comes first
    assert client.get(f"/performance?account={theirs.id}").status_code == 404
    page = client.get(f"/performance?account={mine.id}").get_data(as_text=True)
    assert "creator_acct" in page and "other_creator_acct" not in page


def test_cached_posts_partial_per_table_state(cache_on, client, people):
    conn = account(people, posts=30)
    login(client, people.admin)
    by_views = f"/performance/posts?account={conn.id}&sort=views"
    with QueryCounter(db.engine) as first:
        html = client.hx("get", by_views).get_data(as_text=True)
    with QueryCounter(db.engine) as second:
        assert client.hx("get", by_views).get_data(as_text=True) == html
    assert len(second.statements) < len(first.statements)
    other = client.hx("get", f"/performance/posts?account={conn.id}&sort=posted").get_data(as_text=True)
    assert other != html and 'id="posts-table"' in other  # another table state, its own entry


def test_each_period_and_comparison_is_its_own_cache_entry(cache_on, client, people):
    conn = account(people)
    login(client, people.admin)
    views = {}
    for query in ("range=7", "range=28", "range=7&compare=year", "from=2026-01-05&to=2026-01-11"):
        html = client.get(f"/performance?account={conn.id}&{query}").get_data(as_text=True)
        views[query] = html.split('id="period-label">', 1)[1].split("</p>", 1)[0]
    assert len(set(views.values())) == 4, views  # no period was served another one's panel
    assert "<strong>Jan 5–11, 2026</strong> vs Dec 29, 2025 – Jan 4, 2026" in views["from=2026-01-05&to=2026-01-11"]
    assert "same days last year" in views["range=7&compare=year"]

"""The performance dashboard: figures, honest states, htmx table, CSV, query budget, scoping."""
import csv
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import event

from app.extensions import db
from app.models import Post, PostMetric
from tests.conftest import login
from tests.factories import make_connection, seed_performance

TZ = "Europe/London"  # the `people` workspace's timezone
INSIGHTS = "user.info.basic,user.info.stats,user.insights,video.list,video.insights"  # every figure's permission


@pytest.fixture
def seeded(people):
    conn = make_connection(people.workspace, people.creator, username="brassorbit3")
    seed_performance(conn, tz=TZ, days=40, posts=10, spark_posts=2)
    db.session.commit()
    return conn


@pytest.fixture
def twenty_five(client, people):
    """An account with 25 posts (two table pages), the admin signed in."""
    conn = make_connection(people.workspace, people.admin)
    seed_performance(conn, tz=TZ, posts=25)
    db.session.commit()
    login(client, people.admin)
    return conn


def text_of(resp) -> str:
    return resp.get_data(as_text=True)


def tile(html: str, label: str) -> str:
    m = re.search(r'<h2 class="tile-label">' + re.escape(label) + r"</h2>(.*?)</article>", html, re.S)
    assert m, f"no tile {label!r}"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", m.group(1))).strip()


def table_captions(html: str) -> list[str]:
    body = html.split('id="posts-table"', 1)[1]
    return re.findall(r'<span title="[^"]*"><a [^>]*>([^<]*)</a>', body)


# ------------------------------------------------------------------ figures


def test_tiles_show_the_seeded_figures(client, people, seeded):
    login(client, people.admin)
    html = text_of(client.get(f"/performance?account={seeded.id}&range=7"))
    vs = re.search(r'<p class="period" id="period-label"><strong>[^<]+</strong> vs ([^<]+) <span', html).group(1)
    # followers: 1000 + (40 - 1) * 10 yesterday; +70 over 7 days, and +70 the 7 days before
    assert tile(html, "Followers").startswith(f"1,390 +70 gained vs {vs}: +70 as of ")
    # views: 7 x 500, flat against the 7 days before
    assert tile(html, "Views").startswith(f"3,500 +0.0% vs {vs}: 3,500 as of ")
    # posts 0..6 (views 1000..1006, 130 interactions each) vs posts 7..9 (views 1007..1009)
    current, previous = 7 * 130 / sum(range(1000, 1007)), 3 * 130 / sum(range(1007, 1010))
    change = (current - previous) * 100
    assert tile(html, "Engagement rate").startswith(
        f"{current * 100:.1f}% +{change:.1f} pp vs {vs}: {previous * 100:.1f}% as of ")
    assert tile(html, "Posts").startswith(f"7 on cadence vs {vs}: 3 as of ")
    assert tile(html, "Paid · Spark Ads").startswith("20,000 impressions 2 boosted posts · CTR 1.5% · CPM 2.50 EUR")


def test_large_numbers_are_compact(client, people):
    conn = make_connection(people.workspace, people.admin)
    seed_performance(conn, tz=TZ, followers_start=1_400_000, followers_per_day=500, views_per_day=48_210, posts=3)
    db.session.commit()
    login(client, people.admin)
    html = text_of(client.get(f"/performance?account={conn.id}&range=7"))
    assert tile(html, "Followers").startswith("1.42M +3,500 gained")
    assert tile(html, "Views").startswith("337,470 ")


def test_behind_cadence_and_missing_day_are_honest(client, people):
    conn = make_connection(people.workspace, people.admin, scopes=INSIGHTS)
    seed_performance(conn, tz=TZ, posts=2, skip_days=(3,))
    db.session.commit()
    login(client, people.admin)
    html = text_of(client.get(f"/performance?account={conn.id}&range=7"))
    assert tile(html, "Posts").startswith("2 behind cadence (2 of 3)")
    views = tile(html, "Views")
    # a partial total is labelled, the change is withheld and says why
    assert views.startswith("3,000 6 of 7 days TikTok sent no figures for these days —"), views
    assert "Change shown only when both periods have every day" in views
    # 28 days at 3 a week: 12 posts are the cadence
    html = text_of(client.get(f"/performance?account={conn.id}&range=28"))
    assert tile(html, "Posts").startswith("2 behind cadence (2 of 12)")


def test_missing_daily_views_are_filled_from_post_view_counts(client, people):
    conn = make_connection(people.workspace, people.admin)
    today = seed_performance(conn, tz=TZ, posts=10, skip_days=(2,))
    post = db.session.scalars(db.select(Post).where(Post.connection_id == conn.id).order_by(Post.id.desc())).first()
    db.session.add_all([PostMetric(post_id=post.id, day=today - timedelta(days=3), views=700),
                        PostMetric(post_id=post.id, day=today - timedelta(days=2), views=1200)])
    db.session.commit()
    login(client, people.admin)
    html = text_of(client.get(f"/performance?account={conn.id}&range=7"))
    assert tile(html, "Views").startswith("3,500 ")  # 6 x 500 + (1200 - 700)
    assert "1 day estimated from post view counts" in html


def test_missing_watch_through_explains_why(client, people, seeded):
    login(client, people.admin)
    html = text_of(client.get(f"/performance?account={seeded.id}"))
    assert '<span class="missing" title="TikTok gives watch-through for Business accounts with video.insights">—</span>' in html
    assert "50.0%" in html  # the even posts have 0.5


def test_charts_are_accessible_svg_with_the_numbers_as_text(client, people, seeded):
    login(client, people.admin)
    html = text_of(client.get(f"/performance?account={seeded.id}&range=90"))
    assert html.count('role="img"') == 2
    period = re.search(r'<p class="period" id="period-label"><strong>([^<]+)</strong>', html).group(1)
    assert '<title id="followers-chart-title">Followers, ' + period + '</title>' in html
    assert '<desc id="views-chart-desc">' in html
    assert html.count('<rect class="chart-bar"') == 40  # 40 seeded days in 90
    assert re.search(r'<table class="visually-hidden" id="followers-data">', html)
    assert "<td>1,390</td>" in html and "no data" in html  # yesterday's count; days before the seed


def test_range_is_allow_listed(client, people, seeded):
    login(client, people.admin)
    for bad in ("30", "abc", "-30", "999999999999999999999", "90;drop"):
        r = client.get(f"/performance?account={seeded.id}&range={bad}")
        assert r.status_code == 200 and "(28 days)" in text_of(r)
        assert re.search(r'range=28" aria-current="page">28 days</a>', text_of(r))


# ------------------------------------------------------------------ states


def test_connected_message_is_exact_and_escaped(client, people, seeded):
    login(client, people.admin)
    html = text_of(client.get("/performance?connected=brassorbit3"))
    assert "Connected. @brassorbit3 is now syncing. First report appears within ~15 minutes." in html
    assert 'aria-current="page">@brassorbit3</a>' in html  # the just-connected account is selected
    html = text_of(client.get("/performance?connected=<script>alert(1)</script>"))
    assert "<script>alert(1)" not in html and "alert(1)" not in html and "is now syncing" not in html


@pytest.mark.parametrize("who, name", [
    ("admin", "nobody_here"),  # no such account anywhere
    ("admin", "their_acct"),  # an account of another workspace
    ("creator2", "brassorbit3"),  # another creator's account in the same workspace
    ("admin", "gone_acct"),  # disconnected
    ("admin", "BrassOrbit3"),  # not the exact username
])
def test_connected_banner_only_for_the_users_own_connected_account(client, people, seeded, who, name):
    make_connection(people.other_workspace, people.outsider, username="their_acct")
    make_connection(people.workspace, people.admin, username="gone_acct", status="disconnected")
    db.session.commit()
    login(client, getattr(people, who))
    html = text_of(client.get(f"/performance?connected={name}"))
    assert "is now syncing" not in html and "Connected. @" not in html


def test_a_never_synced_account_says_when_figures_come(client, people):
    conn = make_connection(people.workspace, people.admin, username="fresh")
    db.session.commit()
    login(client, people.admin)
    html = text_of(client.get(f"/performance?account={conn.id}"))
    assert "@fresh is syncing" in html and "First report appears within ~15 minutes" in html
    assert 'id="kpi-tiles"' not in html


def test_no_posts_yet(client, people):
    conn = make_connection(people.workspace, people.admin)
    seed_performance(conn, tz=TZ, posts=0)
    db.session.commit()
    login(client, people.admin)
    html = text_of(client.get(f"/performance?account={conn.id}"))
    assert "No posts in this period (" in html
    assert tile(html, "Posts").startswith("0 No posts in this period behind cadence (0 of 12)")
    assert tile(html, "Engagement rate").startswith("— No posts in this period — pp")


def test_no_accounts_yet(client, people):
    login(client, people.admin)
    assert "No TikTok accounts yet" in text_of(client.get("/performance"))
    assert client.get("/performance/posts").status_code == 404
    assert client.get("/performance/export.csv").status_code == 404


# ------------------------------------------------------------------ the posts table (htmx)


def test_htmx_partial_is_the_table_only_and_varies_on_hx_request(client, people, seeded):
    login(client, people.admin)
    r = client.hx("get", f"/performance/posts?account={seeded.id}&sort=views&dir=desc")
    html = text_of(r)
    assert r.status_code == 200
    assert html.lstrip().startswith('<div id="posts-table"')
    assert "<html" not in html and 'id="kpi-tiles"' not in html
    assert "HX-Request" in r.headers.get("Vary", "")
    assert table_captions(html)[:3] == ["Post number 9", "Post number 8", "Post number 7"]
    assert 'hx-target="#posts-table"' in html and 'hx-swap="outerHTML"' in html and 'hx-push-url="true"' in html


def test_posts_url_opened_directly_renders_the_whole_page(client, people, seeded):
    login(client, people.admin)
    r = client.get(f"/performance/posts?account={seeded.id}&sort=views&dir=asc")
    html = text_of(r)
    assert r.status_code == 200 and "<html" in html and 'id="kpi-tiles"' in html
    assert table_captions(html)[:2] == ["Post number 0", "Post number 1"]
    assert "HX-Request" in r.headers.get("Vary", "")


@pytest.mark.parametrize("sort, direction, first", [
    ("posted", "desc", "Post number 0"), ("posted", "asc", "Post number 24"),
    ("views", "desc", "Post number 24"), ("caption", "asc", "Post number 0"),
    ("engagement", "desc", None), ("watch_through", "desc", None),
])
def test_every_column_sorts(client, twenty_five, sort, direction, first):
    conn = twenty_five
    html = text_of(client.hx("get", f"/performance/posts?account={conn.id}&sort={sort}&dir={direction}"))
    captions = table_captions(html)
    assert len(captions) == 20 and f'aria-sort="{"descending" if direction == "desc" else "ascending"}"' in html
    if first:
        assert captions[0] == first
    if sort == "watch_through":  # known values first: all 13 even posts (0.5) fit on page 1
        assert html.count(">50.0%<") == 13


def test_paging_moves_through_the_posts(client, twenty_five):
    conn = twenty_five
    page2 = text_of(client.hx("get", f"/performance/posts?account={conn.id}&page=2"))
    assert table_captions(page2) == [f"Post number {k}" for k in range(20, 25)]
    assert "21–25 of 25" in page2 and "Page 2 of 2" in page2 and 'rel="prev"' in page2 and 'rel="next"' not in page2


@pytest.mark.parametrize("query", [
    "page=-1", "page=0", "page=abc", "page=10**9", "page=1000000000", "page=99999999999999999999999",
    "page=1.5", "page=", "sort=views;drop table posts", "sort=__class__", "sort=id", "dir=sideways",
    "dir=asc;--", "sort=&dir=&page=", "range=-5", "page=%00", "sort=%27",
])
def test_garbage_parameters_give_a_valid_table_never_a_500(client, people, seeded, query):
    login(client, people.admin)
    url = f"/performance/posts?account={seeded.id}&{query}"
    for resp in (client.hx("get", url), client.get(url), client.get(url.replace("/posts", "/export.csv"))):
        assert resp.status_code == 200, (query, resp.status_code)
    html = text_of(client.hx("get", url))
    assert 'id="posts-table"' in html and "Page 1 of 1" in html


@pytest.mark.parametrize("account", ["abc", "", "-1", "0", "99999999999999999999"])
def test_an_account_id_that_cannot_exist_is_404_not_another_account(client, people, seeded, account):
    login(client, people.admin)
    for path in ("/performance", "/performance/posts", "/performance/export.csv"):
        assert client.get(f"{path}?account={account}").status_code == 404, path


def test_huge_page_is_clamped_to_the_last(client, twenty_five):
    conn = twenty_five
    html = text_of(client.hx("get", f"/performance/posts?account={conn.id}&page=1000000000"))
    assert "Page 2 of 2" in html and len(table_captions(html)) == 5


def test_htmx_headers_decide_nothing_about_access(client, people, seeded):
    login(client, people.outsider)
    spoofed = {"HX-Current-URL": f"http://localhost/performance?account={seeded.id}", "HX-Target": "posts-table",
               "HX-Trigger": "posts-table"}
    r = client.hx("get", f"/performance/posts?account={seeded.id}", headers=spoofed)
    assert r.status_code == 404 and "brassorbit3" not in text_of(r)


def test_captions_are_escaped_everywhere(client, people):
    conn = make_connection(people.workspace, people.admin, username="evil")
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    seed_performance(conn, tz=TZ, posts=2, captions=[evil, '" onmouseover="alert(1)'])
    db.session.commit()
    login(client, people.admin)
    for r in (client.get(f"/performance?account={conn.id}"), client.hx("get", f"/performance/posts?account={conn.id}")):
        html = text_of(r)
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
        assert 'title="&#34; onmouseover=&#34;alert(1)"' in html


def test_thumbnails_are_lazy_with_alt_and_no_referrer(client, people, seeded):
    login(client, people.admin)
    html = text_of(client.hx("get", f"/performance/posts?account={seeded.id}"))
    imgs = re.findall(r"<img [^>]*>", html)
    assert imgs and all('alt="Thumbnail: ' in i and 'loading="lazy"' in i and 'referrerpolicy="no-referrer"' in i
                        for i in imgs)


def test_spark_badge_marks_boosted_posts(client, people, seeded):
    login(client, people.admin)
    html = text_of(client.hx("get", f"/performance/posts?account={seeded.id}"))
    assert html.count('class="badge badge-spark"') == 2


def test_no_inline_styles_or_scripts(client, people, seeded):
    login(client, people.admin)
    html = text_of(client.get(f"/performance?account={seeded.id}"))
    assert " style=" not in html and "<style" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert "/static/dashboard.css" in html


# ------------------------------------------------------------------ CSV export


def read_csv(resp) -> list[list[str]]:
    return list(csv.reader(io.StringIO(resp.get_data().decode("utf-8-sig"))))


def test_csv_export_has_the_table_columns_for_the_range(client, people, seeded):
    login(client, people.admin)
    r = client.get(f"/performance/export.csv?account={seeded.id}&range=90&sort=views&dir=desc")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert r.headers["Content-Disposition"] == 'attachment; filename="brassorbit3-posts-90d.csv"'
    rows = read_csv(r)
    assert rows[0] == ["Post", "Posted", "Views", "Engagement", "Watch-through", "Spark boosted", "URL"]
    assert len(rows) == 11
    first = rows[1]
    assert first[0] == "Post number 9" and first[2] == "1009" and first[3] == "12.9%" and first[4] == ""
    assert sum(1 for r in rows[1:] if r[5] == "yes") == 2
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} 12:\d{2}", first[1])  # workspace-local posting time


def test_csv_export_guards_against_formula_injection(client, people):
    conn = make_connection(people.workspace, people.admin)
    nasty = ['=HYPERLINK("http://evil","x")', "+1+1", "-2+3", "@SUM(A1)", "\tTab", "plain =ok"]
    seed_performance(conn, tz=TZ, posts=len(nasty), captions=nasty)
    db.session.commit()
    login(client, people.admin)
    rows = read_csv(client.get(f"/performance/export.csv?account={conn.id}&sort=posted&dir=desc"))
    captions = [r[0] for r in rows[1:]]
    assert captions == ["'" + c for c in nasty[:5]] + ["plain =ok"]


# ------------------------------------------------------------------ scoping


def test_creator_sees_only_their_own_accounts(client, people):
    mine = make_connection(people.workspace, people.creator, username="mine_acct")
    theirs = make_connection(people.workspace, people.creator2, username="their_acct")
    db.session.commit()
    login(client, people.creator)
    html = text_of(client.get("/performance"))
    assert "@mine_acct" in html and "@their_acct" not in html
    for path in ("/performance", "/performance/posts", "/performance/export.csv"):
        assert client.get(f"{path}?account={theirs.id}").status_code == 404
        assert client.get(f"{path}?account={mine.id}").status_code == 200


def test_admin_sees_every_account_of_the_workspace(client, people):
    make_connection(people.workspace, people.creator, username="c1_acct")
    make_connection(people.workspace, people.creator2, username="c2_acct")
    db.session.commit()
    login(client, people.admin)
    html = text_of(client.get("/performance"))
    assert "@c1_acct" in html and "@c2_acct" in html


# ------------------------------------------------------------------ query budget


class QueryCounter:
    def __init__(self, engine):
        self.engine, self.statements = engine, []

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._count)

    def _count(self, conn, cursor, statement, *args):
        self.statements.append(statement)


def query_counts(client, account: int) -> dict[str, int]:
    """Statements per request for the page, the htmx table and the CSV (after a warm-up)."""
    counts = {}
    for name, fetch in (
        ("page", lambda: client.get(f"/performance?account={account}&range=90")),
        ("partial", lambda: client.hx("get", f"/performance/posts?account={account}&range=90&sort=views&page=2")),
        ("csv", lambda: client.get(f"/performance/export.csv?account={account}&range=90")),
    ):
        fetch()  # warm-up: session and caches
        with QueryCounter(db.engine) as q:
            assert fetch().status_code == 200
        counts[name] = len(q.statements)
    return counts


def test_page_and_partial_issue_a_fixed_number_of_queries(client, people):
    """Whatever the data's size: 100x the posts, or 30 more accounts in the workspace."""
    small = make_connection(people.workspace, people.admin, username="small")
    large = make_connection(people.workspace, people.admin, username="large")
    # Same shape, 100x the posts: a gap day (fallback query), Spark rows, full table pages.
    seed_performance(small, tz=TZ, days=90, posts=30, posts_per_day=1, skip_days=(4,), spark_posts=2)
    seed_performance(large, tz=TZ, days=90, posts=3000, posts_per_day=40, skip_days=(4,), spark_posts=200)
    db.session.commit()
    small_id, large_id = small.id, large.id  # read before counting
    login(client, people.admin)
    counts = {"small": query_counts(client, small_id), "large": query_counts(client, large_id)}
    for n in range(30):
        make_connection(people.workspace, people.admin, username=f"more_{n}")
    db.session.commit()
    counts["many accounts"] = query_counts(client, large_id)
    assert counts["small"] == counts["large"] == counts["many accounts"], counts
    # 2 for the signed-in user and their workspaces with their roles; the dashboard's own: the
    # account list's names and the selected account (2), the panel the sync kept (1; none
    # here, so it is computed:) snapshots, both windows' post totals, post-view fallback,
    # Spark rows, table page with its total (5); the htmx table: its account and its page
    # (2); the CSV: account, rows (2).
    budget = {"page": 10, "partial": 5, "csv": 5}
    assert all(counts["large"][name] <= budget[name] for name in budget), counts


def test_a_cached_panel_costs_no_dashboard_query(app, client, people):
    """Warm: the page asks only who is looking and which accounts they see."""
    conn = make_connection(people.workspace, people.admin)
    seed_performance(conn, tz=TZ, days=90, posts=100, posts_per_day=2, skip_days=(4,), spark_posts=5)
    db.session.commit()
    conn_id = conn.id
    app.config["FRAGMENT_CACHE_SECONDS"] = 60
    app.extensions.pop("fragment_cache", None)
    login(client, people.admin)
    counts = query_counts(client, conn_id)
    assert counts["page"] <= 4 and counts["partial"] <= 4, counts  # user, workspace, role, account list


def test_agency_link_to_another_workspaces_account_switches_workspace(client, people):
    theirs = make_connection(people.other_workspace, people.outsider, username="other_ws_acct")
    db.session.commit()
    login(client, people.agency)
    client.get(f"/performance?workspace={people.workspace.id}")  # working in Brass Studio
    r = client.get(f"/performance?account={theirs.id}")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "@other_ws_acct" in html and "Other Client" in html
    # an explicit, contradicting workspace is still a 404
    assert client.get(f"/performance?workspace={people.workspace.id}&account={theirs.id}").status_code == 404

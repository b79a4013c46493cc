"""Benchmark the performance dashboard on a large workspace, cache cold and warm.

    .venv/bin/python bench/dashboard.py                 # 50 connections x 2,000 posts x 365 days, SQLite
    .venv/bin/python bench/dashboard.py --connections 5 --posts 200 --requests 20   # quick
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench .venv/bin/python bench/dashboard.py

Seeds a fresh database (a temporary SQLite file unless DATABASE_URL is set; that database's
tables are dropped and recreated), signs in as the workspace's client admin and times
`/performance` and the htmx `/performance/posts` in-process (Flask test client, so the
figures are server time without network). Each URL is timed three times:

- cold: the first view after a sync. Before every timed request, untimed, the account
  goes through what a sync does after storing figures: its data version moves on (its
  `last_synced_at`, which every cache key carries) and the sync's own step renders its
  dashboard panels for the preset periods (app/services/dashboard_panels.prerender, as
  app/workflows/sync.py calls it). So the view finds nothing in the process's fragment
  cache and reads the panel the sync kept; the htmx table is computed;
- uncached: the same, without the sync's panels: everything is computed and rendered in
  the request, as for a view no sync rendered (a custom period, a new local day). Shown,
  not judged: it is what the panels save;
- warm: the same view again, served from the process's fragment cache.

For each it prints the median and 95th percentile, the SQL statements per request, and
the ratio to a bare Flask page rendering the same amount of HTML through Jinja (the
floor), against its target: cold <= 3x, warm <= 1.5x (for /performance).
"""
from __future__ import annotations

import argparse
import base64
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, time as dtime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from flask import Flask, render_template_string  # noqa: E402
from sqlalchemy import event  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import AccountSnapshot, Post, TikTokConnection  # noqa: E402
from app.services import accounts  # noqa: E402

PASSWORD = "bench-password-123"


def build_app(tmp: Path, database_url: str | None = None) -> Flask:
    overrides = {
        "APP_ENV": "testing",
        "SECRET_KEY": "bench-secret-key-0123456789abcdef0123456789",
        "TOKEN_KEYS": "b1:" + base64.b64encode(b"\x02" * 32).decode(),
        "DATABASE_URL": database_url or f"sqlite:///{tmp / 'bench.sqlite3'}",
        "SCHEDULER_ENABLED": "false",
        "TIKTOK_SANDBOX": "false",
        "TIKTOK_CLIENT_KEY": "bench", "TIKTOK_CLIENT_SECRET": "bench-secret",
        "TIKTOK_REDIRECT_URI": "https://bench.invalid/tiktok/auth/callback",
        "MAIL_SERVER": None, "MAIL_OUTBOX_DIR": str(tmp / "outbox"),
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "SANDBOX_STATE_PATH": None,
        "RATELIMIT_ENABLED": False,
    }
    return create_app(overrides)


def seed(n_connections: int, n_posts: int, n_days: int, tz: str) -> tuple[str, list[int]]:
    db.drop_all()
    db.create_all()
    ws = accounts.get_or_create_workspace("Bench Studio", timezone=tz)
    user, _ = accounts.create_user("bench@example.com", role="client_admin", workspace=ws, password=PASSWORD)
    db.session.flush()
    zone, now, rnd = ZoneInfo(tz), datetime.now(timezone.utc), random.Random(7)
    today = now.astimezone(zone).date()
    ids = []
    for c in range(n_connections):
        conn = TikTokConnection(workspace_id=ws.id, owner_user_id=user.id, open_id=f"bench-{c}",
                                username=f"bench_account_{c}", granted_scopes="user.info.basic,video.list,video.insights",
                                last_synced_at=now)
        db.session.add(conn)
        db.session.flush()
        ids.append(conn.id)
        db.session.execute(AccountSnapshot.__table__.insert(), [
            {"connection_id": conn.id, "day": today - timedelta(days=d), "followers_count": 50_000 + (n_days - d) * 40,
             "video_views": rnd.randint(5_000, 50_000), "captured_at": now}
            for d in range(1, n_days + 1)
        ])
        posts = []
        for k in range(n_posts):
            day = today - timedelta(days=1 + k * n_days // max(n_posts, 1))
            views = rnd.randint(200, 2_000_000)
            posts.append({
                "connection_id": conn.id, "item_id": f"{c}-{k}", "caption": f"Bench post {k} #fyp <b>caption</b>",
                "thumbnail_url": f"https://p16.example.com/{c}/{k}.jpg", "share_url": f"https://www.tiktok.com/@b/video/{k}",
                "create_time": datetime.combine(day, dtime(12, k % 60), tzinfo=zone).astimezone(timezone.utc),
                "views": views, "likes": views // 12, "comments": views // 90, "shares": views // 150,
                "full_video_watched_rate": rnd.random() if k % 3 else None, "metrics_as_of": now, "first_seen_at": now,
            })
        for i in range(0, len(posts), 5_000):
            db.session.execute(Post.__table__.insert(), posts[i:i + 5_000])
    db.session.commit()
    return user.email, ids


def timed(fn, n: int, engine, before=None) -> tuple[list[float], int, int]:
    """`n` timed calls of `fn` (after one untimed warm-up), each after an untimed `before()`."""
    statements: list[str] = []
    listener = lambda *a, **k: statements.append(a[2])  # noqa: E731
    if before:
        before()
    fn()  # warm-up
    times = []
    event.listen(engine, "before_cursor_execute", listener)
    try:
        for _ in range(n):
            if before:
                before()
            statements.clear()
            start = time.perf_counter()
            resp = fn()
            times.append((time.perf_counter() - start) * 1000)
            assert resp.status_code == 200, resp.status_code
            size = len(resp.get_data())
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return times, len(statements), size


def new_sync_version(app: Flask, connection_id: int, *, panels: bool = True):
    """A callable that stands for a sync of `connection_id` after it stored new figures:
    it moves the account's `last_synced_at` on, which changes every cache key, and (with
    `panels`) renders the account's dashboard panels as the sync does."""
    from app.models import TikTokConnection
    from app.services import dashboard_panels

    def bump() -> None:
        with app.app_context():
            now = datetime.now(timezone.utc)
            db.session.execute(sa.update(TikTokConnection).where(TikTokConnection.id == connection_id)
                               .values(last_synced_at=now))
            db.session.commit()
            if panels:
                dashboard_panels.prerender(connection_id, now=now)
                db.session.commit()

    return bump


def floor_app(size: int) -> Flask:
    """A bare Flask page rendering `size` bytes of HTML through Jinja (rows in a loop)."""
    bare = Flask("floor")
    row = "<tr><td>Bench post caption</td><td>Nov 28, 2026</td><td>1.42M</td><td>9.8%</td></tr>"
    rows = [row] * max(size // len(row), 1)

    @bare.get("/")
    def page():
        return render_template_string("<table>{% for r in rows %}{{ r|safe }}{% endfor %}</table>", rows=rows)

    return bare


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(round(q * (len(ordered) - 1))), len(ordered) - 1)]


# The targets, as multiples of the bare-Flask floor's median (None: shown, not judged).
TARGETS = {("/performance", "cold"): 3.0, ("/performance", "warm"): 1.5}


@dataclass
class Figure:
    url: str
    cache: str  # "cold", "uncached" or "warm"
    median: float
    p95: float
    queries: int
    size: int
    floor_median: float

    @property
    def ratio(self) -> float:
        return self.median / self.floor_median

    @property
    def target(self) -> float | None:
        return TARGETS.get((self.url, self.cache))

    @property
    def passed(self) -> bool | None:
        return None if self.target is None else self.ratio <= self.target


def measure(*, connections: int = 50, posts: int = 2_000, days: int = 365, requests: int = 50,
            timezone_name: str = "Europe/Berlin", database_url: str | None = None,
            say=print) -> list[Figure]:
    tmp = Path(tempfile.mkdtemp(prefix="lt-bench-"))
    app = build_app(tmp, database_url)
    with app.app_context():
        say(f"seeding {connections} connections x {posts} posts x {days} days on {db.engine.dialect.name} ...")
        t0 = time.perf_counter()
        email, ids = seed(connections, posts, days, timezone_name)
        say(f"seeded in {time.perf_counter() - t0:.1f}s")
        engine = db.engine
    account = ids[len(ids) // 2]
    sync = new_sync_version(app, account)
    sync_without_panels = new_sync_version(app, account, panels=False)

    client = app.test_client()
    html = client.get("/login").get_data(as_text=True)
    token = html.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    assert client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token}).status_code == 303

    cases = {
        "/performance": lambda: client.get(f"/performance?account={account}&range=90"),
        "/performance/posts": lambda: client.get(f"/performance/posts?account={account}&range=90&sort=views&page=3",
                                                 headers={"HX-Request": "true"}),
    }
    figures = []
    for url, fn in cases.items():
        for cache, before in (("cold", sync), ("uncached", sync_without_panels), ("warm", None)):
            times, queries, size = timed(fn, requests, engine, before)
            floor = floor_app(size).test_client()
            ftimes, _, _ = timed(lambda: floor.get("/"), requests, sa.create_engine("sqlite://"))
            figures.append(Figure(url, cache, statistics.median(times), pct(times, .95), queries, size,
                                  statistics.median(ftimes)))
    return figures


def report(figures: list[Figure], say=print) -> None:
    say(f"{'url':<20}{'cache':>6}{'median ms':>10}{'p95 ms':>8}{'queries':>8}{'bytes':>8}"
        f"{'floor ms':>9}{'ratio':>7}  target")
    for f in figures:
        verdict = "" if f.target is None else f"<= {f.target:g}x  {'PASS' if f.passed else 'MISS'}"
        say(f"{f.url:<20}{f.cache:>6}{f.median:>10.2f}{f.p95:>8.2f}{f.queries:>8}{f.size:>8}"
            f"{f.floor_median:>9.2f}{f.ratio:>6.1f}x  {verdict}")


def main(argv=None) -> None:
    import logging
    import os

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--posts", type=int, default=2_000, help="posts per connection")
    ap.add_argument("--days", type=int, default=365, help="days of account snapshots per connection")
    ap.add_argument("--requests", type=int, default=50, help="timed requests per URL and cache state")
    ap.add_argument("--timezone", default="Europe/Berlin")
    args = ap.parse_args(argv)
    logging.disable(logging.INFO)  # a log line per request would be timed too
    figures = measure(connections=args.connections, posts=args.posts, days=args.days, requests=args.requests,
                      timezone_name=args.timezone, database_url=os.environ.get("DATABASE_URL"))
    print()
    report(figures)


if __name__ == "__main__":
    main()

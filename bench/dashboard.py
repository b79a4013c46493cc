"""Benchmark the performance dashboard on a large workspace.

    .venv/bin/python bench/dashboard.py                 # 50 connections x 2,000 posts x 365 days, SQLite
    .venv/bin/python bench/dashboard.py --connections 5 --posts 200 --requests 20   # quick
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench .venv/bin/python bench/dashboard.py

Seeds a fresh database (a temporary SQLite file unless DATABASE_URL is set; that database's
tables are dropped and recreated), signs in as the workspace's client admin and times
`/performance` and the htmx `/performance/posts` in-process (Flask test client, so the
figures are server time without network). For each it prints the median and 95th percentile,
the SQL statements per request, and the same timings for a bare Flask page rendering the same
amount of HTML through Jinja (the floor), with the ratio between them.
"""
from __future__ import annotations

import argparse
import base64
import random
import statistics
import sys
import tempfile
import time
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


def build_app(tmp: Path) -> Flask:
    import os

    overrides = {
        "APP_ENV": "testing",
        "SECRET_KEY": "bench-secret-key-0123456789abcdef0123456789",
        "TOKEN_KEYS": "b1:" + base64.b64encode(b"\x02" * 32).decode(),
        "DATABASE_URL": os.environ.get("DATABASE_URL") or f"sqlite:///{tmp / 'bench.sqlite3'}",
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


def timed(fn, n: int, engine) -> tuple[list[float], int, int]:
    statements: list[str] = []
    listener = lambda *a, **k: statements.append(a[2])  # noqa: E731
    fn()  # warm-up
    times = []
    event.listen(engine, "before_cursor_execute", listener)
    try:
        for _ in range(n):
            statements.clear()
            start = time.perf_counter()
            resp = fn()
            times.append((time.perf_counter() - start) * 1000)
            assert resp.status_code == 200, resp.status_code
            size = len(resp.get_data())
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return times, len(statements), size


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


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--posts", type=int, default=2_000, help="posts per connection")
    ap.add_argument("--days", type=int, default=365, help="days of account snapshots per connection")
    ap.add_argument("--requests", type=int, default=50, help="timed requests per URL")
    ap.add_argument("--timezone", default="Europe/Berlin")
    args = ap.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="lt-bench-"))
    app = build_app(tmp)
    with app.app_context():
        print(f"seeding {args.connections} connections x {args.posts} posts x {args.days} days "
              f"on {db.engine.dialect.name} ...", flush=True)
        t0 = time.perf_counter()
        email, ids = seed(args.connections, args.posts, args.days, args.timezone)
        print(f"seeded in {time.perf_counter() - t0:.1f}s", flush=True)
        engine = db.engine
    account = ids[len(ids) // 2]

    client = app.test_client()
    html = client.get("/login").get_data(as_text=True)
    token = html.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    assert client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token}).status_code == 303

    cases = {
        "/performance": lambda: client.get(f"/performance?account={account}&range=90"),
        "/performance/posts": lambda: client.get(f"/performance/posts?account={account}&range=90&sort=views&page=3",
                                                 headers={"HX-Request": "true"}),
    }
    print(f"\n{'url':<22}{'median ms':>10}{'p95 ms':>9}{'queries':>9}{'bytes':>9}"
          f"{'floor med':>11}{'floor p95':>11}{'ratio':>8}")
    for name, fn in cases.items():
        times, queries, size = timed(fn, args.requests, engine)
        floor = floor_app(size).test_client()
        ftimes, _, _ = timed(lambda: floor.get("/"), args.requests, sa.create_engine("sqlite://"))
        med, fmed = statistics.median(times), statistics.median(ftimes)
        print(f"{name:<22}{med:>10.1f}{pct(times, .95):>9.1f}{queries:>9}{size:>9}"
              f"{fmed:>11.2f}{pct(ftimes, .95):>11.2f}{med / fmed:>7.0f}x")


if __name__ == "__main__":
    main()

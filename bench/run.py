"""Every benchmark of issue 9, one command: figures, ratios and PASS/MISS per target.

    .venv/bin/python bench/run.py                     # full: 1,000 connections / workspaces, 1M metric rows
    .venv/bin/python bench/run.py --quick             # a few minutes less: 200 / 200 / 200k
    .venv/bin/python bench/run.py --only sync,web     # some sections (sync, reports, web, purge, dashboard)

Needs PostgreSQL (BENCH_DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/test);
each section works in its own fresh schema, dropped at the end. All traffic stays on
127.0.0.1: the sandbox, the SMTP server (aiosmtpd) and gunicorn run locally.

- sync: N connections with real sandbox tokens, TikTok's limits ON (app 600 QPM, 40 per
  account and endpoint); the sync job runs until every connection is synced. Time vs the
  minimum the limits allow (successful requests / 600 per minute), requests per connection.
- reports: weekly-reports for N workspaces (one admin each) into a local SMTP server: time
  and the job's peak RSS.
- web: gunicorn (gunicorn.conf.py) on PostgreSQL with a large workspace (bench/dashboard.py's
  seed); 20 concurrent clients on /performance and the htmx posts partial: median, p99,
  errors, vs a bare Flask page of the same size under gunicorn; peak RSS of the workers.
- purge: 1M post_metrics rows of disconnected accounts: purge time, and /performance p99
  while it runs vs idle (same gunicorn).
- dashboard: bench/dashboard.py (server time and queries per request, in-process).
"""
from __future__ import annotations

import argparse
import base64
import logging
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, time as dtime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import requests  # noqa: E402
import sqlalchemy as sa  # noqa: E402

PG_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
SECRET_KEY = "bench-secret-key-0123456789abcdef0123456789"
TOKEN_KEYS = "b1:" + base64.b64encode(b"\x02" * 32).decode()
SYNC_INTERVAL_S = 15 * 60  # jobs/sync.py's schedule
RESULTS: list[tuple[str, str, bool | None]] = []  # (target, figure, passed)


# ----------------------------------------------------------------------------- plumbing

def say(text: str = "") -> None:
    print(text, flush=True)


def verdict(target: str, figure: str, passed: bool | None) -> None:
    RESULTS.append((target, figure, passed))
    mark = {True: "PASS", False: "MISS", None: "n/a "}[passed]
    say(f"  [{mark}] {target}: {figure}")


class Schema:
    """A fresh PostgreSQL schema for one section, dropped afterwards."""

    def __init__(self, label: str):
        self.name = f"bench_{label}_{uuid.uuid4().hex[:6]}"
        self._engine = sa.create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
        with self._engine.begin() as c:
            c.execute(sa.text(f'CREATE SCHEMA "{self.name}"'))
        sep = "&" if "?" in PG_URL else "?"
        self.url = f"{PG_URL}{sep}options=-csearch_path%3D{self.name}"

    def drop(self) -> None:
        with self._engine.begin() as c:
            c.execute(sa.text(f'DROP SCHEMA "{self.name}" CASCADE'))
        self._engine.dispose()


def settings_env(schema: Schema, tmp: Path, **extra) -> dict:
    return {
        "APP_ENV": "development", "SECRET_KEY": SECRET_KEY, "TOKEN_KEYS": TOKEN_KEYS, "DATABASE_URL": schema.url,
        "SCHEDULER_ENABLED": "false", "TIKTOK_SANDBOX": "false", "TIKTOK_CLIENT_KEY": "bench",
        "TIKTOK_CLIENT_SECRET": "bench-secret", "TIKTOK_REDIRECT_URI": "https://bench.invalid/tiktok/auth/callback",
        "MAIL_OUTBOX_DIR": str(tmp / "outbox"), "LOGIN_RATE_LIMIT": "10000 per minute", **extra,
    }


def make_app(schema: Schema, tmp: Path, **extra):
    from app import create_app
    from app.extensions import db

    app = create_app({**settings_env(schema, tmp, **extra), "MAIL_SERVER": extra.get("MAIL_SERVER"),
                      "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000", "SANDBOX_STATE_PATH": None})
    for h in logging.getLogger().handlers:  # the app logs a line per request and item: keep errors only
        h.setLevel(logging.ERROR)
    with app.app_context():
        db.create_all()
    return app


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(round(q * (len(ordered) - 1))), len(ordered) - 1)] if ordered else float("nan")


def reset_peak_rss() -> None:
    """Linux: writing 5 to clear_refs resets VmHWM, so the next read is the peak since now."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def status_kb(pid: int | str, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


# ----------------------------------------------------------------------------- sync

def bench_sync(n: int, tmp: Path, wait: float | None = None) -> None:
    from app.extensions import db
    from app.models import TikTokConnection
    from app.services import accounts, token_sealing
    from app.tiktok import get_client
    from jobs.runner import run_job
    from tests.e2e.sandbox_server import SandboxServer

    say(f"\n== sync: {n} connections, TikTok rate limits on (app 600 QPM, 40 per account) ==")
    sandbox = SandboxServer()  # default limits: per_account_qpm=40, app_qpm=600
    schema = Schema("sync")
    try:
        app = make_app(schema, tmp, **sandbox.app_overrides())
        if wait is not None:
            app.config["SYNC_RATE_LIMIT_WAIT_SECONDS"] = wait
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        with app.app_context():
            ws = accounts.get_or_create_workspace("Bench Agency")
            user, _ = accounts.create_user("ops@bench.example", role="client_admin", workspace=ws, password="x" * 12)
            client, keyring = get_client(app), token_sealing.get_keyring(app)
            now = datetime.now(timezone.utc)
            t0 = time.perf_counter()
            for i in range(n):
                tokens = sandbox.grant(client, f"bench_{i:04d}")
                conn = TikTokConnection(workspace_id=ws.id, owner_user_id=user.id, open_id=tokens.open_id,
                                        username=f"bench_{i:04d}", granted_scopes=",".join(tokens.scopes))
                db.session.add(conn)
                db.session.flush()
                token_sealing.seal_tokens(conn, tokens, keyring=keyring, now=now)
            db.session.commit()
            say(f"  seeded {n} connections with sandbox tokens in {time.perf_counter() - t0:.0f}s")

        limited = Counter()
        logging.getLogger("app.tiktok").addHandler(limited)
        sandbox.state.reset_request_counts()
        # As the scheduler runs it: one run; whatever it leaves waits for the next run, 15 min
        # later (counted as 15 min; we only sleep out the sandbox's one-minute window).
        durations: list[float] = []
        left = n
        while left and len(durations) < 12:
            if durations:
                time.sleep(61)
            t = time.perf_counter()
            run_job(app, "sync", now=datetime.now(timezone.utc), limit=n)
            durations.append(time.perf_counter() - t)
            with app.app_context():
                left = db.session.scalar(sa.select(sa.func.count()).select_from(TikTokConnection)
                                         .where(TikTokConnection.last_synced_at.is_(None)))
                db.session.remove()
            say(f"  run {len(durations)}: {durations[-1]:.1f}s, {left} connections left")
        elapsed = sum(durations) + (len(durations) - 1) * SYNC_INTERVAL_S
        logging.getLogger("app.tiktok").removeHandler(limited)
        counts = sandbox.state.request_counts()
        api = {k: v for k, v in counts.items() if k.startswith("business/")}
        total = sum(api.values())
        needed = total - limited.n
        minimum = needed / 600 * 60
        say(f"  {n - (left or 0)}/{n} synced in {elapsed:.1f}s over {len(durations)} scheduled run(s)")
        say(f"  requests: {total} ({total / n:.2f} per connection; {limited.n} answered 40100) "
            f"= {', '.join(f'{k} {v}' for k, v in sorted(api.items()))}")
        say(f"  minimum the limits allow: {needed} requests / 600 per minute = {minimum:.1f}s")
        ratio = elapsed / minimum if minimum else float("nan")
        verdict("sync within 1.2x of the rate-limit minimum", f"{ratio:.2f}x ({elapsed:.0f}s vs {minimum:.0f}s)",
                ratio <= 1.2 and not left)
    finally:
        sandbox.stop()
        schema.drop()


class Counter(logging.Handler):
    """Counts the client's 'RateLimited' log lines (one per 40100 answer)."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.n = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "RateLimited" in record.getMessage():
            self.n += 1


# ----------------------------------------------------------------------------- weekly reports

def bench_reports(n: int, tmp: Path) -> None:
    from aiosmtpd.controller import Controller

    from app.extensions import db
    from app.models import AccountSnapshot, Post, TikTokConnection, Workspace
    from app.services import accounts
    from jobs.runner import run_job
    import jobs

    say(f"\n== weekly-reports: {n} workspaces into a local SMTP server ==")
    jobs.load_all()
    if "weekly-reports" not in jobs.REGISTRY:
        say("  not available yet (jobs/weekly_reports.py)")
        return

    class Sink:
        count = 0

        async def handle_DATA(self, server, session, envelope):
            Sink.count += len(envelope.rcpt_tos)
            return "250 OK"

    port = free_port()
    smtp = Controller(Sink(), hostname="127.0.0.1", port=port)
    smtp.start()
    schema = Schema("reports")
    try:
        app = make_app(schema, tmp, MAIL_SERVER="127.0.0.1", MAIL_PORT=str(port), MAIL_USE_TLS="false",
                       MAIL_DEFAULT_SENDER="reports@bench.example")
        now = datetime.now(timezone.utc)
        t0 = time.perf_counter()
        with app.app_context():
            for w in range(n):
                ws = accounts.get_or_create_workspace(f"Bench Client {w:04d}")
                user, _ = accounts.create_user(f"admin{w:04d}@bench.example", role="client_admin", workspace=ws,
                                               password="x" * 12)
                db.session.flush()
                conn = TikTokConnection(workspace_id=ws.id, owner_user_id=user.id, open_id=f"open-{w}",
                                        username=f"bench_{w:04d}", granted_scopes="user.info.basic,video.list",
                                        last_synced_at=now)
                db.session.add(conn)
                db.session.flush()
                today = now.date()
                db.session.execute(AccountSnapshot.__table__.insert(), [
                    {"connection_id": conn.id, "day": today - timedelta(days=d), "followers_count": 9_000 + 40 * d,
                     "video_views": 1_000 + 37 * d, "captured_at": now} for d in range(1, 22)])
                db.session.execute(Post.__table__.insert(), [
                    {"connection_id": conn.id, "item_id": f"{w}-{k}", "caption": f"Post {k}",
                     "create_time": datetime.combine(today - timedelta(days=1 + k), dtime(12), tzinfo=timezone.utc),
                     "views": 5_000 + k, "likes": 400, "comments": 20, "shares": 9, "metrics_as_of": now,
                     "first_seen_at": now} for k in range(14)])
                if w % 100 == 99:
                    db.session.commit()
            db.session.commit()
            workspaces = db.session.scalar(sa.select(sa.func.count()).select_from(Workspace))
            db.session.remove()
        say(f"  seeded {workspaces} workspaces in {time.perf_counter() - t0:.0f}s")
        reset_peak_rss()
        base = status_kb("self", "VmRSS")
        started = time.perf_counter()
        result = run_job(app, "weekly-reports", now=now)
        elapsed = time.perf_counter() - started
        peak = status_kb("self", "VmHWM")
        say(f"  {result}")
        say(f"  {elapsed:.1f}s, {Sink.count} emails received, peak RSS {peak / 1024:.0f} MB "
            f"(+{(peak - base) / 1024:.0f} MB over the {base / 1024:.0f} MB before the run)")
        verdict(f"{n} weekly reports in < 60 s", f"{elapsed:.1f}s, {Sink.count}/{n} emails",
                elapsed < 60 and Sink.count == n)
    finally:
        smtp.stop()
        schema.drop()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ----------------------------------------------------------------------------- web + purge

class Gunicorn:
    """`gunicorn -c gunicorn.conf.py APP` on a free loopback port."""

    def __init__(self, app_spec: str, env: dict, tmp: Path, *extra: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = open(tmp / f"gunicorn-{self.port}.log", "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), *extra, app_spec],
            cwd=ROOT, env={**os.environ, **env, "BIND": f"127.0.0.1:{self.port}"},
            stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(self.url + "/healthz", timeout=1).status_code in (200, 404):
                    break
            except requests.RequestException:
                pass
            assert self.proc.poll() is None and time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)

    def workers(self) -> list[int]:
        kids = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        return [int(k) for k in kids]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._log.close()


def signed_in_session(url: str, email: str, password: str) -> requests.Session:
    s = requests.Session()
    html = s.get(url + "/login").text
    token = html.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    r = s.post(url + "/login", data={"email": email, "password": password, "csrf_token": token},
               allow_redirects=False)
    assert r.status_code == 303, r.status_code
    return s


def load(url_paths: list[tuple[str, dict]], sessions: list[requests.Session], base: str, per_client: int,
         stop: threading.Event | None = None) -> tuple[list[float], int, int]:
    """Each session is one client doing `per_client` requests in a row (or until `stop`)."""
    times: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def client(i: int, s: requests.Session) -> None:
        for k in range(per_client):
            if stop is not None and stop.is_set():
                return
            path, headers = url_paths[(i + k) % len(url_paths)]
            t = time.perf_counter()
            try:
                r = s.get(base + path, headers=headers, timeout=60)
                ok = r.status_code == 200
            except requests.RequestException:
                ok = False
            ms = (time.perf_counter() - t) * 1000
            with lock:
                times.append(ms)
                errors[0] += 0 if ok else 1

    threads = [threading.Thread(target=client, args=(i, s)) for i, s in enumerate(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return times, errors[0], len(times)


def bench_web(args, tmp: Path) -> None:
    import dashboard

    from app.extensions import db

    say(f"\n== web: gunicorn ({os.environ.get('WEB_CONCURRENCY', '2')} workers x "
        f"{os.environ.get('THREADS', '8')} threads), {args.clients} concurrent clients, PostgreSQL ==")
    schema = Schema("web")
    servers: list[Gunicorn] = []
    try:
        env = settings_env(schema, tmp)
        app = make_app(schema, tmp)
        with app.app_context():
            t0 = time.perf_counter()
            email, ids = dashboard.seed(args.web_connections, args.web_posts, 365, "Europe/Berlin")
            say(f"  seeded {args.web_connections} connections x {args.web_posts} posts x 365 days "
                f"in {time.perf_counter() - t0:.0f}s")
            doomed = seed_purge(args.purge_rows) if "purge" in args.only else []
            db.session.remove()
            db.engine.dispose()
        web = Gunicorn("wsgi:app", env, tmp)
        servers.append(web)
        account = ids[len(ids) // 2]
        paths = [(f"/performance?account={account}&range=90", {}),
                 (f"/performance/posts?account={account}&range=90&sort=views&page=3", {"HX-Request": "true"})]
        sessions = [signed_in_session(web.url, email, dashboard.PASSWORD) for _ in range(args.clients)]
        load(paths, sessions[:2], web.url, 3)  # warm-up
        sizes = {p: len(sessions[0].get(web.url + p, headers=h).content) for p, h in paths}

        figures = {}
        for label, path in (("/performance", paths[0]), ("/performance/posts", paths[1])):
            times, errors, n = load([path], sessions, web.url, args.per_client)
            figures[label] = (times, errors, n)
        floor = Gunicorn("floor_wsgi:app", {**env, "FLOOR_BYTES": str(sizes[paths[0][0]])}, tmp,
                         "--pythonpath", str(ROOT / "bench"))
        servers.append(floor)
        plain = [requests.Session() for _ in range(args.clients)]
        load([("/", {})], plain[:2], floor.url, 3)
        ftimes, ferrors, fn = load([("/", {})], plain, floor.url, args.per_client)
        fmed = statistics.median(ftimes)
        say(f"  {'url':<22}{'bytes':>8}{'median ms':>11}{'p99 ms':>9}{'errors':>8}{'vs floor':>10}")
        for label, (times, errors, n) in figures.items():
            size = sizes[paths[0][0] if label == "/performance" else paths[1][0]]
            say(f"  {label:<22}{size:>8}{statistics.median(times):>11.1f}{pct(times, .99):>9.1f}"
                f"{errors:>5}/{n:<4}{statistics.median(times) / fmed:>7.1f}x")
        say(f"  {'bare Flask (floor)':<22}{sizes[paths[0][0]]:>8}{fmed:>11.1f}{pct(ftimes, .99):>9.1f}"
            f"{ferrors:>5}/{fn:<4}")
        perf_med = statistics.median(figures["/performance"][0])
        verdict("dashboard p50 within 3x of the bare-Flask floor", f"{perf_med / fmed:.1f}x "
                f"({perf_med:.0f} ms vs {fmed:.0f} ms)", perf_med / fmed <= 3)
        total_errors = sum(e for _, e, _ in figures.values())
        verdict("0 errors under load", f"{total_errors} of {sum(n for _, _, n in figures.values())}",
                total_errors == 0)
        hwm = {pid: status_kb(pid, "VmHWM") for pid in web.workers()}
        say("  worker peak RSS: " + ", ".join(f"pid {p} {kb / 1024:.0f} MB" for p, kb in hwm.items()))
        worst = max(hwm.values()) / 1024
        verdict("web worker RSS < 200 MB", f"{worst:.0f} MB", worst < 200)

        if "purge" in args.only:
            bench_purge(app, doomed, web, sessions, paths[0], args)
    finally:
        for s in servers:
            s.stop()
        schema.drop()


def seed_purge(rows: int) -> list[int]:
    """Disconnected accounts past retention with `rows` post_metrics rows (INSERT … SELECT)."""
    from app.extensions import db
    from app.models import TikTokConnection, Workspace

    t0 = time.perf_counter()
    ws = db.session.scalar(sa.select(Workspace))
    now = datetime.now(timezone.utc)
    per_conn_posts, days = 1_000, 100
    n_conns = max(rows // (per_conn_posts * days), 1)
    doomed = []
    for c in range(n_conns):
        conn = TikTokConnection(workspace_id=ws.id, open_id=f"gone-{c}", username=f"gone_{c}",
                                status="disconnected", disconnected_at=now - timedelta(days=31),
                                purge_after=now - timedelta(days=1), granted_scopes="video.list")
        db.session.add(conn)
        db.session.flush()
        doomed.append(conn.id)
        db.session.execute(sa.text(
            "INSERT INTO posts (connection_id, item_id, caption, create_time, views, first_seen_at) "
            "SELECT :c, 'gone-' || :c || '-' || g, 'gone', now() - g * interval '1 hour', g, now() "
            "FROM generate_series(1, :n) g"), {"c": conn.id, "n": per_conn_posts})
        db.session.execute(sa.text(
            "INSERT INTO post_metrics (post_id, day, views, likes, captured_at) "
            "SELECT p.id, current_date - d, d, d, now() FROM posts p, generate_series(1, :days) d "
            "WHERE p.connection_id = :c"), {"c": conn.id, "days": days})
        db.session.commit()
    db.session.execute(sa.text("ANALYZE"))
    db.session.commit()
    say(f"  seeded {n_conns * per_conn_posts * days:,} post_metrics rows of {n_conns} disconnected accounts "
        f"in {time.perf_counter() - t0:.0f}s")
    return doomed


def bench_purge(app, doomed: list[int], web: Gunicorn, sessions, perf_path, args) -> None:
    import jobs
    from app.extensions import db
    from app.models import PostMetric
    from jobs.runner import run_job

    say(f"\n== purge: {args.purge_rows:,} post_metrics rows, /performance p99 while it runs vs idle ==")
    jobs.load_all()
    if "purge" not in jobs.REGISTRY:
        say("  not available yet (jobs/purge.py)")
        return
    few = sessions[:4]
    idle, idle_err, _ = load([perf_path], few, web.url, 50)
    stop = threading.Event()
    busy: list = []
    loader = threading.Thread(target=lambda: busy.append(load([perf_path], few, web.url, 10_000, stop)))
    started = time.perf_counter()
    loader.start()
    try:
        opts = {"batch_size": args.purge_batch} if args.purge_batch else {}
        result = run_job(app, "purge", now=datetime.now(timezone.utc), **opts)
    finally:
        elapsed = time.perf_counter() - started
        stop.set()
        loader.join()
    times, errors, n = busy[0]
    with app.app_context():
        left = db.session.scalar(sa.select(sa.func.count()).select_from(PostMetric))
        db.session.remove()
    say(f"  {result}")
    say(f"  purge took {elapsed:.1f}s; post_metrics rows left: {left:,} (the dashboard workspace's own)")
    say(f"  /performance with 4 clients: idle median {statistics.median(idle):.0f} ms p99 {pct(idle, .99):.0f} ms; "
        f"during purge median {statistics.median(times):.0f} ms p99 {pct(times, .99):.0f} ms "
        f"({n} requests, {errors + idle_err} errors)")
    verdict(f"purge of {args.purge_rows:,} rows < 60 s", f"{elapsed:.1f}s", elapsed < 60)
    ratio = pct(times, .99) / pct(idle, .99)
    verdict("/performance p99 during purge <= 2x idle", f"{ratio:.2f}x", ratio <= 2)


# ----------------------------------------------------------------------------- main

def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes: a few minutes instead of ~10")
    ap.add_argument("--only", default="sync,reports,web,purge,dashboard",
                    help="comma list of sections: sync, reports, web, purge (needs web), dashboard")
    ap.add_argument("--connections", type=int, help="sync: connections (default 1,000; quick 200)")
    ap.add_argument("--workspaces", type=int, help="weekly-reports: workspaces (default 1,000; quick 200)")
    ap.add_argument("--purge-rows", type=int, help="purge: post_metrics rows (default 1,000,000; quick 200,000)")
    ap.add_argument("--sync-wait", type=float, help="sync: SYNC_RATE_LIMIT_WAIT_SECONDS (0 = never wait)")
    ap.add_argument("--purge-batch", type=int, help="purge: rows per batch (default: the job's own)")
    ap.add_argument("--clients", type=int, default=20, help="web: concurrent clients")
    ap.add_argument("--per-client", type=int, help="web: requests per client per URL (default 25; quick 10)")
    ap.add_argument("--web-connections", type=int, default=20, help="web: dashboard workspace connections")
    ap.add_argument("--web-posts", type=int, default=1_000, help="web: posts per connection")
    args = ap.parse_args(argv)
    q = args.quick
    args.connections = args.connections or (200 if q else 1_000)
    args.workspaces = args.workspaces or (200 if q else 1_000)
    args.purge_rows = args.purge_rows or (200_000 if q else 1_000_000)
    args.per_client = args.per_client or (10 if q else 25)
    args.only = {s.strip() for s in args.only.split(",") if s.strip()}
    if "purge" in args.only:
        args.only.add("web")

    import tempfile

    tmp = Path(tempfile.mkdtemp(prefix="lt-bench-"))
    say(f"Logic Target benchmarks · {os.cpu_count()} cores · PostgreSQL {PG_URL.rsplit('@', 1)[-1]} · logs in {tmp}")
    started = time.perf_counter()
    if "sync" in args.only:
        bench_sync(args.connections, tmp, args.sync_wait)
    if "reports" in args.only:
        bench_reports(args.workspaces, tmp)
    if "web" in args.only:
        bench_web(args, tmp)
    if "dashboard" in args.only:
        say("\n== dashboard: server time and queries per request, in-process (bench/dashboard.py) ==")
        subprocess.run([sys.executable, str(ROOT / "bench" / "dashboard.py"), "--connections", "20",
                        "--posts", "1000", "--requests", "20"], env={**os.environ, "DATABASE_URL": ""}, check=False)
    say(f"\n== summary ({time.perf_counter() - started:.0f}s) ==")
    for target, figure, passed in RESULTS:
        say(f"  {({True: 'PASS', False: 'MISS', None: 'n/a '})[passed]}  {target}: {figure}")
    say(f"  self peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()

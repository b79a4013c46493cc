"""Every benchmark, one command: figures, ratios and PASS/MISS per target.

    .venv/bin/python bench/run.py                     # full: 1,000 connections / workspaces, 1M metric rows
    .venv/bin/python bench/run.py --quick             # a few minutes less: 200 / 200 / 200k
    .venv/bin/python bench/run.py --only web,dashboard  # some sections (sync, reports, web, purge, dashboard)

Needs PostgreSQL (BENCH_DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/test);
each section works in its own fresh schema, dropped at the end. All traffic stays on
127.0.0.1: the sandbox, the SMTP server (aiosmtpd) and gunicorn run locally, and every
load loop is bounded (a number of requests per client, or until the job under test ends).

- sync: N connections with real sandbox tokens, TikTok's limits ON (app 600 QPM, 40 per
  account and endpoint); the sync job runs until every connection is synced. Time vs the
  minimum the limits allow (successful requests / 600 per minute), requests per connection.
- reports: weekly-reports for N workspaces (one admin each) into a local SMTP server: time
  and the job's peak RSS.
- web: gunicorn (gunicorn.conf.py) on PostgreSQL with a workspace of 50 accounts x 2,000
  posts x 365 days (bench/dashboard.py's seed); 20 concurrent clients on /performance and
  the htmx posts table, each twice: cache cold (every client views its own account, and a
  sync of it -- its last_synced_at moved on, which every cache key carries, and its
  dashboard panels rendered as the sync does -- precedes every request) and warm (all view one account already in both workers' caches).
  Median, p99 and errors vs a bare Flask page of the same size under the same gunicorn,
  timed in rounds alternating with the app's so that a busy machine skews no single ratio;
  peak RSS of the workers. Targets: /performance cold p50 <= 3x the floor, warm <= 1.5x.
- purge: 1M post_metrics rows of disconnected accounts: purge time, and /performance p99
  while it runs vs idle (same gunicorn), cold and warm.
- dashboard: bench/dashboard.py on the same workspace, in-process on SQLite: server time
  and SQL statements per request, cold and warm, against the same targets.
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
    from app.models import AccountSnapshot, Post, ReportSettings, TikTokConnection, Workspace
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
                # Due now whatever the weekday: delivered on today's weekday at this hour (UTC).
                db.session.add(ReportSettings(workspace_id=ws.id, delivery_weekday=now.weekday(),
                                              delivery_hour=now.hour))
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
         stop: threading.Event | None = None, before=None) -> tuple[list[float], int, int]:
    """Each session is one client doing `per_client` requests in a row (or until `stop`).
    Client i asks for url_paths[i % len] every time; `before(i)`, if given, runs before
    each of its requests, untimed (e.g. a sync of that client's account: a cold view)."""
    times: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def client(i: int, s: requests.Session) -> None:
        for k in range(per_client):
            if stop is not None and stop.is_set():
                return
            path, headers = url_paths[i % len(url_paths)]
            if before is not None:
                before(i)
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


class SyncBumper:
    """Stands for a sync of one account after it stored new figures: moves its
    last_synced_at on (every cache key carries it) and renders its dashboard panels as the
    sync does (app/services/dashboard_panels.prerender), so the next view of that account
    finds nothing in the workers' memory and reads what the sync kept."""

    def __init__(self, schema: Schema, tmp: Path):
        self.app = make_app(schema, tmp)

    def __call__(self, connection_id: int) -> None:
        from app.extensions import db
        from app.services import dashboard_panels

        with self.app.app_context():
            now = datetime.now(timezone.utc)
            db.session.execute(sa.text("UPDATE tiktok_connections SET last_synced_at = :now WHERE id = :id"),
                               {"now": now, "id": connection_id})
            db.session.commit()
            dashboard_panels.prerender(connection_id, now=now)
            db.session.commit()

    def close(self) -> None:
        from app.extensions import db

        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()


WEB_TARGETS = {("/performance", "cold"): 3.0, ("/performance", "warm"): 1.5}
WEB_ROUNDS = 5


def bench_web(args, tmp: Path) -> None:
    import dashboard

    from app.extensions import db

    say(f"\n== web: gunicorn ({os.environ.get('WEB_CONCURRENCY', '2')} workers x "
        f"{os.environ.get('THREADS', '8')} threads), {args.clients} concurrent clients, PostgreSQL, "
        f"{args.web_connections} accounts x {args.web_posts} posts x 365 days ==")
    schema = Schema("web")
    servers: list[Gunicorn] = []
    bump = SyncBumper(schema, tmp)
    try:
        env = settings_env(schema, tmp)
        app = make_app(schema, tmp)
        with app.app_context():
            t0 = time.perf_counter()
            email, ids = dashboard.seed(args.web_connections, args.web_posts, 365, "Europe/Berlin")
            db.session.execute(sa.text("ANALYZE"))
            db.session.commit()
            say(f"  seeded in {time.perf_counter() - t0:.0f}s")
            doomed = seed_purge(args.purge_rows) if "purge" in args.only else []
            db.session.remove()
            db.engine.dispose()
        web = Gunicorn("wsgi:app", env, tmp)
        servers.append(web)
        sessions = [signed_in_session(web.url, email, dashboard.PASSWORD) for _ in range(args.clients)]
        # Cold: client i views its own account (ids[i]) and a sync of it precedes every
        # request, so no request finds its panel or table in the cache. Warm: every client
        # views the middle account, whose entries the warm-up has put in both workers' caches.
        mine = [ids[i % len(ids)] for i in range(args.clients)]
        middle = ids[len(ids) // 2]
        page = "/performance?account={}&range=90"
        table = "/performance/posts?account={}&range=90&sort=views&page=3"
        hx = {"HX-Request": "true"}
        cases = {
            ("/performance", "cold"): ([(page.format(a), {}) for a in mine], lambda i: bump(mine[i])),
            ("/performance", "warm"): ([(page.format(middle), {})], None),
            ("/performance/posts", "cold"): ([(table.format(a), hx) for a in mine], lambda i: bump(mine[i])),
            ("/performance/posts", "warm"): ([(table.format(middle), hx)], None),
        }
        load([(page.format(middle), {}), (table.format(middle), hx)] * 2, sessions, web.url, 4)  # warm-up
        sizes = {url: len(sessions[0].get(web.url + paths[0][0], headers=paths[0][1]).content)
                 for (url, _), (paths, _) in cases.items()}
        floor = Gunicorn("floor_wsgi:app", {**env, "FLOOR_BYTES": str(sizes["/performance"])}, tmp,
                         "--pythonpath", str(ROOT / "bench"))
        servers.append(floor)
        plain = [requests.Session() for _ in range(args.clients)]
        load([("/", {})], plain, floor.url, 2)  # warm-up
        # Rounds, each timing the floor and every case in turn: a machine busy with something
        # else for a while slows them all alike instead of skewing one ratio.
        figures = {key: ([], 0, 0) for key in cases}
        floor_times, ferrors, fn = [], 0, 0
        per_round = max(args.per_client // WEB_ROUNDS, 1)
        for _ in range(WEB_ROUNDS):
            t, e, n = load([("/", {})], plain, floor.url, per_round)
            floor_times, ferrors, fn = floor_times + t, ferrors + e, fn + n
            for key, (paths, before) in cases.items():
                t, e, n = load(paths, sessions, web.url, per_round, before=before)
                figures[key] = (figures[key][0] + t, figures[key][1] + e, figures[key][2] + n)
        ftimes = floor_times
        fmed = statistics.median(ftimes)
        say(f"  {'url':<20}{'cache':>6}{'bytes':>8}{'median ms':>11}{'p99 ms':>9}{'errors':>10}{'vs floor':>10}")
        for (url, cache), (times, errors, n) in figures.items():
            say(f"  {url:<20}{cache:>6}{sizes[url]:>8}{statistics.median(times):>11.1f}{pct(times, .99):>9.1f}"
                f"{errors:>5}/{n:<4}{statistics.median(times) / fmed:>9.1f}x")
        say(f"  {'bare Flask (floor)':<26}{sizes['/performance']:>8}{fmed:>11.1f}{pct(ftimes, .99):>9.1f}"
            f"{ferrors:>5}/{fn:<4}")
        for (url, cache), target in WEB_TARGETS.items():
            med = statistics.median(figures[(url, cache)][0])
            verdict(f"{url} {cache} p50 <= {target:g}x the bare-Flask floor",
                    f"{med / fmed:.1f}x ({med:.0f} ms vs {fmed:.0f} ms)", med / fmed <= target)
        total_errors = sum(e for _, e, _ in figures.values())
        verdict("0 errors under load", f"{total_errors} of {sum(n for _, _, n in figures.values())}",
                total_errors == 0)
        hwm = {pid: status_kb(pid, "VmHWM") for pid in web.workers()}
        say("  worker peak RSS: " + ", ".join(f"pid {p} {kb / 1024:.0f} MB" for p, kb in hwm.items()))
        worst = max(hwm.values()) / 1024
        verdict("web worker RSS < 200 MB", f"{worst:.0f} MB", worst < 200)

        if "purge" in args.only:
            bench_purge(app, doomed, web, sessions, cases, args)
    finally:
        for s in servers:
            s.stop()
        bump.close()
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


def bench_purge(app, doomed: list[int], web: Gunicorn, sessions, cases, args) -> None:
    import jobs
    from app.extensions import db
    from app.models import PostMetric
    from jobs.runner import run_job

    say(f"\n== purge: {args.purge_rows:,} post_metrics rows, /performance p99 while it runs vs idle ==")
    jobs.load_all()
    if "purge" not in jobs.REGISTRY:
        say("  not available yet (jobs/purge.py)")
        return
    # Two clients viewing cold and two warm, at the same time: first idle, then during the purge.
    few = {"cold": sessions[:2], "warm": sessions[2:4]}

    def both(per_client: int, stop: threading.Event | None = None) -> tuple[dict, list[threading.Thread]]:
        out: dict = {}

        def loader(cache: str) -> None:
            paths, before = cases[("/performance", cache)]
            out[cache] = load(paths, few[cache], web.url, per_client, stop, before=before)

        threads = [threading.Thread(target=loader, args=(cache,)) for cache in few]
        for t in threads:
            t.start()
        return out, threads

    idle, threads = both(50)
    for t in threads:
        t.join()
    stop = threading.Event()
    busy, loaders = both(10_000, stop)
    started = time.perf_counter()
    try:
        opts = {"batch_size": args.purge_batch} if args.purge_batch else {}
        result = run_job(app, "purge", now=datetime.now(timezone.utc), **opts)
    finally:
        elapsed = time.perf_counter() - started
        stop.set()
        for t in loaders:
            t.join()
    with app.app_context():
        left = db.session.scalar(sa.select(sa.func.count()).select_from(PostMetric))
        db.session.remove()
    say(f"  {result}")
    say(f"  purge took {elapsed:.1f}s; post_metrics rows left: {left:,} (the dashboard workspace's own)")
    verdict(f"purge of {args.purge_rows:,} rows < 60 s", f"{elapsed:.1f}s", elapsed < 60)
    for cache in few:
        (itimes, ierr, _), (times, errors, n) = idle[cache], busy[cache]
        say(f"  /performance {cache}, 2 clients: idle median {statistics.median(itimes):.0f} ms "
            f"p99 {pct(itimes, .99):.0f} ms; during purge median {statistics.median(times):.0f} ms "
            f"p99 {pct(times, .99):.0f} ms ({n} requests, {errors + ierr} errors)")
        ratio = pct(times, .99) / pct(itimes, .99)
        verdict(f"/performance {cache} p99 during purge <= 2x idle", f"{ratio:.2f}x", ratio <= 2)


# ----------------------------------------------------------------------------- dashboard

def bench_dashboard(args) -> None:
    """bench/dashboard.py in-process on SQLite: server time and queries per request."""
    import dashboard

    say(f"\n== dashboard: in-process server time and queries (bench/dashboard.py), SQLite, "
        f"{args.web_connections} accounts x {args.web_posts} posts x 365 days ==")
    logging.disable(logging.INFO)  # its app logs a line per request, which would be timed too
    try:
        figures = dashboard.measure(connections=args.web_connections, posts=args.web_posts,
                                    requests=args.per_client * 2, say=lambda text: say("  " + text))
    finally:
        logging.disable(logging.NOTSET)
    dashboard.report(figures, say=lambda text: say("  " + text))
    for f in figures:
        if f.target is not None:
            verdict(f"in-process {f.url} {f.cache} median <= {f.target:g}x the bare-Flask floor",
                    f"{f.ratio:.1f}x ({f.median:.1f} ms vs {f.floor_median:.1f} ms, {f.queries} queries)", f.passed)


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
    ap.add_argument("--web-connections", type=int, default=50, help="web, dashboard: the workspace's accounts")
    ap.add_argument("--web-posts", type=int, default=2_000, help="web, dashboard: posts per account")
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
        bench_dashboard(args)
    say(f"\n== summary ({time.perf_counter() - started:.0f}s) ==")
    for target, figure, passed in RESULTS:
        say(f"  {({True: 'PASS', False: 'MISS', None: 'n/a '})[passed]}  {target}: {figure}")
    say(f"  self peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()

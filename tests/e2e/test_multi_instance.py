"""Two app instances — separate processes — on one PostgreSQL schema, against one sandbox.

Both run every job at the same time over many connections: the database claims (lease
rows, unique delivery rows) are all that keeps them from doing work twice, so the
sandbox's request counts and the SMTP server's inbox are the proof: one token refresh
and one `business/get/` per connection per run, one report email per recipient, one
purge per connection due. Then one instance is killed (SIGKILL) in the middle of a run while it holds a
claim: once the claim's lease has expired, the other instance's next run does the rest,
and nothing is lost or done twice.
"""
from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import (DeletionReceipt, JobClaim, Post, PostMetric, ReportDelivery, ReportSettings,
                        TikTokConnection)
from app.services import accounts, token_sealing
from app.tiktok import get_client
from jobs.sync import CLAIM_TTL
from tests.conftest import base_overrides, pg_url_with_schema
from tests.e2e.sandbox_server import SandboxServer

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
N_CONNECTIONS = 40
N_WORKSPACES = 4
N_PURGE = 6
REFRESH = "tt_user/oauth2/refresh_token/"
PROFILE = "business/get/"


class Instance:
    """One `tests/e2e/job_runner.py` process: send it jobs, read its results."""

    def __init__(self, name: str, overrides: dict, log_path: Path):
        env = {**os.environ, "LT_RUNNER_OVERRIDES": json.dumps(overrides), "PYTHONUNBUFFERED": "1"}
        self.name = name
        self.log_path = log_path
        self._log = open(log_path, "w")
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.e2e.job_runner"], cwd=ROOT, env=env, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log)
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        assert self._next(60) == "READY", self.log()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def _next(self, timeout: float) -> str | None:
        try:
            return self._lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"{self.name} did not answer in {timeout}s\n{self.log()}") from None

    def send(self, jobs: list[str], now: datetime, **opts) -> None:
        self.proc.stdin.write(json.dumps({"jobs": jobs, "now": now.isoformat(), "opts": opts}) + "\n")
        self.proc.stdin.flush()

    def results(self, timeout: float = 60) -> dict[str, dict]:
        """The RESULT of each job of the last command, by job name."""
        out = {}
        deadline = time.monotonic() + timeout
        while True:
            line = self._next(max(deadline - time.monotonic(), 0.1))
            assert line is not None, f"{self.name} exited\n{self.log()}"
            if line == "DONE":
                return out
            if line.startswith("RESULT "):
                r = json.loads(line[len("RESULT "):])
                assert not r["errors"], (self.name, r, self.log())
                out[r["job"]] = r["counts"]

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text()[-4000:]

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()


@pytest.fixture
def sandbox():
    threads_before = set(threading.enumerate())
    server = SandboxServer()
    # Rate limits are the bench's subject (bench/run.py); here they would only add waiting.
    server.settings.app_qpm = server.settings.per_account_qpm = 100_000
    yield server
    server.stop()
    # The sandbox thread still sleeping in the injected timeout, and the instances' pipe
    # readers, end here, not during a later test that counts threads.
    for t in set(threading.enumerate()) - threads_before:
        t.join(15)


@pytest.fixture
def instances(tmp_path, sandbox, app_factory, smtp_server):
    app = app_factory("postgresql", **sandbox.app_overrides())  # creates the tables in this run's schema
    overrides = base_overrides(tmp_path, **sandbox.app_overrides(), DATABASE_URL=pg_url_with_schema(),
                               SYNC_RETRY_BASE_SECONDS=0, **smtp_server.config)
    started: list[Instance] = []

    def start(name: str) -> Instance:
        inst = Instance(name, overrides, tmp_path / f"{name}.log")
        started.append(inst)
        return inst

    yield app, start
    for inst in started:
        inst.close()


def seed(app, sandbox, now: datetime) -> tuple[list[int], list[str], list[int]]:
    """N connections with real sandbox tokens, all due for a refresh and never synced, in
    W workspaces with two client admins each (the weekly report's recipients); and
    disconnected connections past their retention, with posts and metrics, due for purge.
    Returns (connection ids, recipients, ids due for purge)."""
    with app.app_context():
        client, keyring = get_client(app), token_sealing.get_keyring(app)
        ids, recipients, doomed = [], [], []
        for w in range(N_WORKSPACES):
            ws = accounts.get_or_create_workspace(f"Scale Client {w}")
            # Reports due at `now` whatever day it is: delivered on today's weekday at this hour (UTC).
            db.session.add(ReportSettings(workspace_id=ws.id, delivery_weekday=now.weekday(), delivery_hour=now.hour))
            admins = [accounts.create_user(f"admin{k}.ws{w}@scale.example", role="client_admin", workspace=ws,
                                           password="x" * 12)[0] for k in range(2)]
            recipients += [u.email for u in admins]
            for i in range(w, N_CONNECTIONS, N_WORKSPACES):
                username = f"scale_{i:02d}"
                tokens = sandbox.grant(client, username)
                conn = TikTokConnection(workspace_id=ws.id, owner_user_id=admins[0].id, open_id=tokens.open_id,
                                        username=username, granted_scopes=",".join(tokens.scopes))
                db.session.add(conn)
                db.session.flush()
                token_sealing.seal_tokens(conn, tokens, keyring=keyring, now=now)
                conn.access_expires_at = now + timedelta(minutes=30)  # within the 2 h margin: due
                ids.append(conn.id)
        for i in range(N_PURGE):
            conn = TikTokConnection(workspace_id=ws.id, open_id=f"gone-{i}", username=f"gone_{i}",
                                    status="disconnected", disconnected_at=now - timedelta(days=31),
                                    purge_after=now - timedelta(days=1))
            db.session.add(conn)
            db.session.flush()
            for k in range(3):
                post = Post(connection_id=conn.id, item_id=f"{i}-{k}", create_time=now - timedelta(days=k + 1))
                db.session.add(post)
                db.session.flush()
                db.session.add_all(PostMetric(post_id=post.id, day=(now - timedelta(days=d)).date(), views=d)
                                   for d in range(5))
            doomed.append(conn.id)
        db.session.commit()
        return ids, sorted(recipients), doomed


def synced_at(app, when: datetime) -> int:
    with app.app_context():
        n = db.session.scalar(sa.select(sa.func.count()).select_from(TikTokConnection)
                              .where(TikTokConnection.last_synced_at == when))
        db.session.remove()
        return n


def total(results: list[dict], job: str, key: str) -> int:
    return sum(r.get(job, {}).get(key, 0) for r in results)


def test_two_instances_share_the_work_and_survive_a_kill(instances, sandbox, smtp_server):
    app, start = instances
    now1 = datetime.now(timezone.utc).replace(microsecond=0)
    ids, recipients, doomed = seed(app, sandbox, now1)
    a, b = start("instance-a"), start("instance-b")
    sandbox.state.reset_request_counts()

    # 1. Both instances run every job at the same moment.
    for inst in (a, b):
        inst.send(["refresh-tokens", "sync", "weekly-reports", "purge"], now1)
    results = [a.results(), b.results()]

    assert sandbox.calls(REFRESH) == N_CONNECTIONS, results
    assert total(results, "refresh-tokens", "refreshed") == N_CONNECTIONS
    assert sandbox.calls(PROFILE) == N_CONNECTIONS, results
    assert total(results, "sync", "synced") == N_CONNECTIONS
    assert all(r["sync"].get("synced", 0) + r["refresh-tokens"].get("refreshed", 0) > 0 for r in results), \
        f"one instance did all the work, so this shows nothing about sharing it: {results}"
    with app.app_context():
        conns = db.session.scalars(sa.select(TikTokConnection).where(TikTokConnection.id.in_(ids))).all()
        assert {c.status for c in conns} == {"active"}
        assert all(c.last_synced_at == now1 and c.access_expires_at > now1 + timedelta(hours=2) for c in conns)
        # The stored refresh token is the newest one: the sandbox refuses any reused one and
        # would have revoked the grant, so one more refresh succeeding proves none was burnt.
        newest = token_sealing.open_token(conns[0], "refresh", keyring=token_sealing.get_keyring(app))
        db.session.remove()
    get_client(app).refresh(newest)
    # Every report recipient got exactly one email; every due connection was purged once.
    assert sorted(m["To"] for m in smtp_server.messages) == recipients
    assert total(results, "weekly-reports", "emails_sent") == len(recipients)
    assert total(results, "purge", "connections_purged") == N_PURGE
    with app.app_context():
        assert set(db.session.scalars(sa.select(ReportDelivery.status))) == {"sent"}
        assert db.session.scalar(sa.select(sa.func.count()).select_from(DeletionReceipt)) == N_PURGE
        assert db.session.scalar(sa.select(sa.func.count()).select_from(TikTokConnection)
                                 .where(TikTokConnection.id.in_(doomed))) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Post)
                                 .where(Post.connection_id.in_(doomed))) == 0
        db.session.remove()

    # 2. A new run an hour later; instance A is killed while it holds a claim mid-run.
    now2 = now1 + timedelta(hours=1)
    sandbox.state.reset_request_counts()
    a.send(["sync"], now2)
    deadline = time.monotonic() + 30
    while synced_at(app, now2) < 5:
        assert time.monotonic() < deadline, a.log()
        time.sleep(0.01)
    # The next profile call hangs in the sandbox, so A dies holding that connection's claim (A
    # is killed as soon as the call has taken the fault; 2 s is ample, and the fixture's
    # teardown waits for the sandbox thread that sleeps it out).
    sandbox.state.inject_fault(PROFILE, "timeout", delay=2)
    while sandbox.state.faults():
        assert time.monotonic() < deadline, a.log()
        time.sleep(0.01)
    a.kill()
    done_by_a = synced_at(app, now2)
    assert 5 <= done_by_a < N_CONNECTIONS
    with app.app_context():
        held = db.session.scalars(sa.select(JobClaim).where(JobClaim.job == "sync")).all()
        assert len(held) == 1 and held[0].expires_at == now2 + CLAIM_TTL  # the dead instance's claim
        db.session.remove()

    # Before the claim expires B leaves that connection alone; after it, B takes it over.
    b.send(["sync"], now2 + timedelta(minutes=1))
    early = b.results()["sync"]
    assert early.get("claimed_elsewhere") == 1, early
    now3 = now2 + CLAIM_TTL + timedelta(minutes=1)
    b.send(["sync"], now3)
    late = b.results()["sync"]
    assert late.get("synced") == 1, late

    with app.app_context():
        conns = db.session.scalars(sa.select(TikTokConnection).where(TikTokConnection.id.in_(ids))).all()
        assert {c.status for c in conns} == {"active"}
        assert all(c.last_synced_at in (now2, now2 + timedelta(minutes=1), now3) for c in conns)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(JobClaim)
                                 .where(JobClaim.job == "sync")) == 0
        db.session.remove()
    assert done_by_a + early.get("synced", 0) + late["synced"] == N_CONNECTIONS
    # Every connection's profile was fetched once in this run, plus the one call A died in.
    assert sandbox.calls(PROFILE) == N_CONNECTIONS + 1

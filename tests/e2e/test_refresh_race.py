"""Exactly one refresh under contention, on PostgreSQL, against the strict sandbox
(which refuses a reused refresh token and revokes the grant when it sees one)."""
import threading
from datetime import datetime, timezone

import pytest

from app.extensions import db
from app.models import TikTokConnection
from app.services import accounts, token_sealing
from app.tiktok import get_client
from app.workflows import token_vault
from tests.e2e.sandbox_server import SandboxServer

pytestmark = pytest.mark.e2e


@pytest.fixture
def sandbox():
    server = SandboxServer()
    yield server
    server.stop()


def test_eight_threads_on_two_instances_refresh_once(app_factory, sandbox):
    first = app_factory("postgresql", **sandbox.app_overrides())
    second = app_factory("postgresql", **sandbox.app_overrides())  # another instance, same database
    with first.app_context():
        ws = accounts.get_or_create_workspace("Brass Studio")
        user, _ = accounts.create_user("maya@brass.studio", role="creator", workspace=ws, password="x" * 12)
        tokens = sandbox.grant(get_client(first))
        conn = TikTokConnection(workspace_id=ws.id, owner_user_id=user.id, open_id=tokens.open_id,
                                username="brassorbit3")
        db.session.add(conn)
        db.session.flush()
        token_sealing.seal_tokens(conn, tokens, keyring=token_sealing.get_keyring(first), now=datetime.now(timezone.utc))
        conn.access_expires_at = datetime.now(timezone.utc)  # due now
        db.session.commit()
        conn_id = conn.id
    before = sandbox.calls("tt_user/oauth2/refresh_token/")
    barrier = threading.Barrier(8)
    outcomes, errors = [], []

    def worker(app):
        with app.app_context():
            barrier.wait()
            try:
                outcomes.append(token_vault.refresh(
                    conn_id, client=get_client(app), keyring=token_sealing.get_keyring(app),
                    now=datetime.now(timezone.utc)))
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(first if i % 2 else second,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    assert sandbox.calls("tt_user/oauth2/refresh_token/") - before == 1
    assert outcomes.count(token_vault.Outcome.REFRESHED) == 1
    assert set(outcomes) <= {token_vault.Outcome.REFRESHED, token_vault.Outcome.BUSY,
                             token_vault.Outcome.NOT_DUE}
    with first.app_context():
        conn = db.session.get(TikTokConnection, conn_id)
        assert conn.status == "active"
        stored = token_sealing.open_token(conn, "refresh", keyring=token_sealing.get_keyring(first))
        # the stored refresh token is the newest: the sandbox (which refuses used ones) accepts it
        newer = get_client(first).refresh(stored)
        assert newer.refresh_token != stored

"""`flask keys rotate`: every sealed value re-wrapped under the primary key in
compare-and-swap batches, resumable, and never overwriting a concurrent refresh."""
import base64
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from app.crypto import DecryptError, blob_kid
from app.extensions import db
from app.models import AdsAccount, OAuthTransaction, TikTokConnection
from app.services import accounts, oauth_flows, token_sealing
from app.tiktok import get_client
from app.tiktok.types import TokenSet
from tests.factories import make_connection

KEY_A = "a:" + base64.b64encode(b"\xaa" * 32).decode()
KEY_B = "b:" + base64.b64encode(b"\xbb" * 32).decode()
N_CONNECTIONS = 5
BATCH = 2


def _now():
    return datetime.now(timezone.utc)


def _tokens(i: int) -> TokenSet:
    return TokenSet(access_token=f"act.ROTATE-{i}", refresh_token=f"rft.ROTATE-{i}", open_id=f"open-{i}",
                    scopes=("user.info.basic",), expires_in=86400, refresh_expires_in=31536000)


@pytest.fixture
def sealed_under_a(app_factory, db_backend):
    """Connections, an ads account and pending sign-ins (accounts + ads choice), all under key A.
    Returns a function that builds another app on the same database with other TOKEN_KEYS."""
    app_a = app_factory(db_backend, TOKEN_KEYS=KEY_A)
    with app_a.app_context():
        ring = token_sealing.get_keyring(app_a)
        ws = accounts.get_or_create_workspace("Brass Studio")
        user = accounts.create_user("admin@example.com", role="client_admin", workspace=ws, password="pw-123456789")[0]
        for i in range(N_CONNECTIONS):
            conn = make_connection(ws, user, open_id=f"open-{i}")
            token_sealing.seal_tokens(conn, _tokens(i), keyring=ring, now=_now())
        ads = AdsAccount(workspace_id=ws.id, advertiser_id="7001", name="Brass Ads", currency="EUR")
        db.session.add(ads)
        db.session.flush()
        token_sealing.seal_ads_token(ads, "ADS-TOKEN-ROTATE", keyring=ring)
        states = {
            "accounts": (oauth_flows.PROVIDER_ACCOUNTS, _begin(app_a, user, ws, ring)),
            "choice": (oauth_flows.PROVIDER_ADS_CHOICE, oauth_flows.store_transaction(
                user.id, ws.id, provider=oauth_flows.PROVIDER_ADS_CHOICE, session_ref="ref",
                secret='{"token": "ADS-PENDING", "advertiser_ids": ["7001", "7002"]}', keyring=ring, now=_now())),
        }
        db.session.commit()
    return lambda keys: app_factory(db_backend, TOKEN_KEYS=keys), states


def _begin(app, user, ws, ring):
    from urllib.parse import parse_qs, urlsplit

    url = oauth_flows.begin_connect(user, ws, session_ref="ref", client=get_client(app), keyring=ring, now=_now())
    return parse_qs(urlsplit(url).query)["state"][0]


def _all_blobs():
    blobs = []
    for conn in db.session.scalars(sa.select(TikTokConnection)):
        blobs += [conn.access_token_sealed, conn.refresh_token_sealed]
    blobs += list(db.session.scalars(sa.select(AdsAccount.access_token_sealed)))
    blobs += [b for b in db.session.scalars(sa.select(OAuthTransaction.verifier_sealed)) if b is not None]
    return blobs


def _kids():
    return sorted(blob_kid(b) for b in _all_blobs())


def _assert_everything_opens(app, states):
    ring = token_sealing.get_keyring(app)
    conns = db.session.scalars(sa.select(TikTokConnection).order_by(TikTokConnection.id)).all()
    for i, conn in enumerate(conns):
        assert token_sealing.open_token(conn, "access", keyring=ring) == f"act.ROTATE-{i}"
        assert token_sealing.open_token(conn, "refresh", keyring=ring) == f"rft.ROTATE-{i}"
    ads = db.session.scalar(sa.select(AdsAccount))
    assert token_sealing.open_ads_token(ads, keyring=ring) == "ADS-TOKEN-ROTATE"
    for provider, state in states.values():
        pending = oauth_flows.take_transaction(state, provider=provider)
        assert oauth_flows.open_pending(pending, keyring=ring)
    db.session.rollback()  # leave the transactions in place


def _rotate(app, *args):
    return app.test_cli_runner().invoke(args=["keys", "rotate", "--batch-size", str(BATCH), *args])


def test_rotate_rewraps_everything_so_key_a_can_be_retired(sealed_under_a):
    make_app, states = sealed_under_a
    app_b = make_app(f"{KEY_B},{KEY_A}")
    result = _rotate(app_b)
    assert result.exit_code == 0, result.output
    assert "TikTok access tokens: 2/5" in result.output and "TikTok access tokens: 5/5" in result.output
    assert "Pending sign-ins: 2/2" in result.output
    total = 2 * N_CONNECTIONS + 1 + 2
    assert f"Done: rewrapped {total}, already current 0, changed meanwhile 0, could not open 0." in result.output

    only_b = make_app(KEY_B)  # key A retired
    with only_b.app_context():
        assert _kids() == ["b"] * total
        _assert_everything_opens(only_b, states)

    again = _rotate(app_b)  # idempotent: nothing left to do, nothing rewritten
    assert again.exit_code == 0
    assert f"Done: rewrapped 0, already current {total}, changed meanwhile 0" in again.output


def test_without_rotation_retiring_key_a_breaks_tokens(sealed_under_a):
    make_app, _ = sealed_under_a
    only_b = make_app(KEY_B)
    with only_b.app_context():
        conn = db.session.scalar(sa.select(TikTokConnection))
        with pytest.raises(DecryptError):
            token_sealing.open_token(conn, "access", keyring=token_sealing.get_keyring(only_b))


def test_interrupted_run_keeps_finished_batches_and_a_rerun_completes(sealed_under_a, monkeypatch):
    make_app, states = sealed_under_a
    app_b = make_app(f"{KEY_B},{KEY_A}")
    real_rewrap, calls = token_sealing.rewrap, []

    def dies_after_first_batch(blob, **kw):
        calls.append(1)
        if len(calls) > BATCH:
            raise RuntimeError("killed")
        return real_rewrap(blob, **kw)

    monkeypatch.setattr(token_sealing, "rewrap", dies_after_first_batch)
    crashed = _rotate(app_b)
    assert isinstance(crashed.exception, RuntimeError)
    with app_b.app_context():
        assert _kids().count("b") == BATCH  # the first batch was committed, nothing of the second
        _assert_everything_opens(app_b, states)

    monkeypatch.setattr(token_sealing, "rewrap", real_rewrap)
    result = _rotate(app_b)
    assert result.exit_code == 0, result.output
    assert f"already current {BATCH}," in result.output
    only_b = make_app(KEY_B)
    with only_b.app_context():
        assert set(_kids()) == {"b"}
        _assert_everything_opens(only_b, states)


def test_token_refreshed_between_read_and_write_is_not_overwritten(sealed_under_a, monkeypatch):
    make_app, _ = sealed_under_a
    app_b = make_app(f"{KEY_B},{KEY_A}")
    real_rewrap = token_sealing.rewrap
    with app_b.app_context():
        target = db.session.scalars(sa.select(TikTokConnection).order_by(TikTokConnection.id)).first()
        target_id, target_aad = target.id, token_sealing.token_aad(target.workspace_id, target.open_id, "access")

    def refresh_lands_meanwhile(blob, *, aad, keyring):
        if aad == target_aad:  # the refresh job commits a new token on its own connection, right now
            fresh = token_sealing.seal("act.REFRESHED", aad=aad, keyring=keyring)
            with db.engine.begin() as other:
                other.execute(sa.update(TikTokConnection).where(TikTokConnection.id == target_id)
                              .values(access_token_sealed=fresh))
        return real_rewrap(blob, aad=aad, keyring=keyring)

    monkeypatch.setattr(token_sealing, "rewrap", refresh_lands_meanwhile)
    result = _rotate(app_b)
    assert result.exit_code == 0, result.output
    assert "changed meanwhile 1," in result.output
    only_b = make_app(KEY_B)
    with only_b.app_context():
        conn = db.session.get(TikTokConnection, target_id)
        assert token_sealing.open_token(conn, "access", keyring=token_sealing.get_keyring(only_b)) == "act.REFRESHED"


def test_ciphertext_moved_to_another_row_fails_to_open_after_rotation(sealed_under_a):
    make_app, _ = sealed_under_a
    app_b = make_app(f"{KEY_B},{KEY_A}")
    assert _rotate(app_b).exit_code == 0
    with app_b.app_context():
        ring = token_sealing.get_keyring(app_b)
        a, b = db.session.scalars(sa.select(TikTokConnection).order_by(TikTokConnection.id).limit(2)).all()
        b.access_token_sealed = a.access_token_sealed
        with pytest.raises(DecryptError):
            token_sealing.open_token(b, "access", keyring=ring)
        ads = db.session.scalar(sa.select(AdsAccount))
        ads.access_token_sealed = a.refresh_token_sealed
        with pytest.raises(DecryptError):
            token_sealing.open_ads_token(ads, keyring=ring)
        db.session.rollback()


def test_a_value_that_does_not_open_is_reported_and_left_alone(sealed_under_a):
    make_app, _ = sealed_under_a
    app_b = make_app(f"{KEY_B},{KEY_A}")
    with app_b.app_context():
        a, b = db.session.scalars(sa.select(TikTokConnection).order_by(TikTokConnection.id).limit(2)).all()
        b.refresh_token_sealed = moved = a.refresh_token_sealed  # moved: its aad no longer matches
        b_id = b.id
        db.session.commit()
    result = _rotate(app_b)
    assert result.exit_code == 1
    assert "could not open 1." in result.output and "1 value(s) could not be opened" in result.output
    with app_b.app_context():
        assert db.session.get(TikTokConnection, b_id).refresh_token_sealed == moved


def test_key_service_down_stops_the_run_with_a_clear_message(sealed_under_a, monkeypatch):
    from app.crypto import KeyUnavailable

    make_app, _ = sealed_under_a
    app_b = make_app(f"{KEY_B},{KEY_A}")

    def unavailable(blob, **kw):
        raise KeyUnavailable("ThrottlingException")

    monkeypatch.setattr(token_sealing, "rewrap", unavailable)
    result = _rotate(app_b)
    assert result.exit_code == 1
    assert "token key service unavailable (ThrottlingException)" in result.output
    assert "run again to continue" in result.output

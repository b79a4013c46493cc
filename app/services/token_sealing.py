"""Sealing TikTok tokens (and the secrets of pending sign-ins) at rest.

This is the only module that seals or opens tokens (two-factor secrets are sealed by
services/two_factor.py, with the same keyring). Ciphertexts are bound to their row and
column through associated data, so a value copied to another connection or column
does not decrypt. The low-level half of the token vault (app/workflows/token_vault.py):
it seals, opens and wipes; deciding when to refresh, and committing, is the vault's.

`sealed_columns()` lists every sealed column with its associated data, one
`SealedColumn` each, for `flask keys rotate` (app/workflows/key_rotation.py): a step
reads a batch, re-seals a value under the primary key, or swaps it in only if the row
still holds what was read. Nothing here commits.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable

import sqlalchemy as sa
from flask import Flask

from app.crypto import DecryptError, blob_kid, keyring_from_config, open_sealed, rewrap, seal
from app.extensions import db
from app.models import AdsAccount, OAuthTransaction, TikTokConnection, User
from app.services.two_factor import secret_aad as _two_factor_secret_aad
from app.tiktok.types import TokenSet

log = logging.getLogger("app.token_sealing")

ACCESS = "access"
REFRESH = "refresh"


def get_keyring(app: Flask):
    """The keyring that seals tokens and two-factor secrets (built once per app from config)."""
    ring = app.extensions.get("keyring")
    if ring is None:
        ring = app.extensions["keyring"] = keyring_from_config(app.config)
    return ring


# ------------------------------------------------------------------ TikTok account tokens


def token_aad(workspace_id: int, open_id: str, column: str) -> bytes:
    return f"tiktok-token:{workspace_id}:{open_id}:{column}".encode()


def seal_tokens(conn: TikTokConnection, tokens: TokenSet, *, keyring, now: datetime) -> None:
    """Store a token pair on `conn` (both columns in the same unit of work).

    Never writes an empty token: a response without a refresh token keeps the old one."""
    if not tokens.access_token or not tokens.refresh_token:
        raise ValueError("refusing to store an empty token")
    conn.access_token_sealed = seal(tokens.access_token, aad=token_aad(conn.workspace_id, conn.open_id, ACCESS),
                                    keyring=keyring)
    conn.refresh_token_sealed = seal(tokens.refresh_token,
                                     aad=token_aad(conn.workspace_id, conn.open_id, REFRESH), keyring=keyring)
    conn.access_expires_at = now + timedelta(seconds=tokens.expires_in)
    if tokens.refresh_expires_in is not None:
        conn.refresh_expires_at = now + timedelta(seconds=tokens.refresh_expires_in)
    conn.token_refreshed_at = now


def open_token(conn: TikTokConnection, column: str, *, keyring) -> str:
    """The plaintext token of `column` ("access" or "refresh"). Raises CryptoError if
    the value was tampered with or moved from another row, LookupError if there is none."""
    blob = conn.access_token_sealed if column == ACCESS else conn.refresh_token_sealed
    if blob is None:
        raise LookupError(f"connection {conn.id} has no {column} token")
    return open_sealed(blob, aad=token_aad(conn.workspace_id, conn.open_id, column), keyring=keyring)


def wipe_tokens(conn: TikTokConnection) -> None:
    """Forget both tokens of `conn` (and when the access token would have expired)."""
    conn.access_token_sealed = None
    conn.refresh_token_sealed = None
    conn.access_expires_at = None


# ------------------------------------------------------------------ TikTok Ads tokens


def _ads_token_aad(workspace_id: int, advertiser_id: str) -> bytes:
    return f"tiktok-ads-token:{workspace_id}:{advertiser_id}:access".encode()


def seal_ads_token(account: AdsAccount, token: str, *, keyring) -> None:
    """Store an advertiser's long-term token on `account`, bound to its workspace and advertiser."""
    if not token:
        raise ValueError("refusing to store an empty token")
    account.access_token_sealed = seal(token, aad=_ads_token_aad(account.workspace_id, account.advertiser_id),
                                       keyring=keyring)


def open_ads_token(account: AdsAccount, *, keyring) -> str:
    """The advertiser's plaintext token. Raises CryptoError if tampered with or moved."""
    if account.access_token_sealed is None:
        raise LookupError(f"ads account {account.id} has no token")
    return open_sealed(account.access_token_sealed,
                       aad=_ads_token_aad(account.workspace_id, account.advertiser_id), keyring=keyring)


# ------------------------------------------------------------------ pending sign-ins


def _pending_aad(provider: str, workspace_id: int | None, state_hash: str) -> bytes:
    return f"oauth-pending:{provider}:{workspace_id}:{state_hash}".encode()


def seal_pending(secret: str, *, provider: str, workspace_id: int | None, state_hash: str, keyring) -> bytes:
    """Seal what a pending sign-in carries (a PKCE verifier, or an ads token awaiting a choice)."""
    return seal(secret, aad=_pending_aad(provider, workspace_id, state_hash), keyring=keyring)


def open_pending(blob: bytes, *, provider: str, workspace_id: int | None, state_hash: str, keyring) -> str:
    return open_sealed(blob, aad=_pending_aad(provider, workspace_id, state_hash), keyring=keyring)


# ------------------------------------------------------------------ key rotation steps


@dataclass(frozen=True)
class SealedColumn:
    """One column holding sealed values, and how to rebuild each value's associated data."""

    label: str
    model: Any
    column: str
    aad_columns: tuple[str, ...]
    aad_for: Callable[[Any], bytes]

    def count(self) -> int:
        col = getattr(self.model, self.column)
        return db.session.scalar(sa.select(sa.func.count()).select_from(self.model).where(col.is_not(None))) or 0

    def batch(self, *, after_id: int, limit: int) -> list:
        """Up to `limit` rows (id, blob, the aad columns) after `after_id`, in id order."""
        col = getattr(self.model, self.column)
        return db.session.execute(
            sa.select(self.model.id, col.label("blob"), *(getattr(self.model, c) for c in self.aad_columns))
            .where(self.model.id > after_id, col.is_not(None)).order_by(self.model.id).limit(limit)
        ).all()

    def reseal(self, row, *, keyring) -> bytes | str:
        """The row's value re-sealed under the primary key, or the outcome when there is
        nothing to write: "current" (already under it) or "failed" (does not open; logged)."""
        old = bytes(row.blob)
        try:
            if blob_kid(old) == keyring.primary_kid:
                return "current"
            new = rewrap(old, aad=self.aad_for(row), keyring=keyring)
        except DecryptError as e:
            log.warning("keys rotate: %s row %s could not be opened (%s)", self.model.__tablename__, row.id,
                        e.reason)
            return "failed"
        return "current" if new == old else new

    def swap(self, row, new: bytes) -> str:
        """Write `new` only if the row still holds what was read ("rewrapped"), else
        "changed": a token refreshed meanwhile is never replaced by the stale value."""
        result = db.session.execute(
            sa.update(self.model).where(self.model.id == row.id, getattr(self.model, self.column) == bytes(row.blob))
            .values({self.column: new}).execution_options(synchronize_session=False)
        )
        return "rewrapped" if result.rowcount == 1 else "changed"


def sealed_columns() -> tuple[SealedColumn, ...]:
    """Every column holding a sealed value."""
    return (
        SealedColumn("TikTok access tokens", TikTokConnection, "access_token_sealed", ("workspace_id", "open_id"),
                     lambda r: token_aad(r.workspace_id, r.open_id, ACCESS)),
        SealedColumn("TikTok refresh tokens", TikTokConnection, "refresh_token_sealed", ("workspace_id", "open_id"),
                     lambda r: token_aad(r.workspace_id, r.open_id, REFRESH)),
        SealedColumn("Ads account tokens", AdsAccount, "access_token_sealed", ("workspace_id", "advertiser_id"),
                     lambda r: _ads_token_aad(r.workspace_id, r.advertiser_id)),
        SealedColumn("Pending sign-ins", OAuthTransaction, "verifier_sealed", ("provider", "workspace_id", "state_hash"),
                     lambda r: _pending_aad(r.provider, r.workspace_id, r.state_hash)),
        SealedColumn("Two-factor secrets", User, "totp_secret_sealed", (), _two_factor_secret_aad),
    )

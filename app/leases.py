"""Leases and row claims: how several threads and instances keep from doing one piece
of work twice, and how a dead instance's work is picked up again.

- `acquire_lease` / `release_lease`: a lease row per (job, key) with an owner and an
  expiry, taken with a conditional UPDATE (an expired lease is taken over) or a unique
  INSERT. Portable: it works the same on SQLite and PostgreSQL, across threads and
  processes.
- `lock_rows(stmt)`: on PostgreSQL, `FOR UPDATE SKIP LOCKED`, so each instance picks
  rows nobody else holds. SQLite compiles it to a plain SELECT; there one process uses
  the database file and leases keep its threads apart.

A lease must be visible to every other instance the moment it is taken, so each take
and release is its own short transaction on its own database connection, never the
caller's session: taking or releasing a lease neither commits nor rolls back the
caller's unit of work, and a request or job item can hold a lease across its own
commits. This module lives outside app/services because it commits (on that
connection of its own) and every layer uses it: jobs, workflows, "Refresh now" and
"Disconnect" in web requests, and a few services. Take and release leases with no
write of your own pending: on SQLite a second writer waits for the first (up to the
busy timeout).
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
import os
import socket
import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError

from app.extensions import db
from app.models import JobClaim

log = logging.getLogger("app.leases")

INSTANCE_ID = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
# A connection's token lease: held while its tokens are refreshed (one refresh per
# connection across instances: TikTok refuses a refresh token used twice) and while it
# is being disconnected (so no rotated token is written back onto a wiped row).
TOKEN_LEASE = "refresh-token"

_claims = JobClaim.__table__


def lock_rows(stmt: sa.Select) -> sa.Select:
    if db.engine.dialect.name == "postgresql":
        return stmt.with_for_update(skip_locked=True)
    return stmt


def acquire_lease(job: str, key: str, *, now: datetime, ttl: timedelta, owner: str | None = None) -> str | None:
    """Take the lease on (job, key) for `ttl`; returns the owner token, or None if
    someone else holds a live lease. Committed at once on a connection of its own."""
    owner = owner or f"{INSTANCE_ID}:{uuid.uuid4().hex[:8]}"
    expires = now + ttl
    try:
        with db.engine.begin() as conn:
            taken = conn.execute(
                sa.update(_claims)
                .where(_claims.c.job == job, _claims.c.key == key, _claims.c.expires_at <= now)
                .values(owner=owner, claimed_at=now, expires_at=expires)
            ).rowcount
            if not taken:
                conn.execute(sa.insert(_claims).values(job=job, key=key, owner=owner, claimed_at=now,
                                                       expires_at=expires))
    except IntegrityError:  # a live lease: someone else holds it
        return None
    return owner


def release_lease(job: str, key: str, owner: str) -> None:
    """Release only if we still own it (a lease that expired and moved on is not ours).
    A release that fails is logged, not raised: the lease simply runs to its expiry."""
    try:
        with db.engine.begin() as conn:
            conn.execute(sa.delete(_claims).where(_claims.c.job == job, _claims.c.key == key,
                                                  _claims.c.owner == owner))
    except DBAPIError as e:
        log.warning("lease not released job=%s key=%s (%s); it ends at its expiry", job, key, type(e).__name__)


@contextmanager
def leased(job: str, key: str, *, now: datetime, ttl: timedelta) -> Iterator[str | None]:
    """`acquire_lease` for a block: yields the owner token (None when someone else holds a
    live lease, and then nothing is taken) and releases it when the block ends, however."""
    owner = acquire_lease(job, key, now=now, ttl=ttl)
    try:
        yield owner
    finally:
        if owner is not None:
            release_lease(job, key, owner)


def lease_expires_at(job: str, key: str) -> datetime | None:
    """When the lease on (job, key) runs out, or None if there is none."""
    with db.engine.connect() as conn:
        return conn.scalar(sa.select(_claims.c.expires_at).where(_claims.c.job == job, _claims.c.key == key))

"""Claiming work in the database, so several threads or instances never do one piece
of work twice and a dead instance's work is picked up again.

- `lock_rows(stmt)`: on PostgreSQL, `FOR UPDATE SKIP LOCKED` (each instance takes
  rows nobody else holds). SQLite compiles that to a plain SELECT, so there we rely on
  leases (one process per SQLite file, per DESIGN).
- `acquire_lease` / `release_lease`: a portable lease row per (job, key) with an
  owner and an expiry, taken with a conditional UPDATE or a unique INSERT; a lease
  left by a killed instance expires and is taken over.
"""
from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import JobClaim

INSTANCE_ID = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def lock_rows(stmt: sa.Select) -> sa.Select:
    if db.engine.dialect.name == "postgresql":
        return stmt.with_for_update(skip_locked=True)
    return stmt


def acquire_lease(job: str, key: str, *, now: datetime, ttl: timedelta, owner: str | None = None) -> str | None:
    """Take the lease on (job, key) for `ttl`; returns the owner token, or None if
    someone else holds a live lease. Commits (a lease must be visible to others at once)."""
    owner = owner or f"{INSTANCE_ID}:{uuid.uuid4().hex[:8]}"
    expires = now + ttl
    taken = db.session.execute(
        sa.update(JobClaim)
        .where(JobClaim.job == job, JobClaim.key == key, JobClaim.expires_at <= now)
        .values(owner=owner, claimed_at=now, expires_at=expires)
    ).rowcount
    if taken:
        db.session.commit()
        return owner
    try:
        db.session.add(JobClaim(job=job, key=key, owner=owner, claimed_at=now, expires_at=expires))
        db.session.commit()
        return owner
    except IntegrityError:
        db.session.rollback()
        return None


def release_lease(job: str, key: str, owner: str) -> None:
    """Release only if we still own it (a lease that expired and moved on is not ours)."""
    db.session.execute(sa.delete(JobClaim).where(JobClaim.job == job, JobClaim.key == key, JobClaim.owner == owner))
    db.session.commit()

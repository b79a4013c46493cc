"""Public data-deletion requests (`/data-deletion`), for people who no longer have access
to the TikTok account that was connected.

received → verified → completed:
- `create_request` stores the normalised handle, the email, a random reference (the
  status page's URL) and the SHA-256 of a random verification token that expires in
  24 h. It does not look at connections at all, so the answer is the same whether
  or not we hold anything for that handle.
- `verify` (the emailed link) marks it verified, once; an expired link changes nothing.
- the nightly purge (`jobs/purge.py`) schedules every connection whose username is the
  handle (any workspace, case-insensitive), deletes them, then `complete`s the
  request and emails the requester. Nothing is deleted before verification.
- once the requester has been told, the email is erased and the handle replaced by
  its hash: what remains is the reference, a hash of the identifier and timestamps.
"""
from __future__ import annotations

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_mail import Message

from app.extensions import db
from app.models import DeletionRequest, TikTokConnection
from app.models.deletion import REQUEST_COMPLETED, REQUEST_RECEIVED, REQUEST_VERIFIED
from app.services import audit, mail

log = logging.getLogger("app.deletion_requests")

VERIFY_TTL = timedelta(hours=24)
UNVERIFIED_KEPT = timedelta(days=7)  # then an unconfirmed request (handle + email) is forgotten
MAX_HANDLE = 24  # TikTok usernames: letters, digits, "_" and ".", at most 24 characters
MAX_EMAIL = 254
HANDLE_RE = re.compile(r"^[a-z0-9._]{2,24}$")
EMAIL_RE = re.compile(r"^[^@\s<>\"',;]{1,64}@[A-Za-z0-9.-]{1,188}\.[A-Za-z]{2,63}$")


class InvalidRequest(Exception):
    """Form input we refuse; `errors` maps a field to a message a person can act on."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


class VerifyError(Exception):
    def __init__(self, kind: str):  # "unknown" | "expired"
        super().__init__(kind)
        self.kind = kind


@dataclass(frozen=True)
class Filed:
    request: DeletionRequest
    token: str  # goes only into the email, never stored


def normalise_handle(raw: str) -> str:
    return raw.strip().lstrip("@").strip().lower()


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def validate(handle: str | None, email: str | None) -> tuple[str, str]:
    handle_raw, email_raw = handle or "", email or ""
    errors: dict[str, str] = {}
    h = normalise_handle(handle_raw[:100]) if len(handle_raw) <= 100 else ""
    if not h:
        errors["handle"] = "Enter the TikTok handle, for example @brassorbit3."
    elif not HANDLE_RE.match(h):
        errors["handle"] = (f"A TikTok handle has 2 to {MAX_HANDLE} letters, digits, underscores or periods, "
                            "for example @brassorbit3.")
    e = email_raw.strip()
    if not e:
        errors["email"] = "Enter the email address we should send the confirmation link to."
    elif len(e) > MAX_EMAIL or any(c in e for c in "\r\n") or not EMAIL_RE.match(e):
        errors["email"] = "Enter a single valid email address, like name@example.com."
    if errors:
        raise InvalidRequest(errors)
    return h, e


def create_request(handle: str, email: str, *, now: datetime) -> Filed:
    token = secrets.token_urlsafe(32)
    req = DeletionRequest(reference=secrets.token_hex(12), handle=handle, email=email, status=REQUEST_RECEIVED,
                          verify_token_hash=_hash(token), verify_expires_at=now + VERIFY_TTL, created_at=now)
    db.session.add(req)
    db.session.flush()
    audit.record("deletion_request.received", reference=req.reference)
    return Filed(req, token)


def verification_message(filed: Filed, *, base_url: str) -> Message:
    req = filed.request
    return mail.compose("Confirm your data-deletion request", req.email, template="deletion_verify",
                        verify_url=f"{base_url}/data-deletion/verify/{filed.token}",
                        status_url=f"{base_url}/data-deletion/{req.reference}", reference=req.reference,
                        hours=int(VERIFY_TTL.total_seconds() // 3600))


def by_reference(reference: str) -> DeletionRequest | None:
    if not reference or len(reference) > 32 or not reference.isalnum():
        return None
    return db.session.scalar(sa.select(DeletionRequest).where(DeletionRequest.reference == reference))


def find_by_token(token: str, *, now: datetime) -> DeletionRequest:
    """The request a confirmation link names, without changing it (a GET must not:
    mail scanners open links). Raises VerifyError for unknown or expired links."""
    if not token or len(token) > 100:
        raise VerifyError("unknown")
    req = db.session.scalar(sa.select(DeletionRequest).where(DeletionRequest.verify_token_hash == _hash(token)))
    if req is None:
        raise VerifyError("unknown")
    if req.status == REQUEST_RECEIVED and (req.verify_expires_at is None or req.verify_expires_at <= now):
        raise VerifyError("expired")
    return req


def verify(token: str, *, now: datetime) -> DeletionRequest:
    """Mark the request verified (once). A second confirmation is harmless."""
    req = find_by_token(token, now=now)
    if req.status != REQUEST_RECEIVED:
        return req
    req.status = REQUEST_VERIFIED
    req.verified_at = now
    audit.record("deletion_request.verified", reference=req.reference)
    return req


# ------------------------------------------------------------------ used by the purge job


def verified_requests(limit: int) -> list[DeletionRequest]:
    return list(db.session.scalars(
        sa.select(DeletionRequest).where(DeletionRequest.status == REQUEST_VERIFIED)
        .order_by(DeletionRequest.verified_at, DeletionRequest.id).limit(limit)
    ))


def matching_connections(handle: str) -> list[TikTokConnection]:
    """Every connection, in every workspace, whose username is `handle` (case-insensitive)."""
    return list(db.session.scalars(
        sa.select(TikTokConnection).where(sa.func.lower(TikTokConnection.username) == normalise_handle(handle))
        .order_by(TikTokConnection.id)
    ))


def complete(req: DeletionRequest, *, now: datetime) -> None:
    req.status = REQUEST_COMPLETED
    req.completed_at = now
    audit.record("deletion_request.completed", reference=req.reference)


def completion_message(req: DeletionRequest, *, base_url: str) -> Message:
    return mail.compose("Your data-deletion request is complete", req.email, template="deletion_completed",
                        reference=req.reference, status_url=f"{base_url}/data-deletion/{req.reference}",
                        completed_at=req.completed_at)


def awaiting_notice(limit: int) -> list[DeletionRequest]:
    """Completed requests whose requester has not been told yet (the email is still there)."""
    return list(db.session.scalars(
        sa.select(DeletionRequest).where(DeletionRequest.status == REQUEST_COMPLETED, DeletionRequest.email != "")
        .order_by(DeletionRequest.id).limit(limit)
    ))


def forget_identity(req: DeletionRequest) -> None:
    """After the requester was told: keep only the reference, a hash of the handle and times."""
    req.email = ""
    if not re.fullmatch(r"[0-9a-f]{64}", req.handle):
        req.handle = _hash(req.handle)
    req.verify_token_hash = None


def forget_unverified(*, now: datetime) -> int:
    """Requests never confirmed within UNVERIFIED_KEPT: their handle and email go."""
    return db.session.execute(sa.delete(DeletionRequest).where(
        DeletionRequest.status == REQUEST_RECEIVED, DeletionRequest.created_at < now - UNVERIFIED_KEPT
    )).rowcount or 0

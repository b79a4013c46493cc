"""Public data-deletion requests (`/data-deletion`), for people who no longer have access
to the TikTok account that was connected.

Proving control of a mailbox is not proving ownership of a TikTok account, so a
confirmed request deletes nothing by itself:

    received ──(emailed link)──▶ in_review ──(agency user approves)──▶ approved ──(purge)──▶ completed
        │                            │  └──(agency user rejects, with a reason)──▶ rejected
        └──────("Verify with TikTok": the named account's open_id)──────▶ approved

- `create_request` stores the normalised handle, the email, a random reference (the
  status page's URL) and the SHA-256 of a random verification token that expires in
  24 h. It does not look at connections at all.
- `verify` (the emailed link, POST) moves it to `in_review` and records which
  connected accounts it names (`DeletionRequestMatch`: same handle, any workspace).
  Every request runs that one query; a match adds rows in the same transaction, no
  mail and no TikTok call, so the requester's answer does not depend on it.
- Agency staff and the named workspaces' client admins see it at
  `/settings/deletion-requests` (scoped in app/services/access.py). They, and each
  named account's owner, are emailed about it once, by the deletion-notices job
  (jobs/deletion_notices.py, every few minutes): never during the requester's own
  request, whose timing must not depend on whether anything matched. Only agency staff
  decide (`approve`, `reject`).
- Approval marks the named accounts exactly like "Delete all data for this account"
  (app/services/disconnect.py `request_deletion`): disconnected, revoked, deleted at
  the next purge run. Rejection needs a reason, which the requester is shown.
- "Verify with TikTok": the requester signs in on TikTok's consent page with scope
  `user.info.basic` only (an `OAuthTransaction` with provider "deletion-verify",
  bound to the request and the browser session). If the `open_id` TikTok returns is
  that of a connection the request names, it is approved at once; otherwise nothing
  changes and the requester is told it did not match. The token is revoked at TikTok
  straight away and never stored. (TikTok revokes per person and app, so this also
  ends any other live grant that person gave Logic Target.)
- Requests that name nothing connected look exactly the same to the requester: the
  same pages and emails, and they wait for an agency user's decision like any other
  (staff see "no connected account matches"). Approving one completes it at the next
  purge with nothing deleted.
- The requester must have an answer within one month of confirming (`answer_due`);
  the status page and the staff queue show that date.
- Once the requester has been told of completion, the email is erased and the handle
  replaced by its hash; rejected requests are forgotten the same way 30 days after
  the decision, unconfirmed ones are deleted after 7 days.
"""
from __future__ import annotations

import calendar
import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Mapping

import sqlalchemy as sa
from flask_mail import Message

from app.crypto import CryptoError
from app.extensions import db
from app.models import DeletionRequest, DeletionRequestMatch, Membership, OAuthTransaction, TikTokConnection, User
from app.models.deletion import (DECIDED_BY_STAFF, DECIDED_BY_TIKTOK, MAX_REASON, REQUEST_APPROVED,
                                 REQUEST_COMPLETED, REQUEST_IN_REVIEW, REQUEST_RECEIVED, REQUEST_REJECTED)
from app.models.workspace import ROLE_CLIENT_ADMIN
from app.services import audit, mail, oauth_flows
from app.tiktok import errors as tt_errors
from app.tiktok import pkce
from app.tiktok.client import TikTokClient

log = logging.getLogger("app.deletion_requests")

VERIFY_TTL = timedelta(hours=24)
UNVERIFIED_KEPT = timedelta(days=7)  # then an unconfirmed request (handle + email) is forgotten
REJECTED_KEPT = timedelta(days=30)  # then a rejected request's handle and email are forgotten
MAX_HANDLE = 24  # TikTok usernames: letters, digits, "_" and ".", at most 24 characters
MAX_EMAIL = 254
HANDLE_RE = re.compile(r"^[a-z0-9._]{2,24}$")
EMAIL_RE = re.compile(r"^[^@\s<>\"',;]{1,64}@[A-Za-z0-9.-]{1,188}\.[A-Za-z]{2,63}$")
VERIFY_SCOPES = ("user.info.basic",)  # enough for TikTok to tell us who signed in (open_id)
PURGE_TIME_UTC = time(3, 0)  # jobs/purge.py runs daily at 03:00 UTC
DECIDABLE = (REQUEST_IN_REVIEW,)
TIKTOK_VERIFIABLE = (REQUEST_RECEIVED, REQUEST_IN_REVIEW, REQUEST_REJECTED)


class InvalidRequest(Exception):
    """Form input we refuse; `errors` maps a field to a message a person can act on."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


class VerifyError(Exception):
    def __init__(self, kind: str):  # "unknown" | "expired"
        super().__init__(kind)
        self.kind = kind


class DecisionError(Exception):
    """A decision we refuse; `message` is safe to show, `status` is the HTTP status."""

    def __init__(self, message: str, *, status: int):
        super().__init__(message)
        self.message = message
        self.status = status


class TikTokCheckError(Exception):
    """The TikTok ownership check could not run to a result; nothing changed.
    `request` is the deletion request when we know it (to send the person back to it)."""

    def __init__(self, message: str, *, reason: str, status: int = 400, request: DeletionRequest | None = None):
        super().__init__(message)
        self.message = message
        self.reason = reason
        self.status = status
        self.request = request


@dataclass(frozen=True)
class Filed:
    request: DeletionRequest
    token: str  # goes only into the email, never stored


@dataclass(frozen=True)
class TikTokCheck:
    """The result of "Verify with TikTok": `owned` are the named connections whose open_id
    TikTok confirmed (empty: it did not match, nothing changed). `access_token` is the
    check's token, held in memory only until `revoke_check_token`; never stored."""

    request: DeletionRequest
    owned: tuple[TikTokConnection, ...]
    access_token: str = field(default="", repr=False)

    @property
    def matched(self) -> bool:
        return bool(self.owned)


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


def _status_url(req: DeletionRequest) -> str:
    return mail.link("public.data_deletion_status", reference=req.reference)


def verification_message(filed: Filed) -> Message:
    req = filed.request
    return mail.compose("Confirm your data-deletion request", req.email, template="deletion_verify",
                        verify_url=mail.link("public.data_deletion_verify", token=filed.token),
                        status_url=_status_url(req), reference=req.reference,
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
    """The mailbox is confirmed: the request goes to review (once). A second confirmation
    is harmless. Deletes nothing."""
    req = find_by_token(token, now=now)
    if req.status != REQUEST_RECEIVED:
        return req
    req.status = REQUEST_IN_REVIEW
    req.verified_at = now
    _link(req, matching_connections(req.handle), now=now)
    audit.record("deletion_request.verified", reference=req.reference)
    return req


# ------------------------------------------------------------------ dates shown to people


def add_one_month(day: date) -> date:
    """The same day next month, or that month's last day (Jan 31 → Feb 28/29)."""
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def answer_due(req: DeletionRequest) -> date | None:
    """The requester must have our answer within one month of confirming the request."""
    return add_one_month(req.verified_at.date()) if req.verified_at else None


def next_purge_run(after: datetime) -> datetime:
    """The first nightly purge run after `after` (UTC)."""
    after = after.astimezone(timezone.utc)
    run = datetime.combine(after.date(), PURGE_TIME_UTC, tzinfo=timezone.utc)
    return run if run > after else run + timedelta(days=1)


def deletion_day(req: DeletionRequest) -> date | None:
    """When an approved request's data goes: the purge run after the decision."""
    if req.status not in (REQUEST_APPROVED, REQUEST_COMPLETED) or req.decided_at is None:
        return None
    return next_purge_run(req.decided_at).date()


# ------------------------------------------------------------------ which accounts it names


def matching_connections(handle: str) -> list[TikTokConnection]:
    """Every connection, in every workspace, whose username is `handle` (case-insensitive)."""
    return list(db.session.scalars(
        sa.select(TikTokConnection).where(sa.func.lower(TikTokConnection.username) == normalise_handle(handle))
        .order_by(TikTokConnection.id)
    ))


def connections_of(req: DeletionRequest) -> list[TikTokConnection]:
    """The connections this request names (rows go with a connection when it is purged)."""
    return list(db.session.scalars(
        sa.select(TikTokConnection)
        .join(DeletionRequestMatch, DeletionRequestMatch.connection_id == TikTokConnection.id)
        .where(DeletionRequestMatch.request_id == req.id).order_by(TikTokConnection.id)
    ))


def _link(req: DeletionRequest, conns: list[TikTokConnection], *, now: datetime) -> None:
    linked = set(db.session.scalars(sa.select(DeletionRequestMatch.connection_id)
                                    .where(DeletionRequestMatch.request_id == req.id)))
    for conn in conns:
        if conn.id not in linked:
            db.session.add(DeletionRequestMatch(request_id=req.id, connection_id=conn.id, matched_at=now))
    db.session.flush()


# --------------------------------------------------------------------- staff decisions


def _require_decidable(req: DeletionRequest) -> None:
    if req.status not in DECIDABLE:
        raise DecisionError("This request has already been decided (or was never confirmed); nothing changed.",
                            status=409)


def clean_reason(raw: str | None) -> str:
    """The rejection reason the requester will read: required, plain text, bounded."""
    reason = (raw or "").replace("\r\n", "\n").strip()
    if not reason:
        raise DecisionError("Write the reason for rejecting this request: the requester is shown it. "
                            "Nothing was changed.", status=400)
    if len(reason) > MAX_REASON:
        raise DecisionError(f"Keep the reason under {MAX_REASON} characters. Nothing was changed.", status=400)
    if any(ord(c) < 32 and c not in "\n\t" for c in reason):
        raise DecisionError("The reason contains control characters; write plain text. Nothing was changed.",
                            status=400)
    return reason


def approve(req: DeletionRequest, *, actor: User, now: datetime) -> list[TikTokConnection]:
    """An agency user approves: returns the named connections, which the caller marks for
    deletion (`disconnect.request_deletion`, then revokes) in its own transactions."""
    if not actor.is_agency:
        raise DecisionError("Only agency staff decide data-deletion requests.", status=403)
    _require_decidable(req)
    _decide(req, REQUEST_APPROVED, via=DECIDED_BY_STAFF, actor_id=actor.id, reason=None, now=now)
    return connections_of(req)


def reject(req: DeletionRequest, *, actor: User, reason: str | None, now: datetime) -> None:
    if not actor.is_agency:
        raise DecisionError("Only agency staff decide data-deletion requests.", status=403)
    _require_decidable(req)
    _decide(req, REQUEST_REJECTED, via=DECIDED_BY_STAFF, actor_id=actor.id, reason=clean_reason(reason), now=now)


def _decide(req: DeletionRequest, status: str, *, via: str, actor_id: int | None, reason: str | None,
            now: datetime) -> None:
    req.status = status
    req.decided_at = now
    req.decided_by_user_id = actor_id
    req.decided_via = via
    req.decision_reason = reason
    event = f"deletion_request.{status}"
    detail = {"request": req.id, "via": via}
    if reason:
        detail["reason"] = reason
    conns = connections_of(req)
    for conn in conns:  # each named workspace's audit trail shows the decision
        audit.record(event, actor_id=actor_id, workspace_id=conn.workspace_id, connection_id=conn.id, **detail)
    if not conns:
        audit.record(event, actor_id=actor_id, **detail)


# ------------------------------------------------------------------ "Verify with TikTok"


def begin_tiktok_check(req: DeletionRequest, *, session_ref: str, client: TikTokClient, keyring, now: datetime,
                       use_pkce: bool = True) -> str:
    """Record a pending ownership check for `req` (state hashed, verifier sealed, bound
    to the request and the browser session, 10 minutes, single use) and return TikTok's
    consent URL asking for `user.info.basic` only."""
    if req.status not in TIKTOK_VERIFIABLE:
        raise TikTokCheckError("This request is already approved; there is nothing to verify.",
                               reason="not_verifiable", status=409, request=req)
    verifier = pkce.new_verifier() if use_pkce else oauth_flows.NO_PKCE
    state = oauth_flows.store_transaction(None, None, provider=oauth_flows.PROVIDER_DELETION_VERIFY,
                                          session_ref=session_ref, secret=verifier, keyring=keyring, now=now,
                                          deletion_request_id=req.id)
    audit.record("deletion_request.tiktok_check_started", request=req.id)
    return client.authorize_url(state, pkce.challenge(verifier) if use_pkce else None, scopes=list(VERIFY_SCOPES))


def is_tiktok_check_state(state: str | None) -> bool:
    """Whether TikTok's callback `state` belongs to a deletion request's ownership check
    (the one callback URL serves connects too; each kind only ever takes its own)."""
    if not state or len(state) > 512:
        return False
    return db.session.scalar(sa.select(OAuthTransaction.provider).where(
        OAuthTransaction.state_hash == _hash(state))) == oauth_flows.PROVIDER_DELETION_VERIFY


def take_tiktok_check(state: str | None) -> oauth_flows.PendingConnect:
    """Consume the pending check for `state`: single use, so the caller commits this
    before anything else happens, whatever follows."""
    try:
        return oauth_flows.take_transaction(state, provider=oauth_flows.PROVIDER_DELETION_VERIFY)
    except oauth_flows.InvalidState as e:
        raise TikTokCheckError("This TikTok check was already used or is not one we started. Nothing was "
                               "changed. Start again from your request's status page.", reason=e.reason) from None


def check_tiktok_session(pending: oauth_flows.PendingConnect, *, session_ref: str | None,
                         now: datetime) -> DeletionRequest:
    """The request a consumed check belongs to, if this browser session started it, in time."""
    req = db.session.get(DeletionRequest, pending.deletion_request_id) if pending.deletion_request_id else None
    if req is None:
        raise TikTokCheckError("This deletion request no longer exists. Nothing was changed.", reason="no_request")
    if session_ref is None or not hmac.compare_digest(pending.session_ref_hash, _hash(session_ref)):
        raise TikTokCheckError("This TikTok check was started in another browser, so we did not accept it. "
                               "Nothing was changed. Start again from your request's status page in this browser.",
                               reason="session_mismatch")
    if pending.expires_at <= now:
        raise TikTokCheckError("This TikTok check took longer than 10 minutes and expired. Nothing was changed. "
                               "Please start again.", reason="expired", request=req)
    return req


def finish_tiktok_check(req: DeletionRequest, pending: oauth_flows.PendingConnect, args: Mapping[str, str], *,
                        client: TikTokClient, keyring, now: datetime) -> TikTokCheck:
    """Exchange the code and compare the open_id TikTok returned with the connections the
    request names. A match approves the request; no match changes nothing. Either way
    the caller commits, marks `owned` for deletion (if any), then calls
    `revoke_check_token` straight away: in that order, because TikTok answers our revoke
    with an `authorization.removed` webhook for that person, which must find the named
    accounts already disconnected rather than race with marking them."""
    if args.get("error"):
        raise TikTokCheckError("You cancelled on TikTok, so nothing was changed.", reason="cancelled", request=req)
    code = args.get("code") or args.get("auth_code")
    if not code or len(code) > 1024:
        raise TikTokCheckError("TikTok sent you back without a code, so nothing was changed. Please try again.",
                               reason="missing_code", request=req)
    if req.status not in TIKTOK_VERIFIABLE:
        raise TikTokCheckError("This request is already approved; nothing more to verify.",
                               reason="not_verifiable", status=409, request=req)
    try:
        verifier = oauth_flows.open_pending(pending, keyring=keyring)
        tokens = client.exchange_code(code, verifier)
    except (oauth_flows.ConnectError, CryptoError, tt_errors.TikTokError) as e:
        raise TikTokCheckError("TikTok did not confirm who signed in, so nothing was changed. Please try again in "
                               "a minute.", reason=type(e).__name__, status=502, request=req) from None
    open_id = tokens.open_id
    named = {c.id: c for c in matching_connections(req.handle) + connections_of(req)}
    owned = tuple(c for c in named.values() if hmac.compare_digest(c.open_id.encode(), open_id.encode()))
    if not owned:
        audit.record("deletion_request.tiktok_check_mismatch", request=req.id)
        return TikTokCheck(req, (), tokens.access_token)
    _link(req, list(owned), now=now)
    others = [c.id for c in named.values() if c not in owned]
    if others:  # same handle, but another TikTok account: this proof says nothing about them
        db.session.execute(sa.delete(DeletionRequestMatch).where(DeletionRequestMatch.request_id == req.id,
                                                                 DeletionRequestMatch.connection_id.in_(others)))
    req.verified_at = req.verified_at or now
    _decide(req, REQUEST_APPROVED, via=DECIDED_BY_TIKTOK, actor_id=None, reason=None, now=now)
    return TikTokCheck(req, owned, tokens.access_token)


def revoke_check_token(check: TikTokCheck, *, client: TikTokClient) -> None:
    """We only needed to know who signed in: end that grant at TikTok. A failure is logged;
    the token was never stored, so there is nothing to retry with (it expires on its own)."""
    if not check.access_token:
        return
    try:
        client.revoke(check.access_token)
    except tt_errors.TikTokError as e:
        log.warning("deletion check: TikTok did not revoke the check's token request=%s error=%s",
                    check.request.id, type(e).__name__)


# ------------------------------------------------------------------ emails to the requester


def outcome_message(req: DeletionRequest) -> Message:
    """The requester's email for the request's current status (in review, approved, rejected)."""
    subjects = {
        REQUEST_IN_REVIEW: "Your data-deletion request is confirmed and in review",
        REQUEST_APPROVED: "Your data-deletion request is approved",
        REQUEST_REJECTED: "Your data-deletion request was rejected",
    }
    return mail.compose(subjects[req.status], req.email, template="deletion_outcome", req=req,
                        reference=req.reference, status_url=_status_url(req),
                        due=answer_due(req), deletion_day=deletion_day(req))


def notify_requester(req: DeletionRequest, *, out: mail.Outbound | None = None) -> bool:
    """Email the requester about the current status, once per status. A failure is
    logged and retried by the deletion-notices job. The caller commits."""
    if not req.email or req.status not in (REQUEST_IN_REVIEW, REQUEST_APPROVED, REQUEST_REJECTED):
        return False
    if req.requester_notified == req.status:
        return False
    try:
        msg = outcome_message(req)
        if out is None:
            mail.send_one(msg)
        else:
            out.send(msg)
    except mail.MailError as e:
        log.warning("deletion outcome not sent request=%s status=%s transient=%s", req.id, req.status, e.transient)
        return False
    req.requester_notified = req.status
    return True


def completion_message(req: DeletionRequest) -> Message:
    return mail.compose("Your data-deletion request is complete", req.email, template="deletion_completed",
                        reference=req.reference, status_url=_status_url(req),
                        completed_at=req.completed_at)


# ------------------------------------------------------------------ emails to staff and owners


def reviewers_of(req: DeletionRequest) -> list[tuple[User, str, list[TikTokConnection]]]:
    """Who hears about a request, once each: (user, "agency" | "admin" | "owner", the
    named connections that person may know about). Agency staff (all of them; they
    decide), the client admins of each named workspace, and each named account's owner.
    Nobody learns of a match in a workspace they cannot see."""
    conns = connections_of(req)
    out: dict[int, tuple[User, str, list[TikTokConnection]]] = {}
    for user in db.session.scalars(sa.select(User).where(User.is_agency.is_(True), User.disabled.is_(False))
                                   .order_by(User.id)):
        out[user.id] = (user, "agency", conns)
    ws_ids = {c.workspace_id for c in conns}
    if ws_ids:
        admins = db.session.execute(
            sa.select(User, Membership.workspace_id).join(Membership, Membership.user_id == User.id)
            .where(Membership.workspace_id.in_(ws_ids), Membership.role == ROLE_CLIENT_ADMIN,
                   User.disabled.is_(False)).order_by(User.id)).all()
        for user, ws_id in admins:
            mine = [c for c in conns if c.workspace_id == ws_id]
            if user.id in out:
                if out[user.id][1] != "agency":
                    out[user.id][2].extend(c for c in mine if c not in out[user.id][2])
                continue
            out[user.id] = (user, "admin", list(mine))
    for conn in conns:
        owner = db.session.get(User, conn.owner_user_id) if conn.owner_user_id else None
        if owner is None or owner.disabled:
            continue
        if owner.id in out:
            if conn not in out[owner.id][2]:
                out[owner.id][2].append(conn)
            continue
        out[owner.id] = (owner, "owner", [conn])
    return [out[k] for k in sorted(out)]


def review_message(req: DeletionRequest, user: User, kind: str, conns: list[TikTokConnection]) -> Message:
    """The one email a reviewer or an account's owner gets about a confirmed request."""
    from app.models import Workspace

    names = dict(db.session.execute(sa.select(Workspace.id, Workspace.name).where(
        Workspace.id.in_({c.workspace_id for c in conns}))).all()) if conns else {}
    accounts = [(f"@{c.username}", names.get(c.workspace_id, "")) for c in conns]
    first_ws = conns[0].workspace_id if conns else None
    where = {"workspace": first_ws} if first_ws else {}
    endpoint = "integrations.index" if kind == "owner" else "deletion_reviews.index"
    link = mail.link(endpoint, **where)
    subject = (f"Data-deletion request for @{req.handle}: verified with TikTok"
               if req.decided_via == DECIDED_BY_TIKTOK else f"Data-deletion request for @{req.handle} needs review")
    return mail.compose(subject, user.email, template="deletion_review", req=req, kind=kind, accounts=accounts,
                        link=link, due=answer_due(req), deletion_day=deletion_day(req),
                        message_id=f"<deletion-request-{req.id}-{user.id}@logic-target>")


def awaiting_reviewer_notice(limit: int) -> list[int]:
    """Confirmed requests whose reviewers and owners have not all been told yet."""
    return list(db.session.scalars(
        sa.select(DeletionRequest.id).where(
            DeletionRequest.reviewers_notified_at.is_(None), DeletionRequest.verified_at.is_not(None),
            DeletionRequest.status.in_((REQUEST_IN_REVIEW, REQUEST_APPROVED, REQUEST_REJECTED)))
        .order_by(DeletionRequest.id).limit(limit)))


def awaiting_requester_notice(limit: int) -> list[int]:
    """Requests whose requester has not been told their current status (a send failed)."""
    return list(db.session.scalars(
        sa.select(DeletionRequest.id).where(
            DeletionRequest.status.in_((REQUEST_IN_REVIEW, REQUEST_APPROVED, REQUEST_REJECTED)),
            DeletionRequest.email != "",
            sa.or_(DeletionRequest.requester_notified.is_(None),
                   DeletionRequest.requester_notified != DeletionRequest.status))
        .order_by(DeletionRequest.id).limit(limit)))


def reviewers_still_to_tell(req: DeletionRequest) -> list[tuple[User, str, list[TikTokConnection]]]:
    """`reviewers_of` less those already told (each sent address is recorded as it goes)."""
    done = set(req.notified_user_ids or [])
    return [entry for entry in reviewers_of(req) if entry[0].id not in done]


def mark_reviewer_told(req: DeletionRequest, user: User) -> None:
    req.notified_user_ids = sorted({*(req.notified_user_ids or []), user.id})


def mark_reviewers_done(req: DeletionRequest, *, now: datetime) -> None:
    req.reviewers_notified_at = now
    audit.record("deletion_request.reviewers_notified", request=req.id, recipients=len(req.notified_user_ids or []))


# ------------------------------------------------------------------ used by the purge job


def approved_requests(limit: int) -> list[DeletionRequest]:
    return list(db.session.scalars(
        sa.select(DeletionRequest).where(DeletionRequest.status == REQUEST_APPROVED)
        .order_by(DeletionRequest.decided_at, DeletionRequest.id).limit(limit)
    ))


def complete(req: DeletionRequest, *, now: datetime) -> None:
    req.status = REQUEST_COMPLETED
    req.completed_at = now
    audit.record("deletion_request.completed", reference=req.reference)


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


def forget_stale(*, now: datetime) -> int:
    """Requests nobody needs any more: never confirmed within UNVERIFIED_KEPT (deleted),
    or rejected more than REJECTED_KEPT ago (handle hashed, email erased, links gone)."""
    forgotten = db.session.execute(sa.delete(DeletionRequest).where(
        DeletionRequest.status == REQUEST_RECEIVED, DeletionRequest.created_at < now - UNVERIFIED_KEPT
    )).rowcount or 0
    for req in db.session.scalars(sa.select(DeletionRequest).where(
            DeletionRequest.status == REQUEST_REJECTED, DeletionRequest.email != "",
            DeletionRequest.decided_at < now - REJECTED_KEPT)).all():
        forget_identity(req)
        db.session.execute(sa.delete(DeletionRequestMatch).where(DeletionRequestMatch.request_id == req.id))
        forgotten += 1
    return forgotten

"""Who receives a workspace's reports besides the default rule, who asked not to, and the
workspace's report settings (cadence, delivery day and hour, creator cut, approval).

The default rule (services/report_delivery.py `recipients`): the workspace's client
admins and each creator with a post that week. On top of it, per workspace:
- agency staff who opt in themselves (`set_agency_opt_in`);
- addresses outside Logic Target that an admin adds (`add_external`): validated,
  normalised to lower case, unique per workspace, at most MAX_EXTERNAL;
- minus every address that unsubscribed from this workspace's report (`unsubscribe`),
  whichever way it became a recipient. An admin sees who did; only the person can
  subscribe again (from the link in any report email they received).

Unsubscribe links carry a token that names one (workspace, address) and is signed
with an HMAC-SHA256 keyed from SECRET_KEY: it cannot be made for another address or
workspace, and it stays valid (unsubscribing twice is a no-op).

Every change here is an audit event. Nothing here commits: the caller owns the
transaction.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import current_app

from app.extensions import db
from app.models import (ReportAgencyRecipient, ReportExternalRecipient, ReportSettings, ReportUnsubscribe, User,
                        Workspace)
from app.models.ids import parse_id
from app.models.report_recipients import (CADENCE_BOTH, CADENCE_MONTHLY, CADENCE_WEEKLY, DEFAULT_APPROVAL_HOURS,
                                         DEFAULT_DELIVERY_HOUR, DEFAULT_DELIVERY_WEEKDAY)
from app.services import audit

MAX_EXTERNAL = 20
MAX_EMAIL = 254
MIN_APPROVAL_HOURS, MAX_APPROVAL_HOURS = 1, 336  # up to two weeks
EMAIL_RE = re.compile(r"^[^@\s<>\"',;()\[\]\\]{1,64}@[a-z0-9](?:[a-z0-9-]{0,62}\.)+[a-z]{2,63}$")
TOKEN_PURPOSE = b"weekly-report-unsubscribe"  # unchanged with monthly reports: links already sent keep working
CADENCES = {CADENCE_WEEKLY: "Weekly", CADENCE_MONTHLY: "Monthly", CADENCE_BOTH: "Weekly and monthly"}
TIME_RE = re.compile(r"([0-9]{1,2}):([0-9]{2})")


class RecipientError(ValueError):
    """A change refused, with a message for the person who asked."""


# ------------------------------------------------------------------ settings


def settings_of(workspace_id: int) -> ReportSettings:
    """The workspace's settings; the defaults (not stored) when it never changed them."""
    found = db.session.scalar(sa.select(ReportSettings).where(ReportSettings.workspace_id == workspace_id))
    return found or default_settings(workspace_id)


def default_settings(workspace_id: int) -> ReportSettings:
    """The settings of a workspace that never changed them (not stored, no query)."""
    return ReportSettings(workspace_id=workspace_id, approval_required=False,
                          approval_window_hours=DEFAULT_APPROVAL_HOURS, cadence=CADENCE_WEEKLY,
                          delivery_weekday=DEFAULT_DELIVERY_WEEKDAY, delivery_hour=DEFAULT_DELIVERY_HOUR,
                          creator_cut=False)


def all_settings() -> dict[int, ReportSettings]:
    """Every workspace's stored settings, by workspace id (one query; absent: the defaults)."""
    return {s.workspace_id: s for s in db.session.scalars(sa.select(ReportSettings))}


def settings_for(workspace_ids: list[int]) -> dict[int, ReportSettings]:
    """These workspaces' stored settings, by workspace id (one query; absent: the defaults)."""
    if not workspace_ids:
        return {}
    return {s.workspace_id: s for s in db.session.scalars(
        sa.select(ReportSettings).where(ReportSettings.workspace_id.in_(workspace_ids)))}


def update_settings(workspace: Workspace, *, approval_required: bool, approval_window_hours: int | None,
                    by: User, now: datetime, ip: str | None = None) -> bool:
    """Change approval before sending; True when something changed (and was audited)."""
    hours = DEFAULT_APPROVAL_HOURS if approval_window_hours is None else approval_window_hours
    if not MIN_APPROVAL_HOURS <= hours <= MAX_APPROVAL_HOURS:
        raise RecipientError(f"The approval window must be between {MIN_APPROVAL_HOURS} and "
                             f"{MAX_APPROVAL_HOURS} hours.")
    current = settings_of(workspace.id)
    if current.approval_required == approval_required and current.approval_window_hours == hours:
        return False
    if current.id is None:
        db.session.add(current)
    current.approval_required, current.approval_window_hours, current.updated_at = approval_required, hours, now
    audit.record("report.approval_required" if approval_required else "report.approval_not_required",
                 actor_id=by.id, workspace_id=workspace.id, ip=ip, window_hours=hours)
    return True


def parse_delivery(cadence: str | None, weekday: str | None, at: str | None) -> tuple[str, int, int]:
    """The schedule fields as typed -> (cadence, weekday 0-6, hour); RecipientError says
    what is wrong with the first bad one."""
    cadence = (cadence or "").strip()
    if cadence not in CADENCES:
        raise RecipientError("Choose weekly, monthly or both.")
    day = (weekday or "").strip()
    if not (day.isascii() and day.isdigit() and 0 <= int(day) <= 6):
        raise RecipientError(f"“{day[:20]}” is not a weekday: choose one from Monday to Sunday.")
    text = (at or "").strip()
    m = TIME_RE.fullmatch(text)
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise RecipientError(f"“{text[:20]}” is not a time of day (use HH:MM, e.g. 09:00).")
    if int(m.group(2)):
        raise RecipientError(f"Reports go out on the hour: choose a whole hour such as {int(m.group(1)):02d}:00, "
                             f"not {text}.")
    return cadence, int(day), int(m.group(1))


def update_schedule(workspace: Workspace, *, cadence: str | None, weekday: str | None, at: str | None,
                    creator_cut: bool, by: User, now: datetime, ip: str | None = None) -> bool:
    """Change which reports the workspace gets, when, and whether creators get their own
    cut; True when something changed (and was audited). Nothing is saved when a field
    is invalid (RecipientError)."""
    cadence, day, hour = parse_delivery(cadence, weekday, at)
    current = settings_of(workspace.id)
    if (current.cadence, current.delivery_weekday, current.delivery_hour, current.creator_cut) == (
            cadence, day, hour, creator_cut):
        return False
    if current.id is None:
        db.session.add(current)
    current.cadence, current.delivery_weekday, current.delivery_hour = cadence, day, hour
    current.creator_cut, current.updated_at = creator_cut, now
    audit.record("report.schedule_changed", actor_id=by.id, workspace_id=workspace.id, ip=ip, cadence=cadence,
                 weekday=day, hour=hour, creator_cut=creator_cut)
    return True


# ------------------------------------------------------------------ addresses


def normalise(email: str | None) -> str:
    """A valid address, stripped and in lower case; RecipientError otherwise."""
    value = (email or "").strip().lower()
    if not value:
        raise RecipientError("Enter an email address.")
    if len(value) > MAX_EMAIL or not EMAIL_RE.match(value):
        raise RecipientError(f"“{value[:80]}” is not an email address we can send to.")
    return value


def external_recipients(workspace_id: int) -> list[ReportExternalRecipient]:
    return list(db.session.scalars(sa.select(ReportExternalRecipient)
                                   .where(ReportExternalRecipient.workspace_id == workspace_id)
                                   .order_by(ReportExternalRecipient.email)))


def add_external(workspace: Workspace, email: str | None, *, by: User, now: datetime,
                 ip: str | None = None) -> ReportExternalRecipient:
    address = normalise(email)
    existing = external_recipients(workspace.id)
    if any(r.email == address for r in existing):
        raise RecipientError(f"{address} already receives this workspace's report.")
    if len(existing) >= MAX_EXTERNAL:
        raise RecipientError(f"At most {MAX_EXTERNAL} other addresses per workspace; remove one first.")
    row = ReportExternalRecipient(workspace_id=workspace.id, email=address, added_by_user_id=by.id, created_at=now)
    db.session.add(row)
    db.session.flush()
    audit.record("report.recipient_added", actor_id=by.id, workspace_id=workspace.id, ip=ip, email=address)
    return row


def remove_external(workspace: Workspace, row: ReportExternalRecipient, *, by: User, ip: str | None = None) -> None:
    if row.workspace_id != workspace.id:  # the caller scoped it; a mismatch is a programming error
        raise ValueError("recipient of another workspace")
    db.session.delete(row)
    db.session.flush()
    audit.record("report.recipient_removed", actor_id=by.id, workspace_id=workspace.id, ip=ip, email=row.email)


def agency_recipients(workspace_id: int) -> list[User]:
    """Agency staff who opted in to this workspace's report (still agency staff, not disabled)."""
    return list(db.session.scalars(
        sa.select(User).join(ReportAgencyRecipient, ReportAgencyRecipient.user_id == User.id)
        .where(ReportAgencyRecipient.workspace_id == workspace_id, User.is_agency.is_(True),
               User.disabled.is_(False))
        .order_by(User.email)))


def set_agency_opt_in(workspace: Workspace, user: User, opted_in: bool, *, now: datetime,
                      ip: str | None = None) -> bool:
    """Agency staff ask for (or stop) a workspace's report for themselves; True when it changed."""
    if not user.is_agency:
        raise RecipientError("Only agency staff can opt in to a workspace's report.")
    row = db.session.scalar(sa.select(ReportAgencyRecipient).where(
        ReportAgencyRecipient.workspace_id == workspace.id, ReportAgencyRecipient.user_id == user.id))
    if opted_in == (row is not None):
        return False
    if opted_in:
        db.session.add(ReportAgencyRecipient(workspace_id=workspace.id, user_id=user.id, created_at=now))
    else:
        db.session.delete(row)
    db.session.flush()
    audit.record("report.agency_opted_in" if opted_in else "report.agency_opted_out",
                 actor_id=user.id, workspace_id=workspace.id, ip=ip)
    return True


# ------------------------------------------------------------------ unsubscribes


def unsubscribes(workspace_id: int) -> list[ReportUnsubscribe]:
    return list(db.session.scalars(sa.select(ReportUnsubscribe).where(ReportUnsubscribe.workspace_id == workspace_id)
                                   .order_by(ReportUnsubscribe.unsubscribed_at.desc(), ReportUnsubscribe.id.desc())))


def unsubscribed_emails(workspace_id: int) -> set[str]:
    return set(db.session.scalars(sa.select(ReportUnsubscribe.email)
                                  .where(ReportUnsubscribe.workspace_id == workspace_id)))


def is_unsubscribed(workspace_id: int, email: str) -> bool:
    return db.session.scalar(sa.select(sa.exists().where(
        ReportUnsubscribe.workspace_id == workspace_id, ReportUnsubscribe.email == email.strip().lower()))) or False


def unsubscribe(workspace_id: int, email: str, *, now: datetime, ip: str | None = None) -> bool:
    """Stop this workspace's report to `email`; True the first time (audited), False after."""
    address = email.strip().lower()
    if is_unsubscribed(workspace_id, address):
        return False
    db.session.add(ReportUnsubscribe(workspace_id=workspace_id, email=address, unsubscribed_at=now))
    db.session.flush()
    audit.record("report.unsubscribed", workspace_id=workspace_id, ip=ip, email=address)
    return True


def resubscribe(workspace_id: int, email: str, *, ip: str | None = None) -> bool:
    """The person's own choice, from their link: receive the report again."""
    address = email.strip().lower()
    gone = db.session.execute(sa.delete(ReportUnsubscribe).where(
        ReportUnsubscribe.workspace_id == workspace_id, ReportUnsubscribe.email == address)).rowcount
    if gone:
        audit.record("report.resubscribed", workspace_id=workspace_id, ip=ip, email=address)
    return bool(gone)


# ------------------------------------------------------------------ unsubscribe tokens


@dataclass(frozen=True)
class Subscription:
    workspace_id: int
    email: str


def _mac(workspace_id: int, email: str) -> str:
    key = hmac.new(current_app.config["SECRET_KEY"].encode(), TOKEN_PURPOSE, hashlib.sha256).digest()
    digest = hmac.new(key, f"{workspace_id}:{email}".encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


def unsubscribe_token(workspace_id: int, email: str) -> str:
    """`<workspace id>.<address, base64url>.<HMAC>`: URL-safe, one per (workspace, address)."""
    address = email.strip().lower()
    return f"{workspace_id}.{_b64(address)}.{_mac(workspace_id, address)}"


def read_token(token: str) -> Subscription | None:
    """The (workspace, address) a token names, or None for anything not made by us."""
    parts = (token or "")[:600].split(".")
    if len(parts) != 3:
        return None
    try:
        workspace_id = parse_id(parts[0])
        address = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if not hmac.compare_digest(parts[2].encode(), _mac(workspace_id, address).encode()):
        return None
    if db.session.get(Workspace, workspace_id) is None:
        return None
    return Subscription(workspace_id, address)

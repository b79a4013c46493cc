"""Password reset by email: a single-use link, valid one hour.

- Asking for a link gives the same answer whether or not an account has the address:
  the same page and status, and the same work up to sending (a token is made and
  hashed, the email rendered). Only an existing, enabled account gets a stored link
  and an email; the web layer sends that email after the answer has gone out, so
  neither the time taken nor an SMTP failure tells an address apart.
- The token (256 random bits) goes only into the email; the table keeps its SHA-256.
  A link is spent in one conditional UPDATE, so two requests racing with one link
  cannot both set a password. Setting a password spends every other open link of
  the account too.
- Links asked for are limited per address (normalised and hashed, whether or not an
  account has it) by PASSWORD_RESET_RATE_LIMIT and per IP address by
  PASSWORD_RESET_IP_RATE_LIMIT, in the storage the sign-in limits use
  (RATELIMIT_STORAGE_URI). Every request counts, not only failures.

Services never commit: the caller owns the unit of work.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Flask
from flask_mail import Message

from app.extensions import db
from app.models import PasswordReset, SignInChallenge, User
from app.services import accounts, mail, sign_in_limits

RESET_TTL = timedelta(hours=1)
KEEP_AFTER_EXPIRY = timedelta(days=7)  # an old link says "expired" for a week, then "unknown"
MAX_TOKEN_LENGTH = 100
RESET_ADDRESS = "reset-address"
RESET_IP = "reset-ip"
_SETTINGS = {RESET_ADDRESS: "PASSWORD_RESET_RATE_LIMIT", RESET_IP: "PASSWORD_RESET_IP_RATE_LIMIT"}

# Why a link was refused: unknown (404), or expired / already used (410).
UNKNOWN, EXPIRED, USED = "unknown", "expired", "used"


class ResetLinkError(Exception):
    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind
        self.status = 404 if kind == UNKNOWN else 410


class PasswordRejected(Exception):
    """The new password breaks a rule; `message` is safe to show."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Issued:
    """A link asked for. `user` is None when no enabled account has the address."""
    user: User | None
    token: str = field(repr=False)  # goes only into the email, never stored


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --------------------------------------------------------------------------- limits


def limits_for(app: Flask) -> sign_in_limits.SignInLimits:
    """This app's limits on asking for links, built once from its config."""
    limits = app.extensions.get("password_reset_limits")
    if limits is None:
        limits = app.extensions["password_reset_limits"] = sign_in_limits.SignInLimits(
            app.config.get("RATELIMIT_STORAGE_URI") or "memory://",
            {scope: app.config[setting] for scope, setting in _SETTINGS.items()},
            enabled=app.config.get("RATELIMIT_ENABLED", True),
        )
    return limits


def request_keys(email: str, ip: str | None) -> tuple[tuple[str, str], ...]:
    return ((RESET_ADDRESS, sign_in_limits.account_key(email)), (RESET_IP, ip or "-"))


# --------------------------------------------------------------------------- asking


def issue(email: str, *, now: datetime) -> Issued:
    """A new link for the account with `email`, if there is one (see the module docstring)."""
    token = secrets.token_urlsafe(32)
    digest = token_hash(token)
    db.session.execute(sa.delete(PasswordReset).where(PasswordReset.expires_at < now - KEEP_AFTER_EXPIRY))
    user = db.session.scalar(sa.select(User).where(User.email == accounts.normalise_email(email)))
    if user is None or user.disabled:
        return Issued(None, token)
    db.session.add(PasswordReset(user_id=user.id, token_hash=digest, created_at=now, expires_at=now + RESET_TTL))
    return Issued(user, token)


def render_message(issued: Issued) -> mail.Rendered:
    """The email, rendered whether or not it will be sent (the same work either way)."""
    return mail.render("Reset your Logic Target password", template="password_reset",
                       reset_url=mail.link("password_reset.reset", token=issued.token),
                       minutes=int(RESET_TTL.total_seconds() // 60),
                       forgot_url=mail.link("password_reset.forgot"))


def message_for(issued: Issued, rendered: mail.Rendered) -> Message | None:
    """The email addressed to the account, or None when there is no account to tell."""
    return mail.address(rendered, issued.user.email) if issued.user is not None else None


# --------------------------------------------------------------------------- using


def find(token: str, *, now: datetime) -> PasswordReset:
    """The reset link `token` opens, if it may still be used; else ResetLinkError."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise ResetLinkError(UNKNOWN)
    reset = db.session.scalar(sa.select(PasswordReset).where(PasswordReset.token_hash == token_hash(token)))
    if reset is None:
        raise ResetLinkError(UNKNOWN)
    if reset.used_at is not None:
        raise ResetLinkError(USED)
    if reset.expires_at <= now:
        raise ResetLinkError(EXPIRED)
    return reset


def check_new_password(password: str, confirm: str) -> None:
    """The account rules for a new password, and the two fields match; PasswordRejected."""
    try:
        accounts.check_new_password(password)
    except accounts.AccountError:
        raise PasswordRejected(f"Choose a password of {accounts.MIN_PASSWORD_LENGTH} to "
                               f"{accounts.MAX_PASSWORD_LENGTH} characters.") from None
    if password != confirm:
        raise PasswordRejected("The two passwords don't match.")


def spend_open_links(user: User, *, now: datetime) -> None:
    """Every link of `user` not used yet stops working (its password just changed)."""
    db.session.execute(sa.update(PasswordReset).where(PasswordReset.user_id == user.id,
                                                      PasswordReset.used_at.is_(None)).values(used_at=now))


def complete(reset: PasswordReset, password: str, confirm: str, *, now: datetime) -> User:
    """Set the new password through `reset`: the link is spent (with the account's other
    open links), every session of the account ends, and a sign-in waiting for its second
    step is dropped. Two-factor sign-in stays as it was: the next sign-in asks for a code."""
    check_new_password(password, confirm)
    spent = db.session.execute(
        sa.update(PasswordReset)
        .where(PasswordReset.id == reset.id, PasswordReset.used_at.is_(None), PasswordReset.expires_at > now)
        .values(used_at=now)
    )
    if spent.rowcount != 1:  # another request used it first, or it expired meanwhile
        raise ResetLinkError(EXPIRED if reset.expires_at <= now else USED)
    user = db.session.get(User, reset.user_id)
    if user is None or user.disabled:
        raise ResetLinkError(UNKNOWN)
    user.set_password(password)
    spend_open_links(user, now=now)
    db.session.execute(sa.delete(SignInChallenge).where(SignInChallenge.user_id == user.id))
    accounts.end_all_sessions(user)
    return user

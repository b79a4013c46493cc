"""Invitations to a workspace: issue, resend, revoke, accept.

An invite names one email address and one role. Its link carries a random token that
is never stored: the row keeps only its SHA-256, so a copy of the database opens
nothing. The link works once, for 7 days, and only for the invited address: a new
account gets that address (it cannot be typed differently), and an existing account
must be signed in with it. Resending issues a new token (the old link stops working)
and a new expiry; revoking ends the invite.

Who may invite whom: a workspace's client admins invite client admins and creators;
agency staff may also invite agency staff (who then see every workspace).

Like every service here, nothing commits: the request owns the transaction. Accepting
claims the invite with one conditional UPDATE, so two clicks (or two tabs) on the same
link accept it once.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_mail import Message

from app.extensions import db
from app.models import Invite, Membership, User, Workspace
from app.models.invite import INVITE_ACCEPTED, INVITE_EXPIRED, INVITE_PENDING, INVITE_REVOKED
from app.models.workspace import ROLE_AGENCY, ROLE_CLIENT_ADMIN, ROLE_CREATOR
from app.services import access, accounts, audit, mail

INVITE_TTL = timedelta(days=7)
MAX_PASSWORD_LENGTH = 512  # sign-in reads at most this much of a password
ROLE_LABELS = {ROLE_CLIENT_ADMIN: "Client admin", ROLE_CREATOR: "Creator", ROLE_AGENCY: "Agency staff"}


class InviteError(Exception):
    """A request the user can fix or must be told about; `status` is the HTTP answer."""

    def __init__(self, message: str, *, status: int = 422, field: str = "form"):
        super().__init__(message)
        self.message = message
        self.status = status
        self.field = field


class InviteLinkError(Exception):
    """The link opens nothing: `kind` is unknown, expired, used or revoked."""

    MESSAGES = {
        "unknown": "This invitation link is not valid. Check that you opened the whole link from the email.",
        INVITE_EXPIRED: "This invitation has expired. Ask whoever invited you to send it again.",
        "used": "This invitation has already been used. If it was you, sign in.",
        INVITE_REVOKED: "This invitation was withdrawn. Ask whoever invited you if you still need access.",
    }

    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind
        self.message = self.MESSAGES[kind]


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def invitable_roles(actor: User, workspace_id: int) -> tuple[str, ...]:
    """The roles `actor` may hand out in the workspace (none for creators and outsiders)."""
    role = access.role_in(actor, workspace_id)
    if role == ROLE_AGENCY:
        return ROLE_CLIENT_ADMIN, ROLE_CREATOR, ROLE_AGENCY
    if role == ROLE_CLIENT_ADMIN:
        return ROLE_CLIENT_ADMIN, ROLE_CREATOR
    return ()


def may_handle(actor: User, invite: Invite) -> bool:
    """Resend and revoke are for those who could have sent the invite."""
    return invite.role in invitable_roles(actor, invite.workspace_id)


def valid_email(email: str) -> str:
    email = accounts.normalise_email(email or "")
    local, at, domain = email.rpartition("@")
    if (not at or not local or "." not in domain.strip(".") or len(email) > 254
            or any(c.isspace() or ord(c) < 0x20 for c in email) or "@" in local):
        raise InviteError("Enter the email address to invite, like name@example.com.", field="email")
    return email


def open_invites(workspace: Workspace) -> list[Invite]:
    """Invites neither accepted nor revoked (expired ones included, so they can be resent), newest first."""
    return list(db.session.scalars(
        sa.select(Invite).where(Invite.workspace_id == workspace.id, Invite.accepted_at.is_(None),
                                Invite.revoked_at.is_(None))
        .order_by(Invite.created_at.desc(), Invite.id.desc())))


def create_invite(workspace: Workspace, email: str, role: str, *, inviter: User, now: datetime,
                  ip: str | None = None) -> tuple[Invite, str]:
    """A new invite and its link's token (to be mailed, never stored). An open invite to
    the same address in this workspace is replaced: its link stops working."""
    email = valid_email(email)
    if role not in invitable_roles(inviter, workspace.id):
        raise InviteError("Choose a role you can invite.", field="role")
    existing = db.session.scalar(sa.select(User).where(User.email == email))
    if existing is not None:
        if existing.is_agency:
            raise InviteError(f"{email} is agency staff already and can open every workspace.", field="email")
        if role != ROLE_AGENCY and db.session.scalar(sa.select(Membership.id).where(
                Membership.user_id == existing.id, Membership.workspace_id == workspace.id)) is not None:
            raise InviteError(f"{email} is already a member of {workspace.name}.", field="email")
    replaced = db.session.scalars(sa.select(Invite).where(
        Invite.workspace_id == workspace.id, Invite.email == email, Invite.accepted_at.is_(None),
        Invite.revoked_at.is_(None))).all()
    for old in replaced:
        old.revoked_at = now
    token, digest = _new_token()
    invite = Invite(workspace_id=workspace.id, email=email, role=role, token_hash=digest,
                    invited_by_user_id=inviter.id, created_at=now, sent_at=now, expires_at=now + INVITE_TTL)
    db.session.add(invite)
    db.session.flush()
    audit.record("invite.sent", actor_id=inviter.id, workspace_id=workspace.id, ip=ip, invite_id=invite.id,
                 email=email, role=role, **({"replaced": len(replaced)} if replaced else {}))
    return invite, token


def resend(invite: Invite, *, actor: User, now: datetime, ip: str | None = None) -> str:
    """A new token and expiry for an open invite; the old link stops working."""
    if invite.status(now) not in (INVITE_PENDING, INVITE_EXPIRED):
        raise InviteError("That invitation is no longer open.", status=409)
    token, invite.token_hash = _new_token()
    invite.sent_at, invite.expires_at = now, now + INVITE_TTL
    audit.record("invite.resent", actor_id=actor.id, workspace_id=invite.workspace_id, ip=ip, invite_id=invite.id,
                 email=invite.email, role=invite.role)
    return token


def revoke(invite: Invite, *, actor: User, now: datetime, ip: str | None = None) -> None:
    if invite.status(now) not in (INVITE_PENDING, INVITE_EXPIRED):
        raise InviteError("That invitation is no longer open.", status=409)
    invite.revoked_at = now
    audit.record("invite.revoked", actor_id=actor.id, workspace_id=invite.workspace_id, ip=ip, invite_id=invite.id,
                 email=invite.email, role=invite.role)


def find_by_token(token: str, *, now: datetime) -> Invite:
    """The open invite a link names, without changing it (mail scanners open links).
    Raises InviteLinkError."""
    if not token or len(token) > 100:
        raise InviteLinkError("unknown")
    invite = db.session.scalar(sa.select(Invite).where(Invite.token_hash == hash_token(token)))
    if invite is None:
        raise InviteLinkError("unknown")
    status = invite.status(now)
    if status == INVITE_ACCEPTED:
        raise InviteLinkError("used")
    if status != INVITE_PENDING:
        raise InviteLinkError(status)
    return invite


def account_for(invite: Invite) -> User | None:
    """The existing account of the invited address, if there is one."""
    return db.session.scalar(sa.select(User).where(User.email == invite.email))


def accept(invite: Invite, user: User, *, now: datetime, ip: str | None = None) -> Workspace:
    """Give `user` (whose email must be the invited one) the invite's role in its workspace."""
    if accounts.normalise_email(user.email) != invite.email:
        raise InviteError("This invitation was sent to another email address.", status=403)
    _claim(invite, user, now)
    if invite.role == ROLE_AGENCY:
        user.is_agency = True
    elif db.session.scalar(sa.select(Membership).where(Membership.user_id == user.id,
                                                       Membership.workspace_id == invite.workspace_id)) is None:
        # A member already (e.g. added meanwhile) keeps the role they have.
        db.session.add(Membership(user_id=user.id, workspace_id=invite.workspace_id, role=invite.role, created_at=now))
    db.session.flush()
    audit.record("invite.accepted", actor_id=user.id, workspace_id=invite.workspace_id, ip=ip, invite_id=invite.id,
                 email=invite.email, role=invite.role)
    return db.session.get(Workspace, invite.workspace_id)


def accept_new_account(invite: Invite, *, password: str, confirm: str, name: str, now: datetime,
                       ip: str | None = None) -> User:
    """Create the invited address's account with `password`, then accept the invite for it."""
    if account_for(invite) is not None:
        raise InviteError("An account with this email exists already: sign in to accept.", status=409)
    if password != confirm:
        raise InviteError("The two passwords don't match.", field="confirm")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InviteError(f"Use at most {MAX_PASSWORD_LENGTH} characters.", field="password")
    workspace = None if invite.role == ROLE_AGENCY else db.session.get(Workspace, invite.workspace_id)
    try:  # the account rules (password length, address) are the accounts service's
        user, _ = accounts.create_user(invite.email, role=invite.role, workspace=workspace, password=password,
                                       name=(name or "").strip()[:120])
    except accounts.AccountError as e:
        message = str(e)
        raise InviteError(message[:1].upper() + message[1:] + ".", field="password") from None
    accept(invite, user, now=now, ip=ip)
    return user


def _claim(invite: Invite, user: User, now: datetime) -> None:
    """Mark the invite accepted, once: a second accept (another tab, a race) finds it taken."""
    result = db.session.execute(
        sa.update(Invite)
        .where(Invite.id == invite.id, Invite.accepted_at.is_(None), Invite.revoked_at.is_(None),
               Invite.expires_at > now, Invite.token_hash == invite.token_hash)
        .values(accepted_at=now, accepted_user_id=user.id)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise InviteLinkError("used")
    db.session.refresh(invite)


def invite_message(invite: Invite, token: str, *, workspace: Workspace, inviter: User) -> Message:
    """The invitation email, with the link that carries `token`."""
    who = inviter.name or inviter.email
    return mail.compose(f"{who} invited you to {workspace.name} on Logic Target", invite.email, template="invite",
                        accept_url=mail.link("members.accept", token=token), workspace_name=workspace.name,
                        inviter=who, role=ROLE_LABELS.get(invite.role, invite.role), creator=invite.role == ROLE_CREATOR,
                        agency=invite.role == ROLE_AGENCY, days=INVITE_TTL.days, expires_at=invite.expires_at)

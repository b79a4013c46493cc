"""Users, sign-in and memberships."""
from __future__ import annotations

import secrets

import sqlalchemy as sa

from app.extensions import db
from app.models import Membership, User, Workspace, utcnow
from app.models.workspace import ALL_ROLES, ROLE_AGENCY


class AccountError(Exception):
    """A user-facing problem with account data (bad role, unknown workspace…)."""


def load_user_from_session_id(session_id: str) -> User | None:
    """Flask-Login loader. The id carries the user's session version, so bumping the
    version (sign-out, membership removal) invalidates every copy of the cookie."""
    user_id, _, version = session_id.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or user.disabled or user.session_version != int(version):
        return None
    return user


MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 512  # the sign-in form reads no more than this


def check_new_password(password: str) -> None:
    """The rules every new password meets (CLI, reset link, account page); raises AccountError."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"password must be at most {MAX_PASSWORD_LENGTH} characters")


def normalise_email(email: str) -> str:
    return email.strip().lower()


def authenticate(email: str, password: str) -> User | None:
    user = db.session.scalar(sa.select(User).where(User.email == normalise_email(email)))
    if user is None:
        # Same work either way, so timing does not reveal which emails exist.
        User(password_hash="").set_password(password)
        return None
    if user.disabled or not user.check_password(password):
        return None
    user.last_login_at = utcnow()
    return user


def end_all_sessions(user: User) -> None:
    user.session_version += 1


def get_or_create_workspace(name: str, *, timezone: str = "UTC", cadence_target: int = 3) -> Workspace:
    name = name.strip()
    if not name:
        raise AccountError("workspace name is empty")
    ws = db.session.scalar(sa.select(Workspace).where(Workspace.name == name))
    if ws is None:
        ws = Workspace(name=name, timezone=timezone, cadence_target=cadence_target)
        db.session.add(ws)
        db.session.flush()
    return ws


def create_user(email: str, *, role: str, workspace: Workspace | None, password: str | None = None,
                name: str = "") -> tuple[User, str | None]:
    """Create (or add a membership to) a user. Returns the user and the generated
    password when none was given (None when the user already existed)."""
    if role not in ALL_ROLES:
        raise AccountError(f"role must be one of {', '.join(ALL_ROLES)}")
    email = normalise_email(email)
    if "@" not in email or len(email) > 254:
        raise AccountError("that does not look like an email address")
    if role != ROLE_AGENCY and workspace is None:
        raise AccountError("client_admin and creator users need a workspace")
    user = db.session.scalar(sa.select(User).where(User.email == email))
    generated = None
    if user is None:
        if password is None:
            password = generated = secrets.token_urlsafe(12)
        check_new_password(password)
        user = User(email=email, name=name or email.split("@")[0])
        user.set_password(password)
        db.session.add(user)
        db.session.flush()
    elif password is not None:
        user.set_password(password)
    if role == ROLE_AGENCY:
        user.is_agency = True
    elif workspace is not None:
        membership = db.session.scalar(
            sa.select(Membership).where(Membership.user_id == user.id, Membership.workspace_id == workspace.id)
        )
        if membership is None:
            db.session.add(Membership(user_id=user.id, workspace_id=workspace.id, role=role))
        else:
            membership.role = role
    db.session.flush()
    return user, generated


def remove_member(user: User, workspace: Workspace) -> None:
    """Take a user out of a workspace; their open sessions end at once. Removing a member
    on the members page comes here (app/services/members.py checks the last client admin)."""
    db.session.execute(
        sa.delete(Membership).where(Membership.user_id == user.id, Membership.workspace_id == workspace.id)
    )
    end_all_sessions(user)

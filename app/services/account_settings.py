"""What a person changes about themselves on the account page: their name and their
password, and the workspaces they can open (with their role in each).

Changing the password needs the current one; it ends every session of the account
(the caller signs the current one in again under the new session version) and spends
any reset link still open. Services never commit: the caller owns the unit of work.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from app.extensions import db
from app.models import Membership, User, Workspace
from app.models.workspace import ROLE_AGENCY, ROLE_CLIENT_ADMIN, ROLE_CREATOR
from app.services import access, accounts, password_resets

MAX_NAME_LENGTH = 120
ROLE_LABELS = {ROLE_AGENCY: "Agency staff", ROLE_CLIENT_ADMIN: "Client admin", ROLE_CREATOR: "Creator"}


class SettingsError(Exception):
    """A refused change; `message` is safe to show."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class WrongPassword(SettingsError):
    def __init__(self):
        super().__init__("That isn't your current password, so nothing changed.")


def clean_name(raw: str | None) -> str:
    """Whitespace runs become one space; control characters are refused."""
    name = " ".join((raw or "").split())
    if not name:
        raise SettingsError("Enter a name.")
    if len(name) > MAX_NAME_LENGTH:
        raise SettingsError(f"A name can be at most {MAX_NAME_LENGTH} characters.")
    if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in name):
        raise SettingsError("A name can't contain control characters.")
    return name


def rename(user: User, raw: str | None) -> bool:
    """Set the display name; False when it is unchanged."""
    name = clean_name(raw)
    if name == user.name:
        return False
    user.name = name
    return True


def change_password(user: User, *, current: str, new: str, confirm: str, now: datetime) -> None:
    """WrongPassword when `current` is not the password; SettingsError when `new` breaks a rule."""
    if not user.check_password(current):
        raise WrongPassword()
    try:
        password_resets.check_new_password(new, confirm)
    except password_resets.PasswordRejected as e:
        raise SettingsError(e.message) from None
    if user.check_password(new):
        raise SettingsError("The new password is the one you have now. Choose a different one.")
    user.set_password(new)
    password_resets.spend_open_links(user, now=now)
    accounts.end_all_sessions(user)


def workspaces_with_roles(user: User) -> list[tuple[Workspace, str]]:
    """Every workspace `user` can open, by name, with their role's label (one query)."""
    if user.is_agency:
        return [(ws, ROLE_LABELS[ROLE_AGENCY]) for ws in db.session.scalars(access.workspaces_query(user))]
    rows = db.session.execute(
        sa.select(Workspace, Membership.role).join(Membership, Membership.workspace_id == Workspace.id)
        .where(Membership.user_id == user.id).order_by(Workspace.name)
    )
    return [(ws, ROLE_LABELS.get(role, role)) for ws, role in rows]

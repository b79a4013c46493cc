"""The demo workspace `make run` seeds: one client and its people.

Their passwords are published (README, `demo seed`), so they are a development surface:
signing in with one is refused unless the caller is on this machine or SANDBOX_CONTROL
is on (app/web/dev_surfaces.py), whatever APP_ENV says.
"""
from __future__ import annotations

import hmac
from dataclasses import dataclass

import sqlalchemy as sa

from app.extensions import db
from app.models import User
from app.services import accounts

DEMO_WORKSPACE = "Brass Studio"
# Fixed, published demo passwords: the seed refuses to run in production.
DEMO_PEOPLE = (
    ("agency@logic-target.local", "agency", "Ava Agency", "demo-agency-pass"),
    ("admin@brass.studio", "client_admin", "Cleo Client", "demo-admin-pass"),
    ("maya@brass.studio", "creator", "Maya Creator", "demo-maya-pass"),
    ("leo@brass.studio", "creator", "Leo Creator", "demo-leo-pass"),
)


@dataclass(frozen=True)
class DemoLogin:
    email: str
    role: str
    password: str
    created: bool


def is_published_login(email: str, password: str) -> bool:
    """`email` is a demo person's and `password` is the password published for them."""
    wanted = accounts.normalise_email(email)
    return any(wanted == demo_email and hmac.compare_digest(password.encode(), published.encode())
               for demo_email, _role, _name, published in DEMO_PEOPLE)


def seed_demo() -> list[DemoLogin]:
    """Create the demo workspace and people; running it again changes nothing."""
    ws = accounts.get_or_create_workspace(DEMO_WORKSPACE, timezone="Europe/London", cadence_target=3)
    logins = []
    for email, role, name, password in DEMO_PEOPLE:
        exists = db.session.scalar(sa.select(User.id).where(User.email == email)) is not None
        if not exists:
            accounts.create_user(email, role=role, workspace=ws, password=password, name=name)
        else:  # idempotent: keep the account, make sure the membership is there
            accounts.create_user(email, role=role, workspace=ws, password=None, name=name)
        logins.append(DemoLogin(email, role, password, created=not exists))
    return logins

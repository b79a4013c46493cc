"""A client workspace's settings: what a person may set, how it is checked, and applying it.

The settings people manage here are the workspace's name, its timezone (the days of the
dashboard and of the weekly report are its calendar days) and its weekly posting target
(the "on cadence" line). Its other column, the two-factor requirement, has its own
form on the account page (it checks that the person changing it has two-factor sign-in
on); the settings page links there instead of offering a second control.

Rules, each with a message that says how to fix the entry:
- name: 1 to NAME_MAX characters after trimming (inner runs of spaces become one), unique
  regardless of case ("Brass Studio" and "brass studio" would be indistinguishable in a
  list);
- timezone: an IANA name that zoneinfo knows ("Europe/Berlin"); a name differing only in
  case is taken in its proper spelling;
- weekly posting target: a whole number of posts, CADENCE_MIN to CADENCE_MAX.

Nothing here commits: the view of the request (app/web/clients.py) owns the transaction.
"""
from __future__ import annotations

import functools
import zoneinfo
from dataclasses import dataclass
from typing import Mapping

import sqlalchemy as sa

from app.extensions import db
from app.models import Workspace

NAME_MAX = 120  # the column's length
CADENCE_MIN, CADENCE_MAX = 1, 50
DEFAULT_TIMEZONE = "UTC"
DEFAULT_CADENCE = 3
FIELDS = ("name", "timezone", "cadence_target")


@dataclass(frozen=True)
class Settings:
    name: str
    timezone: str
    cadence_target: int


@dataclass
class Checked:
    """A form checked: `settings` when every field is valid, else `errors` (field -> message).
    `values` is what the person typed (trimmed), to show the form again."""

    values: dict[str, str]
    errors: dict[str, str]
    settings: Settings | None = None

    @property
    def ok(self) -> bool:
        return not self.errors


@functools.lru_cache(maxsize=1)
def timezone_names() -> tuple[str, ...]:
    """Every IANA zone name zoneinfo knows, sorted (read once per process)."""
    return tuple(sorted(n for n in zoneinfo.available_timezones() if "/" in n or n == "UTC"))


@functools.lru_cache(maxsize=1)
def _zones_by_lower() -> dict[str, str]:
    return {n.lower(): n for n in zoneinfo.available_timezones()}


def canonical_timezone(text: str) -> str | None:
    """The zone's proper name for `text` ("europe/berlin" → "Europe/Berlin"), or None."""
    return _zones_by_lower().get((text or "").strip().lower())


def blank_form() -> dict[str, str]:
    return {"name": "", "timezone": DEFAULT_TIMEZONE, "cadence_target": str(DEFAULT_CADENCE)}


def form_of(workspace: Workspace) -> dict[str, str]:
    return {"name": workspace.name, "timezone": workspace.timezone, "cadence_target": str(workspace.cadence_target)}


def name_taken(name: str, *, other_than: int | None = None) -> bool:
    q = sa.select(Workspace.id).where(sa.func.lower(Workspace.name) == name.lower())
    if other_than is not None:
        q = q.where(Workspace.id != other_than)
    return db.session.scalar(q.limit(1)) is not None


def check(form: Mapping[str, str], *, workspace: Workspace | None = None) -> Checked:
    """Check a create or settings form (`workspace`: the one being edited)."""
    values = {f: " ".join(str(form.get(f) or "").split())[:200] for f in FIELDS}
    errors: dict[str, str] = {}

    name = values["name"]
    if not name:
        errors["name"] = "Enter the client's name."
    elif len(name) > NAME_MAX:
        errors["name"] = f"Use at most {NAME_MAX} characters for the name."
    elif name_taken(name, other_than=workspace.id if workspace else None):
        errors["name"] = f"A workspace called “{name}” already exists. Choose another name."

    tz = canonical_timezone(values["timezone"])
    if not values["timezone"]:
        errors["timezone"] = "Choose a timezone, e.g. Europe/London or America/New_York."
    elif tz is None:
        errors["timezone"] = (f"“{values['timezone']}” is not a timezone we know. "
                              "Use a name like Europe/London or America/New_York.")
    else:
        values["timezone"] = tz

    target = values["cadence_target"]
    if not target.isdigit() or not target.isascii():
        errors["cadence_target"] = (f"Enter the number of posts per week, "
                                    f"a whole number from {CADENCE_MIN} to {CADENCE_MAX}.")
    elif not CADENCE_MIN <= int(target) <= CADENCE_MAX:
        errors["cadence_target"] = f"The weekly posting target must be from {CADENCE_MIN} to {CADENCE_MAX} posts."

    if errors:
        return Checked(values, errors)
    return Checked(values, errors, Settings(name, tz, int(target)))  # type: ignore[arg-type]


def create(settings: Settings) -> Workspace:
    """A new workspace with these settings (flushed, so it has an id)."""
    ws = Workspace(name=settings.name, timezone=settings.timezone, cadence_target=settings.cadence_target)
    db.session.add(ws)
    db.session.flush()
    return ws


def apply(workspace: Workspace, settings: Settings) -> dict[str, list]:
    """Set the workspace's settings; returns what changed (field -> [before, after])."""
    changes = {}
    for field in FIELDS:
        before, after = getattr(workspace, field), getattr(settings, field)
        if before != after:
            changes[field] = [before, after]
            setattr(workspace, field, after)
    db.session.flush()
    return changes

"""The one state a connected account is in, as its Integrations row states it.

Read from the connection's columns only (no query, no Flask), so a row renders the same
wherever it is drawn:

- syncing: a sync was asked for (connect, "Refresh now") and no attempt has finished
  since — `request_sync` sets `next_sync_at` to the request time, and every finished
  attempt moves it forward (success or failure), so "asked and not yet attempted" is
  `next_sync_at <= sync_requested_at`. The row polls itself only in this state;
- sync failed: the last attempt failed (`last_error` set, nothing synced since): why,
  and when the next attempt is due (`next_sync_at`). A failed sync is never "Syncing…";
- synced: when, and the next scheduled sync; not synced yet: connected, first sync due;
- needs reconnect: TikTok refuses our access; history is kept;
- disconnected: since when, and the purge date (or the next nightly purge when deletion
  was asked for).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from app.models import TikTokConnection
from app.models.connection import STATUS_DISCONNECTED, STATUS_NEEDS_RECONNECT

SYNCING = "syncing"
SYNC_FAILED = "sync_failed"
SYNCED = "synced"
NOT_SYNCED = "not_synced"
NEEDS_RECONNECT = "needs_reconnect"
DISCONNECTED = "disconnected"
DELETION_SCHEDULED = "deletion_scheduled"


@dataclass(frozen=True)
class RowState:
    key: str
    label: str  # the badge's text
    tone: str  # badge colour: "ok" | "warn" | "err" | "info" | "muted"
    why: str | None = None  # the reason, for failures and reconnects
    next_attempt_at: datetime | None = None  # next sync (failed or synced states)

    @property
    def polls(self) -> bool:
        """The row re-fetches itself until the sync it is waiting for has finished."""
        return self.key == SYNCING


def _strip_stamp(message: str) -> str:
    """last_error ends with " (YYYY-MM-DD HH:MM UTC)"; the row says when on its own."""
    if message.endswith(" UTC)") and " (" in message:
        message = message.rsplit(" (", 1)[0]
    return message.rstrip(". ")  # the row puts it inside a sentence of its own


def row_state(conn: TikTokConnection) -> RowState:
    if conn.status == STATUS_DISCONNECTED:
        if conn.deletion_requested_at:
            return RowState(DELETION_SCHEDULED, "Disconnected · deletion scheduled", "muted")
        return RowState(DISCONNECTED, "Disconnected", "muted")
    if conn.status == STATUS_NEEDS_RECONNECT:
        return RowState(NEEDS_RECONNECT, "Needs reconnect", "err",
                        why=_strip_stamp(conn.last_error) if conn.last_error else None)
    requested, synced, next_at = conn.sync_requested_at, conn.last_synced_at, conn.next_sync_at
    waiting = requested is not None and (synced is None or synced < requested)
    if waiting and (next_at is None or next_at <= requested):
        return RowState(SYNCING, "Syncing", "info")
    if conn.last_error:  # set by a failed attempt, cleared by the next good one
        return RowState(SYNC_FAILED, "Sync failed", "err", why=_strip_stamp(conn.last_error), next_attempt_at=next_at)
    if synced is None:
        return RowState(NOT_SYNCED, "Not synced yet", "info", next_attempt_at=next_at)
    return RowState(SYNCED, "Synced", "ok", next_attempt_at=next_at)


def when_next(at: datetime | None, now: datetime | None = None) -> str:
    """A due time as a row says it: "in 12 min (14:05 UTC)", "in 3 h (…)", or "now" once due."""
    if at is None:
        return "not scheduled"
    now = now or datetime.now(timezone.utc)
    seconds = (at - now).total_seconds()
    if seconds <= 60:
        return "now"
    minutes = int(seconds // 60)
    span = f"in {minutes} min" if minutes < 120 else f"in {minutes // 60} h"
    return f"{span} ({at:%H:%M} UTC)" if minutes < 24 * 60 else f"{span} ({at:%b} {at.day}, {at:%H:%M} UTC)"

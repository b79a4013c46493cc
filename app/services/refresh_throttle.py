""""Refresh now" at most once per connection per interval, across every instance.

All workspaces share the app's TikTok rate limit, so one person pressing "Refresh now"
over and over must not spend it. The window is a lease row in the database (see
app/leases.py): taken with a conditional UPDATE or a unique INSERT, so two
instances cannot both start a refresh of one connection within the interval; nothing
releases it, it simply expires. No extra column, no in-process state.
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta

from app.leases import acquire_lease, lease_expires_at

JOB = "refresh-now"


def take_slot(connection_id: int, *, now: datetime, min_interval: timedelta) -> int:
    """0 when a refresh of the connection may run now (its interval starts now);
    otherwise the whole seconds (≥ 1) until the next one may. The window is a lease,
    visible to other instances at once (its own transaction: the caller's is untouched)."""
    if min_interval <= timedelta(0):
        return 0
    if acquire_lease(JOB, str(connection_id), now=now, ttl=min_interval) is not None:
        return 0
    expires = lease_expires_at(JOB, str(connection_id))
    left = (expires - now).total_seconds() if expires is not None else 1
    return max(1, math.ceil(left))

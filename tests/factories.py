"""Plain data builders for tests (CTFd's gen_* style): explicit, no magic."""
from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

from app.extensions import db
from app.models import TikTokConnection

_seq = itertools.count(1)


def make_connection(workspace, owner, *, username: str | None = None, status: str = "active",
                    scopes: str = "user.info.basic,video.list,video.insights", **fields) -> TikTokConnection:
    n = next(_seq)
    now = datetime.now(timezone.utc)
    conn = TikTokConnection(
        workspace_id=workspace.id,
        owner_user_id=owner.id if owner else None,
        open_id=fields.pop("open_id", f"open-{n}"),
        username=username or f"account{n}",
        display_name=f"Account {n}",
        status=status,
        granted_scopes=scopes,
        connected_at=fields.pop("connected_at", now - timedelta(days=3)),
        token_refreshed_at=fields.pop("token_refreshed_at", now - timedelta(hours=2)),
        **fields,
    )
    db.session.add(conn)
    db.session.flush()
    return conn

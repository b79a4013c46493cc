"""Claims that keep jobs from doing one piece of work twice across threads and instances."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from app.extensions import db
from app.models.base import UTCDateTime, utcnow


class JobClaim(db.Model):
    """A lease on (job, key): one holder at a time, expiring so a dead instance's
    work is picked up again. Portable (a unique row), so it works on SQLite too."""

    __tablename__ = "job_claims"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    job: so.Mapped[str] = so.mapped_column(sa.String(64))
    key: so.Mapped[str] = so.mapped_column(sa.String(128))
    owner: so.Mapped[str] = so.mapped_column(sa.String(64))
    claimed_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    expires_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)

    __table_args__ = (sa.UniqueConstraint("job", "key"),)

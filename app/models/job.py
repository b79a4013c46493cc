"""Job bookkeeping: work claims, one record per job of its runs, and the link from a
connection being purged to the receipt its purge writes into."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from app.extensions import db
from app.models.base import UTCDateTime, utcnow

# JobRun.last_status
RUN_RUNNING = "running"  # started, not finished (or the process died during the run)
RUN_OK = "ok"            # finished, every item done
RUN_PARTIAL = "partial"  # finished, some items failed (counted in item_errors_total)
RUN_FAILED = "failed"    # the run itself raised


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


class JobRun(db.Model):
    """What every instance knows about one job's runs (one row per job name), written by
    `jobs.runner.run_job` in transactions of its own (app/services/job_runs.py), so a
    run that fails is recorded too. `flask jobs status` and /metrics read it.

    "Success" is a run that finished without raising, even if some items failed: those
    show as status "partial" and in `item_errors_total`. `last_error` holds an exception
    type and a short, redacted message (never a traceback: that goes to the log)."""

    __tablename__ = "job_runs"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    last_status: so.Mapped[str | None] = so.mapped_column(sa.String(16))
    last_started_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    last_finished_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    last_success_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    last_duration_seconds: so.Mapped[float | None] = so.mapped_column(sa.Float)
    last_error: so.Mapped[str | None] = so.mapped_column(sa.String(300))
    last_error_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    last_counts: so.Mapped[dict[str, Any] | None] = so.mapped_column(sa.JSON)
    # When a start-up catch-up of this job last ran (jobs/scheduler.py): once per missed fire time.
    last_catch_up_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    runs_total: so.Mapped[int] = so.mapped_column(default=0)
    failures_total: so.Mapped[int] = so.mapped_column(default=0)
    item_errors_total: so.Mapped[int] = so.mapped_column(default=0)

    def __repr__(self) -> str:
        return f"<JobRun {self.name} {self.last_status}>"


class PurgeReceiptLink(db.Model):
    """A purge in progress: the receipt it writes into, so a run that dies half-way is
    resumed by the next one into the same receipt. Removed when the purge finishes or
    stops (and with the connection row, by cascade)."""

    __tablename__ = "purge_receipt_links"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    connection_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("tiktok_connections.id", ondelete="CASCADE"), unique=True)
    receipt_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("deletion_receipts.id", ondelete="CASCADE"),
                                                  index=True)
    started_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

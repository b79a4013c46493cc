"""The record of job runs every instance shares (`job_runs`, one row per job name).

`jobs.runner.run_job` calls `record_start` before a job and `record_finish` after it.
Each write is its own short transaction on its own connection (not the job's session),
so a run that fails, or leaves its session in a bad state, is still recorded. Writes are
an insert-if-missing (ON CONFLICT DO NOTHING, on PostgreSQL and SQLite alike) followed by
one UPDATE with relative increments, so several instances and threads recording the
same job at once never lose a count.

`claim_catch_up` lets exactly one process run a start-up catch-up per missed fire time
(see jobs/scheduler.py); `all_runs` is what `flask jobs status` and /metrics read.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import sqlalchemy as sa

from app.extensions import db
from app.models.job import RUN_FAILED, RUN_OK, RUN_PARTIAL, RUN_RUNNING, JobRun

MAX_ERROR = 300
_runs = JobRun.__table__


def short_error(exc: BaseException, *, limit: int = 160) -> str:
    """`Type: first line of the message`, with secrets redacted and the length bounded."""
    from app.logging_setup import redact

    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    text = redact(text)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _ensure_row(conn: sa.Connection, name: str) -> None:
    dialect = conn.dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - the app runs on PostgreSQL or SQLite
        raise RuntimeError(f"job_runs: unsupported database {dialect}")
    conn.execute(insert(_runs).values(name=name, runs_total=0, failures_total=0, item_errors_total=0)
                 .on_conflict_do_nothing(index_elements=["name"]))


def _update(name: str, **values) -> None:
    with db.engine.begin() as conn:
        _ensure_row(conn, name)
        conn.execute(sa.update(_runs).where(_runs.c.name == name).values(**values))


def record_start(name: str, *, at: datetime) -> None:
    _update(name, last_started_at=at, last_status=RUN_RUNNING, runs_total=_runs.c.runs_total + 1)


def record_finish(name: str, *, started_at: datetime, finished_at: datetime, counts: Mapping[str, int] | None,
                  item_errors: int = 0, first_error: str | None = None, error: BaseException | None = None) -> None:
    """A finished run: `error` when the run raised, else its counts and failed items."""
    values = {"last_finished_at": finished_at,
              "last_duration_seconds": round((finished_at - started_at).total_seconds(), 3)}
    if error is not None:
        values.update(last_status=RUN_FAILED, failures_total=_runs.c.failures_total + 1,
                      last_error=short_error(error)[:MAX_ERROR], last_error_at=finished_at)
    else:
        values.update(last_status=RUN_PARTIAL if item_errors else RUN_OK, last_success_at=finished_at,
                      last_counts={k: int(v) for k, v in (counts or {}).items()})
        if item_errors:
            values.update(item_errors_total=_runs.c.item_errors_total + item_errors,
                          last_error=(first_error or f"{item_errors} item(s) failed")[:MAX_ERROR],
                          last_error_at=finished_at)
    _update(name, **values)


def claim_catch_up(name: str, *, due_since: datetime, now: datetime) -> bool:
    """True for exactly one caller per missed fire time: when no run of `name` has
    succeeded since `due_since` (its last scheduled time) and no catch-up was claimed
    since then either. Atomic across processes (one conditional UPDATE)."""
    with db.engine.begin() as conn:
        _ensure_row(conn, name)
        claimed = conn.execute(
            sa.update(_runs).where(
                _runs.c.name == name,
                sa.or_(_runs.c.last_success_at.is_(None), _runs.c.last_success_at < due_since),
                sa.or_(_runs.c.last_catch_up_at.is_(None), _runs.c.last_catch_up_at < due_since),
            ).values(last_catch_up_at=now)
        ).rowcount
    return claimed == 1


def all_runs() -> dict[str, JobRun]:
    """Every job's record, by name (read through the session; the caller commits or removes it)."""
    return {run.name: run for run in db.session.scalars(sa.select(JobRun).order_by(JobRun.name))}

"""Run one job by name: the one path for the scheduler, the CLI and tests.

Every run is recorded in `job_runs` (app/services/job_runs.py): its start before the
job, its end after it (status, counts, failed items, or the exception that stopped
it), each in a transaction of its own, so `flask jobs status` and /metrics see runs
from every instance, failed ones included. Recording never hides the job's outcome:
if the database cannot take the record, that is logged and the run goes on."""
from __future__ import annotations

import logging
import time
from datetime import datetime, timezone

from flask import Flask

import jobs
from app.extensions import db
from app.services import job_runs
from jobs.result import JobResult

log = logging.getLogger("jobs")


class UnknownJob(KeyError):
    pass


def run_job(app: Flask, name: str, *, now: datetime | None = None, **opts) -> JobResult:
    jobs.load_all()
    if name not in jobs.REGISTRY:
        raise UnknownJob(name)
    with app.app_context():
        started_at = datetime.now(timezone.utc)  # the record's times are real ones, whatever `now` a test passes
        now = now or started_at
        started = time.monotonic()
        log.info("job start name=%s", name)
        _record(name, job_runs.record_start, at=started_at)
        try:
            result = jobs.REGISTRY[name](now=now, **opts)
        except Exception as e:
            log.exception("job failed name=%s", name)
            db.session.rollback()
            db.session.remove()
            _record(name, job_runs.record_finish, started_at=started_at, finished_at=datetime.now(timezone.utc),
                    counts=None, error=e)
            raise
        db.session.remove()
        _record(name, job_runs.record_finish, started_at=started_at, finished_at=datetime.now(timezone.utc),
                counts=result.counts, item_errors=result.item_errors,
                first_error=_summary(result))
        log.info("job done name=%s seconds=%.2f %s", name, time.monotonic() - started, result)
        return result


def _summary(result: JobResult) -> str | None:
    if not result.errors:
        return None
    more = len(result.errors) - 1
    return result.errors[0] + (f" (and {more} more)" if more else "")


def _record(name: str, write, **kw) -> None:
    try:
        write(name, **kw)
    except Exception:  # the record is bookkeeping: never let it change the run's outcome
        log.exception("could not record job run name=%s", name)

"""Run one job by name: the one path for the scheduler, the CLI and tests."""
from __future__ import annotations

import logging
import time
from datetime import datetime, timezone

from flask import Flask

import jobs
from app.extensions import db
from jobs.result import JobResult

log = logging.getLogger("jobs")


class UnknownJob(KeyError):
    pass


def run_job(app: Flask, name: str, *, now: datetime | None = None, **opts) -> JobResult:
    jobs.load_all()
    if name not in jobs.REGISTRY:
        raise UnknownJob(name)
    with app.app_context():
        now = now or datetime.now(timezone.utc)
        started = time.monotonic()
        log.info("job start name=%s", name)
        try:
            result = jobs.REGISTRY[name](now=now, **opts)
        except Exception:
            log.exception("job failed name=%s", name)
            db.session.rollback()
            raise
        finally:
            db.session.remove()
        log.info("job done name=%s seconds=%.2f %s", name, time.monotonic() - started, result)
        return result

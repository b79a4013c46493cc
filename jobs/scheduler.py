"""The in-process scheduler (APScheduler BackgroundScheduler, UTC).

Started only by the serving path (`flask --app wsgi serve`, gunicorn's post_fork
hook), never by imports, tests or the CLI. Several instances may each run one:
correctness comes from database claims and unique constraints, not from "only one
scheduler" (APScheduler's job stores can't be shared between processes).
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

import jobs
from jobs.runner import run_job

log = logging.getLogger("jobs.scheduler")


def start_scheduler(app: Flask) -> BackgroundScheduler:
    existing = app.extensions.get("scheduler")
    if existing is not None:  # never twice in one process
        return existing
    jobs.load_all()
    scheduler = BackgroundScheduler(timezone="UTC", job_defaults={
        "coalesce": True, "max_instances": 1, "misfire_grace_time": 300})
    for name, trigger in jobs.SCHEDULE.items():
        scheduler.add_job(_run_safely, id=name, name=name, args=(app, name), replace_existing=True, **trigger)
    scheduler.start()
    app.extensions["scheduler"] = scheduler
    log.info("scheduler started jobs=%s", ",".join(sorted(jobs.SCHEDULE)))
    return scheduler


def _run_safely(app: Flask, name: str) -> None:
    try:
        run_job(app, name)
    except Exception:  # logged by run_job; the next run tries again
        pass


def wake(app: Flask, name: str) -> bool:
    """Run a scheduled job now (e.g. the first sync right after connect). Returns
    False when no scheduler runs in this process; the job's next regular run does it."""
    scheduler = app.extensions.get("scheduler")
    if scheduler is None:
        return False
    job = scheduler.get_job(name)
    if job is None:
        return False
    job.modify(next_run_time=datetime.now(timezone.utc))
    return True

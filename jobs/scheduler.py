"""The in-process scheduler (APScheduler BackgroundScheduler, UTC).

Started only by the serving path (`flask --app wsgi serve`, gunicorn's post_fork
hook), never by imports, tests or the CLI. Several instances may each run one:
correctness comes from database claims and unique constraints, not from "only one
scheduler" (APScheduler's job stores can't be shared between processes).
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED
from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

import jobs
from jobs.runner import run_job

log = logging.getLogger("jobs.scheduler")

CATCH_UP_ON_START = {"weekly-reports", "purge"}
CATCH_UP_DELAY = timedelta(seconds=60)


def start_scheduler(app: Flask) -> BackgroundScheduler:
    existing = app.extensions.get("scheduler")
    if existing is not None:  # never twice in one process
        return existing
    jobs.load_all()
    scheduler = BackgroundScheduler(timezone="UTC", job_defaults={
        "coalesce": True, "max_instances": 1, "misfire_grace_time": 300})
    for name, trigger in jobs.SCHEDULE.items():
        scheduler.add_job(_run_safely, id=name, name=name, args=(app, name), replace_existing=True, **trigger)
    # The in-memory job store forgets a trigger that fell while the app was down (a deploy
    # across Monday 09:00). These jobs are idempotent per period, so each start runs them
    # once shortly after boot to catch up whatever was missed; claims keep instances apart.
    for name in CATCH_UP_ON_START & set(jobs.SCHEDULE):
        scheduler.add_job(_run_safely, id=f"{name}-catch-up", name=f"{name} (catch-up)", args=(app, name),
                          next_run_time=datetime.now(timezone.utc) + CATCH_UP_DELAY, replace_existing=True)
    scheduler.add_listener(_log_skipped, EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
    scheduler.start()
    app.extensions["scheduler"] = scheduler
    log.info("scheduler started jobs=%s", ",".join(sorted(jobs.SCHEDULE)))
    return scheduler


def _log_skipped(event) -> None:
    """A run skipped because the previous one still runs, or missed its grace time: say so."""
    reason = "still running (max_instances=1)" if event.code == EVENT_JOB_MAX_INSTANCES else "missed its start"
    log.warning("job run skipped name=%s reason=%s", event.job_id, reason)


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

"""The in-process scheduler (APScheduler BackgroundScheduler, UTC).

Started only by the serving path (`flask --app wsgi serve`, gunicorn's post_worker_init
hook), never by imports, tests or the CLI. Several instances may each run one:
correctness comes from database claims and unique constraints, not from "only one
scheduler" (APScheduler's job stores can't be shared between processes).

Also here: the schedule arithmetic `flask jobs status` and /metrics use (a job's
previous scheduled fire time, and how late it is), read from the same triggers.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask

import jobs
from app.models.job import JobRun
from app.services import job_runs
from jobs.result import JobResult
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
    # across the nightly purge, or across the hour's report deliveries), so every start
    # schedules a catch-up of these jobs shortly after boot. Whether it runs is decided in
    # the database when it fires (`catch_up`): only if no run succeeded since the last
    # scheduled time, and only once per such time across every worker and instance, so a
    # worker recycled by gunicorn (max_requests) or a second instance starting later does
    # not run the job again.
    for name in CATCH_UP_ON_START & set(jobs.SCHEDULE):
        scheduler.add_job(_catch_up_safely, id=f"{name}-catch-up", name=f"{name} (catch-up)", args=(app, name),
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
    except Exception:  # logged and recorded by run_job; the next run tries again
        pass


def _catch_up_safely(app: Flask, name: str) -> None:
    try:
        catch_up(app, name)
    except Exception:  # logged (and, for the run, recorded) already; the next scheduled run tries again
        log.exception("catch-up failed name=%s", name)


def catch_up(app: Flask, name: str, *, now: datetime | None = None) -> JobResult | None:
    """Run `name` now if its last scheduled fire time passed without a successful run
    (the app was down, or the run died with it). At most once per fire time across
    every process: the claim is one conditional UPDATE of the job's `job_runs` row.
    Returns the run's result, or None when nothing was due or another process has it."""
    now = now or datetime.now(timezone.utc)
    due_since = previous_fire_time(name, now)
    if due_since is None:
        return None
    with app.app_context():
        claimed = job_runs.claim_catch_up(name, due_since=due_since, now=now)
    if not claimed:
        log.info("catch-up not needed name=%s: a run succeeded (or a catch-up started) since %s",
                 name, due_since.isoformat())
        return None
    log.info("catch-up name=%s: no successful run since its scheduled time %s", name, due_since.isoformat())
    return run_job(app, name)


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


# ------------------------------------------------------------------ schedule arithmetic


def trigger_for(name: str) -> BaseTrigger:
    """The APScheduler trigger the scheduler builds from jobs.SCHEDULE[name]."""
    jobs.load_all()
    spec = dict(jobs.SCHEDULE[name])
    kind = spec.pop("trigger")
    if kind == "interval":
        return IntervalTrigger(**spec, timezone=timezone.utc)
    if kind == "cron":
        return CronTrigger(**spec, timezone=timezone.utc)
    raise ValueError(f"job {name}: unsupported trigger {kind!r}")


def previous_fire_time(name: str, now: datetime) -> datetime | None:
    """The latest time at or before `now` the job was scheduled to run; None for
    interval jobs (they have no fixed times) or a cron that never fired in a year.

    APScheduler triggers only look forward (`get_next_fire_time(previous, now)`), so
    walk forward from a point far enough back."""
    trigger = trigger_for(name)
    if not isinstance(trigger, CronTrigger):
        return None
    for lookback in (timedelta(days=1), timedelta(days=8), timedelta(days=32), timedelta(days=367)):
        fire = trigger.get_next_fire_time(None, now - lookback)
        if fire is None or fire > now:
            continue
        while True:
            following = trigger.get_next_fire_time(fire, fire)
            if following is None or following > now:
                return fire.astimezone(timezone.utc)
            fire = following
    return None


def lag(name: str, last_success_at: datetime | None, now: datetime) -> timedelta | None:
    """How late the job is against its schedule (zero when on time); None if it never
    succeeded. Interval jobs: now − (last success + interval). Cron jobs: now − the
    previous scheduled fire time, when no run succeeded since it."""
    if last_success_at is None:
        return None
    trigger = trigger_for(name)
    if isinstance(trigger, IntervalTrigger):
        return max(timedelta(0), now - (last_success_at + trigger.interval))
    due_since = previous_fire_time(name, now)
    if due_since is None or last_success_at >= due_since:
        return timedelta(0)
    return now - due_since


@dataclass(frozen=True)
class JobStatus:
    name: str
    schedule: str
    run: JobRun | None
    lag: timedelta | None


def statuses(now: datetime | None = None) -> list[JobStatus]:
    """Every registered job with its shared run record and its lag (needs an app context)."""
    now = now or datetime.now(timezone.utc)
    jobs.load_all()
    runs = job_runs.all_runs()
    out = []
    for name in sorted(jobs.REGISTRY):
        run = runs.get(name)
        schedule = ", ".join(f"{k}={v}" for k, v in jobs.SCHEDULE[name].items() if k != "trigger")
        out.append(JobStatus(name, f"{jobs.SCHEDULE[name]['trigger']} {schedule}", run,
                             lag(name, run.last_success_at if run else None, now)))
    return out

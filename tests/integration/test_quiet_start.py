"""Starting the scheduler logs one line of ours, not APScheduler's line per job."""
import logging

from jobs.scheduler import start_scheduler


def test_scheduler_start_up_is_one_line_not_one_per_job(app_factory, caplog):
    app = app_factory(SCHEDULER_ENABLED="true")
    caplog.set_level(logging.INFO)
    scheduler = start_scheduler(app)
    try:
        assert scheduler.get_jobs()  # it did schedule the jobs
    finally:
        scheduler.shutdown(wait=False)
    messages = [r.getMessage() for r in caplog.records]
    assert not [m for m in messages if "Adding job" in m or "Added job" in m], messages
    assert not [r for r in caplog.records if r.name.startswith("apscheduler") and r.levelno < logging.WARNING]
    assert [m for m in messages if m.startswith("scheduler started jobs=")]


def test_scheduler_warnings_still_show(app_factory):
    app_factory()
    assert logging.getLogger("apscheduler").getEffectiveLevel() == logging.WARNING

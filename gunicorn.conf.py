"""Production serving: `gunicorn -c gunicorn.conf.py wsgi:app` (see README).

Threads, not many processes: requests mostly wait on the database. Each worker starts
the in-process scheduler after it forks (never before: a scheduler thread does not
survive a fork). Several workers and several instances may all run the scheduler:
every job claims its work in the database, so nothing is done twice.
"""
import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("THREADS", "8"))
worker_class = "gthread"
timeout = 60            # a request that waits on TikTok has its own 10 s timeouts
graceful_timeout = 30
keepalive = 5
max_requests = 2000     # recycle workers to bound memory growth
max_requests_jitter = 200
# A recycled worker starts its own scheduler again (post_worker_init below). Its start-up
# catch-up of weekly-reports and purge runs only when the shared job_runs record shows a
# scheduled run was missed, and once per missed run across all workers and instances
# (jobs/scheduler.py `catch_up`), so recycling never repeats them.
accesslog = "-"
# No query string in the access log: the OAuth callback's carries a code. Paths can be
# secrets too (one-time links such as /data-deletion/verify/<token>): the logger class
# redacts every atom with the app's registry (app/logging_setup.py), whatever the format.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms rid=%({x-request-id}o)s'


def _redacting_logger_class():
    from app.logging_setup import gunicorn_logger_class

    return gunicorn_logger_class()


logger_class = _redacting_logger_class()
errorlog = "-"
preload_app = False


def post_worker_init(worker):
    app = worker.wsgi  # the Flask app, loaded in this worker
    if getattr(app, "config", {}).get("SCHEDULER_ENABLED"):
        from jobs.scheduler import start_scheduler

        start_scheduler(app)

"""GET /metrics: Prometheus text format, for the operator's monitoring only.

Off unless METRICS_TOKEN is set, and never public: it answers only a request carrying
`Authorization: Bearer <METRICS_TOKEN>` (compared in constant time); anything else gets
the same 404 as an unknown URL, so the endpoint does not reveal itself.

Every figure is read from the database when scraped (a custom collector, no in-process
counters), so each instance and gunicorn worker answers the same numbers:

- jobs (the shared `job_runs` record): last start/finish/success timestamps, runs,
  failures and failed items (counters), last duration, and lag behind the schedule;
- sync freshness per connection status: how many connections, and the largest time
  since one last synced (since it connected, if it never did);
- weekly-report emails by delivery status.
"""
from __future__ import annotations

import hmac
from datetime import datetime, timezone

import sqlalchemy as sa
from flask import Blueprint, Response, abort, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from app.extensions import db
from app.models import ReportDelivery, TikTokConnection
from app.models.connection import CONNECTION_STATUSES
from app.models.report import DELIVERY_FAILED, DELIVERY_PENDING, DELIVERY_SENDING, DELIVERY_SENT

bp = Blueprint("metrics", __name__)

PREFIX = "logic_target"


def _authorised() -> bool:
    token = current_app.config.get("METRICS_TOKEN")
    if not token:
        return False
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given:
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


@bp.get("/metrics")
def metrics():
    if not _authorised():
        abort(404)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(datetime.now(timezone.utc)))
    body = generate_latest(registry)
    db.session.commit()
    return Response(body, content_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})


class DatabaseCollector:
    """Collects at scrape time from the database (see the module docstring)."""

    def __init__(self, now: datetime):
        self.now = now

    def collect(self):
        yield from self._jobs()
        yield from self._sync()
        yield from self._deliveries()

    def _jobs(self):
        from jobs.scheduler import statuses

        def gauge(name, doc):
            return GaugeMetricFamily(f"{PREFIX}_job_{name}", doc, labels=["job"])

        def counter(name, doc):
            return CounterMetricFamily(f"{PREFIX}_job_{name}", doc, labels=["job"])

        started = gauge("last_started_timestamp_seconds", "When the job's last run started (any instance).")
        finished = gauge("last_finished_timestamp_seconds", "When the job's last run finished.")
        success = gauge("last_success_timestamp_seconds", "When a run of the job last finished without raising.")
        duration = gauge("last_duration_seconds", "How long the job's last finished run took.")
        lag = gauge("lag_seconds", "How late the job is against its schedule (0 when on time).")
        runs = counter("runs", "Runs started.")
        failures = counter("failures", "Runs that raised.")
        items = counter("item_errors", "Items that failed inside otherwise finished runs.")
        for s in statuses(self.now):
            run = s.run
            if run is None:
                continue
            for family, at in ((started, run.last_started_at), (finished, run.last_finished_at),
                               (success, run.last_success_at)):
                if at is not None:
                    family.add_metric([s.name], at.timestamp())
            if run.last_duration_seconds is not None:
                duration.add_metric([s.name], run.last_duration_seconds)
            if s.lag is not None:
                lag.add_metric([s.name], s.lag.total_seconds())
            runs.add_metric([s.name], run.runs_total)
            failures.add_metric([s.name], run.failures_total)
            items.add_metric([s.name], run.item_errors_total)
        yield from (started, finished, success, duration, lag, runs, failures, items)

    def _sync(self):
        count = GaugeMetricFamily(f"{PREFIX}_connections", "Connected TikTok accounts, by status.",
                                  labels=["status"])
        worst = GaugeMetricFamily(f"{PREFIX}_sync_lag_seconds_max",
                                  "Largest time since a connection last synced (since it connected, if never).",
                                  labels=["status"])
        since = sa.func.coalesce(TikTokConnection.last_synced_at, TikTokConnection.connected_at)
        rows = db.session.execute(
            sa.select(TikTokConnection.status, sa.func.count(), sa.func.min(since)).group_by(TikTokConnection.status))
        counts = dict.fromkeys(CONNECTION_STATUSES, 0)  # every status present, zero included
        for status, n, oldest in rows:
            counts[status] = n
            if oldest is not None:
                oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=timezone.utc)
                worst.add_metric([status], max(0.0, (self.now - oldest).total_seconds()))
        for status, n in counts.items():
            count.add_metric([status], n)
        yield from (count, worst)

    def _deliveries(self):
        family = GaugeMetricFamily(f"{PREFIX}_report_deliveries", "Weekly-report emails, by delivery status.",
                                   labels=["status"])
        counts = dict.fromkeys((DELIVERY_PENDING, DELIVERY_SENDING, DELIVERY_SENT, DELIVERY_FAILED), 0)
        counts.update(db.session.execute(
            sa.select(ReportDelivery.status, sa.func.count()).group_by(ReportDelivery.status)).tuples().all())
        for status, n in counts.items():
            family.add_metric([status], n)
        yield family

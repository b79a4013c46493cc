"""Logic Target: the Flask application factory.

`create_app()` only builds the app: it starts no scheduler and no thread (the
serving path does that explicitly, see `jobs/scheduler.py`), so the CLI, migrations
and tests can import it freely.
"""
from __future__ import annotations

import os
from typing import Any, Mapping

from flask import Flask
from sqlalchemy import event

import config as config_module
from app.extensions import csrf, db, htmx, limiter, login_manager, mail, migrate


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    """Build the app. `overrides` wins over the environment: keys that are settings
    (e.g. "RETENTION_DAYS", "DATABASE_URL") go through the same validation as the
    environment; any other key is set on `app.config` as given."""
    overrides = dict(overrides or {})
    env = dict(os.environ)
    for key in list(overrides):
        if key in config_module.SETTING_NAMES:
            value = overrides.pop(key)
            if value is None:
                env.pop(key, None)
            else:
                env[key] = str(value)
    cfg = config_module.load_config(env)

    app = Flask(__name__, instance_path=str(config_module.INSTANCE_DIR))
    app.config.update(cfg)
    app.config.update(overrides)
    configure_logging(app)
    register_extensions(app)
    register_database_hygiene(app)
    register_blueprints(app)
    register_security_headers(app)
    register_commands(app)
    return app


def configure_logging(app: Flask) -> None:
    from app.logging_setup import configure

    configure(app)


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=str(config_module.ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    mail.init_app(app)
    htmx.init_app(app)
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    limiter.init_app(app)

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"

    from app.services import accounts

    login_manager.user_loader(accounts.load_user_from_session_id)


def register_database_hygiene(app: Flask) -> None:
    """SQLite: the database file private (0600), foreign keys on every connection, WAL, a busy timeout.
    PostgreSQL: statement and lock timeouts, so a stuck query cannot hold a worker forever."""
    with app.app_context():
        engine = db.engine

    if engine.dialect.name == "sqlite":
        if engine.url.database not in (None, "", ":memory:") and not engine.url.database.startswith("file:"):
            # Created 0600 (folder 0700) before SQLite opens it: its -wal and -shm files
            # take the database file's mode, so they are private too.
            from app.private_files import touch_private

            touch_private(engine.url.database)

        _listen_once(engine, "connect", _sqlite_pragmas)

    elif engine.dialect.name == "postgresql":

        _listen_once(engine, "connect", _pg_timeouts)


def _listen_once(engine, name: str, fn) -> None:
    """Module-level listeners, added once: an engine reused by a later app (the test suite
    keeps one per database URL) must not run its pragmas twice per connection."""
    if not event.contains(engine, name, fn):
        event.listen(engine, name, fn)


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # pragma: no cover - exercised by every test
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.execute("PRAGMA journal_mode=WAL")  # an in-memory database answers "memory" and stays as it is
    cur.close()


def _pg_timeouts(dbapi_conn, _record) -> None:  # pragma: no cover
    cur = dbapi_conn.cursor()
    cur.execute("SET statement_timeout = '30s'")
    cur.execute("SET lock_timeout = '10s'")
    cur.execute("SET idle_in_transaction_session_timeout = '60s'")
    cur.close()
    dbapi_conn.commit()


def register_blueprints(app: Flask) -> None:
    from app.web import (audit, auth, connection_sync, connections, context, errors, health, ids, integrations,
                         performance, public, reports, shell, tiktok_ads, tiktok_auth, tiktok_webhook)

    ids.init_app(app)  # the <id:…> converter, before any rule uses it
    for module in (auth, shell, integrations, performance, reports, health, public, audit,
                   tiktok_auth,      # connect a TikTok account
                   tiktok_ads,       # link a TikTok Ads advertiser (admins)
                   tiktok_webhook,   # TikTok's signed webhook (CSRF-exempt)
                   connection_sync,  # "Refresh now" and the polling row
                   connections):     # disconnect / delete-data actions
        app.register_blueprint(module.bp)
    from app.web import account  # the account page: two-factor sign-in, a workspace's requirement of it

    app.register_blueprint(account.bp)
    from app.web import password_reset  # "Forgot password?": a link by email, then a new password

    app.register_blueprint(password_reset.bp)
    from app.web import deletion_reviews  # the review queue of public data-deletion requests

    app.register_blueprint(deletion_reviews.bp)
    from app.web import report_recipients  # who receives the weekly report; its one-click unsubscribe

    app.register_blueprint(report_recipients.bp)
    from app.web import members  # members and invites of a workspace; accepting an invite

    app.register_blueprint(members.bp)
    from app.web import metrics  # /metrics for Prometheus: only with METRICS_TOKEN, bearer-checked

    app.register_blueprint(metrics.bp)
    from app.web import clients  # the clients overview, adding a client workspace, a workspace's settings

    app.register_blueprint(clients.bp)
    from app.web import branding, report_pdf  # a workspace's report branding; a report as a PDF

    branding.init_app(app)
    app.register_blueprint(report_pdf.bp)
    from app.web import audience, post_insights  # one post's page; an account's audience and best time to post

    app.register_blueprint(post_insights.bp)
    app.register_blueprint(audience.bp)
    errors.init_app(app)
    context.init_app(app)

    if app.config["TIKTOK_SANDBOX"]:
        from app.sandbox_mount import mount_sandbox

        mount_sandbox(app)


def register_security_headers(app: Flask) -> None:
    from app.web import headers

    headers.init_app(app)


def register_commands(app: Flask) -> None:
    from app import cli

    cli.init_app(app)


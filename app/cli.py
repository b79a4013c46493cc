"""Command line: argument parsing and echo only; the work is in services, workflows and jobs."""
from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from app.extensions import db
from app.models.workspace import ALL_ROLES
from app.services import accounts, demo

users_cli = AppGroup("users", help="Manage people who sign in.")
demo_cli = AppGroup("demo", help="Demo data for trying the product.")
sandbox_cli = AppGroup("sandbox", help="The local TikTok sandbox.")
jobs_cli = AppGroup("jobs", help="Background jobs (the same functions the scheduler runs).")
keys_cli = AppGroup("keys", help="Keys that seal stored TikTok tokens.")


@keys_cli.command("rotate")
@click.option("--batch-size", default=200, show_default=True, type=click.IntRange(1, 10_000))
def keys_rotate(batch_size: int) -> None:
    """Re-seal every stored token under the primary key. Safe to interrupt and run again."""
    from app.crypto import CryptoError
    from app.services.token_sealing import get_keyring
    from app.workflows.key_rotation import rotate_keys

    keyring = get_keyring(current_app)
    click.echo(f"Re-sealing stored tokens under key {keyring.primary_kid!r}…")
    try:
        counts = rotate_keys(keyring=keyring, batch_size=batch_size,
                             progress=lambda label, done, total: click.echo(f"  {label}: {done}/{total}"))
    except CryptoError as e:
        db.session.rollback()
        raise click.ClickException(f"{e}. Batches already done are saved; run again to continue.") from None
    click.echo(f"Done: {counts}.")
    if counts.failed:
        raise click.ClickException(f"{counts.failed} value(s) could not be opened and keep their old key "
                                   "(see the log for the rows); reconnect those accounts before retiring it.")


@jobs_cli.command("list")
def jobs_list() -> None:
    """List jobs and when the scheduler runs them."""
    import jobs

    jobs.load_all()
    for name in sorted(jobs.REGISTRY):
        when = ", ".join(f"{k}={v}" for k, v in jobs.SCHEDULE[name].items())
        click.echo(f"{name:<16} {when:<40} {jobs.DESCRIPTIONS[name]}")


@jobs_cli.command("run")
@click.argument("name")
@click.option("--week", help="For weekly-reports: a week (2026-W21) or a month (2026-05) to build and email now.")
def jobs_run(name: str, week: str | None) -> None:
    """Run one job now, in this process."""
    from jobs.runner import UnknownJob, run_job

    opts = {"week": week} if week else {}
    click.echo(f"Running {name}…")
    try:
        result = run_job(current_app._get_current_object(), name, **opts)
    except UnknownJob:
        raise click.ClickException(f"unknown job {name!r} (see `flask --app wsgi jobs list`)") from None
    except ValueError as e:
        raise click.ClickException(str(e)) from None
    click.echo(str(result))
    for error in result.errors:
        click.echo(f"  problem: {error}", err=True)


@jobs_cli.command("status")
def jobs_status() -> None:
    """Each job's last run and success, failures, failed items and lag, from every instance."""
    from datetime import datetime, timezone

    from jobs.scheduler import statuses

    now = datetime.now(timezone.utc)
    rows = statuses(now)
    db.session.commit()
    click.echo(f"{'job':<16} {'last run':<24} {'last success':<16} {'runs':>6} {'failed':>6} {'items':>6}  lag")
    for s in rows:
        run = s.run
        if run is None or run.last_started_at is None:
            click.echo(f"{s.name:<16} {'never':<24} {'never':<16} {0:>6} {0:>6} {0:>6}  -")
            continue
        last = f"{_ago(run.last_started_at, now)} {run.last_status or ''}"
        lag = "-" if s.lag is None else ("on time" if not s.lag else f"{_duration(s.lag)} late")
        click.echo(f"{s.name:<16} {last:<24} {_ago(run.last_success_at, now):<16} {run.runs_total:>6} "
                   f"{run.failures_total:>6} {run.item_errors_total:>6}  {lag}")
        if run.last_error:
            click.echo(f"{'':<16} last error {_ago(run.last_error_at, now)}: {run.last_error}")


def _ago(at, now) -> str:
    return "never" if at is None else f"{_duration(now - at)} ago"


def _duration(delta) -> str:
    """Two units at most: 42s, 5m 3s, 3h 12m, 2d 4h."""
    seconds = max(0, int(delta.total_seconds()))
    units = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
    for i, (unit, size) in enumerate(units[:-1]):
        if seconds >= size:
            small, small_size = units[i + 1]
            rest = (seconds % size) // small_size
            return f"{seconds // size}{unit}" + (f" {rest}{small}" if rest else "")
    return f"{seconds}s"


@users_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(ALL_ROLES), required=True)
@click.option("--workspace", "workspace_name", help="Workspace name (created if new).")
@click.option("--password", is_flag=True, help="Prompt for a password instead of generating one.")
def users_create(email: str, role: str, workspace_name: str | None, password: bool) -> None:
    """Create a user (or add a membership) in a workspace."""
    secret = click.prompt("Password", hide_input=True, confirmation_prompt=True) if password else None
    try:
        ws = accounts.get_or_create_workspace(workspace_name) if workspace_name else None
        user, generated = accounts.create_user(email, role=role, workspace=ws, password=secret)
    except accounts.AccountError as e:
        db.session.rollback()
        raise click.ClickException(str(e)) from None
    db.session.commit()
    where = f" in {ws.name}" if ws else ""
    click.echo(f"{user.email}: {role}{where}")
    if generated:
        click.echo(f"Generated password: {generated}  (shown once; they can change it after signing in)")


@demo_cli.command("seed")
def demo_seed() -> None:
    """Create the demo workspace "Brass Studio" and its people (idempotent)."""
    if current_app.config["APP_ENV"] == "production":
        raise click.ClickException("demo seed is for development only (its passwords are published)")
    logins = demo.seed_demo()
    db.session.commit()
    click.echo(f"Demo workspace: {demo.DEMO_WORKSPACE}. Sign in at {current_app.config['APP_BASE_URL']}/login with:")
    for login in logins:
        click.echo(f"  {login.role:<13} {login.email:<28} password: {login.password}")
    click.echo("These published passwords work only from this machine (or with SANDBOX_CONTROL=true).")


@sandbox_cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5001, show_default=True, type=int)
def sandbox_serve(host: str, port: int) -> None:
    """Run the TikTok sandbox alone on its own port."""
    from app.sandbox_mount import serve_standalone

    click.echo(f"TikTok sandbox on http://{host}:{port}/sandbox/tiktok/ (Ctrl+C to stop)")
    serve_standalone(current_app, host=host, port=port)


@click.command("serve")
@click.option("--host", help="Address to listen on.  [default: the HOST setting, 127.0.0.1]")
@click.option("--port", type=click.IntRange(1, 65535), help="Port.  [default: the PORT setting, 5000]")
def serve(host: str | None, port: int | None) -> None:
    """Serve the app (threaded) with the scheduler, for development and `make run`.

    This is the one serving path that starts background jobs; importing the app never
    does. Production uses gunicorn (see README)."""
    app = current_app._get_current_object()
    host, port = host or app.config["HOST"], port or app.config["PORT"]
    if (host, port) != (app.config["HOST"], app.config["PORT"]):
        app = app_for_address(host, port)
    start_background_jobs(app)
    from app.services import report_pdf

    if problem := report_pdf.engine_problem():  # the rest of the app works without it
        click.echo(f"PDF reports unavailable: {problem}")
    click.echo(f"Logic Target on {app.config['APP_BASE_URL']} (Ctrl+C to stop)")
    from werkzeug.serving import run_simple

    # Threaded: in sandbox mode the app calls its own /sandbox/tiktok/ over HTTP.
    # (app.run() refuses to block inside a `flask` command, hence werkzeug directly.)
    run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)


def app_for_address(host: str, port: int) -> Flask:
    """The app built again for another HOST and PORT than the ones it was built with (the
    `flask` command builds it before reading `serve`'s options), so that APP_BASE_URL, when
    not set, and the redirect URIs and sandbox URLs made from it name the port served."""
    from app import create_app
    from config import ConfigError

    try:
        return create_app({"HOST": host, "PORT": port})
    except ConfigError as e:
        raise click.ClickException(f"Configuration error: {e}") from None


def start_background_jobs(app: Flask) -> None:
    if not app.config["SCHEDULER_ENABLED"]:
        click.echo("Scheduler disabled (SCHEDULER_ENABLED=false): run jobs with `flask --app wsgi jobs run NAME`.")
        return
    from jobs.scheduler import start_scheduler

    start_scheduler(app)


def init_app(app: Flask) -> None:
    for group in (users_cli, demo_cli, sandbox_cli, jobs_cli, keys_cli):
        app.cli.add_command(group)
    app.cli.add_command(serve)

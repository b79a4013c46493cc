"""Background jobs: plain functions that the scheduler, the CLI and the tests call the
same way (`run(now=..., **opts) -> JobResult`, inside an app context).

REGISTRY maps a job's name to its function; SCHEDULE says when the in-process
scheduler runs it (APScheduler trigger arguments, UTC)."""
from __future__ import annotations

from typing import Callable

from jobs.result import JobResult

REGISTRY: dict[str, Callable[..., JobResult]] = {}
SCHEDULE: dict[str, dict] = {}
DESCRIPTIONS: dict[str, str] = {}


def job(name: str, *, schedule: dict, description: str):
    """Register a job function under `name`."""

    def register(fn: Callable[..., JobResult]) -> Callable[..., JobResult]:
        REGISTRY[name] = fn
        SCHEDULE[name] = schedule
        DESCRIPTIONS[name] = description
        return fn

    return register


def load_all() -> None:
    """Import the job modules so they register themselves."""
    import importlib
    import pkgutil

    for mod in pkgutil.iter_modules(__path__):
        if mod.name not in {"claims", "result", "runner", "scheduler"}:
            importlib.import_module(f"jobs.{mod.name}")

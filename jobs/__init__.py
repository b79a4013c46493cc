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
        if mod.name not in {"result", "runner", "scheduler"}:
            importlib.import_module(f"jobs.{mod.name}")


_DAYS = {"mon": "Monday", "tue": "Tuesday", "wed": "Wednesday", "thu": "Thursday", "fri": "Friday",
         "sat": "Saturday", "sun": "Sunday"}
_SECONDS = {"weeks": 604800, "days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}  # largest first
_SHORT = {"minutes": "min", "seconds": "s"}


def describe_trigger(trigger: dict, *, short: bool = False) -> str:
    """A job's trigger arguments (as in SCHEDULE) in words, in UTC like the scheduler:
    {"trigger": "interval", "minutes": 10} → "every 10 minutes" (short: "every 10 min"),
    {"trigger": "cron", "hour": 3} → "daily 03:00 UTC",
    {"trigger": "cron", "day_of_week": "mon", "hour": 9} → "Mondays 09:00 UTC" (short: "Mon 09:00 UTC"),
    {"trigger": "cron", "minute": 0} → "every hour, on the hour" (short: "hourly").

    Pages, the architecture diagram and the README say when jobs run through this, so a
    schedule change changes them. A trigger it cannot put in words exactly raises
    ValueError (a test runs every job's) rather than letting a page state a wrong time."""
    args = dict(trigger)
    kind = args.pop("trigger", None)
    if kind == "interval" and args and set(args) <= set(_SECONDS):
        seconds = sum(int(n) * _SECONDS[unit] for unit, n in args.items())
        for unit, size in _SECONDS.items():  # the largest unit it is a whole number of
            if seconds > 0 and seconds % size == 0:
                n = seconds // size
                if n == 1:
                    return f"every {unit[:-1]}"
                return f"every {n} {_SHORT.get(unit, unit) if short else unit}"
    if kind == "cron" and set(args) == {"minute"} and str(args["minute"]) in ("0", "00"):
        return "hourly" if short else "every hour, on the hour"
    if kind == "cron" and "hour" in args and set(args) <= {"day_of_week", "hour", "minute"}:
        hour, minute, day = str(args["hour"]), str(args.get("minute", 0)), args.get("day_of_week")
        if hour.isdigit() and int(hour) < 24 and minute.isdigit() and int(minute) < 60 and day in (None, *_DAYS):
            at = f"{int(hour):02d}:{int(minute):02d} UTC"
            if day is None:
                return f"daily {at}"
            return f"{_DAYS[day][:3]} {at}" if short else f"{_DAYS[day]}s {at}"
    raise ValueError(f"cannot describe the trigger {trigger!r} in words")


def when(name: str, *, short: bool = False) -> str:
    """When the scheduler runs job `name`, in words (see describe_trigger)."""
    load_all()
    return describe_trigger(SCHEDULE[name], short=short)

"""When jobs run is said in one place: each job's trigger (jobs.SCHEDULE), put in words
by jobs.describe_trigger. Pages, the architecture diagram and README follow it."""
from __future__ import annotations

import re
from datetime import time
from pathlib import Path

import pytest

import jobs
from app.services import architecture, trust
from app.services.deletion_requests import PURGE_TIME_UTC
from tests.conftest import login

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("trigger, words, short", [
    ({"trigger": "interval", "minutes": 10}, "every 10 minutes", "every 10 min"),
    ({"trigger": "interval", "minutes": 1}, "every minute", "every minute"),
    ({"trigger": "interval", "hours": 1, "minutes": 30}, "every 90 minutes", "every 90 min"),
    ({"trigger": "interval", "hours": 6}, "every 6 hours", "every 6 hours"),
    ({"trigger": "interval", "days": 1}, "every day", "every day"),
    ({"trigger": "cron", "hour": 3, "minute": 0}, "daily 03:00 UTC", "daily 03:00 UTC"),
    ({"trigger": "cron", "hour": 4, "minute": 30}, "daily 04:30 UTC", "daily 04:30 UTC"),
    ({"trigger": "cron", "day_of_week": "mon", "hour": 9}, "Mondays 09:00 UTC", "Mon 09:00 UTC"),
    ({"trigger": "cron", "day_of_week": "sun", "hour": "23", "minute": "5"}, "Sundays 23:05 UTC", "Sun 23:05 UTC"),
    ({"trigger": "cron", "minute": 0}, "every hour, on the hour", "hourly"),
])
def test_a_trigger_in_words(trigger, words, short):
    assert jobs.describe_trigger(trigger) == words
    assert jobs.describe_trigger(trigger, short=True) == short


@pytest.mark.parametrize("trigger", [
    {"trigger": "cron", "minute": 5},  # every hour: not said yet
    {"trigger": "cron", "hour": "*/2"},
    {"trigger": "cron", "day_of_week": "mon-fri", "hour": 9},
    {"trigger": "cron", "hour": 9, "timezone": "Europe/Berlin"},
    {"trigger": "interval", "minutes": 10, "jitter": 30},
    {"trigger": "interval"},
    {"trigger": "date", "run_date": "2026-06-01"},
])
def test_a_trigger_it_cannot_say_exactly_is_an_error_not_a_wrong_time(trigger):
    with pytest.raises(ValueError, match="cannot describe"):
        jobs.describe_trigger(trigger)


def test_every_registered_job_can_be_put_in_words():
    jobs.load_all()
    assert jobs.SCHEDULE
    for name in jobs.SCHEDULE:
        assert jobs.when(name) and jobs.when(name, short=True)


@pytest.fixture
def weekly_reports_on_tuesday(monkeypatch):
    jobs.load_all()
    monkeypatch.setitem(jobs.SCHEDULE, "weekly-reports", {"trigger": "cron", "day_of_week": "tue", "hour": 7,
                                                          "minute": 30})
    monkeypatch.setitem(jobs.SCHEDULE, "purge", {"trigger": "cron", "hour": 2, "minute": 15})


def test_the_security_page_states_each_jobs_own_schedule(client):
    html = client.get("/security").get_data(as_text=True)
    for job in trust.JOBS:
        assert f"<td>{jobs.when(job.name)}" in html
    assert f">{jobs.when('weekly-reports', short=True)}</text>" in html  # the diagram's job box
    assert "every 15 minutes, at once after connecting" in html


def test_changing_a_schedule_changes_the_security_page(client, weekly_reports_on_tuesday):
    html = client.get("/security").get_data(as_text=True)
    assert "<td>Tuesdays 07:30 UTC</td>" in html and ">Tue 07:30 UTC</text>" in html
    assert "<td>daily 02:15 UTC</td>" in html
    assert "Mondays 09:00 UTC" not in html and "Mon 09:00 UTC" not in html and "03:00 UTC" not in html


def test_changing_a_schedule_changes_the_other_pages_that_mention_it(client, people, weekly_reports_on_tuesday):
    assert "(daily 02:15 UTC)" in client.get("/data-deletion").get_data(as_text=True)
    # Reports go out at each workspace's own day and hour, not the job's: the privacy page and
    # the reports page say that, not a time of the job's.
    privacy = client.get("/privacy").get_data(as_text=True)
    assert "Tuesdays 07:30 UTC" not in privacy and "at the day and local time each workspace chooses" in privacy
    login(client, people.admin)
    html = client.get("/reports").get_data(as_text=True)
    assert "07:30" not in html and "weekly reports on Mondays, at 09:00 (Europe/London)" in html


def test_the_diagram_takes_its_times_from_the_schedule(weekly_reports_on_tuesday):
    diagram = architecture.describe({"KMS_KEY_ID": None}, jobs.when)
    assert diagram.node("weekly-reports").note == "Tue 07:30 UTC"
    assert diagram.node("refresh-tokens").note == "every 10 min"


def test_no_page_or_trust_text_types_a_time_itself():
    """Times of day and intervals of jobs are written only in jobs/*.py; everywhere else
    they come through job_when / jobs.when."""
    typed = re.compile(r"\b\d{1,2}:\d{2} UTC|\bevery \d+ min|\bevery (?:Monday|Tuesday|Wednesday|Thursday|Friday|"
                       r"Saturday|Sunday)|\bon Mondays?\b")
    files = [*sorted((ROOT / "app/templates").rglob("*.html")), *sorted((ROOT / "app/templates").rglob("*.txt")),
             ROOT / "app/services/trust.py", ROOT / "app/services/architecture.py", ROOT / "app/web/connections.py"]
    found = [f"{p.relative_to(ROOT)}: {m.group(0)}" for p in files for m in typed.finditer(p.read_text())]
    assert found == []


def test_the_readme_job_table_says_what_the_schedule_says():
    readme = (ROOT / "README.md").read_text()
    table = readme.split("\n| job | when | what |", 1)[1].split("\n\n", 1)[0]
    rows = dict(re.findall(r"^\| `([a-z-]+)` \| ([^|]+) \|", table, re.M))
    jobs.load_all()
    assert set(rows) == set(jobs.SCHEDULE)
    for name, when in rows.items():
        assert when.startswith(jobs.when(name)), (name, when)


def test_the_purge_time_deletion_days_are_counted_from_is_the_purge_jobs():
    jobs.load_all()
    trigger = jobs.SCHEDULE["purge"]
    assert trigger["trigger"] == "cron" and set(trigger) <= {"trigger", "hour", "minute"}
    assert PURGE_TIME_UTC == time(int(trigger["hour"]), int(trigger.get("minute", 0)))

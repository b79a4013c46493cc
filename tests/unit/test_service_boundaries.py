"""Rules read off the source: the report and notice services leave commits to their
callers, no module reaches into another's private helpers, and nothing fakes a request
to render an email or build a link (config makes url_for work in an app context)."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Still renders its emails inside a made-up request and builds links by hand; it is
# being changed separately. Remove it from here when it no longer does: the test then
# fails until this set is empty again.
STILL_FAKING_A_REQUEST: set[str] = set()


def sources(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


def name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_no_app_or_job_code_fakes_a_request():
    found = {name(p) for p in sources("app", "jobs") if "test_request_context" in p.read_text()}
    assert found == STILL_FAKING_A_REQUEST


def test_report_and_notice_services_never_commit():
    services = [*sorted(ROOT.glob("app/services/report_*.py")), ROOT / "app/services/notices.py"]
    assert len(services) >= 3
    for path in services:
        assert "commit()" not in path.read_text(), name(path)


def test_no_module_calls_private_helpers_of_the_report_modules():
    private = re.compile(r"\b(reports|report_figures|report_delivery|metrics|dashboard|notices|mail)\._[a-z]")
    calls = [f"{name(p)}:{n}: {line.strip()}" for p in sources("app", "jobs")
             for n, line in enumerate(p.read_text().splitlines(), 1) if private.search(line)]
    assert calls == []

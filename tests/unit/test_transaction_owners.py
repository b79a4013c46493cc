"""Who owns a transaction, read off the source: the services of the token path never
commit or roll back (their callers do: a route, a job item, or a workflow), and
dependencies point one way (services never import workflows or jobs)."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

TOKEN_PATH_SERVICES = ("token_sealing", "oauth_flows", "sync", "disconnect", "refresh_throttle", "webhooks")
ENDS_A_TRANSACTION = re.compile(r"\.(commit|rollback)\(\)")


def test_token_path_services_leave_the_transaction_to_their_caller():
    for module in TOKEN_PATH_SERVICES:
        source = (ROOT / "app/services" / f"{module}.py").read_text()
        assert not ENDS_A_TRANSACTION.search(source), module


def test_services_never_depend_on_workflows_or_jobs():
    upward = re.compile(r"^\s*(from (app\.workflows|jobs)\b|import (app\.workflows|jobs)\b)", re.M)
    found = [p.name for p in sorted((ROOT / "app/services").glob("*.py")) if upward.search(p.read_text())]
    assert found == []


"""Canonical TikTok responses (tests/fixtures/tiktok/*.json) registered on requests-mock."""
from __future__ import annotations

import copy
import json
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures" / "tiktok"
BUSINESS = "https://business-api.tiktok.com/open_api/v1.3/"

#: Old fixture names, kept loadable for tests outside tests/unit/tiktok and tests/contract. Their
#: codes were never TikTok-documented: the files now say so in their names (README.md). Use the
#: new names in new tests.
RENAMED = {
    "error_access_token_invalid": "error_undocumented_40104",
    "error_access_token_expired": "error_undocumented_40105",
    "error_scope_missing": "error_undocumented_40001",
    "error_invalid_grant": "error_undocumented_40106",
}


def load(name: str) -> dict:
    name = RENAMED.get(name, name)
    return copy.deepcopy(json.loads((FIXTURES / f"{name}.json").read_text()))


def token_body(open_id: str = "open-brass", scope: str | None = None, access: str = "act.ACCESS1*!",
               refresh: str = "rft.REFRESH1*!") -> dict:
    body = load("token_success")
    body["data"].update(open_id=open_id, access_token=access, refresh_token=refresh)
    if scope is not None:
        body["data"]["scope"] = scope
    return body


def profile_body(username: str = "brassorbit3") -> dict:
    body = load("business_get_success")
    body["data"]["username"] = username
    return body


def token_info_body(creator_id: str = "open-brass", scope: str | None = None) -> dict:
    """`tt_user/token_info/get/` for a live token (the fixture's scopes unless `scope` is given)."""
    body = load("token_info_success")
    body["data"]["creator_id"] = creator_id
    if scope is not None:
        body["data"]["scope"] = scope
    return body


def register_connect(requests_mock, *, open_id="open-brass", username="brassorbit3", scope=None,
                     token_status=200, token_json=None):
    token = requests_mock.post(BUSINESS + "tt_user/oauth2/token/", status_code=token_status,
                               json=token_json if token_json is not None else token_body(open_id, scope))
    profile = requests_mock.get(BUSINESS + "business/get/", json=profile_body(username))
    return token, profile

"""Fault injection over HTTP (/_control/faults) and the Python API, plus request counters."""
import pytest
import requests

from .conftest import new_verifier


def inject(sandbox, **fault):
    resp = sandbox.http.post(sandbox.url("/_control/faults"), json=fault)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_rate_limit_fault_is_40100_in_http_200_with_retry_after(sandbox):
    data = sandbox.connect()
    inject(sandbox, endpoint="business/get/", kind="rate_limit", count=1, retry_after=7)
    resp = sandbox.business_get(data["access_token"], data["open_id"])
    assert resp.status_code == 200 and resp.json()["code"] == 40100 and resp.headers["Retry-After"] == "7"
    assert sandbox.business_get(data["access_token"], data["open_id"]).json()["code"] == 0  # count spent


def test_http_429_fault(sandbox):
    data = sandbox.connect()
    inject(sandbox, endpoint="business/get/", kind="http_429")
    resp = sandbox.business_get(data["access_token"], data["open_id"])
    assert resp.status_code == 429 and "Retry-After" in resp.headers


@pytest.mark.parametrize("kind, status", [("http_500", 500), ("http_503", 503)])
def test_server_error_faults(sandbox, kind, status):
    data = sandbox.connect()
    inject(sandbox, endpoint="*", kind=kind, count=2)
    for _ in range(2):
        assert sandbox.business_get(data["access_token"], data["open_id"]).status_code == status
    assert sandbox.business_get(data["access_token"], data["open_id"]).status_code == 200


def test_503_body_is_not_json(sandbox):
    data = sandbox.connect()
    inject(sandbox, endpoint="business/get/", kind="http_503")
    resp = sandbox.business_get(data["access_token"], data["open_id"])
    with pytest.raises(ValueError):
        resp.json()


def test_malformed_json_fault(sandbox):
    data = sandbox.connect()
    inject(sandbox, endpoint="business/video/list/", kind="malformed_json")
    resp = sandbox.video_list(data["access_token"], data["open_id"], ["item_id"])
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("application/json")
    with pytest.raises(ValueError):
        resp.json()


def test_timeout_fault_delays_the_answer(sandbox):
    data = sandbox.connect()
    inject(sandbox, endpoint="business/get/", kind="timeout", delay=1.0)
    with pytest.raises(requests.Timeout):
        sandbox.http.get(
            sandbox.url("/open_api/v1.3/business/get/"),
            params={"business_id": data["open_id"]},
            headers={"Access-Token": data["access_token"]},
            timeout=0.2,
        )


def test_revoked_token_fault_really_revokes_the_grant(sandbox):
    data = sandbox.connect()
    inject(sandbox, endpoint="business/get/", kind="revoked_token")
    assert sandbox.business_get(data["access_token"], data["open_id"]).json()["code"] == 40104
    assert sandbox.refresh(data["refresh_token"])["code"] == 40106


def test_invalid_grant_fault_on_refresh(sandbox):
    data = sandbox.connect()
    sandbox.state.inject_fault("tt_user/oauth2/refresh_token/", "invalid_grant")
    body = sandbox.refresh(data["refresh_token"])
    assert body["code"] == 40106 and "invalid_grant" in body["message"]
    assert sandbox.refresh(data["refresh_token"])["code"] == 0  # the token itself was untouched


def test_invalid_grant_fault_on_code_exchange_refuses_the_code(sandbox):
    verifier = new_verifier()
    code = sandbox.get_code(verifier)
    sandbox.state.inject_fault("tt_user/oauth2/token/", "invalid_grant")
    assert sandbox.exchange(code, verifier)["code"] == 40110


def test_fault_only_hits_its_endpoint(sandbox):
    data = sandbox.connect()
    inject(sandbox, endpoint="business/video/list/", kind="http_500")
    assert sandbox.business_get(data["access_token"], data["open_id"]).status_code == 200
    assert sandbox.video_list(data["access_token"], data["open_id"], ["item_id"]).status_code == 500


def test_delete_clears_faults(sandbox):
    data = sandbox.connect()
    inject(sandbox, endpoint="*", kind="http_500", count=5)
    assert sandbox.http.delete(sandbox.url("/_control/faults")).json() == {"faults": []}
    assert sandbox.business_get(data["access_token"], data["open_id"]).status_code == 200


def test_unknown_fault_kind_is_rejected(sandbox):
    resp = sandbox.http.post(sandbox.url("/_control/faults"), json={"endpoint": "*", "kind": "meteor"})
    assert resp.status_code == 400


def test_request_counts_per_endpoint(sandbox):
    sandbox.connect()
    counts = sandbox.http.get(sandbox.url("/_control/requests")).json()["counts"]
    assert counts["tt_user/oauth2/token/"] == 1
    assert counts["v2/auth/authorize/"] == 2  # consent page + its form post
    sandbox.http.delete(sandbox.url("/_control/requests"))
    assert sandbox.http.get(sandbox.url("/_control/requests")).json()["counts"] == {}


def test_clock_control_endpoint_expires_tokens(sandbox):
    data = sandbox.connect()
    sandbox.http.post(sandbox.url("/_control/clock"), json={"advance": 86401})
    assert sandbox.business_get(data["access_token"], data["open_id"]).json()["code"] == 40105

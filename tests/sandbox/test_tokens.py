"""Accounts API token endpoints: exchange, PKCE (hex), refresh rotation, revoke, token_info."""
import base64
import hashlib

import pytest

from .conftest import new_verifier

INVALID_CLIENT, INVALID_GRANT, INVALID_PARAMS, TOKEN_INVALID, TOKEN_EXPIRED = 40101, 40106, 40002, 40104, 40105
# A refused authorization code on the exchange (a refused refresh token is INVALID_GRANT).
AUTH_CODE_INVALID = 40110


def test_exchange_returns_business_envelope_with_prefixed_tokens(sandbox):
    verifier = new_verifier()
    body = sandbox.exchange(sandbox.get_code(verifier), verifier)
    assert body["code"] == 0 and body["message"] == "OK" and body["request_id"]
    data = body["data"]
    assert data["access_token"].startswith("act.") and data["refresh_token"].startswith("rft.")
    assert data["expires_in"] == 86400 and data["refresh_token_expires_in"] == 31536000
    assert data["token_type"] == "Bearer"
    assert data["scope"].split(",") == sandbox.authorize_params()["scope"].split(",")
    assert data["open_id"]


def test_wrong_verifier_is_refused(sandbox):
    code = sandbox.get_code(new_verifier())
    body = sandbox.exchange(code, new_verifier())
    assert body["code"] == AUTH_CODE_INVALID and "invalid_grant" in body["message"]


def test_base64url_challenge_fails_at_exchange(sandbox):
    # RFC 7636 encoding, as generic OAuth libraries compute it: TikTok checks lowercase hex.
    verifier = new_verifier()
    b64 = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    params = sandbox.authorize_params(code_challenge=b64)
    code = sandbox.callback_params(sandbox.consent(params))["code"]
    body = sandbox.exchange(code, verifier)
    assert body["code"] == AUTH_CODE_INVALID and "Code verifier or code challenge is invalid" in body["message"]


def test_tiktok_sdk_test_vector_is_accepted(sandbox):
    verifier = "gaeCq5mVvbhA8Ce6w5O9XBVIKMkySgv-_9A-rnhm9Ns"
    params = sandbox.authorize_params(code_challenge="e6a178b120743d08509508f269652b0bdf91e29332921bc9e9744fd3dd41bfef")
    code = sandbox.callback_params(sandbox.consent(params))["code"]
    assert sandbox.exchange(code, verifier)["code"] == 0


def test_missing_verifier_is_refused_when_a_challenge_was_sent(sandbox):
    code = sandbox.get_code(new_verifier())
    assert sandbox.exchange(code, None)["code"] == AUTH_CODE_INVALID


@pytest.mark.parametrize("verifier", ["short" * 4, "x" * 129, "a" * 42 + "+/=" + "b" * 10])
def test_verifier_outside_charset_or_length_is_refused(sandbox, verifier):
    params = sandbox.authorize_params(code_challenge=hashlib.sha256(verifier.encode()).hexdigest())
    code = sandbox.callback_params(sandbox.consent(params))["code"]
    assert sandbox.exchange(code, verifier)["code"] == AUTH_CODE_INVALID


def test_code_is_single_use_and_replay_revokes_its_tokens(sandbox):
    verifier = new_verifier()
    code = sandbox.get_code(verifier)
    first = sandbox.exchange(code, verifier)
    assert first["code"] == 0
    again = sandbox.exchange(code, verifier)
    assert again["code"] == AUTH_CODE_INVALID and "invalid_grant" in again["message"]
    resp = sandbox.business_get(first["data"]["access_token"], first["data"]["open_id"])
    assert resp.json()["code"] == TOKEN_INVALID


def test_code_expires_after_code_ttl(sandbox):
    verifier = new_verifier()
    code = sandbox.get_code(verifier)
    sandbox.state.advance_clock(601)
    body = sandbox.exchange(code, verifier)
    assert body["code"] == AUTH_CODE_INVALID and "expired" in body["message"]


def test_code_still_valid_just_before_code_ttl(sandbox):
    verifier = new_verifier()
    code = sandbox.get_code(verifier)
    sandbox.state.advance_clock(590)
    assert sandbox.exchange(code, verifier)["code"] == 0


def test_redirect_uri_mismatch_at_exchange_is_refused(sandbox):
    verifier = new_verifier()
    code = sandbox.get_code(verifier)
    body = sandbox.exchange(code, verifier, redirect_uri="http://localhost:5000/tiktok/auth/callback")
    assert body["code"] == AUTH_CODE_INVALID and "Redirect_uri is not matched" in body["message"]


def test_wrong_client_secret_is_invalid_client(sandbox):
    verifier = new_verifier()
    body = sandbox.exchange(sandbox.get_code(verifier), verifier, client_secret="nope")
    assert body["code"] == INVALID_CLIENT and "invalid_client" in body["message"]


def test_form_encoded_token_request_is_refused(sandbox):
    verifier = new_verifier()
    resp = sandbox.http.post(
        sandbox.url("/open_api/v1.3/tt_user/oauth2/token/"),
        data={
            "client_id": sandbox.settings.client_key,
            "client_secret": sandbox.settings.client_secret,
            "grant_type": "authorization_code",
            "auth_code": sandbox.get_code(verifier),
            "redirect_uri": "http://127.0.0.1:5000/tiktok/auth/callback",
            "code_verifier": verifier,
        },
    )
    assert resp.status_code == 200 and resp.json()["code"] == INVALID_PARAMS


def test_code_param_name_is_auth_code(sandbox):
    verifier = new_verifier()
    code = sandbox.get_code(verifier)
    assert sandbox.exchange(None, verifier, code=code)["code"] == INVALID_PARAMS


def test_granted_subset_is_reflected_in_token_scope(sandbox):
    data = sandbox.connect(scopes=["user.info.basic", "video.list"])
    assert data["scope"] == "user.info.basic,video.list"


def test_refresh_rotates_and_old_refresh_token_is_refused(sandbox):
    data = sandbox.connect()
    new = sandbox.refresh(data["refresh_token"])
    assert new["code"] == 0
    assert new["data"]["refresh_token"] != data["refresh_token"]
    assert new["data"]["access_token"] != data["access_token"]
    reused = sandbox.refresh(data["refresh_token"])
    assert reused["code"] == INVALID_GRANT and "invalid_grant" in reused["message"]


def test_refresh_token_reuse_revokes_the_whole_grant(sandbox):
    data = sandbox.connect()
    new = sandbox.refresh(data["refresh_token"])["data"]
    sandbox.refresh(data["refresh_token"])  # a leaked, already rotated token comes back
    assert sandbox.refresh(new["refresh_token"])["code"] == INVALID_GRANT
    assert sandbox.business_get(new["access_token"], new["open_id"]).json()["code"] == TOKEN_INVALID


def test_refresh_token_lifetime_counts_down_from_the_original_grant(sandbox):
    data = sandbox.connect()
    sandbox.state.advance_clock(3600)
    new = sandbox.refresh(data["refresh_token"])["data"]
    assert new["refresh_token_expires_in"] == pytest.approx(31536000 - 3600, abs=2)
    assert new["expires_in"] == 86400


def test_refresh_token_expires(sandbox):
    data = sandbox.connect()
    sandbox.state.advance_clock(31536000 + 1)
    assert sandbox.refresh(data["refresh_token"])["code"] == INVALID_GRANT


def test_refresh_with_wrong_secret_is_invalid_client(sandbox):
    data = sandbox.connect()
    body = sandbox.post_json(
        "tt_user/oauth2/refresh_token/",
        {"client_id": sandbox.settings.client_key, "client_secret": "x", "grant_type": "refresh_token",
         "refresh_token": data["refresh_token"]},
    ).json()
    assert body["code"] == INVALID_CLIENT


def test_access_token_expires(sandbox):
    data = sandbox.connect()
    sandbox.state.advance_clock(86400 + 1)
    assert sandbox.business_get(data["access_token"], data["open_id"]).json()["code"] == TOKEN_EXPIRED


def test_revoked_token_is_refused_by_data_endpoints_and_refresh(sandbox):
    data = sandbox.connect()
    assert sandbox.revoke(data["access_token"])["code"] == 0
    assert sandbox.revoke(data["access_token"])["code"] == 0  # idempotent, for revoke-retry jobs
    assert sandbox.business_get(data["access_token"], data["open_id"]).json()["code"] == TOKEN_INVALID
    assert sandbox.refresh(data["refresh_token"])["code"] == INVALID_GRANT


def test_token_info_reports_creator_and_scope(sandbox):
    data = sandbox.connect(scopes=["user.info.basic", "video.list"])
    body = sandbox.post_json(
        "tt_user/token_info/get/", {"app_id": sandbox.settings.client_key, "access_token": data["access_token"]}
    ).json()
    assert body["code"] == 0
    assert body["data"] == {"app_id": sandbox.settings.client_key, "creator_id": data["open_id"],
                            "scope": "user.info.basic,video.list"}


def test_error_http_status_switch(make_sandbox):
    strict = make_sandbox(error_http_status=400)
    verifier = new_verifier()
    code = strict.get_code(verifier)
    resp = strict.post_json("tt_user/oauth2/token/", {"client_id": "x", "client_secret": "y",
                                                      "grant_type": "authorization_code", "auth_code": code})
    assert resp.status_code == 400 and resp.json()["code"] == INVALID_CLIENT


def test_tokens_survive_a_restart_with_state_path(make_sandbox, tmp_path):
    path = str(tmp_path / "sandbox.sqlite3")
    first = make_sandbox(state_path=path)
    data = first.connect()
    first.stop()
    second = make_sandbox(state_path=path)
    assert second.business_get(data["access_token"], data["open_id"]).json()["code"] == 0
    assert second.refresh(data["refresh_token"])["code"] == 0


# -- tt_user/token_info/get/: is the token alive? ------------------------------------------------

def test_token_info_of_a_revoked_token_is_dead(sandbox):
    data = sandbox.connect()
    assert sandbox.revoke(data["access_token"])["code"] == 0
    body = sandbox.token_info(data["access_token"])
    assert body["code"] == TOKEN_INVALID and body["data"] == {}


def test_token_info_of_an_expired_token_is_dead(sandbox):
    data = sandbox.connect()
    sandbox.state.advance_clock(86400 + 1)
    assert sandbox.token_info(data["access_token"])["code"] == TOKEN_INVALID


def test_token_info_of_an_unknown_token_is_dead(sandbox):
    assert sandbox.token_info("act.never-issued!1234.va")["code"] == TOKEN_INVALID


def test_token_info_with_another_app_id_is_invalid_client(sandbox):
    data = sandbox.connect()
    assert sandbox.token_info(data["access_token"], app_id="some_other_app")["code"] == INVALID_CLIENT
    assert sandbox.token_info(data["access_token"], app_id="")["code"] == INVALID_CLIENT


def test_token_info_needs_an_access_token_and_json(sandbox):
    assert sandbox.token_info(None)["code"] == INVALID_PARAMS
    resp = sandbox.http.post(sandbox.url("/open_api/v1.3/tt_user/token_info/get/"),
                             data={"app_id": sandbox.settings.client_key, "access_token": "act.x"})
    assert resp.json()["code"] == INVALID_PARAMS


def test_token_info_after_refresh_knows_only_the_new_token(sandbox):
    data = sandbox.connect()
    new = sandbox.refresh(data["refresh_token"])["data"]
    assert sandbox.token_info(new["access_token"])["data"]["creator_id"] == data["open_id"]


def test_token_info_counts_toward_the_per_account_rate_limit(make_sandbox):
    sbx = make_sandbox(per_account_qpm=2)
    data = sbx.connect()
    assert [sbx.token_info(data["access_token"])["code"] for _ in range(2)] == [0, 0]
    resp = sbx.post_json("tt_user/token_info/get/", {"app_id": sbx.settings.client_key,
                                                     "access_token": data["access_token"]})
    assert resp.json()["code"] == 40100 and 1 <= int(resp.headers["Retry-After"]) <= 60
    # Its own endpoint bucket: data calls of the same account still answer.
    assert sbx.business_get(data["access_token"], data["open_id"]).json()["code"] == 0
    sbx.state.advance_clock(61)
    assert sbx.token_info(data["access_token"])["code"] == 0


def test_token_info_counts_toward_the_app_wide_rate_limit(make_sandbox):
    sbx = make_sandbox(app_qpm=3)
    a, b = sbx.connect(), sbx.connect(username="moontideco2")
    assert sbx.business_get(a["access_token"], a["open_id"]).json()["code"] == 0
    assert sbx.token_info(b["access_token"])["code"] == 0
    assert sbx.token_info("act.never-issued!1234.va")["code"] == TOKEN_INVALID  # a call all the same
    assert sbx.token_info(a["access_token"])["code"] == 40100
    assert sbx.http.get(sbx.url("/_control/requests")).json()["counts"]["tt_user/token_info/get/"] == 3

"""The sandbox's strict checks as the product's client meets them (sandbox leg only: requests-mock
cannot refuse anything). tests/sandbox/ pins each check with raw HTTP; these pin the typed error the
client turns each refusal into."""
from __future__ import annotations

import base64
import dataclasses
import hashlib
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest

from app.tiktok import ClientConfigError, InvalidGrant, ScopeMissing, TokenInvalid, pkce
from app.tiktok.client import profile_fields_for


def with_challenge(url: str, challenge: str) -> str:
    parts = urlsplit(url)
    query = [(k, challenge if k == "code_challenge" else v) for k, v in parse_qsl(parts.query)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def test_rfc7636_base64url_challenge_makes_exchange_code_fail_with_invalid_grant(sandbox_leg):
    client, live = sandbox_leg.client, sandbox_leg.live
    verifier = pkce.new_verifier()
    # RFC 7636 S256 (base64url, no padding), computed by hand; TikTok's S256 is hex.
    rfc_challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()
    with pytest.raises(ValueError):
        client.authorize_url("state-1", rfc_challenge)  # the client itself never builds such a URL
    url = with_challenge(client.authorize_url("state-1", pkce.challenge(verifier)), rfc_challenge)
    assert f"code_challenge={rfc_challenge}" in url
    code = live.consent_code(url)
    with pytest.raises(InvalidGrant):
        client.exchange_code(code, verifier)


def test_wrong_verifier_and_reused_code_fail_with_invalid_grant(sandbox_leg):
    client, live = sandbox_leg.client, sandbox_leg.live
    verifier = pkce.new_verifier()
    code = live.consent_code(client.authorize_url("state-2", pkce.challenge(verifier)))
    with pytest.raises(InvalidGrant):
        client.exchange_code(code, pkce.new_verifier())
    with pytest.raises(InvalidGrant):  # burnt by the failed attempt
        client.exchange_code(code, verifier)


def test_expired_code_fails_with_invalid_grant(sandbox_leg):
    client, live = sandbox_leg.client, sandbox_leg.live
    verifier = pkce.new_verifier()
    code = live.consent_code(client.authorize_url("state-3", pkce.challenge(verifier)))
    live.state.advance_clock(live.settings.code_ttl + 1)
    with pytest.raises(InvalidGrant):
        client.exchange_code(code, verifier)


def test_redirect_uri_other_than_the_authorized_one_fails_with_invalid_grant(sandbox_leg):
    verifier = pkce.new_verifier()
    code = sandbox_leg.live.consent_code(sandbox_leg.client.authorize_url("state-4", pkce.challenge(verifier)))
    other = sandbox_leg.new_client(redirect_uri=sandbox_leg.client.redirect_uri + "/")
    with pytest.raises(InvalidGrant):
        other.exchange_code(code, verifier)


def test_wrong_client_secret_is_a_client_config_error(sandbox_leg):
    wrong = sandbox_leg.new_client(client_secret="not-the-registered-secret")
    with pytest.raises(ClientConfigError):
        sandbox_leg.connect(wrong)


def test_reused_refresh_token_fails_with_invalid_grant_and_kills_the_grant(sandbox_leg):
    client = sandbox_leg.client
    first = sandbox_leg.connect()
    second = sandbox_leg.track(client.refresh(first.refresh_token))
    with pytest.raises(InvalidGrant):
        client.refresh(first.refresh_token)
    # Reuse means the token leaked: the rotated pair dies with it.
    with pytest.raises(InvalidGrant):
        client.refresh(second.refresh_token)
    with pytest.raises(TokenInvalid):
        client.get_business_profile(second.access_token, second.open_id)


def test_unticked_scope_is_scope_missing_and_granted_fields_still_work(sandbox_leg):
    client, live = sandbox_leg.client, sandbox_leg.live
    verifier = pkce.new_verifier()
    ticked = [s for s in client.scopes if s != "user.info.stats"]
    code = live.consent_code(client.authorize_url("state-5", pkce.challenge(verifier)), scopes=ticked)
    tokens = sandbox_leg.track(client.exchange_code(code, verifier))
    assert "user.info.stats" not in tokens.scopes and tokens.missing_scopes(client.scopes) == ("user.info.stats",)
    with pytest.raises(ScopeMissing):
        client.get_business_profile(tokens.access_token, tokens.open_id)
    profile = client.get_business_profile(tokens.access_token, tokens.open_id,
                                          fields=profile_fields_for(tokens.scopes))
    assert profile.followers_count is None and profile.username == sandbox_leg.username
    assert dataclasses.asdict(profile)["daily"] == ()

"""Each fault kind maps to its typed error, on requests-mock and on the sandbox's fault injection.

Mock leg: the fault response is registered for one call. Sandbox leg: ``inject_fault(count=1)``.
Either way the call after a transient fault succeeds again, so a fault never leaks into the next call.
"""
from __future__ import annotations

import pytest

from app.tiktok import BadResponse, InvalidGrant, RateLimited, TikTokError, TokenInvalid, TokenSet, Unavailable

PROFILE, VIDEOS, REFRESH = "business/get/", "business/video/list/", "tt_user/oauth2/refresh_token/"
TOKEN_INFO = "tt_user/token_info/get/"


def call(client, endpoint, tokens):
    if endpoint == PROFILE:
        return client.get_business_profile(tokens.access_token, tokens.open_id)
    if endpoint == VIDEOS:
        return client.list_videos(tokens.access_token, tokens.open_id)
    raise AssertionError(endpoint)


@pytest.mark.parametrize(
    "kind, endpoint, error, http_status",
    [
        pytest.param("rate_limit", PROFILE, RateLimited, 200, id="rate_limit-40100-in-http-200"),
        pytest.param("http_429", PROFILE, RateLimited, 429, id="http_429"),
        pytest.param("http_500", PROFILE, Unavailable, 500, id="http_500"),
        pytest.param("http_503", VIDEOS, Unavailable, 503, id="http_503-html"),
        pytest.param("malformed_json", VIDEOS, BadResponse, 200, id="malformed_json"),
    ],
)
def test_transient_fault_maps_to_its_typed_error_and_the_next_call_succeeds(tiktok, kind, endpoint, error,
                                                                          http_status):
    tokens = tiktok.connect()
    tiktok.inject(endpoint, kind)
    with pytest.raises(error) as caught:
        call(tiktok.client, endpoint, tokens)
    assert type(caught.value) is error
    assert caught.value.http_status == http_status
    assert caught.value.retryable is (error is not BadResponse)
    if error is RateLimited:
        assert caught.value.retry_after > 0
    if kind == "rate_limit":
        assert caught.value.code == 40100
    call(tiktok.client, endpoint, tokens)  # the fault was spent on one call


def test_timeout_maps_to_unavailable_within_the_clients_read_timeout(tiktok):
    client = tiktok.new_client(timeout=(1, 0.2))
    tokens = tiktok.connect(client)
    tiktok.inject(PROFILE, "timeout", delay=2.0)  # the sandbox answers normally after 2 s; requests-mock raises
    with pytest.raises(Unavailable) as caught:
        client.get_business_profile(tokens.access_token, tokens.open_id)
    # Had the client waited for the server, the delayed answer would have succeeded: the error
    # itself, a read timeout, is the proof that it gave up at its own timeout.
    assert "timed out" in str(caught.value) and "ReadTimeout" in str(caught.value)
    assert caught.value.retryable and caught.value.http_status is None
    client.get_business_profile(tokens.access_token, tokens.open_id)


def test_revoked_token_fault_maps_to_token_invalid(tiktok):
    """The user removes the app: the grant dies, the data call gets a code TikTok does not document, and
    token_info (which refuses the token too) is what makes it TokenInvalid."""
    tokens = tiktok.connect()
    tiktok.inject(PROFILE, "revoked_token")
    with pytest.raises(TokenInvalid) as caught:
        tiktok.client.get_business_profile(tokens.access_token, tokens.open_id)
    assert type(caught.value) is TokenInvalid and not caught.value.retryable
    with pytest.raises(TokenInvalid):
        tiktok.client.token_info(tokens.access_token)


@pytest.mark.parametrize("endpoint", [PROFILE, VIDEOS])
def test_an_undocumented_refusal_with_a_live_token_is_a_plain_error_not_a_reconnect(tiktok, endpoint):
    tokens = tiktok.connect()
    tiktok.inject(endpoint, "invalid_grant")  # some code TikTok does not document, on a data call
    with pytest.raises(TikTokError) as caught:
        call(tiktok.client, endpoint, tokens)
    assert type(caught.value) is TikTokError  # token_info says the token is alive, with its scopes
    call(tiktok.client, endpoint, tokens)
    assert tiktok.client.token_info(tokens.access_token).creator_id == tokens.open_id


def test_an_undocumented_refusal_while_token_info_is_throttled_stays_the_original_error(tiktok):
    tokens = tiktok.connect()
    tiktok.inject(PROFILE, "revoked_token")  # the grant really dies…
    tiktok.inject(TOKEN_INFO, "rate_limit")  # …but token_info cannot say so this time
    with pytest.raises(TikTokError) as caught:
        tiktok.client.get_business_profile(tokens.access_token, tokens.open_id)
    assert type(caught.value) is TikTokError
    with pytest.raises(TokenInvalid):  # next time token_info answers, and it is a reconnect
        tiktok.client.get_business_profile(tokens.access_token, tokens.open_id)


def test_invalid_grant_on_refresh_maps_to_invalid_grant_and_leaves_the_token_alone(tiktok):
    """No access token to ask token_info about: an undocumented refusal of a refresh is InvalidGrant."""
    tokens = tiktok.connect()
    tiktok.inject(REFRESH, "invalid_grant")
    with pytest.raises(InvalidGrant) as caught:
        tiktok.client.refresh(tokens.refresh_token)
    assert type(caught.value) is InvalidGrant and not caught.value.retryable
    assert isinstance(tiktok.track(tiktok.client.refresh(tokens.refresh_token)), TokenSet)


def test_refused_refresh_with_a_live_access_token_is_not_a_reconnect(tiktok):
    tokens = tiktok.connect()
    tiktok.inject(REFRESH, "invalid_grant")
    with pytest.raises(TikTokError) as caught:
        tiktok.client.refresh(tokens.refresh_token, access_token=tokens.access_token)
    assert type(caught.value) is TikTokError  # token_info: the grant is alive, try again later
    fresh = tiktok.track(tiktok.client.refresh(tokens.refresh_token, access_token=tokens.access_token))
    assert isinstance(fresh, TokenSet) and fresh.refresh_token != tokens.refresh_token

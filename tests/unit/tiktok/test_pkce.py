"""PKCE values: TikTok's S256 is lowercase hex SHA-256 of the verifier, never RFC 7636 base64url (TikTok's own
Android SDK `PKCEUtils.kt` and iOS SDK `PKCE.swift` format each digest byte as two lowercase hex digits;
Login Kit for Desktop docs say "use hex encoding of SHA256")."""

from __future__ import annotations

import base64
import hashlib
import math
import re

import pytest

from app.tiktok import pkce

UNRESERVED = re.compile(r"[A-Za-z0-9\-._~]+")


@pytest.mark.parametrize(
    ("verifier", "expected"),
    [
        # RFC 7636 Appendix B verifier, hex-encoded the TikTok way.
        ("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", "13d31e961a1ad8ec2f16b10c4c982e0876a878ad6df144566ee1894acb70f9c3"),
        # TikTok Android SDK's PKCEUtilsTest vector.
        ("gaeCq5mVvbhA8Ce6w5O9XBVIKMkySgv-_9A-rnhm9Ns", "e6a178b120743d08509508f269652b0bdf91e29332921bc9e9744fd3dd41bfef"),
    ],
)
def test_challenge_matches_pinned_tiktok_vectors(verifier, expected):
    assert pkce.challenge(verifier) == expected


def test_challenge_is_not_rfc7636_base64url():
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    rfc = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert rfc == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    assert pkce.challenge(verifier) != rfc
    assert pkce.challenge(verifier) == pkce.challenge(verifier).lower()
    assert len(pkce.challenge(verifier)) == 64


def test_new_verifiers_are_unreserved_long_enough_and_unique():
    verifiers = [pkce.new_verifier() for _ in range(10_000)]
    assert len(set(verifiers)) == len(verifiers)
    for verifier in verifiers:
        assert len(verifier) == pkce.DEFAULT_VERIFIER_LENGTH
        assert UNRESERVED.fullmatch(verifier)
        assert pkce.is_valid_verifier(verifier)


@pytest.mark.parametrize("length", [43, 64, 128])
def test_every_allowed_verifier_length_carries_at_least_256_bits(length):
    verifier = pkce.new_verifier(length)
    assert len(verifier) == length
    assert length * math.log2(len(pkce.VERIFIER_ALPHABET)) >= 256


def test_verifier_uses_the_whole_alphabet():
    seen = set("".join(pkce.new_verifier(128) for _ in range(200)))
    assert seen == set(pkce.VERIFIER_ALPHABET)


@pytest.mark.parametrize("length", [0, 42, 129])
def test_verifier_length_outside_rfc_range_is_refused(length):
    with pytest.raises(ValueError):
        pkce.new_verifier(length)


@pytest.mark.parametrize("bad", ["short", "x" * 129, "a" * 42 + " ", "ä" * 43, "a" * 42 + "+"])
def test_challenge_refuses_invalid_verifier_without_echoing_it(bad):
    with pytest.raises(ValueError) as excinfo:
        pkce.challenge(bad)
    assert bad not in str(excinfo.value)


def test_state_has_at_least_128_bits_and_is_urlsafe():
    states = {pkce.new_state() for _ in range(10_000)}
    assert len(states) == 10_000
    for state in states:
        assert re.fullmatch(r"[A-Za-z0-9_-]+", state)
        assert len(base64.urlsafe_b64decode(state + "=" * (-len(state) % 4))) * 8 >= 128


def test_is_challenge_tells_a_challenge_from_a_verifier():
    verifier = pkce.new_verifier()
    assert pkce.is_challenge(pkce.challenge(verifier))
    assert not pkce.is_challenge(verifier)
    assert not pkce.is_challenge(pkce.challenge(verifier).upper())


def test_only_s256_is_ever_used():
    assert pkce.CHALLENGE_METHOD == "S256"

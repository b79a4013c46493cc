"""PKCE and `state` values for TikTok's Login Kit.

TikTok's ``S256`` is the lowercase *hex* SHA-256 of the verifier, not RFC 7636's
base64url: TikTok's own Android SDK (`PKCEUtils.kt`) and iOS SDK (`PKCE.swift`) format
each byte as ``%02x``, and the Login Kit for Desktop docs say "use hex encoding of SHA256".
Pure functions; the only randomness is `secrets`.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string

#: RFC 7636 §4.1 "unreserved" characters.
VERIFIER_ALPHABET = string.ascii_letters + string.digits + "-._~"
VERIFIER_MIN_LENGTH = 43
VERIFIER_MAX_LENGTH = 128
DEFAULT_VERIFIER_LENGTH = 64

#: The only method TikTok supports; we never send `plain`.
CHALLENGE_METHOD = "S256"

_VERIFIER_RE = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
_CHALLENGE_RE = re.compile(r"[0-9a-f]{64}")


def new_verifier(length: int = DEFAULT_VERIFIER_LENGTH) -> str:
    """A fresh verifier of `length` unreserved characters.

    Each character carries log2(66) ≈ 6.04 bits, so even the 43-character minimum
    holds more than 256 bits; the default 64 holds about 386.
    """
    if not VERIFIER_MIN_LENGTH <= length <= VERIFIER_MAX_LENGTH:
        raise ValueError(f"verifier length must be {VERIFIER_MIN_LENGTH}-{VERIFIER_MAX_LENGTH}, got {length}")
    return "".join(secrets.choice(VERIFIER_ALPHABET) for _ in range(length))


def is_valid_verifier(verifier: str) -> bool:
    return isinstance(verifier, str) and _VERIFIER_RE.fullmatch(verifier) is not None


def challenge(verifier: str) -> str:
    """TikTok's S256 challenge: ``sha256(verifier).hexdigest()`` (64 lowercase hex chars)."""
    if not is_valid_verifier(verifier):
        # Never echo the verifier itself.
        raise ValueError("PKCE verifier must be 43-128 characters of [A-Za-z0-9-._~]")
    return hashlib.sha256(verifier.encode("ascii")).hexdigest()


def is_challenge(value: str) -> bool:
    """True for something shaped like `challenge()` output (used to refuse a verifier passed by mistake)."""
    return isinstance(value, str) and _CHALLENGE_RE.fullmatch(value) is not None


def new_state() -> str:
    """An unguessable OAuth `state`: 32 random bytes (256 bits), URL-safe base64."""
    return secrets.token_urlsafe(32)


__all__ = [
    "CHALLENGE_METHOD",
    "challenge",
    "is_challenge",
    "is_valid_verifier",
    "new_state",
    "new_verifier",
]

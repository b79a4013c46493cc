"""Limits on failed sign-in attempts, per account and per IP address.

Only failures count. The password step is limited per account (the email as typed,
normalised, whether or not an account has it, so a lockout says nothing about which
emails exist) by LOGIN_ACCOUNT_RATE_LIMIT, and per IP address by the higher
LOGIN_RATE_LIMIT: one person mistyping behind an office proxy locks only the account
they typed, and everyone else at that address signs in until the address itself
reaches its limit. The second step (a two-factor code) has its own pair,
TWO_FACTOR_RATE_LIMIT per user and TWO_FACTOR_IP_RATE_LIMIT per address.

Counts live in the storage RATELIMIT_STORAGE_URI names, through the `limits` library
Flask-Limiter is built on: `memory://` is per process; point every instance at one
Redis (`redis://host:6379`) and they all see the same counts. Windows are moving (at
most N failures in any 15 minutes). Emails are hashed before they become keys, so
the store holds no addresses.

Checking and counting are two calls (a hit cannot be undone), so a burst of parallel
attempts can pass the limit by the number of requests in flight; that bounds, not
breaks, it.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from flask import Flask
from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from app.services.accounts import normalise_email

NAMESPACE = "lt-sign-in"
PASSWORD_ACCOUNT = "password-account"
PASSWORD_IP = "password-ip"
SECOND_STEP_USER = "second-step-user"
SECOND_STEP_IP = "second-step-ip"
_SETTINGS = {
    PASSWORD_ACCOUNT: "LOGIN_ACCOUNT_RATE_LIMIT",
    PASSWORD_IP: "LOGIN_RATE_LIMIT",
    SECOND_STEP_USER: "TWO_FACTOR_RATE_LIMIT",
    SECOND_STEP_IP: "TWO_FACTOR_IP_RATE_LIMIT",
}


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0  # seconds until one more attempt is allowed
    scope: str | None = None  # which limit said no


ALLOWED = Verdict(True)


def account_key(email: str) -> str:
    return hashlib.sha256(normalise_email(email).encode()).hexdigest()


class SignInLimits:
    def __init__(self, storage_uri: str, rules: dict[str, str], *, enabled: bool = True):
        self.storage = storage_from_string(storage_uri)
        self.window = MovingWindowRateLimiter(self.storage)
        self.rules: dict[str, list[RateLimitItem]] = {scope: parse_many(rule) for scope, rule in rules.items()}
        self.enabled = enabled

    def check(self, *keys: tuple[str, str]) -> Verdict:
        """May one more attempt be made under every (scope, key)? Counts nothing."""
        if not self.enabled:
            return ALLOWED
        for scope, key in keys:
            for item in self.rules[scope]:
                if not self.window.test(item, NAMESPACE, scope, key):
                    reset_at, _ = self.window.get_window_stats(item, NAMESPACE, scope, key)
                    return Verdict(False, max(1, int(reset_at - time.time()) + 1), scope)
        return ALLOWED

    def fail(self, *keys: tuple[str, str]) -> None:
        """Count one failed attempt against each (scope, key)."""
        if not self.enabled:
            return
        for scope, key in keys:
            for item in self.rules[scope]:
                self.window.hit(item, NAMESPACE, scope, key)

    def forget(self, scope: str, key: str) -> None:
        """Clear the failures under (scope, key), e.g. an account's after it signs in."""
        for item in self.rules[scope]:
            self.window.clear(item, NAMESPACE, scope, key)

    # The four pairs the sign-in routes use.
    def password_keys(self, email: str, ip: str | None) -> tuple[tuple[str, str], ...]:
        return ((PASSWORD_ACCOUNT, account_key(email)), (PASSWORD_IP, ip or "-"))

    def second_step_keys(self, user_id: int, ip: str | None) -> tuple[tuple[str, str], ...]:
        return ((SECOND_STEP_USER, str(user_id)), (SECOND_STEP_IP, ip or "-"))


def for_app(app: Flask) -> SignInLimits:
    """This app's limits, built once from its config (each app its own storage client)."""
    limits = app.extensions.get("sign_in_limits")
    if limits is None:
        limits = app.extensions["sign_in_limits"] = SignInLimits(
            app.config.get("RATELIMIT_STORAGE_URI") or "memory://",
            {scope: app.config[setting] for scope, setting in _SETTINGS.items()},
            enabled=app.config.get("RATELIMIT_ENABLED", True),
        )
    return limits

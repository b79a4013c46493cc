"""Typed errors for everything that can go wrong talking to TikTok.

Callers (services, jobs) branch on these classes and never see a `requests`
exception. Messages are built by `app.tiktok` itself and never carry token
text, the client secret, authorization codes or PKCE verifiers: TikTok's own
`message` is scrubbed of every secret sent in the request before it lands here.
"""

from __future__ import annotations


class TikTokError(Exception):
    """Any failed call to TikTok.

    `code` is TikTok's body-level error code (an int on the Business/Marketing
    API, a string such as ``"invalid_grant"`` on OAuth-style errors), `log_id`
    TikTok's `request_id`/`log_id` to quote to their support, `http_status` the
    HTTP status when there was a response.
    """

    #: Whether trying again later may succeed without user action.
    retryable = False

    def __init__(
        self,
        message: str,
        code: int | str | None = None,
        log_id: str | None = None,
        *,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.log_id = log_id
        self.http_status = http_status

    def __str__(self) -> str:
        extras = [f"{name}={value}" for name, value in (
            # "error_code", not "code": log redactors scrub values of anything named code.
            ("error_code", self.code), ("http_status", self.http_status), ("log_id", self.log_id),
        ) if value is not None]
        return f"{self.message} ({', '.join(extras)})" if extras else self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class TokenInvalid(TikTokError):
    """The access token is expired, invalid or revoked: refresh once, then reconnect."""


class InvalidGrant(TikTokError):
    """TikTok refused an authorization code or refresh token (`invalid_grant`).

    The connection cannot recover without the user consenting again.
    """


class ScopeMissing(TikTokError):
    """The user did not grant a scope the call needs: ask for consent again."""


class RateLimited(TikTokError):
    """TikTok throttled us (HTTP 429 or body code 40100, whatever the HTTP status)."""

    retryable = True

    def __init__(
        self,
        message: str,
        code: int | str | None = None,
        log_id: str | None = None,
        *,
        retry_after: float = 60.0,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message, code, log_id, http_status=http_status)
        #: Seconds to wait before the next call, from TikTok's headers or a 60 s default.
        self.retry_after = retry_after

    def __str__(self) -> str:
        return f"{super().__str__()} retry_after={self.retry_after:g}s"


class Unavailable(TikTokError):
    """TikTok could not be reached or failed on its side (5xx, timeout, connection error)."""

    retryable = True


class BadResponse(TikTokError):
    """TikTok answered something we cannot read (not JSON, no envelope, wrong shapes)."""


class ClientConfigError(TikTokError):
    """Our app credentials or settings are wrong (`invalid_client`, missing ads app id, bad URL)."""


class InvalidSignature(TikTokError):
    """A webhook's `TikTok-Signature` is missing, malformed, wrong or stale."""


# Names used elsewhere in the design documents.
GrantRevoked = InvalidGrant
TokenRevoked = TokenInvalid

__all__ = [
    "BadResponse",
    "ClientConfigError",
    "GrantRevoked",
    "InvalidGrant",
    "InvalidSignature",
    "RateLimited",
    "ScopeMissing",
    "TikTokError",
    "TokenInvalid",
    "TokenRevoked",
    "Unavailable",
]

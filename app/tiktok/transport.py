"""How requests reach TikTok: one pooled session, one `_call`, one log line per call.

`Transport` holds the app's credentials and sends every request of `TikTokClient`;
`app.tiktok.interpret` judges each answer. No retries happen here: jobs own backoff,
using `RateLimited.retry_after` and `TikTokError.retryable`.
"""
from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from .errors import ClientConfigError, TikTokError
from .interpret import _interpret, _transport_error

logger = logging.getLogger("app.tiktok")

DEFAULT_TIMEOUT = (3.05, 10.0)  # (connect, read) seconds; requests has no default


class Transport:
    """Credentials, the pooled session and the one place requests are sent."""

    def __init__(
        self,
        *,
        auth_url: str,
        business_api_base: str,
        ads_auth_url: str,
        client_key: str,
        client_secret: str,
        redirect_uri: str,
        scopes: Sequence[str],
        ads_app_id: str | None = None,
        ads_secret: str | None = None,
        ads_redirect_uri: str | None = None,
        session: requests.Session | None = None,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        allow_http_media: bool = False,
    ) -> None:
        if not client_key or not client_secret:
            raise ClientConfigError("TikTok client_key and client_secret are required")
        if not redirect_uri:
            raise ClientConfigError("TikTok redirect_uri is required")
        scopes = list(scopes)
        if not scopes or any(not s or "," in s or " " in s for s in scopes):
            raise ClientConfigError("TikTok scopes must be a non-empty list of scope names")
        self.auth_url = auth_url
        self.business_api_base = business_api_base.rstrip("/") + "/"
        self.ads_auth_url = ads_auth_url
        self.client_key = client_key
        self._client_secret = client_secret
        self.redirect_uri = redirect_uri  # sent byte for byte; never derived from a request
        self.scopes = tuple(scopes)
        self.ads_app_id = str(ads_app_id) if ads_app_id else None
        self._ads_secret = ads_secret or None
        self.ads_redirect_uri = ads_redirect_uri or None
        self.timeout = timeout
        # Thumbnails, avatars and share links must be https; the local sandbox serves http.
        self.allow_http_media = allow_http_media
        self._session = session if session is not None else _new_session()
        install_log_redaction()

    def close(self) -> None:
        """Close pooled connections (tests and shutdown)."""
        self._session.close()

    def __repr__(self) -> str:  # no secrets
        return f"{type(self).__name__}(business_api_base={self.business_api_base!r}, client_key={self.client_key!r})"

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Mapping[str, Any] | None = None,
        access_token: str | None = None,
        grant: bool = False,
        sensitive: Iterable[str] = (),
    ) -> dict[str, Any]:
        """Send one request, log one line, return the envelope's `data` or raise a typed error."""
        headers = {"Accept": "application/json"}
        if access_token is not None:
            if not access_token:
                raise ValueError("access_token is required")
            headers["Access-Token"] = access_token  # TikTok for Business: no "Bearer"
        secrets = tuple(s for s in (self._client_secret, self._ads_secret, access_token, *sensitive) if s)
        started = time.monotonic()
        try:
            response = self._session.request(
                method,
                self.business_api_base + path,
                params=params,
                json=json_body,
                headers=headers,
                timeout=self.timeout,
                # A redirect would re-send Access-Token (requests strips only Authorization).
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            # Build our own message: requests' includes the URL, which for
            # oauth2/advertiser/get/ carries the app secret. `from None` drops it.
            elapsed_ms = (time.monotonic() - started) * 1000
            error = _transport_error(exc, method, path)
            logger.warning(
                "tiktok %s %s failed: %s after %.0f ms", method, path, type(exc).__name__, elapsed_ms,
            )
            raise error from None
        elapsed_ms = (time.monotonic() - started) * 1000
        try:
            data, log_id = _interpret(
                response.status_code, response.headers, response.content,
                grant=grant, what=f"{method} {path}", secrets=secrets, now=None,
            )
        except TikTokError as error:
            logger.warning(
                # "error_code=", not "code=": log redactors scrub anything named code.
                "tiktok %s %s -> %s %s error_code=%s request_id=%s in %.0f ms",
                method, path, response.status_code, type(error).__name__, error.code, error.log_id, elapsed_ms,
            )
            raise
        logger.info(
            "tiktok %s %s -> %s request_id=%s in %.0f ms",
            method, path, response.status_code, log_id, elapsed_ms,
        )
        return data


def _new_session() -> requests.Session:
    session = requests.Session()
    # Pool reuse; max_retries=0 because jobs decide when to try again.
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=16, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def json_list(values: Iterable[str]) -> str:
    """TikTok for Business takes array parameters as JSON text: ``["a","b"]``."""
    return json.dumps(list(values), separators=(",", ":"))


class RedactQuerySecrets(logging.Filter):
    """Scrubs secret-bearing query parameters from log records (urllib3 logs request lines at DEBUG)."""

    _PATTERN = re.compile(
        r"((?:^|[?&\s\"'])(?:secret|client_secret|access_token|refresh_token|auth_code|code|code_verifier)=)"
        r"[^&\s\"']*",
        re.IGNORECASE,
    )

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken record is not ours to fix
            return True
        cleaned = self._PATTERN.sub(r"\1[redacted]", message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


# Not "app.tiktok": our own lines are built from method, path, status and ids only.
_REDACTED_LOGGERS = ("urllib3.connectionpool", "urllib3.connection", "urllib3.util.retry", "urllib3.poolmanager")


def install_log_redaction(*extra_loggers: str) -> None:
    """Attach `RedactQuerySecrets` to the loggers that could print our request lines (idempotent).

    `extra_loggers` covers other transports, e.g. tests pass ``"requests_mock.adapter"``.
    """
    for name in (*_REDACTED_LOGGERS, *extra_loggers):
        target = logging.getLogger(name)
        if not any(isinstance(f, RedactQuerySecrets) for f in target.filters):
            target.addFilter(RedactQuerySecrets())

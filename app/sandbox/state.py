"""Everything the sandbox remembers: codes, grants, tokens, rate-limit windows, faults, counters.

One lock guards it all; the sandbox is served threaded and a test server is small. Codes, grants
and tokens are optionally written through to a stdlib sqlite3 file so a restarted `make run` keeps
connections working; rate windows, faults and counters are deliberately in memory only.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import math
import re
import secrets
import sqlite3
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass
from typing import Callable

from . import demo_data, signing
from .settings import SandboxSettings

# Numeric codes in the Business envelope. 0 and 40100 are documented; the others follow TikTok's
# 4xxxx numbering and are what this sandbox promises (see the module docstring of views).
OK = 0
SCOPE_MISSING = 40001
INVALID_PARAMS = 40002
RATE_LIMITED = 40100
INVALID_CLIENT = 40101
TOKEN_INVALID = 40104
TOKEN_EXPIRED = 40105
INVALID_GRANT = 40106
# What independent Accounts/Marketing API clients handle for an authorization code TikTok refuses
# (unknown, used, expired; 10 minutes, single use). The sandbox answers every refused code exchange
# with it; a refused refresh token stays 40106.
AUTH_CODE_INVALID = 40110
INTERNAL_ERROR = 50000

FAULT_KINDS = (
    "rate_limit",
    "http_429",
    "http_500",
    "http_503",
    "timeout",
    "malformed_json",
    "revoked_token",
    "invalid_grant",
)
VERIFIER_RE = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
_PERSISTED = ("code", "grant", "access", "refresh", "ads_code", "ads_token")


class SandboxError(Exception):
    """A refusal that the views turn into TikTok's {code, message, request_id, data} envelope."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Fault:
    endpoint: str  # suffix of the path, e.g. "business/get/", or "*"
    kind: str
    remaining: int
    delay: float = 5.0
    retry_after: int = 1

    def matches(self, path: str) -> bool:
        return self.endpoint == "*" or path.endswith("/" + self.endpoint.strip("/") + "/") or path.endswith(
            "/" + self.endpoint.strip("/")
        )


def _token(prefix: str) -> str:
    # TikTok tokens carry "!" and "." too (e.g. act.xxx!1234.va); keep clients honest about them.
    return f"{prefix}.{secrets.token_urlsafe(36)}!{secrets.randbelow(9000) + 1000}.va"


class SandboxState:
    def __init__(self, settings: SandboxSettings, clock: Callable[[], float] | None = None):
        self.settings = settings
        self.clock = clock or time.time
        self._offset = 0.0
        self._lock = threading.RLock()
        self._db: sqlite3.Connection | None = None
        self._clear_memory()
        if settings.state_path:
            self._db = sqlite3.connect(settings.state_path, check_same_thread=False)
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS sandbox_kv (kind TEXT, key TEXT, value TEXT, PRIMARY KEY (kind, key))"
            )
            self._db.commit()
            for kind, key, value in self._db.execute("SELECT kind, key, value FROM sandbox_kv"):
                if kind in self._tables:
                    self._tables[kind][key] = json.loads(value)

    # -- time -------------------------------------------------------------------------------
    def now(self) -> float:
        return self.clock() + self._offset

    def advance_clock(self, seconds: float) -> None:
        """Move the sandbox's notion of time forward, so tests expire codes/tokens without sleeping."""
        with self._lock:
            self._offset += seconds

    def today(self) -> dt.date:
        return self.settings.today or dt.datetime.fromtimestamp(self.now(), dt.timezone.utc).date()

    def account(self, username: str) -> demo_data.Account:
        username = demo_data.normalize_username(username)
        return demo_data.account(username, self.today(), self.extra_spark_ads().get(username, 0))

    def extra_spark_ads(self) -> dict[str, int]:
        with self._lock:
            return dict(self._extra_spark_ads)

    def set_extra_spark_ads(self, username: str, count: int) -> None:
        """Give `username`'s advertiser `count` more delivering Spark Ads (0 removes them)."""
        if count < 0 or count > 5000:
            raise ValueError("extra_spark_ads must be between 0 and 5000")
        with self._lock:
            self._extra_spark_ads[demo_data.normalize_username(username)] = count

    # -- housekeeping -----------------------------------------------------------------------
    def _clear_memory(self) -> None:
        self._tables: dict[str, dict[str, dict]] = {kind: {} for kind in _PERSISTED}
        self._nonces: dict[str, dict] = {}
        self._windows: dict[str, deque] = {}
        self._faults: list[Fault] = []
        self._counts: Counter = Counter()
        self.webhooks: list[dict] = []
        self._extra_spark_ads: dict[str, int] = {
            demo_data.normalize_username(u): int(n) for u, n in self.settings.extra_spark_ads.items()
        }

    def reset(self) -> None:
        """Forget everything (codes, tokens, faults, counters, clock offset, extra ads set at run time),
        persisted state included; what the settings configure comes back."""
        with self._lock:
            self._clear_memory()
            self._offset = 0.0
            if self._db:
                self._db.execute("DELETE FROM sandbox_kv")
                self._db.commit()

    def close(self) -> None:
        with self._lock:
            if self._db:
                self._db.close()
                self._db = None

    def _put(self, kind: str, key: str, value: dict) -> None:
        self._tables[kind][key] = value
        if self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO sandbox_kv (kind, key, value) VALUES (?, ?, ?)", (kind, key, json.dumps(value))
            )
            self._db.commit()

    # -- request counters and faults --------------------------------------------------------
    def count_request(self, endpoint: str) -> None:
        with self._lock:
            self._counts[endpoint] += 1

    def request_counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def reset_request_counts(self) -> None:
        with self._lock:
            self._counts.clear()

    def inject_fault(
        self, endpoint: str = "*", kind: str = "http_500", count: int = 1, delay: float = 5.0, retry_after: int = 1
    ) -> Fault:
        """Make the next `count` calls to `endpoint` (path suffix like "business/get/", or "*") fail as `kind`."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {', '.join(FAULT_KINDS)}")
        if int(count) < 1:
            raise ValueError("count must be >= 1")
        fault = Fault(endpoint.strip() or "*", kind, int(count), float(delay), int(retry_after))
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def faults(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(path):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    # -- rate limiting ----------------------------------------------------------------------
    def hit(self, buckets: list[tuple[str, int]]) -> int:
        """Sliding one-minute windows. Returns 0 if allowed (and counts it), else Retry-After seconds."""
        with self._lock:
            now = self.now()
            for key, limit in buckets:
                window = self._windows.setdefault(key, deque())
                while window and window[0] <= now - 60:
                    window.popleft()
                if len(window) >= limit:
                    return max(1, math.ceil(window[0] + 60 - now))
            for key, _ in buckets:
                self._windows[key].append(now)
            return 0

    # -- consent-page nonces (the sandbox's own CSRF protection) ----------------------------
    def new_nonce(self, payload: dict) -> str:
        nonce = secrets.token_urlsafe(24)
        with self._lock:
            self._nonces[nonce] = {"payload": payload, "expires_at": self.now() + self.settings.code_ttl}
        return nonce

    def take_nonce(self, nonce: str) -> dict | None:
        with self._lock:
            entry = self._nonces.pop(nonce or "", None)
        if not entry or entry["expires_at"] < self.now():
            return None
        return entry["payload"]

    # -- Login Kit codes and Accounts API tokens --------------------------------------------
    def issue_code(self, *, redirect_uri: str, challenge: str | None, scopes: list[str], username: str) -> str:
        # "*" and "!" as in TikTok's own example code: catches double-encoding and double-decoding.
        code = f"{secrets.token_urlsafe(32)}*0!{secrets.randbelow(9000) + 1000}"
        username = demo_data.normalize_username(username)
        with self._lock:
            self._put(
                "code",
                code,
                {
                    "client_key": self.settings.client_key,
                    "redirect_uri": redirect_uri,
                    "challenge": challenge,
                    "scopes": scopes,
                    "username": username,
                    "open_id": demo_data.open_id_for(username),
                    "issued_at": self.now(),
                    "used": False,
                    "grant_id": None,
                },
            )
        return code

    def check_client(self, client_id: object, client_secret: object) -> None:
        s = self.settings
        if not (
            isinstance(client_id, str)
            and isinstance(client_secret, str)
            and hmac.compare_digest(client_id.encode(), s.client_key.encode())
            and hmac.compare_digest(client_secret.encode(), s.client_secret.encode())
        ):
            raise SandboxError(INVALID_CLIENT, "invalid_client: client_id or client_secret is wrong.")

    def exchange_code(self, *, auth_code: str, redirect_uri: str, code_verifier: str | None) -> dict:
        with self._lock:
            code = self._tables["code"].get(auth_code)
            if code is None:
                raise SandboxError(AUTH_CODE_INVALID, "invalid_grant: Authorization code is invalid.")
            if code["used"]:
                # RFC 6749 §4.1.2: a replayed code revokes what it produced.
                if code["grant_id"]:
                    self._revoke_grant(code["grant_id"])
                raise SandboxError(AUTH_CODE_INVALID, "invalid_grant: Authorization code has already been used.")
            code["used"] = True  # burnt by any attempt, so a stolen code cannot be retried
            self._put("code", auth_code, code)
            if self.now() - code["issued_at"] > self.settings.code_ttl:
                raise SandboxError(AUTH_CODE_INVALID, "invalid_grant: Authorization code is expired.")
            if code["client_key"] != self.settings.client_key:
                raise SandboxError(AUTH_CODE_INVALID, "invalid_grant: Authorization code was issued to another client.")
            if redirect_uri != code["redirect_uri"]:
                raise SandboxError(
                    AUTH_CODE_INVALID,
                    "invalid_grant: Redirect_uri is not matched with the uri when requesting code.",
                )
            if code["challenge"] is not None:
                # TikTok's S256 is the lowercase HEX sha256 of the verifier, not RFC 7636 base64url.
                ok = (
                    isinstance(code_verifier, str)
                    and VERIFIER_RE.fullmatch(code_verifier) is not None
                    and hmac.compare_digest(
                        hashlib.sha256(code_verifier.encode("ascii")).hexdigest(), code["challenge"]
                    )
                )
                if not ok:
                    raise SandboxError(AUTH_CODE_INVALID, "invalid_grant: Code verifier or code challenge is invalid.")
            grant_id = secrets.token_hex(8)
            now = self.now()
            grant = {
                "grant_id": grant_id,
                "client_key": code["client_key"],
                "open_id": code["open_id"],
                "username": code["username"],
                "scopes": code["scopes"],
                "created_at": now,
                "refresh_expires_at": now + self.settings.refresh_ttl,
                "revoked": False,
            }
            self._put("grant", grant_id, grant)
            code["grant_id"] = grant_id
            self._put("code", auth_code, code)
            return self._issue_pair(grant, now)

    def _issue_pair(self, grant: dict, now: float) -> dict:
        access, refresh = _token("act"), _token("rft")
        self._put("access", access, {"grant_id": grant["grant_id"], "expires_at": now + self.settings.access_ttl})
        self._put("refresh", refresh, {"grant_id": grant["grant_id"], "active": True})
        return {
            "access_token": access,
            "expires_in": self.settings.access_ttl,
            "open_id": grant["open_id"],
            "refresh_token": refresh,
            # Fixed horizon from the original grant: refreshing never extends it.
            "refresh_token_expires_in": max(0, round(grant["refresh_expires_at"] - now)),
            "scope": ",".join(grant["scopes"]),
            "token_type": "Bearer",
        }

    def refresh(self, refresh_token: str) -> dict:
        with self._lock:
            entry = self._tables["refresh"].get(refresh_token)
            if entry is None:
                raise SandboxError(INVALID_GRANT, "invalid_grant: Refresh token is invalid.")
            grant = self._tables["grant"][entry["grant_id"]]
            if grant["revoked"]:
                raise SandboxError(INVALID_GRANT, "invalid_grant: Authorization has been revoked.")
            if not entry["active"]:
                # RFC 9700 §4.14.2 reuse detection: a rotated token coming back means it leaked.
                self._revoke_grant(grant["grant_id"])
                raise SandboxError(
                    INVALID_GRANT, "invalid_grant: Refresh token was already used; the authorization is revoked."
                )
            if self.now() >= grant["refresh_expires_at"]:
                raise SandboxError(INVALID_GRANT, "invalid_grant: Refresh token is expired.")
            entry["active"] = False
            self._put("refresh", refresh_token, entry)
            return self._issue_pair(grant, self.now())

    def _revoke_grant(self, grant_id: str) -> dict:
        grant = self._tables["grant"][grant_id]
        grant["revoked"] = True
        self._put("grant", grant_id, grant)
        # Access tokens die through grant["revoked"]; refresh tokens are also marked spent.
        for token, entry in list(self._tables["refresh"].items()):
            if entry["grant_id"] == grant_id and entry["active"]:
                entry["active"] = False
                self._put("refresh", token, entry)
        return grant

    def grant_for_access_token(self, token: str | None) -> dict:
        """The live grant behind an Access-Token, or SandboxError 40104 / 40105."""
        with self._lock:
            entry = self._tables["access"].get(token or "")
            if entry is None:
                raise SandboxError(TOKEN_INVALID, "Access token is invalid.")
            grant = self._tables["grant"][entry["grant_id"]]
            if grant["revoked"]:
                raise SandboxError(TOKEN_INVALID, "Access token is invalid: the authorization was revoked.")
            if self.now() >= entry["expires_at"]:
                raise SandboxError(TOKEN_EXPIRED, "Access token has expired. Refresh it.")
            return dict(grant)

    def open_id_of_access_token(self, token: str) -> str | None:
        """Whose token this is, alive or not (None if the sandbox never issued it)."""
        with self._lock:
            entry = self._tables["access"].get(token or "")
            return self._tables["grant"][entry["grant_id"]]["open_id"] if entry else None

    def revoke(self, access_token: str) -> None:
        """Revoke the grant behind `access_token` (idempotent); the first time, emit the webhook."""
        with self._lock:
            entry = self._tables["access"].get(access_token or "")
            if entry is None:
                raise SandboxError(TOKEN_INVALID, "Access token is invalid.")
            grant = self._tables["grant"][entry["grant_id"]]
            if grant["revoked"]:
                return
            self._revoke_grant(grant["grant_id"])
        self.send_authorization_removed(grant["open_id"], reason=5)

    def revoke_grant_of(self, token: str, reason: int = 1) -> bool:
        """Revoke whatever grant an access or refresh token belongs to, as if the user removed the app."""
        with self._lock:
            entry = self._tables["access"].get(token) or self._tables["refresh"].get(token)
            if entry is None:
                return False
            grant = self._tables["grant"][entry["grant_id"]]
            if grant["revoked"]:
                return False
            self._revoke_grant(grant["grant_id"])
        self.send_authorization_removed(grant["open_id"], reason=reason)
        return True

    def deauthorize(self, open_id: str, reason: int = 1, *, webhook: bool = True) -> int:
        """The user removes the app in TikTok's settings: every grant of `open_id` dies.

        With `webhook` the `authorization.removed` event follows. Without it the revocation is
        silent, as for TikTok API for Business apps, which have no documented deauthorization
        event: the app can only notice through `tt_user/token_info/get/` or a refused call.
        """
        with self._lock:
            live = [g for g in self._tables["grant"].values() if g["open_id"] == open_id and not g["revoked"]]
            for grant in live:
                self._revoke_grant(grant["grant_id"])
        if live and webhook:
            self.send_authorization_removed(open_id, reason=reason)
        return len(live)

    def send_authorization_removed(self, open_id: str, reason: int) -> None:
        url = self.settings.webhook_url
        if not url:
            return
        body = signing.authorization_removed(self.settings.client_key, open_id, reason, int(time.time()))

        def record(result: dict) -> None:
            with self._lock:
                self.webhooks.append(result)

        signing.deliver_in_background(url, self.settings.client_secret, body, on_done=record)

    # -- Marketing API (Spark Ads) ----------------------------------------------------------
    def issue_ads_code(self, *, redirect_uri: str, usernames: list[str]) -> str:
        code = secrets.token_hex(20)
        with self._lock:
            self._put(
                "ads_code",
                code,
                {"redirect_uri": redirect_uri, "usernames": usernames, "issued_at": self.now(), "used": False},
            )
        return code

    def check_ads_client(self, app_id: object, secret: object) -> None:
        s = self.settings
        if not (
            isinstance(app_id, (str, int))
            and isinstance(secret, str)
            and hmac.compare_digest(str(app_id).encode(), s.ads_app_id.encode())
            and hmac.compare_digest(secret.encode(), s.ads_secret.encode())
        ):
            raise SandboxError(INVALID_CLIENT, "invalid_client: app_id or secret is wrong.")

    def exchange_ads_code(self, auth_code: str) -> dict:
        with self._lock:
            code = self._tables["ads_code"].get(auth_code or "")
            if code is None or code["used"]:
                raise SandboxError(AUTH_CODE_INVALID, "invalid_grant: auth_code is invalid or already used.")
            code["used"] = True
            self._put("ads_code", auth_code, code)
            if self.now() - code["issued_at"] > self.settings.code_ttl:
                raise SandboxError(AUTH_CODE_INVALID, "invalid_grant: auth_code is expired.")
            token = secrets.token_hex(20)  # Marketing API long-term tokens: no expiry, no prefix
            advertisers = [demo_data.advertiser_id_for(u) for u in code["usernames"]]
            self._put("ads_token", token, {"usernames": code["usernames"], "advertiser_ids": advertisers})
            return {"access_token": token, "advertiser_ids": advertisers, "scope": [4, 5]}

    def ads_grant(self, token: str | None) -> dict:
        with self._lock:
            entry = self._tables["ads_token"].get(token or "")
        if entry is None:
            raise SandboxError(TOKEN_INVALID, "Access token is invalid.")
        return dict(entry)

"""Settings for Logic Target, read once from the environment and validated.

`load_config(env)` turns an environment mapping into Flask config. Any missing or
malformed setting raises `ConfigError` with one line that names the setting, so
start-up stops with a message a person can act on (see `wsgi.py` and `app/cli.py`).

In development (`APP_ENV` unset or `development`) a missing `SECRET_KEY` or
`TOKEN_KEYS` is generated once into `instance/` with a warning, so `make run` works
on a fresh machine; production refuses to start without them. In sandbox mode the
client secrets shared with the local TikTok stand-in (which signs its webhooks with
the client secret) are generated into `instance/` too, so no two installations share
them. Generated files are created 0600 in a 0700 directory (see app/private_files.py).
"""
from __future__ import annotations

import base64
import logging
import os
import re
import secrets
import warnings
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent
INSTANCE_DIR = ROOT / "instance"

# The nine scopes of the product brief, plus the three that `business/get/` needs for
# the username, follower counts and daily account metrics the dashboard and report show
# (their fields and scopes are in app/tiktok/fields.py): without them those figures could
# only ever read "—".
BRIEF_SCOPES = (
    "user.info.basic,video.list,video.insights,comment.list,biz.brand.insights,"
    "biz.creator.info,biz.creator.insights,biz.ads.recommend,tto.campaign.link"
)
DEFAULT_SCOPES = BRIEF_SCOPES + ",user.info.username,user.info.stats,user.insights"
MAX_RETENTION_DAYS = 90
DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 5000
# Revocations TikTok never confirms are given up after this many days (token wiped, so the
# purge can proceed); always less than RETENTION_DAYS.
DEFAULT_REVOKE_GIVE_UP_DAYS = 7

# Sandbox identifiers: they only ever talk to our own local stand-in. The secrets are not
# here: they are generated per installation into instance/ (files named below).
SANDBOX_CLIENT_KEY = "sbx_logic_target"
SANDBOX_ADS_APP_ID = "sbx_ads_app"
SANDBOX_SECRET_FILES = {"TIKTOK_CLIENT_SECRET": "sandbox_client_secret", "TIKTOK_ADS_SECRET": "sandbox_ads_secret"}

log = logging.getLogger(__name__)

# Every environment variable the app reads (create_app's overrides validate these too).
SETTING_NAMES = frozenset({
    "APP_ENV", "SECRET_KEY", "DATABASE_URL", "TOKEN_KEYS", "KMS_KEY_ID", "APP_BASE_URL",
    "TIKTOK_CLIENT_KEY", "TIKTOK_CLIENT_SECRET", "TIKTOK_REDIRECT_URI", "TIKTOK_SCOPES",
    "TIKTOK_ADS_APP_ID", "TIKTOK_ADS_SECRET", "TIKTOK_ADS_REDIRECT_URI", "TIKTOK_AUTH_URL",
    "TIKTOK_BUSINESS_API_BASE", "TIKTOK_ADS_AUTH_URL", "TIKTOK_SANDBOX", "TIKTOK_HTTP_TIMEOUT", "TIKTOK_PKCE",
    "MAIL_SERVER", "MAIL_PORT", "MAIL_USE_TLS", "MAIL_USE_SSL", "MAIL_USERNAME", "MAIL_PASSWORD",
    "MAIL_DEFAULT_SENDER", "MAIL_TIMEOUT", "MAIL_OUTBOX_DIR", "SCHEDULER_ENABLED", "RETENTION_DAYS", "SECURITY_CONTACT",
    "RATELIMIT_STORAGE_URI", "LOGIN_RATE_LIMIT", "TRUST_PROXY",
    "REFRESH_NOW_MIN_INTERVAL_SECONDS", "METRICS_TOKEN",
    "REVOKE_GIVE_UP_DAYS", "SANDBOX_CONTROL",
    "LOGIN_ACCOUNT_RATE_LIMIT", "TWO_FACTOR_RATE_LIMIT", "TWO_FACTOR_IP_RATE_LIMIT",
    "PASSWORD_RESET_RATE_LIMIT", "PASSWORD_RESET_IP_RATE_LIMIT",
    "HOST", "PORT", "KMS_REGION", "KMS_DEK_CACHE_TTL", "KMS_DEK_CACHE_MAX_USES", "FRAGMENT_CACHE_SECONDS",
    "DELETION_REQUEST_RATE_LIMIT", "SYNC_RETRY_BASE_SECONDS", "SYNC_RATE_LIMIT_WAIT_SECONDS",
    "PASSWORD_HASH_METHOD", "SANDBOX_STATE_PATH",
})


class ConfigError(Exception):
    """A setting is missing or malformed; the message is one line naming it."""


def _bool(name: str, value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    v = value.strip().lower()
    if v in {"1", "true", "yes", "on"}:
        return True
    if v in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name}: expected true or false, got {value!r}")


def _int(name: str, value: str | None, default: int, *, lo: int, hi: int) -> int:
    if value is None or value == "":
        return default
    try:
        n = int(value)
    except ValueError:
        raise ConfigError(f"{name}: expected a whole number, got {value!r}") from None
    if not lo <= n <= hi:
        raise ConfigError(f"{name}: must be between {lo} and {hi}, got {n}")
    return n


def _url(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ConfigError(f"{name}: expected an absolute http(s) URL, got {value!r}")
    return value


def _rate_limit(name: str, value: str) -> str:
    """A rate limit in the limits library's notation, e.g. "5 per 15 minutes" ("; " joins several)."""
    from limits import parse_many

    try:
        parse_many(value)
    except ValueError:
        raise ConfigError(f"{name}: expected a rate like '5 per 15 minutes', got {value!r}") from None
    return value


def local_base_url(host: str, port: int) -> str:
    """The address a browser on this machine uses for a server bound to host:port
    (a wildcard bind is reached on loopback)."""
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "[::]": "::1"}.get(host, host)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _password_hash_method(value: str) -> str:
    """werkzeug's `scrypt[:n:r:p]` or `pbkdf2[:hash[:iterations]]` (tests use a cheap one)."""
    if not re.fullmatch(r"scrypt(:\d+:\d+:\d+)?|pbkdf2(:[a-z0-9_]+(:\d+)?)?", value):
        raise ConfigError(f"PASSWORD_HASH_METHOD: expected scrypt or pbkdf2[:hash[:iterations]], got {value!r}")
    return value


def parse_token_keys(value: str) -> list[tuple[str, bytes]]:
    """`id:base64key,id2:base64key` -> [(id, 32-byte key)], first is primary (see app/crypto)."""
    from app.crypto import KeyConfigError
    from app.crypto import parse_token_keys as parse

    try:
        return parse(value)
    except KeyConfigError as e:
        raise ConfigError(str(e)) from None


def _dev_secret(path: Path, make: callable, what: str, *, warn: bool = True) -> str:
    """Read or create a development-only secret file under instance/ (0600, directory 0700).

    Several processes starting at once on a fresh machine agree on one value: the first
    to publish the file wins and the others read it."""
    from app.private_files import create_once

    if not path.exists() and create_once(path, (make() + "\n").encode()) and warn:
        warnings.warn(
            f"{what} not set: generated a development value in {path} (never use it in production)",
            stacklevel=3,
        )
    return path.read_text().strip()


def load_config(env: Mapping[str, str], *, instance_dir: Path = INSTANCE_DIR) -> dict[str, Any]:
    """Validate `env` and return Flask config. Raises ConfigError (one line)."""
    get = lambda k, d=None: (env.get(k) if env.get(k) not in (None, "") else d)  # noqa: E731

    app_env = get("APP_ENV", "development")
    if app_env not in {"development", "production", "testing"}:
        raise ConfigError(f"APP_ENV: expected development, production or testing, got {app_env!r}")
    production = app_env == "production"

    cfg: dict[str, Any] = {"APP_ENV": app_env, "TESTING": app_env == "testing"}

    secret = get("SECRET_KEY")
    if secret is None:
        if production:
            raise ConfigError("SECRET_KEY: required in production")
        secret = _dev_secret(instance_dir / "secret_key", lambda: secrets.token_urlsafe(48), "SECRET_KEY")
    if len(secret) < 16:
        raise ConfigError("SECRET_KEY: too short (use at least 32 random characters)")
    cfg["SECRET_KEY"] = secret

    # Database: SQLite file under instance/ unless told otherwise.
    db_url = get("DATABASE_URL", f"sqlite:///{instance_dir / 'logic_target.sqlite3'}")
    if db_url.startswith("postgres://"):  # Heroku-style alias SQLAlchemy no longer accepts
        db_url = "postgresql://" + db_url[len("postgres://"):]
    if db_url.startswith("postgresql://"):
        db_url = "postgresql+psycopg://" + db_url[len("postgresql://"):]
    if not (db_url.startswith("sqlite:") or db_url.startswith("postgresql+psycopg://")):
        raise ConfigError(f"DATABASE_URL: expected a sqlite:/// or postgresql:// URL, got {db_url.split(':')[0]}:…")
    cfg["SQLALCHEMY_DATABASE_URI"] = db_url

    # Token encryption: KMS or local key-encryption keys.
    kms = get("KMS_KEY_ID")
    token_keys_raw = get("TOKEN_KEYS")
    if kms and token_keys_raw:
        raise ConfigError("TOKEN_KEYS: set either TOKEN_KEYS or KMS_KEY_ID, not both")
    if kms:
        cfg["KMS_KEY_ID"] = kms
        cfg["TOKEN_KEYS"] = []
        # Region: boto3's own default (AWS_REGION, ~/.aws/config) unless named. Unwrapped data
        # keys are cached for at most this many seconds and this many uses (fewer KMS calls).
        region = get("KMS_REGION")
        if region is not None and not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d{1,2}", region):
            raise ConfigError(f"KMS_REGION: expected an AWS region like eu-west-1, got {region!r}")
        cfg["KMS_REGION"] = region
        cfg["KMS_DEK_CACHE_TTL"] = _int("KMS_DEK_CACHE_TTL", get("KMS_DEK_CACHE_TTL"), 300, lo=0, hi=3600)
        cfg["KMS_DEK_CACHE_MAX_USES"] = _int("KMS_DEK_CACHE_MAX_USES", get("KMS_DEK_CACHE_MAX_USES"), 100,
                                             lo=1, hi=100_000)
    else:
        if token_keys_raw is None:
            if production:
                raise ConfigError("TOKEN_KEYS: required in production (or set KMS_KEY_ID)")
            token_keys_raw = _dev_secret(
                instance_dir / "token_keys",
                lambda: "dev1:" + base64.b64encode(os.urandom(32)).decode(),
                "TOKEN_KEYS",
            )
        cfg["TOKEN_KEYS"] = parse_token_keys(token_keys_raw)
        cfg["KMS_KEY_ID"] = None

    # Where `flask serve` (and so `make run`) listens; the public address follows it unless
    # APP_BASE_URL names another (a proxy, a tunnel, production).
    cfg["HOST"] = get("HOST", DEFAULT_HOST)
    if not re.fullmatch(r"[A-Za-z0-9.:\-]+|\[[0-9A-Fa-f:.]+\]", cfg["HOST"]):
        raise ConfigError(f"HOST: expected a host name or IP address, got {cfg['HOST']!r}")
    cfg["PORT"] = _int("PORT", get("PORT"), DEFAULT_PORT, lo=1, hi=65535)
    base_url = _url("APP_BASE_URL", get("APP_BASE_URL", local_base_url(cfg["HOST"], cfg["PORT"]))).rstrip("/")
    cfg["APP_BASE_URL"] = base_url
    # So url_for(..., _external=True) builds links on APP_BASE_URL in jobs (an app context, no
    # request) as in requests. Since Flask 3.1 SERVER_NAME does not restrict which Host is
    # answered (host_matching and subdomain_matching stay off), so any Host still works.
    base = urlsplit(base_url)
    if base.username is not None or base.password is not None or base.query or base.fragment:
        raise ConfigError("APP_BASE_URL: expected scheme://host[:port][/path], without user, query or fragment")
    cfg["SERVER_NAME"], cfg["APPLICATION_ROOT"] = base.netloc, base.path or "/"
    cfg["PREFERRED_URL_SCHEME"] = base.scheme
    cfg["SESSION_COOKIE_PATH"] = "/"  # not APPLICATION_ROOT: a __Host- cookie must have Path=/

    # TikTok. With no client key the sandbox stands in, on our own origin.
    client_key = get("TIKTOK_CLIENT_KEY")
    sandbox = _bool("TIKTOK_SANDBOX", get("TIKTOK_SANDBOX"), default=client_key is None)
    if production and sandbox:
        raise ConfigError("TIKTOK_SANDBOX: the sandbox cannot be on in production (set TIKTOK_CLIENT_KEY)")
    cfg["TIKTOK_SANDBOX"] = sandbox
    if sandbox:
        sbx = f"{base_url}/sandbox/tiktok"
        defaults = {
            "TIKTOK_CLIENT_KEY": SANDBOX_CLIENT_KEY,
            "TIKTOK_ADS_APP_ID": SANDBOX_ADS_APP_ID,
            "TIKTOK_AUTH_URL": f"{sbx}/v2/auth/authorize/",
            "TIKTOK_BUSINESS_API_BASE": f"{sbx}/open_api/v1.3/",
            "TIKTOK_ADS_AUTH_URL": f"{sbx}/portal/auth",
        }
    else:
        defaults = {
            "TIKTOK_AUTH_URL": "https://www.tiktok.com/v2/auth/authorize/",
            "TIKTOK_BUSINESS_API_BASE": "https://business-api.tiktok.com/open_api/v1.3/",
            "TIKTOK_ADS_AUTH_URL": "https://business-api.tiktok.com/portal/auth",
        }
    for name in ("TIKTOK_CLIENT_KEY", "TIKTOK_CLIENT_SECRET", "TIKTOK_ADS_APP_ID", "TIKTOK_ADS_SECRET"):
        value = get(name, defaults.get(name))
        if value is None and sandbox and name in SANDBOX_SECRET_FILES:
            # Random per installation: anyone who knew it could sign webhooks to this app.
            value = _dev_secret(instance_dir / SANDBOX_SECRET_FILES[name], lambda: secrets.token_urlsafe(32),
                                name, warn=False)
        if value is None and name in ("TIKTOK_CLIENT_KEY", "TIKTOK_CLIENT_SECRET"):
            raise ConfigError(f"{name}: required when TIKTOK_SANDBOX is off")
        cfg[name] = value
    for name in ("TIKTOK_AUTH_URL", "TIKTOK_BUSINESS_API_BASE", "TIKTOK_ADS_AUTH_URL"):
        cfg[name] = _url(name, get(name, defaults[name]))
    if not cfg["TIKTOK_BUSINESS_API_BASE"].endswith("/"):
        cfg["TIKTOK_BUSINESS_API_BASE"] += "/"
    cfg["TIKTOK_REDIRECT_URI"] = _url(
        "TIKTOK_REDIRECT_URI", get("TIKTOK_REDIRECT_URI", f"{base_url}/tiktok/auth/callback")
    )
    cfg["TIKTOK_ADS_REDIRECT_URI"] = _url(
        "TIKTOK_ADS_REDIRECT_URI", get("TIKTOK_ADS_REDIRECT_URI", f"{base_url}/tiktok/ads/callback")
    )
    scopes = [s.strip() for s in get("TIKTOK_SCOPES", DEFAULT_SCOPES).split(",") if s.strip()]
    if not scopes or any(not all(c.isalnum() or c in "._" for c in s) for s in scopes):
        raise ConfigError("TIKTOK_SCOPES: expected a comma-separated list of scope names")
    cfg["TIKTOK_SCOPES"] = scopes
    # PKCE on the consent URL and the code exchange (TikTok's hex S256). On by default; an
    # operator can turn it off without a code change should TikTok refuse it for web apps.
    cfg["TIKTOK_PKCE"] = _bool("TIKTOK_PKCE", get("TIKTOK_PKCE"), default=True)
    cfg["TIKTOK_HTTP_TIMEOUT"] = float(_int("TIKTOK_HTTP_TIMEOUT", get("TIKTOK_HTTP_TIMEOUT"), 10, lo=1, hi=120))

    # Mail: SMTP when MAIL_SERVER is set, else .eml files in instance/outbox/.
    cfg["MAIL_SERVER"] = get("MAIL_SERVER")
    cfg["MAIL_PORT"] = _int("MAIL_PORT", get("MAIL_PORT"), 25, lo=1, hi=65535)
    cfg["MAIL_USE_TLS"] = _bool("MAIL_USE_TLS", get("MAIL_USE_TLS"), False)
    cfg["MAIL_USE_SSL"] = _bool("MAIL_USE_SSL", get("MAIL_USE_SSL"), False)
    cfg["MAIL_USERNAME"] = get("MAIL_USERNAME")
    cfg["MAIL_PASSWORD"] = get("MAIL_PASSWORD")
    cfg["MAIL_DEFAULT_SENDER"] = get("MAIL_DEFAULT_SENDER", "Logic Target <reports@logic-target.local>")
    cfg["MAIL_TIMEOUT"] = _int("MAIL_TIMEOUT", get("MAIL_TIMEOUT"), 20, lo=1, hi=300)
    cfg["MAIL_OUTBOX_DIR"] = get("MAIL_OUTBOX_DIR", str(instance_dir / "outbox"))

    cfg["SCHEDULER_ENABLED"] = _bool("SCHEDULER_ENABLED", get("SCHEDULER_ENABLED"), True)
    # Sync: a failed call's first quick retry waits this many seconds (doubling, at most 30);
    # a sync that TikTok rate-limits waits at most this long in all for the limit to reset,
    # then leaves the rest to its next run (0: never waits).
    cfg["SYNC_RETRY_BASE_SECONDS"] = _int("SYNC_RETRY_BASE_SECONDS", get("SYNC_RETRY_BASE_SECONDS"), 1, lo=0, hi=60)
    cfg["SYNC_RATE_LIMIT_WAIT_SECONDS"] = _int("SYNC_RATE_LIMIT_WAIT_SECONDS", get("SYNC_RATE_LIMIT_WAIT_SECONDS"),
                                               60, lo=0, hi=600)
    cfg["RETENTION_DAYS"] = _int(
        "RETENTION_DAYS", get("RETENTION_DAYS"), MAX_RETENTION_DAYS, lo=1, hi=MAX_RETENTION_DAYS
    )
    cfg["REVOKE_GIVE_UP_DAYS"] = _int(
        "REVOKE_GIVE_UP_DAYS", get("REVOKE_GIVE_UP_DAYS"),
        min(DEFAULT_REVOKE_GIVE_UP_DAYS, cfg["RETENTION_DAYS"] - 1), lo=0, hi=MAX_RETENTION_DAYS - 1,
    )
    if cfg["REVOKE_GIVE_UP_DAYS"] >= cfg["RETENTION_DAYS"]:  # else a revocation could hold data past retention
        raise ConfigError(f"REVOKE_GIVE_UP_DAYS: must be less than RETENTION_DAYS ({cfg['RETENTION_DAYS']}), "
                          f"got {cfg['REVOKE_GIVE_UP_DAYS']}")
    cfg["SECURITY_CONTACT"] = get("SECURITY_CONTACT", "security@logic-target.example")
    if "@" not in cfg["SECURITY_CONTACT"]:
        raise ConfigError("SECURITY_CONTACT: expected an email address")

    # Rate limits: in-memory per process unless a shared store is named (e.g. redis://host:6379,
    # so every instance counts the same failures). Failed sign-ins are limited per account
    # (the email typed) and, higher, per IP address, so one person's typos behind a shared
    # proxy do not lock out everyone else; the second step has its own pair.
    cfg["RATELIMIT_STORAGE_URI"] = get("RATELIMIT_STORAGE_URI", "memory://")
    for name, default in (("LOGIN_RATE_LIMIT", "30 per 15 minutes"),  # failed sign-ins per IP
                          ("LOGIN_ACCOUNT_RATE_LIMIT", "5 per 15 minutes"),  # failed sign-ins per email
                          ("TWO_FACTOR_RATE_LIMIT", "5 per 15 minutes"),  # wrong second-step codes per user
                          ("TWO_FACTOR_IP_RATE_LIMIT", "20 per 15 minutes"),  # ... per IP
                          ("PASSWORD_RESET_RATE_LIMIT", "3 per hour"),  # reset links asked for, per email
                          ("PASSWORD_RESET_IP_RATE_LIMIT", "20 per hour")):  # ... per IP
        cfg[name] = _rate_limit(name, get(name, default))

    # "Refresh now" runs at most once per connection in this many seconds (0: no limit), so one
    # person cannot spend the TikTok rate limit that every workspace shares.
    cfg["REFRESH_NOW_MIN_INTERVAL_SECONDS"] = _int(
        "REFRESH_NOW_MIN_INTERVAL_SECONDS", get("REFRESH_NOW_MIN_INTERVAL_SECONDS"), 60, lo=0, hi=86400
    )
    # Public data-deletion form submissions per IP address.
    cfg["DELETION_REQUEST_RATE_LIMIT"] = _rate_limit("DELETION_REQUEST_RATE_LIMIT",
                                                     get("DELETION_REQUEST_RATE_LIMIT", "5 per minute"))
    # Dashboard fragments are rendered once per this many seconds per workspace and filters (0: always fresh).
    cfg["FRAGMENT_CACHE_SECONDS"] = _int("FRAGMENT_CACHE_SECONDS", get("FRAGMENT_CACHE_SECONDS"), 60, lo=0, hi=3600)
    # How new passwords are hashed (werkzeug's methods; existing hashes keep theirs).
    cfg["PASSWORD_HASH_METHOD"] = _password_hash_method(get("PASSWORD_HASH_METHOD", "scrypt"))

    # Sessions and CSRF (see README "Security").
    cfg["SESSION_COOKIE_HTTPONLY"] = True
    cfg["SESSION_COOKIE_SAMESITE"] = "Lax"  # Strict would drop the cookie on TikTok's redirect back
    cfg["SESSION_COOKIE_SECURE"] = production
    if production:  # __Host-: Secure, Path=/, no Domain — the cookie can't be set by a sibling subdomain
        cfg["SESSION_COOKIE_NAME"] = "__Host-session"
        cfg["REMEMBER_COOKIE_NAME"] = "__Host-remember_token"
    cfg["REMEMBER_COOKIE_HTTPONLY"] = True
    cfg["REMEMBER_COOKIE_SAMESITE"] = "Lax"
    cfg["REMEMBER_COOKIE_SECURE"] = production
    cfg["WTF_CSRF_TIME_LIMIT"] = None  # token lives with the session: open dashboards keep working
    cfg["MAX_CONTENT_LENGTH"] = 256 * 1024
    cfg["TRUST_PROXY"] = _int("TRUST_PROXY", get("TRUST_PROXY"), 0, lo=0, hi=5)
    # Development surfaces (the sandbox's /_control endpoints, the published demo sign-ins)
    # answer only to loopback callers unless this is on; see app/web/dev_surfaces.py.
    cfg["SANDBOX_CONTROL"] = _bool("SANDBOX_CONTROL", get("SANDBOX_CONTROL"), False)
    if production and cfg["SANDBOX_CONTROL"]:
        raise ConfigError("SANDBOX_CONTROL: cannot be on in production (it opens test-only endpoints and demo sign-ins)")
    # A file where the sandbox keeps its accounts and grants across restarts (default: memory).
    cfg["SANDBOX_STATE_PATH"] = get("SANDBOX_STATE_PATH")

    # /metrics (Prometheus) answers only with `Authorization: Bearer <METRICS_TOKEN>`; unset, it does not exist.
    cfg["METRICS_TOKEN"] = get("METRICS_TOKEN") or None
    if cfg["METRICS_TOKEN"] is not None and len(cfg["METRICS_TOKEN"]) < 24:
        raise ConfigError("METRICS_TOKEN: use a random value of at least 24 characters")

    cfg["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True}
    return cfg


def load_dotenv_for_development(path: Path = ROOT / ".env") -> None:
    """Read `.env` into os.environ (without overriding) unless APP_ENV=production."""
    if os.environ.get("APP_ENV") == "production" or not path.exists():
        return
    from dotenv import load_dotenv

    load_dotenv(path, override=False)

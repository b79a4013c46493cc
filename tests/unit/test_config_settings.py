"""Every config key the app reads is a setting in config.SETTING_NAMES (so the environment
can set it, load_config validates it and README documents it), or a key Flask or one of
its extensions defines for itself."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask

import config
from config import ConfigError, load_config
from tests.unit.test_config import GOOD_KEYS, env

ROOT = Path(__file__).resolve().parents[2]

# Keys Flask and the extensions define and read themselves; config.py sets some of them.
FLASK_KEYS = frozenset(Flask.default_config)
EXTENSION_KEYS = frozenset({
    # Flask-Mail (the composing half we use reads these; sending is ours)
    "MAIL_SERVER", "MAIL_PORT", "MAIL_USE_TLS", "MAIL_USE_SSL", "MAIL_USERNAME", "MAIL_PASSWORD",
    "MAIL_DEFAULT_SENDER", "MAIL_MAX_EMAILS", "MAIL_SUPPRESS_SEND", "MAIL_ASCII_ATTACHMENTS", "MAIL_DEBUG",
    # Flask-Login
    "REMEMBER_COOKIE_NAME", "REMEMBER_COOKIE_DURATION", "REMEMBER_COOKIE_DOMAIN", "REMEMBER_COOKIE_PATH",
    "REMEMBER_COOKIE_SECURE", "REMEMBER_COOKIE_HTTPONLY", "REMEMBER_COOKIE_SAMESITE", "REMEMBER_COOKIE_REFRESH_EACH_REQUEST",
    "SESSION_PROTECTION", "LOGIN_DISABLED", "USE_SESSION_FOR_NEXT",
})
EXTENSION_PREFIXES = ("SQLALCHEMY_", "WTF_", "RATELIMIT_")  # Flask-SQLAlchemy, Flask-WTF, Flask-Limiter

SOURCES = ["app", "jobs", "wsgi.py", "gunicorn.conf.py", "config.py"]
# config["X"], config.get("X"), cfg[...], app.config.get(...), self.config[...], f"{cfg['X']}"
PY_READ = re.compile(r"""\b(?:config|cfg)\s*(?:\.get\(|\[)\s*["']([A-Z][A-Z0-9_]*)["']""")
# os.environ["X"], os.environ.get("X"), os.getenv("X")
ENV_READ = re.compile(r"""\bos\.(?:environ\s*(?:\.get\(|\[)|getenv\()\s*["']([A-Z][A-Z0-9_]*)["']""")
# {{ config.X }}, {{ config["X"] }} in templates
TEMPLATE_READ = re.compile(r"""\bconfig(?:\.([A-Z][A-Z0-9_]*)\b|\[\s*["']([A-Z][A-Z0-9_]*)["']\s*\])""")
# gunicorn's own environment variables, read in gunicorn.conf.py (see README "Production")
GUNICORN_ENV = frozenset({"BIND", "WEB_CONCURRENCY", "THREADS"})


def is_built_in(key: str) -> bool:
    return key in FLASK_KEYS or key in EXTENSION_KEYS or key.startswith(EXTENSION_PREFIXES)


def _files():
    for name in SOURCES:
        path = ROOT / name
        yield from (sorted(path.rglob("*")) if path.is_dir() else [path])


def keys_read() -> dict[str, set[str]]:
    """{key: {where it is read}} for every literal config and environment key in the source."""
    found: dict[str, set[str]] = {}
    for path in _files():
        if path.suffix not in {".py", ".html", ".txt"} or "__pycache__" in path.parts:
            continue
        text = path.read_text()
        where = str(path.relative_to(ROOT))
        if path.suffix == ".py":
            keys = PY_READ.findall(text) + ENV_READ.findall(text)
        else:
            keys = [a or b for a, b in TEMPLATE_READ.findall(text)]
        for key in keys:
            found.setdefault(key, set()).add(where)
    return found


def test_every_key_the_app_reads_is_a_setting_or_built_in():
    unknown = {k: sorted(w) for k, w in keys_read().items()
               if k not in config.SETTING_NAMES and not is_built_in(k) and k not in GUNICORN_ENV}
    assert not unknown, f"add these to config.SETTING_NAMES and load_config (and README): {unknown}"


def test_the_scan_sees_each_way_of_reading_a_key():
    sample = """current_app.config.get("A_KEY", 1); app.config["B_KEY"]; f"{cfg['C_KEY']}"; os.environ.get("D_KEY")"""
    assert PY_READ.findall(sample) + ENV_READ.findall(sample) == ["A_KEY", "B_KEY", "C_KEY", "D_KEY"]
    assert [a or b for a, b in TEMPLATE_READ.findall("{{ config.E_KEY }} {{ config['F_KEY'] }}")] == ["E_KEY", "F_KEY"]
    found = keys_read()
    assert {"RETENTION_DAYS", "FRAGMENT_CACHE_SECONDS", "KMS_REGION", "BIND"} <= set(found)


def test_no_setting_is_also_a_built_in_name():
    """A setting must not silently replace a key Flask or an extension reads with another meaning."""
    clashes = {k for k in config.SETTING_NAMES if k in FLASK_KEYS} - {"SECRET_KEY"}
    assert not clashes


def test_every_setting_is_in_the_readme_configuration_table():
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Configuration", 1)[1].split("\n#", 1)[0]
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", table))
    assert config.SETTING_NAMES - documented == set()


# ------------------------------------------------------------ the settings themselves


def test_defaults(tmp_path):
    cfg = load_config(env(), instance_dir=tmp_path)
    assert cfg["FRAGMENT_CACHE_SECONDS"] == 60
    assert cfg["SYNC_RETRY_BASE_SECONDS"] == 1 and cfg["SYNC_RATE_LIMIT_WAIT_SECONDS"] == 60
    assert cfg["DELETION_REQUEST_RATE_LIMIT"] == "5 per minute"
    assert cfg["PASSWORD_HASH_METHOD"] == "scrypt"
    assert cfg["SANDBOX_STATE_PATH"] is None
    assert (cfg["HOST"], cfg["PORT"], cfg["APP_BASE_URL"]) == ("127.0.0.1", 5000, "http://127.0.0.1:5000")
    kms = load_config(env(TOKEN_KEYS=None, KMS_KEY_ID="alias/x"), instance_dir=tmp_path)
    assert (kms["KMS_REGION"], kms["KMS_DEK_CACHE_TTL"], kms["KMS_DEK_CACHE_MAX_USES"]) == (None, 300, 100)


def test_each_can_be_set_from_the_environment(tmp_path):
    cfg = load_config(env(FRAGMENT_CACHE_SECONDS="0", SYNC_RETRY_BASE_SECONDS="0", SYNC_RATE_LIMIT_WAIT_SECONDS="20",
                          DELETION_REQUEST_RATE_LIMIT="3 per hour", PASSWORD_HASH_METHOD="pbkdf2:sha256:1000",
                          SANDBOX_STATE_PATH=str(tmp_path / "sandbox.sqlite3")), instance_dir=tmp_path)
    assert (cfg["FRAGMENT_CACHE_SECONDS"], cfg["SYNC_RETRY_BASE_SECONDS"], cfg["SYNC_RATE_LIMIT_WAIT_SECONDS"]) == (0, 0, 20)
    assert cfg["DELETION_REQUEST_RATE_LIMIT"] == "3 per hour"
    assert cfg["PASSWORD_HASH_METHOD"] == "pbkdf2:sha256:1000"
    assert cfg["SANDBOX_STATE_PATH"] == str(tmp_path / "sandbox.sqlite3")
    kms = load_config(env(TOKEN_KEYS=None, KMS_KEY_ID="alias/x", KMS_REGION="eu-central-1", KMS_DEK_CACHE_TTL="60",
                          KMS_DEK_CACHE_MAX_USES="10"), instance_dir=tmp_path)
    assert (kms["KMS_REGION"], kms["KMS_DEK_CACHE_TTL"], kms["KMS_DEK_CACHE_MAX_USES"]) == ("eu-central-1", 60, 10)


@pytest.mark.parametrize("setting, value", [
    ("FRAGMENT_CACHE_SECONDS", "-1"),
    ("FRAGMENT_CACHE_SECONDS", "a minute"),
    ("SYNC_RETRY_BASE_SECONDS", "61"),
    ("SYNC_RATE_LIMIT_WAIT_SECONDS", "1.5"),
    ("DELETION_REQUEST_RATE_LIMIT", "lots"),
    ("PASSWORD_HASH_METHOD", "md5"),
    ("PASSWORD_HASH_METHOD", "scrypt:1"),
    ("HOST", "http://example.com"),
    ("HOST", "two words"),
    ("PORT", "0"),
    ("PORT", "http"),
])
def test_a_bad_value_is_one_line_naming_it(tmp_path, setting, value):
    with pytest.raises(ConfigError) as e:
        load_config(env(**{setting: value}), instance_dir=tmp_path)
    assert str(e.value).startswith(f"{setting}: ") and "\n" not in str(e.value)


@pytest.mark.parametrize("setting, value", [
    ("KMS_REGION", "Frankfurt"),
    ("KMS_DEK_CACHE_TTL", "forever"),
    ("KMS_DEK_CACHE_MAX_USES", "0"),
])
def test_a_bad_kms_value_is_one_line_naming_it(tmp_path, setting, value):
    with pytest.raises(ConfigError) as e:
        load_config(env(TOKEN_KEYS=None, KMS_KEY_ID="alias/x", **{setting: value}), instance_dir=tmp_path)
    assert str(e.value).startswith(f"{setting}: ") and "\n" not in str(e.value)


def test_create_app_overrides_go_through_the_same_validation(tmp_path):
    from app import create_app

    with pytest.raises(ConfigError, match="^FRAGMENT_CACHE_SECONDS: "):
        create_app({"APP_ENV": "testing", "SECRET_KEY": "x" * 40, "TOKEN_KEYS": GOOD_KEYS,
                     "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}", "FRAGMENT_CACHE_SECONDS": "-5"})


# ------------------------------------------------------------ HOST, PORT and APP_BASE_URL


def test_the_base_url_follows_host_and_port(tmp_path):
    cfg = load_config(env(PORT="5001"), instance_dir=tmp_path)
    assert cfg["APP_BASE_URL"] == "http://127.0.0.1:5001"
    assert cfg["TIKTOK_REDIRECT_URI"] == "http://127.0.0.1:5001/tiktok/auth/callback"
    assert cfg["TIKTOK_ADS_REDIRECT_URI"] == "http://127.0.0.1:5001/tiktok/ads/callback"
    assert cfg["TIKTOK_AUTH_URL"] == "http://127.0.0.1:5001/sandbox/tiktok/v2/auth/authorize/"
    assert load_config(env(HOST="0.0.0.0", PORT="8080"), instance_dir=tmp_path)["APP_BASE_URL"] == "http://127.0.0.1:8080"
    assert load_config(env(HOST="::1"), instance_dir=tmp_path)["APP_BASE_URL"] == "http://[::1]:5000"
    assert load_config(env(HOST="localhost"), instance_dir=tmp_path)["APP_BASE_URL"] == "http://localhost:5000"


def test_a_set_base_url_wins_over_host_and_port(tmp_path):
    cfg = load_config(env(PORT="5001", APP_BASE_URL="https://lt.example.com/"), instance_dir=tmp_path)
    assert cfg["APP_BASE_URL"] == "https://lt.example.com" and cfg["PORT"] == 5001
    assert cfg["TIKTOK_REDIRECT_URI"] == "https://lt.example.com/tiktok/auth/callback"

"""config.load_config: every bad setting stops start-up with one line naming it."""
import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest

import config
from config import ConfigError, load_config

ROOT = Path(__file__).resolve().parents[2]
GOOD_KEYS = "k1:" + base64.b64encode(b"\x02" * 32).decode()


def env(**kw):
    base = {"APP_ENV": "testing", "SECRET_KEY": "x" * 40, "TOKEN_KEYS": GOOD_KEYS}
    base.update(kw)
    return {k: v for k, v in base.items() if v is not None}


def test_defaults_are_sensible(tmp_path):
    cfg = load_config(env(), instance_dir=tmp_path)
    assert cfg["RETENTION_DAYS"] == 90
    assert cfg["TIKTOK_SANDBOX"] is True  # no client key: the sandbox stands in
    assert cfg["TIKTOK_AUTH_URL"] == "http://127.0.0.1:5000/sandbox/tiktok/v2/auth/authorize/"
    assert cfg["TIKTOK_SCOPES"][:9] == config.BRIEF_SCOPES.split(",")
    assert {"user.info.username", "user.info.stats", "user.insights"} <= set(cfg["TIKTOK_SCOPES"])
    assert cfg["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert cfg["SESSION_COOKIE_SAMESITE"] == "Lax" and cfg["SESSION_COOKIE_HTTPONLY"]
    assert cfg["WTF_CSRF_TIME_LIMIT"] is None


def test_real_tiktok_when_client_key_set(tmp_path):
    cfg = load_config(env(TIKTOK_CLIENT_KEY="ck", TIKTOK_CLIENT_SECRET="cs"), instance_dir=tmp_path)
    assert cfg["TIKTOK_SANDBOX"] is False
    assert cfg["TIKTOK_AUTH_URL"] == "https://www.tiktok.com/v2/auth/authorize/"
    assert cfg["TIKTOK_BUSINESS_API_BASE"] == "https://business-api.tiktok.com/open_api/v1.3/"


def test_postgres_url_uses_psycopg3(tmp_path):
    cfg = load_config(env(DATABASE_URL="postgresql://u@h/db"), instance_dir=tmp_path)
    assert cfg["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize(
    "overrides, setting",
    [
        ({"RETENTION_DAYS": "120"}, "RETENTION_DAYS"),
        ({"RETENTION_DAYS": "ninety"}, "RETENTION_DAYS"),
        ({"RETENTION_DAYS": "0"}, "RETENTION_DAYS"),
        ({"TOKEN_KEYS": "k1:not-base64!!"}, "TOKEN_KEYS"),
        ({"TOKEN_KEYS": "k1:" + base64.b64encode(b"short").decode()}, "TOKEN_KEYS"),
        ({"TOKEN_KEYS": "nocolon"}, "TOKEN_KEYS"),
        ({"TOKEN_KEYS": GOOD_KEYS, "KMS_KEY_ID": "alias/x"}, "TOKEN_KEYS"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"DATABASE_URL": "mysql://x/y"}, "DATABASE_URL"),
        ({"MAIL_PORT": "smtp"}, "MAIL_PORT"),
        ({"MAIL_USE_TLS": "maybe"}, "MAIL_USE_TLS"),
        ({"TIKTOK_SANDBOX": "false"}, "TIKTOK_CLIENT_KEY"),
        ({"TIKTOK_AUTH_URL": "not a url"}, "TIKTOK_AUTH_URL"),
        ({"TIKTOK_SCOPES": "user.info.basic;drop table"}, "TIKTOK_SCOPES"),
        ({"APP_ENV": "staging"}, "APP_ENV"),
        ({"SECURITY_CONTACT": "nobody"}, "SECURITY_CONTACT"),
    ],
)
def test_bad_setting_is_one_line_naming_it(tmp_path, overrides, setting):
    with pytest.raises(ConfigError) as e:
        load_config(env(**overrides), instance_dir=tmp_path)
    message = str(e.value)
    assert message.startswith(setting + ":")
    assert "\n" not in message
    assert "not-base64" not in message  # key material never echoed


def test_production_requires_real_secrets(tmp_path):
    with pytest.raises(ConfigError, match="^SECRET_KEY"):
        load_config({"APP_ENV": "production", "TIKTOK_CLIENT_KEY": "k", "TIKTOK_CLIENT_SECRET": "s"},
                    instance_dir=tmp_path)
    with pytest.raises(ConfigError, match="^TOKEN_KEYS"):
        load_config({"APP_ENV": "production", "SECRET_KEY": "x" * 40, "TIKTOK_CLIENT_KEY": "k",
                     "TIKTOK_CLIENT_SECRET": "s"}, instance_dir=tmp_path)
    with pytest.raises(ConfigError, match="^TIKTOK_SANDBOX"):
        load_config({"APP_ENV": "production", "SECRET_KEY": "x" * 40, "TOKEN_KEYS": GOOD_KEYS},
                    instance_dir=tmp_path)
    cfg = load_config({"APP_ENV": "production", "SECRET_KEY": "x" * 40, "TOKEN_KEYS": GOOD_KEYS,
                       "TIKTOK_CLIENT_KEY": "k", "TIKTOK_CLIENT_SECRET": "s"}, instance_dir=tmp_path)
    assert cfg["SESSION_COOKIE_SECURE"] is True
    assert cfg["SESSION_COOKIE_NAME"] == "__Host-session"


def test_development_generates_missing_secrets_once_with_a_warning(tmp_path):
    with pytest.warns(UserWarning, match="SECRET_KEY"):
        with pytest.warns(UserWarning, match="TOKEN_KEYS"):
            first = load_config({"APP_ENV": "development"}, instance_dir=tmp_path)
    second = load_config({"APP_ENV": "development"}, instance_dir=tmp_path)  # no warning: files exist
    assert first["SECRET_KEY"] == second["SECRET_KEY"]
    assert first["TOKEN_KEYS"] == second["TOKEN_KEYS"]
    assert oct((tmp_path / "token_keys").stat().st_mode)[-3:] == "600"


@pytest.mark.parametrize("bad", [{"RETENTION_DAYS": "120"}, {"TOKEN_KEYS": "k1:zz"}])
def test_flask_cli_stops_with_one_clear_line(tmp_path, bad):
    run_env = {k: v for k, v in os.environ.items() if not k.startswith(("TIKTOK_", "DATABASE_URL"))}
    run_env.update(env(**bad), APP_ENV="development", DATABASE_URL=f"sqlite:///{tmp_path}/x.db")
    proc = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT,
                          env=run_env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"Configuration error: {next(iter(bad))}:")
    assert "Traceback" not in proc.stderr


def test_setting_names_cover_everything_load_config_reads(tmp_path):
    # create_app(overrides) validates only names it knows; a setting missing here would bypass validation.
    source = Path(config.__file__).read_text()
    import re

    read = set(re.findall(r'get\("([A-Z_]+)"', source)) | set(re.findall(r'_url\("([A-Z_]+)"', source))
    assert read <= config.SETTING_NAMES, read - config.SETTING_NAMES

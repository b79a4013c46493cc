"""TIKTOK_PKCE: on by default, off on request, and a malformed value stops start-up."""
import base64

import pytest

from config import ConfigError, load_config

KEYS = "k1:" + base64.b64encode(b"\x02" * 32).decode()


def env(**kw):
    return {"APP_ENV": "testing", "SECRET_KEY": "x" * 40, "TOKEN_KEYS": KEYS, **kw}


def test_pkce_is_on_by_default(tmp_path):
    assert load_config(env(), instance_dir=tmp_path)["TIKTOK_PKCE"] is True


@pytest.mark.parametrize("value, expected", [("false", False), ("0", False), ("true", True), ("on", True)])
def test_pkce_follows_the_environment(tmp_path, value, expected):
    assert load_config(env(TIKTOK_PKCE=value), instance_dir=tmp_path)["TIKTOK_PKCE"] is expected


def test_malformed_pkce_names_the_setting(tmp_path):
    with pytest.raises(ConfigError, match="^TIKTOK_PKCE: expected true or false"):
        load_config(env(TIKTOK_PKCE="maybe"), instance_dir=tmp_path)

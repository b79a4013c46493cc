"""Settings added for hardening: REVOKE_GIVE_UP_DAYS, SANDBOX_CONTROL, and the sandbox's
client secrets generated per installation (0600 files in a 0700 instance folder)."""
import base64
import stat
import threading

import pytest

import config
from app.private_files import create_once
from config import ConfigError, load_config

GOOD_KEYS = "k1:" + base64.b64encode(b"\x02" * 32).decode()


def env(**kw):
    base = {"APP_ENV": "testing", "SECRET_KEY": "x" * 40, "TOKEN_KEYS": GOOD_KEYS}
    base.update(kw)
    return {k: v for k, v in base.items() if v is not None}


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# ------------------------------------------------------------------ REVOKE_GIVE_UP_DAYS


def test_give_up_days_default_to_a_week(tmp_path):
    assert load_config(env(), instance_dir=tmp_path)["REVOKE_GIVE_UP_DAYS"] == 7


def test_give_up_days_default_stays_below_a_short_retention(tmp_path):
    assert load_config(env(RETENTION_DAYS="5"), instance_dir=tmp_path)["REVOKE_GIVE_UP_DAYS"] == 4
    assert load_config(env(RETENTION_DAYS="1"), instance_dir=tmp_path)["REVOKE_GIVE_UP_DAYS"] == 0


@pytest.mark.parametrize("overrides", [
    {"REVOKE_GIVE_UP_DAYS": "90"},
    {"REVOKE_GIVE_UP_DAYS": "30", "RETENTION_DAYS": "30"},
    {"REVOKE_GIVE_UP_DAYS": "31", "RETENTION_DAYS": "30"},
    {"REVOKE_GIVE_UP_DAYS": "-1"},
    {"REVOKE_GIVE_UP_DAYS": "a week"},
])
def test_give_up_days_must_be_below_retention(tmp_path, overrides):
    with pytest.raises(ConfigError) as e:
        load_config(env(**overrides), instance_dir=tmp_path)
    assert str(e.value).startswith("REVOKE_GIVE_UP_DAYS:") and "\n" not in str(e.value)


def test_give_up_days_can_be_set(tmp_path):
    assert load_config(env(REVOKE_GIVE_UP_DAYS="29", RETENTION_DAYS="30"),
                       instance_dir=tmp_path)["REVOKE_GIVE_UP_DAYS"] == 29


# ---------------------------------------------------------------------- SANDBOX_CONTROL


def test_sandbox_control_is_off_unless_asked_for(tmp_path):
    assert load_config(env(), instance_dir=tmp_path)["SANDBOX_CONTROL"] is False
    assert load_config(env(SANDBOX_CONTROL="true"), instance_dir=tmp_path)["SANDBOX_CONTROL"] is True
    with pytest.raises(ConfigError, match="^SANDBOX_CONTROL:"):
        load_config(env(SANDBOX_CONTROL="sometimes"), instance_dir=tmp_path)


def test_production_refuses_sandbox_control(tmp_path):
    with pytest.raises(ConfigError, match="^SANDBOX_CONTROL:"):
        load_config({"APP_ENV": "production", "SECRET_KEY": "x" * 40, "TOKEN_KEYS": GOOD_KEYS,
                     "TIKTOK_CLIENT_KEY": "k", "TIKTOK_CLIENT_SECRET": "s", "SANDBOX_CONTROL": "true"},
                    instance_dir=tmp_path)


def test_new_settings_are_known_to_create_app():
    assert {"REVOKE_GIVE_UP_DAYS", "SANDBOX_CONTROL"} <= config.SETTING_NAMES


# ------------------------------------------------------------- sandbox secrets, instance/


def test_sandbox_secrets_differ_between_installations(tmp_path):
    a = load_config(env(), instance_dir=tmp_path / "a")
    b = load_config(env(), instance_dir=tmp_path / "b")
    assert a["TIKTOK_SANDBOX"] and b["TIKTOK_SANDBOX"]
    for name in ("TIKTOK_CLIENT_SECRET", "TIKTOK_ADS_SECRET"):
        assert a[name] != b[name]
        assert len(a[name]) >= 32
    assert a["TIKTOK_CLIENT_SECRET"] != a["TIKTOK_ADS_SECRET"]


def test_sandbox_secret_is_stable_within_an_installation(tmp_path):
    first = load_config(env(), instance_dir=tmp_path)
    again = load_config(env(), instance_dir=tmp_path)
    assert first["TIKTOK_CLIENT_SECRET"] == again["TIKTOK_CLIENT_SECRET"]
    assert (tmp_path / "sandbox_client_secret").read_text().strip() == first["TIKTOK_CLIENT_SECRET"]


def test_no_sandbox_secret_in_the_source():
    source = (config.ROOT / "config.py").read_text() + (config.ROOT / "app/sandbox/settings.py").read_text()
    assert "sbx_logic_target_secret" not in source and "sbx_ads_secret" not in source
    assert not hasattr(config, "SANDBOX_CLIENT_SECRET")


def test_a_configured_secret_wins_and_nothing_is_generated(tmp_path):
    cfg = load_config(env(TIKTOK_CLIENT_SECRET="from-the-environment"), instance_dir=tmp_path)
    assert cfg["TIKTOK_CLIENT_SECRET"] == "from-the-environment"
    assert not (tmp_path / "sandbox_client_secret").exists()
    load_config(env(TIKTOK_CLIENT_KEY="ck", TIKTOK_CLIENT_SECRET="cs"), instance_dir=tmp_path / "real")
    assert not (tmp_path / "real" / "sandbox_client_secret").exists()  # no sandbox, no sandbox secret


def test_generated_instance_files_are_0600_in_a_0700_folder(tmp_path):
    instance = tmp_path / "fresh" / "instance"
    with pytest.warns(UserWarning):
        load_config({"APP_ENV": "development"}, instance_dir=instance)
    assert mode(instance) == 0o700
    for name in ("secret_key", "token_keys", "sandbox_client_secret", "sandbox_ads_secret"):
        assert mode(instance / name) == 0o600, name
    assert [p.name for p in instance.iterdir() if p.name.startswith(".")] == []  # no temporary files left


def test_generated_files_are_private_even_with_a_permissive_umask(tmp_path):
    import os

    old = os.umask(0)
    try:
        load_config(env(), instance_dir=tmp_path / "open")
    finally:
        os.umask(old)
    assert mode(tmp_path / "open") == 0o700
    assert mode(tmp_path / "open" / "sandbox_client_secret") == 0o600


def test_processes_starting_together_agree_on_one_secret(tmp_path):
    path = tmp_path / "secret"
    results, barrier = [], threading.Barrier(8)

    def start(i):
        barrier.wait()
        results.append(create_once(path, f"value-{i}\n".encode()))

    threads = [threading.Thread(target=start, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 1
    assert path.read_text().startswith("value-") and mode(path) == 0o600

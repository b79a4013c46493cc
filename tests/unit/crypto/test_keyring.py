"""Keyrings: TOKEN_KEYS parsing, LocalKeyring, KmsKeyring (moto + botocore Stubber), factory.

AES-256 keys, envelope encryption against moto's KMS, and KMS failures that fail closed.
moto enforces the encryption context but ignores disabled keys, so KMS failures are
injected with botocore's Stubber.
"""

from __future__ import annotations

import ast
import base64
import os
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectTimeoutError
from botocore.stub import ANY, Stubber
from moto import mock_aws

from app.crypto import (
    CryptoError,
    DecryptError,
    KeyConfigError,
    Keyring,
    KeyUnavailable,
    KmsKeyring,
    LocalKeyring,
    blob_kid,
    encryption_context,
    generate_token_key,
    keyring_from_config,
    open_sealed,
    parse_token_keys,
    seal,
)

AAD = b"tiktok-token:ws-1:open-A:refresh"
TOKEN = "rft.secret-refresh-token-value-0123456789"


def b64(n: int, fill: int = 7) -> str:
    return base64.b64encode(bytes([fill]) * n).decode()


KEY_A, KEY_B = b64(32, 1), b64(32, 2)
KEY_URLSAFE = base64.urlsafe_b64encode(bytes(range(32))).decode().rstrip("=")  # 43 chars, valid kid charset


# ------------------------------------------------------------------------ parse_token_keys


def test_parse_token_keys_first_is_primary():
    keys = parse_token_keys(f"k2:{KEY_B},k1:{KEY_A}")
    assert keys == [("k2", bytes([2]) * 32), ("k1", bytes([1]) * 32)]
    assert LocalKeyring(keys).primary_kid == "k2"


def test_parse_token_keys_tolerates_whitespace_urlsafe_and_missing_padding():
    raw1 = bytes(range(200, 232))
    raw2 = bytes([0xFB, 0xFF, 0xBF]) * 10 + b"\xfe\xff"  # encodes with '+' '/' -> '-' '_' in urlsafe
    urlsafe_nopad = base64.urlsafe_b64encode(raw2).decode().rstrip("=")
    assert "-" in urlsafe_nopad or "_" in urlsafe_nopad
    keys = parse_token_keys(f" k1 : {base64.b64encode(raw1).decode()} , k-2.b:{urlsafe_nopad} ")
    assert keys == [("k1", raw1), ("k-2.b", raw2)]


@pytest.mark.parametrize(
    ("value", "expected", "secret"),
    [
        ("", "TOKEN_KEYS: no keys configured", None),
        ("   ", "TOKEN_KEYS: no keys configured", None),
        (KEY_A, "TOKEN_KEYS: entry 1 has no ':'", KEY_A),
        (f"k1:{KEY_A},{KEY_B}", "TOKEN_KEYS: entry 2 has no ':'", KEY_B),
        (f":{KEY_A}", "TOKEN_KEYS: entry 1 has an empty key id", KEY_A),
        (f"k1:{KEY_A},k2:{KEY_B[:-4]}!!!!", "TOKEN_KEYS: key 'k2' is not valid base64", KEY_B[:-4]),
        (f"k1:{KEY_A},k2:", "TOKEN_KEYS: key 'k2' is not valid base64", None),
        (f"k1:{KEY_A},k2:{b64(16, 9)}", "TOKEN_KEYS: key 'k2' is not 32 bytes of base64", b64(16, 9)),
        (f"k1:{b64(24, 9)}", "TOKEN_KEYS: key 'k1' is not 32 bytes of base64", b64(24, 9)),
        (f"k1:{b64(33, 9)}", "TOKEN_KEYS: key 'k1' is not 32 bytes of base64", b64(33, 9)),
        (f"k1:{KEY_A},k1:{KEY_B}", "TOKEN_KEYS: key id 'k1' appears more than once", KEY_B),
        (f"k1:{KEY_A},", "TOKEN_KEYS: entry 2 is empty", KEY_A),
        (f"k1:{KEY_A},,k2:{KEY_B}", "TOKEN_KEYS: entry 2 is empty", KEY_A),
        (f"k 1:{KEY_A}", "TOKEN_KEYS: entry 1 key id is invalid", KEY_A),
        (f"{KEY_URLSAFE}:k1", "TOKEN_KEYS: entry 1 key id is invalid", KEY_URLSAFE),
        (f"k1:{KEY_A},k2:{KEY_A}", "TOKEN_KEYS: keys 'k1' and 'k2' have the same key material", KEY_A),
    ],
    ids=[
        "empty", "blank", "missing-colon", "missing-colon-2nd", "empty-id", "bad-base64",
        "empty-key", "16-bytes", "24-bytes", "33-bytes", "duplicate-id", "trailing-comma",
        "empty-middle", "space-in-id", "key-and-id-swapped", "same-material",
    ],
)  # fmt: skip
def test_parse_token_keys_errors_are_one_line_and_never_show_key_text(value, expected, secret):
    with pytest.raises(KeyConfigError) as ei:
        parse_token_keys(value)
    msg = str(ei.value)
    assert msg.startswith(expected), msg
    assert msg.startswith("TOKEN_KEYS:")
    assert "\n" not in msg and "\r" not in msg
    assert isinstance(ei.value, CryptoError) and isinstance(ei.value, ValueError)
    if secret:
        assert secret not in msg
        assert secret[:8] not in msg
    assert ei.value.__cause__ is None


def test_generate_token_key_round_trips():
    entry = generate_token_key("dev1")
    kid, _, key_b64 = entry.partition(":")
    assert kid == "dev1"
    assert len(base64.b64decode(key_b64, validate=True)) == 32  # AES-256 KEK
    assert parse_token_keys(entry)[0][0] == "dev1"
    assert generate_token_key("dev1") != entry
    with pytest.raises(KeyConfigError):
        generate_token_key("bad id")


# ---------------------------------------------------------------------------- LocalKeyring


def test_local_keyring_wrap_unwrap_and_protocol():
    ring = LocalKeyring(parse_token_keys(f"k1:{KEY_A}"))
    assert isinstance(ring, Keyring)
    dek = os.urandom(32)
    kid, wrapped = ring.wrap(dek, AAD)
    assert kid == "k1" and len(wrapped) == 12 + 32 + 16 and dek not in wrapped
    assert ring.unwrap(kid, wrapped, AAD) == dek
    with pytest.raises(DecryptError):
        ring.unwrap(kid, wrapped, AAD + b"!")  # encryption context bound in
    with pytest.raises(DecryptError):
        ring.unwrap("k9", wrapped, AAD)
    with pytest.raises(DecryptError):
        ring.unwrap(kid, wrapped[:-1], AAD)
    with pytest.raises(ValueError):
        ring.wrap(os.urandom(16), AAD)


def test_local_keyring_repr_and_fingerprints_hide_key_material():
    raw = bytes([1]) * 32
    ring = LocalKeyring([("k1", raw), ("k0", bytes([2]) * 32)])
    assert KEY_A not in repr(ring) and "k1" in repr(ring)
    fps = ring.fingerprints()
    assert set(fps) == {"k1", "k0"} and fps["k1"] != fps["k0"]
    assert fps == LocalKeyring([("k1", raw), ("k0", bytes([2]) * 32)]).fingerprints()  # stable
    assert raw.hex()[:16] not in fps["k1"]
    assert not any(v == raw for v in vars(ring).values())


@pytest.mark.parametrize(
    "keys",
    [[], [("k1", os.urandom(16))], [("k1", os.urandom(32)), ("k1", os.urandom(32))], [("", os.urandom(32))]],
    ids=["empty", "aes-128-key", "duplicate", "empty-kid"],
)
def test_local_keyring_rejects_bad_keys(keys):
    with pytest.raises(KeyConfigError):
        LocalKeyring(keys)


# ----------------------------------------------------------------------------- factory


def test_keyring_from_config_local():
    ring = keyring_from_config({"TOKEN_KEYS": f"k2:{KEY_B},k1:{KEY_A}", "KMS_KEY_ID": ""})
    assert isinstance(ring, LocalKeyring) and ring.primary_kid == "k2"


def test_keyring_from_config_accepts_parsed_list_as_load_config_stores_it():
    ring = keyring_from_config({"TOKEN_KEYS": [("k2", bytes([2]) * 32), ("k1", bytes([1]) * 32)], "KMS_KEY_ID": None})
    assert isinstance(ring, LocalKeyring) and ring.kids == ["k2", "k1"]
    blob = seal(TOKEN, aad=AAD, keyring=ring)
    assert open_sealed(blob, aad=AAD, keyring=keyring_from_config({"TOKEN_KEYS": f"k2:{KEY_B}"})) == TOKEN


def test_keyring_from_config_kms():
    config = {"KMS_KEY_ID": "alias/logic-target", "TOKEN_KEYS": [], "KMS_DEK_CACHE_TTL": "60"}
    ring = keyring_from_config(config)
    assert isinstance(ring, KmsKeyring)
    assert ring.key_id == "alias/logic-target" and ring.primary_kid == "kms" and ring.cache.ttl == 60


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({}, "TOKEN_KEYS: not set"),
        ({"TOKEN_KEYS": "", "KMS_KEY_ID": None}, "TOKEN_KEYS: not set"),
        ({"TOKEN_KEYS": f"k1:{KEY_A}", "KMS_KEY_ID": "alias/x"}, "TOKEN_KEYS and KMS_KEY_ID are both set"),
        ({"TOKEN_KEYS": [("k1", bytes(32))], "KMS_KEY_ID": "alias/x"}, "TOKEN_KEYS and KMS_KEY_ID are both set"),
        ({"TOKEN_KEYS": [], "KMS_KEY_ID": None}, "TOKEN_KEYS: not set"),
        ({"TOKEN_KEYS": f"k1:{b64(16)}"}, "TOKEN_KEYS: key 'k1' is not 32 bytes"),
        ({"TOKEN_KEYS": [("k1", bytes(16))]}, "TOKEN_KEYS: key 'k1' is not 32 bytes"),
        ({"TOKEN_KEYS": ["k1"]}, "TOKEN_KEYS: expected"),
    ],
    ids=["missing", "empty", "both", "both-parsed", "empty-list", "short-key", "short-key-parsed", "bad-shape"],
)
def test_keyring_from_config_refuses_bad_config(config, expected):
    with pytest.raises(KeyConfigError) as ei:
        keyring_from_config(config)
    assert str(ei.value).startswith(expected)
    assert KEY_A not in str(ei.value)


def test_app_crypto_has_no_flask_imports():
    """app/__init__.py (the app factory) imports Flask; app.crypto itself must not."""
    import app.crypto

    pkg = Path(app.crypto.__file__).parent
    for py in sorted(pkg.glob("*.py")):
        for node in ast.walk(ast.parse(py.read_text(), filename=str(py))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not any(n.split(".")[0] in {"flask", "flask_sqlalchemy", "werkzeug"} for n in names), py


# --------------------------------------------------------------------- KmsKeyring with moto


@pytest.fixture
def aws_env(monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "nope-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "nope-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def kms(aws_env):
    """A fresh moto KMS and key per test (moto state doesn't survive mock scopes, getmoto/moto#7845)."""
    with mock_aws():
        client = boto3.client("kms", region_name="us-east-1")
        key_id = client.create_key(Description="logic-target test KEK")["KeyMetadata"]["KeyId"]
        yield client, key_id


def test_moto_enforces_encryption_context(kms):
    """Case 15 at the boto level: the wrong context is InvalidCiphertextException."""
    client, key_id = kms
    ctx = {"workspace_id": "ws-1", "purpose": "tiktok-refresh"}
    resp = client.generate_data_key(KeyId=key_id, KeySpec="AES_256", EncryptionContext=ctx)
    assert len(resp["Plaintext"]) == 32
    assert client.decrypt(CiphertextBlob=resp["CiphertextBlob"], EncryptionContext=ctx)["Plaintext"] == resp["Plaintext"]
    with pytest.raises(ClientError) as ei:
        client.decrypt(CiphertextBlob=resp["CiphertextBlob"], EncryptionContext={**ctx, "workspace_id": "ws-2"})
    assert ei.value.response["Error"]["Code"] == "InvalidCiphertextException"


def test_kms_round_trip(kms):
    client, key_id = kms
    ring = KmsKeyring(key_id, client=client)
    blob = seal(TOKEN, aad=AAD, keyring=ring)
    assert blob_kid(blob) == "kms"
    assert TOKEN.encode() not in blob
    assert open_sealed(blob, aad=AAD, keyring=ring) == TOKEN
    # A fresh process (no cache) must go to KMS Decrypt and still open it.
    cold = KmsKeyring(key_id, client=client, cache_ttl=0)
    assert open_sealed(blob, aad=AAD, keyring=cold) == TOKEN
    assert cold.kms_calls == 1


def test_kms_lazy_default_client_uses_env_region(kms):
    _client, key_id = kms
    ring = keyring_from_config({"KMS_KEY_ID": key_id})
    blob = seal(TOKEN, aad=AAD, keyring=ring)
    assert open_sealed(blob, aad=AAD, keyring=ring) == TOKEN


@pytest.mark.parametrize(
    "other_aad",
    [b"tiktok-token:ws-1:open-B:refresh", b"tiktok-token:ws-1:open-A:access", b"tiktok-token:ws-2:open-A:refresh"],
)
def test_kms_wrong_context_is_decrypt_error(kms, other_aad):
    client, key_id = kms
    blob = seal(TOKEN, aad=AAD, keyring=KmsKeyring(key_id, client=client))
    cold = KmsKeyring(key_id, client=client, cache_ttl=0)  # make KMS itself judge the context
    with pytest.raises(DecryptError) as ei:
        open_sealed(blob, aad=other_aad, keyring=cold)
    assert str(ei.value) == DecryptError.GENERIC
    assert cold.kms_calls == 1


def test_kms_wrap_existing_dek_and_unknown_kid(kms):
    client, key_id = kms
    ring = KmsKeyring(key_id, client=client, cache_ttl=0)
    dek = os.urandom(32)
    kid, wrapped = ring.wrap(dek, AAD)
    assert kid == "kms" and dek not in wrapped
    assert ring.unwrap(kid, wrapped, AAD) == dek
    with pytest.raises(DecryptError):
        ring.unwrap("k1", wrapped, AAD)
    with pytest.raises(DecryptError):
        open_sealed(seal(TOKEN, aad=AAD, keyring=LocalKeyring([("k1", os.urandom(32))])), aad=AAD, keyring=ring)


def test_kms_dek_cache_ttl_and_max_uses_bound_kms_calls(kms):
    client, key_id = kms
    now = [1000.0]
    ring = KmsKeyring(key_id, client=client, cache_ttl=60, cache_max_uses=3, clock=lambda: now[0])
    blob = seal(TOKEN, aad=AAD, keyring=ring)
    assert ring.kms_calls == 1  # GenerateDataKey; the DEK is primed in the cache
    for _ in range(10):
        assert open_sealed(blob, aad=AAD, keyring=ring) == TOKEN
    # 10 opens with max 3 uses per cached DEK: cache(3) -> KMS+cache(3) -> KMS+cache(2) = 2 Decrypts.
    assert ring.kms_calls == 3
    now[0] += 61  # TTL expired -> next open goes to KMS again
    assert open_sealed(blob, aad=AAD, keyring=ring) == TOKEN
    assert ring.kms_calls == 4


def test_kms_wrong_key_id_for_unwrap_fails_closed(kms):
    client, key_id = kms
    other = client.create_key()["KeyMetadata"]["KeyId"]
    blob = seal(TOKEN, aad=AAD, keyring=KmsKeyring(key_id, client=client))
    with pytest.raises(CryptoError):
        open_sealed(blob, aad=AAD, keyring=KmsKeyring(other, client=client, cache_ttl=0))


# ------------------------------------------------------------ KMS failure injection (Stubber)


@pytest.fixture
def stubbed(aws_env):
    client = boto3.client("kms", region_name="us-east-1", config=Config(retries={"max_attempts": 1}))
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


FAILURES = [
    ("DisabledException", 400),
    ("KMSInvalidStateException", 400),
    ("ThrottlingException", 400),
    ("LimitExceededException", 400),
    ("AccessDeniedException", 400),
    ("NotFoundException", 400),
    ("KeyUnavailableException", 500),
    ("KMSInternalException", 500),
    ("DependencyTimeoutException", 503),
]


@pytest.mark.parametrize(("code", "status"), FAILURES, ids=[c for c, _ in FAILURES])
def test_kms_failure_on_seal_is_key_unavailable_and_returns_nothing(stubbed, code, status):
    client, stubber = stubbed
    stubber.add_client_error(
        "generate_data_key",
        service_error_code=code,
        service_message=f"{code} for arn:aws:kms:us-east-1:123456789012:key/test",
        http_status_code=status,
        expected_params={
            "KeyId": "alias/lt",
            "KeySpec": "AES_256",
            "EncryptionContext": encryption_context(AAD),
        },
    )
    ring = KmsKeyring("alias/lt", client=client)
    result = None
    with pytest.raises(KeyUnavailable) as ei:
        result = seal(TOKEN, aad=AAD, keyring=ring)
    assert result is None  # nothing to store, so nothing can be stored in plaintext
    assert ei.value.code == code and code in str(ei.value)
    assert "\n" not in str(ei.value) and TOKEN not in str(ei.value)
    assert not isinstance(ei.value, DecryptError)


@pytest.mark.parametrize(("code", "status"), FAILURES, ids=[c for c, _ in FAILURES])
def test_kms_failure_on_open_is_key_unavailable(stubbed, code, status):
    client, stubber = stubbed
    stubber.add_response(
        "generate_data_key",
        {"Plaintext": b"\x11" * 32, "CiphertextBlob": b"wrapped-by-kms", "KeyId": "arn:key"},
        {"KeyId": "alias/lt", "KeySpec": "AES_256", "EncryptionContext": encryption_context(AAD)},
    )
    stubber.add_client_error("decrypt", service_error_code=code, http_status_code=status)
    blob = seal(TOKEN, aad=AAD, keyring=KmsKeyring("alias/lt", client=client))
    cold = KmsKeyring("alias/lt", client=client, cache_ttl=0)
    with pytest.raises(KeyUnavailable) as ei:
        open_sealed(blob, aad=AAD, keyring=cold)
    assert ei.value.code == code and TOKEN not in str(ei.value)


def test_kms_outage_cached_deks_serve_until_ttl(stubbed):
    client, stubber = stubbed
    now = [0.0]
    ring = KmsKeyring("alias/lt", client=client, cache_ttl=30, cache_max_uses=100, clock=lambda: now[0])
    stubber.add_response(
        "generate_data_key",
        {"Plaintext": b"\x22" * 32, "CiphertextBlob": b"wrapped-by-kms", "KeyId": "arn:key"},
        {"KeyId": "alias/lt", "KeySpec": "AES_256", "EncryptionContext": encryption_context(AAD)},
    )
    blob = seal(TOKEN, aad=AAD, keyring=ring)
    stubber.add_client_error("decrypt", service_error_code="DisabledException")
    now[0] = 29.0
    assert open_sealed(blob, aad=AAD, keyring=ring) == TOKEN  # served from cache, KMS not asked
    now[0] = 31.0
    with pytest.raises(KeyUnavailable):
        open_sealed(blob, aad=AAD, keyring=ring)
    # New connections fail clearly while KMS is down.
    stubber.add_client_error("generate_data_key", service_error_code="DisabledException")
    with pytest.raises(KeyUnavailable):
        seal(TOKEN, aad=b"tiktok-token:ws-1:open-C:refresh", keyring=ring)


def test_kms_invalid_ciphertext_on_decrypt_is_decrypt_error(stubbed):
    client, stubber = stubbed
    stubber.add_client_error(
        "decrypt",
        service_error_code="InvalidCiphertextException",
        expected_params={"CiphertextBlob": b"wrapped", "KeyId": "alias/lt", "EncryptionContext": ANY},
    )
    with pytest.raises(DecryptError):
        KmsKeyring("alias/lt", client=client, cache_ttl=0).unwrap("kms", b"wrapped", AAD)


def test_kms_short_data_key_is_refused(stubbed):
    """GenerateDataKey must yield an AES-256 key; anything else fails closed."""
    client, stubber = stubbed
    stubber.add_response(
        "generate_data_key", {"Plaintext": b"\x33" * 16, "CiphertextBlob": b"w", "KeyId": "arn:key"}, None
    )
    with pytest.raises(KeyUnavailable):
        seal(TOKEN, aad=AAD, keyring=KmsKeyring("alias/lt", client=client))


def test_kms_endpoint_unreachable_is_key_unavailable(aws_env):
    client = boto3.client(
        "kms",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        config=Config(connect_timeout=1, read_timeout=1, retries={"max_attempts": 1}),
    )
    ring = KmsKeyring("alias/lt", client=client, cache_ttl=0)
    with pytest.raises(KeyUnavailable) as ei:
        seal(TOKEN, aad=AAD, keyring=ring)
    assert ei.value.code == "EndpointConnectionError"
    with pytest.raises(KeyUnavailable):
        ring.unwrap("kms", b"wrapped", AAD)


def test_kms_connect_timeout_is_key_unavailable():
    class TimingOutClient:
        def generate_data_key(self, **_kw):
            raise ConnectTimeoutError(endpoint_url="https://kms.us-east-1.amazonaws.com")

    with pytest.raises(KeyUnavailable) as ei:
        seal(TOKEN, aad=AAD, keyring=KmsKeyring("alias/lt", client=TimingOutClient()))
    assert ei.value.code == "ConnectTimeoutError"


def test_kms_repr_and_errors_hold_no_dek(stubbed):
    client, stubber = stubbed
    dek = b"\x44" * 32
    stubber.add_response(
        "generate_data_key", {"Plaintext": dek, "CiphertextBlob": b"w", "KeyId": "arn:key"}, None
    )
    ring = KmsKeyring("alias/lt", client=client)
    blob = seal(TOKEN, aad=AAD, keyring=ring)
    assert dek not in blob
    assert dek.hex() not in repr(ring) and str(dek) not in repr(ring.cache)

"""Envelope encryption: round trip, AEAD parameters, aad binding, tamper, rotation.

AES-256-GCM parameters, associated data that binds a blob to its row, tampering that fails
closed, and key rotation at the unit level.
"""

from __future__ import annotations

import base64
import os
import struct
from pathlib import Path

import pytest

import app.crypto.envelope as envelope_mod
import app.crypto.keyring as keyring_mod
from app.crypto import (
    CryptoError,
    DecryptError,
    LocalKeyring,
    SealError,
    blob_kid,
    open_sealed,
    rewrap,
    seal,
)

K1 = ("k1", bytes(range(32)))
K2 = ("k2", bytes(range(100, 132)))
TOKEN = "act.9f8e7d6c5b4a39281706f5e4d3c2b1a0!secret-access-token"
REFRESH = "rft.0a1b2c3d4e5f60718293a4b5c6d7e8f9!secret-refresh-token"


def aad_for(workspace: str, open_id: str, column: str) -> bytes:
    return f"tiktok-token:{workspace}:{open_id}:{column}".encode()


AAD = aad_for("ws-1", "open-A", "refresh")


@pytest.fixture
def kr1() -> LocalKeyring:
    return LocalKeyring([K1])


def fields(blob: bytes) -> dict[str, tuple[int, int]]:
    """Byte ranges (start, end) of each v1 field, parsed independently of the implementation."""
    out: dict[str, tuple[int, int]] = {"magic": (0, 2)}
    i = 2
    klen = blob[i]
    out["kid_len"] = (i, i + 1)
    out["kid"] = (i + 1, i + 1 + klen)
    i += 1 + klen
    (wlen,) = struct.unpack_from(">H", blob, i)
    out["wrapped_len"] = (i, i + 2)
    out["wrapped"] = (i + 2, i + 2 + wlen)
    i += 2 + wlen
    nlen = blob[i]
    out["nonce_len"] = (i, i + 1)
    out["nonce"] = (i + 1, i + 1 + nlen)
    i += 1 + nlen
    (clen,) = struct.unpack_from(">I", blob, i)
    out["ct_len"] = (i, i + 4)
    out["ct"] = (i + 4, i + 4 + clen - 16)
    out["tag"] = (i + 4 + clen - 16, i + 4 + clen)
    assert i + 4 + clen == len(blob)
    return out


def part(blob: bytes, name: str, f: dict | None = None) -> bytes:
    s, e = (f or fields(blob))[name]
    return blob[s:e]


def flip(blob: bytes, index: int, mask: int = 0x01) -> bytes:
    b = bytearray(blob)
    b[index] ^= mask
    return bytes(b)


# ---------------------------------------------------------------------------------- round trip


@pytest.mark.parametrize(
    "value",
    [TOKEN, REFRESH, "x", "ünïcødé-токен-🔑", "a" * 10_000],
    ids=["access", "refresh", "one-char", "unicode", "10k"],
)
def test_round_trip(kr1, value):
    blob = seal(value, aad=AAD, keyring=kr1)
    assert isinstance(blob, bytes)
    assert open_sealed(blob, aad=AAD, keyring=kr1) == value


def test_blob_is_versioned_self_describing_and_holds_no_plaintext(kr1):
    blob = seal(TOKEN, aad=AAD, keyring=kr1)
    f = fields(blob)
    assert part(blob, "magic", f) == b"v1"
    assert part(blob, "kid", f) == b"k1"
    assert blob_kid(blob) == "k1"
    assert len(part(blob, "nonce", f)) == 12
    assert len(part(blob, "wrapped", f)) == 12 + 32 + 16  # nonce + DEK + tag under the KEK
    assert len(part(blob, "ct", f)) == len(TOKEN.encode())
    assert len(part(blob, "tag", f)) == 16
    assert TOKEN.encode() not in blob
    assert base64.b64encode(TOKEN.encode()) not in blob
    assert K1[1] not in blob


def test_open_accepts_memoryview_and_bytearray(kr1):
    blob = seal(TOKEN, aad=AAD, keyring=kr1)
    assert open_sealed(memoryview(blob), aad=AAD, keyring=kr1) == TOKEN
    assert open_sealed(bytearray(blob), aad=AAD, keyring=kr1) == TOKEN


@pytest.mark.parametrize("value", ["", None, b"bytes-token", 123])
def test_seal_refuses_empty_or_non_str(kr1, value):
    with pytest.raises(SealError):
        seal(value, aad=AAD, keyring=kr1)


def test_seal_requires_non_empty_bytes_aad(kr1):
    with pytest.raises(ValueError):
        seal(TOKEN, aad=b"", keyring=kr1)
    with pytest.raises(TypeError):
        seal(TOKEN, aad="tiktok-token:ws:oid:refresh", keyring=kr1)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- AEAD parameters


def test_100k_seals_of_one_value_have_distinct_nonces_deks_and_ciphertexts(kr1):
    n = 100_000
    nonces, wrapped, cts = set(), set(), set()
    for _ in range(n):
        blob = seal(TOKEN, aad=AAD, keyring=kr1)
        f = fields(blob)
        nonces.add(part(blob, "nonce", f))
        wrapped.add(part(blob, "wrapped", f))
        cts.add(part(blob, "ct", f) + part(blob, "tag", f))
    assert len(nonces) == n
    assert len(wrapped) == n  # a fresh DEK (and KEK-wrap nonce) per value: each DEK is used once
    assert len(cts) == n


def test_aes_256_gcm_everywhere_not_fernet(kr1, monkeypatch):
    key_lengths: list[int] = []
    nonce_lengths: list[int] = []
    real = envelope_mod.AESGCM

    class SpyAESGCM:
        def __init__(self, key):
            key_lengths.append(len(key))
            self._inner = real(key)

        def encrypt(self, nonce, data, associated_data):
            nonce_lengths.append(len(nonce))
            return self._inner.encrypt(nonce, data, associated_data)

        def decrypt(self, nonce, data, associated_data):
            return self._inner.decrypt(nonce, data, associated_data)

    monkeypatch.setattr(envelope_mod, "AESGCM", SpyAESGCM)
    blob = seal(TOKEN, aad=AAD, keyring=kr1)
    assert open_sealed(blob, aad=AAD, keyring=kr1) == TOKEN
    assert key_lengths == [32, 32]  # the DEK: 256-bit
    assert nonce_lengths == [12]

    # The KEK side is AES-256 too: 16- and 24-byte keys are refused outright.
    for bad in (os.urandom(16), os.urandom(24)):
        with pytest.raises(CryptoError):
            LocalKeyring([("k1", bad)])
    dek, _kid, _wrapped = kr1.new_dek(AAD)
    assert len(dek) == 32

    src = Path(envelope_mod.__file__).parent
    for py in src.glob("*.py"):
        assert "Fernet" not in py.read_text().replace("Fernet is not used", "")


# ------------------------------------------------------------------------------- aad binding


@pytest.mark.parametrize(
    "other_aad",
    [
        aad_for("ws-1", "open-B", "refresh"),  # copied to another connection row
        aad_for("ws-1", "open-A", "access"),  # swapped into the access column
        aad_for("ws-2", "open-A", "refresh"),  # moved to another workspace
        AAD + b"x",
        AAD[:-1],
    ],
    ids=["other-row", "other-column", "other-workspace", "suffix", "prefix"],
)
def test_aad_binds_blob_to_row_and_column(kr1, other_aad):
    blob = seal(REFRESH, aad=AAD, keyring=kr1)
    with pytest.raises(DecryptError) as ei:
        open_sealed(blob, aad=other_aad, keyring=kr1)
    assert str(ei.value) == DecryptError.GENERIC
    assert REFRESH not in repr(ei.value)


def test_access_refresh_swap_fails_both_ways(kr1):
    a_aad, r_aad = aad_for("ws", "oid", "access"), aad_for("ws", "oid", "refresh")
    access_blob = seal(TOKEN, aad=a_aad, keyring=kr1)
    refresh_blob = seal(REFRESH, aad=r_aad, keyring=kr1)
    with pytest.raises(DecryptError):
        open_sealed(access_blob, aad=r_aad, keyring=kr1)
    with pytest.raises(DecryptError):
        open_sealed(refresh_blob, aad=a_aad, keyring=kr1)


# -------------------------------------------------------------------------------------- tamper


def _tampered(kind: str, blob: bytes) -> bytes:
    f = fields(blob)

    def at(name: str, offset: int = 0) -> int:
        return f[name][0] + offset

    if kind == "ciphertext":
        return flip(blob, at("ct"))
    if kind == "ciphertext-last":
        return flip(blob, f["ct"][1] - 1, 0x80)
    if kind == "tag":
        return flip(blob, at("tag"))
    if kind == "tag-last":
        return flip(blob, len(blob) - 1)
    if kind == "nonce":
        return flip(blob, at("nonce", 5))
    if kind == "wrapped-dek":
        return flip(blob, at("wrapped", 20))
    if kind == "wrapped-dek-nonce":
        return flip(blob, at("wrapped"))
    if kind == "kid-to-other-known-key":
        return blob[: at("kid")] + b"k2" + blob[f["kid"][1] :]
    if kind == "kid-unknown":
        return blob[: at("kid")] + b"zz" + blob[f["kid"][1] :]
    if kind == "kid-invalid-chars":
        return blob[: at("kid")] + b"k\n" + blob[f["kid"][1] :]
    if kind == "version":
        return b"v2" + blob[2:]
    if kind == "magic":
        return b"V1" + blob[2:]
    if kind == "kid-len":
        return flip(blob, at("kid_len"))
    if kind == "wrapped-len":
        return flip(blob, at("wrapped_len", 1))
    if kind == "nonce-len":
        return flip(blob, at("nonce_len"))
    if kind == "ct-len":
        return flip(blob, at("ct_len", 3))
    if kind == "truncate-tag":
        return blob[:-1]
    if kind == "truncate-half":
        return blob[: len(blob) // 2]
    if kind == "truncate-to-header":
        return blob[: f["ct_len"][0]]
    if kind == "trailing-byte":
        return blob + b"\x00"
    if kind == "empty":
        return b""
    if kind == "magic-only":
        return b"v1"
    raise AssertionError(kind)


TAMPER_KINDS = [
    "ciphertext", "ciphertext-last", "tag", "tag-last", "nonce", "wrapped-dek", "wrapped-dek-nonce",
    "kid-to-other-known-key", "kid-unknown", "kid-invalid-chars", "version", "magic", "kid-len",
    "wrapped-len", "nonce-len", "ct-len", "truncate-tag", "truncate-half", "truncate-to-header",
    "trailing-byte", "empty", "magic-only",
]  # fmt: skip


@pytest.mark.parametrize("kind", TAMPER_KINDS)
def test_tamper_raises_generic_decrypt_error(kind):
    keyring = LocalKeyring([K1, K2])  # k2 known too, so a relabelled kid hits a real key
    blob = seal(TOKEN, aad=AAD, keyring=LocalKeyring([K1]))
    bad = _tampered(kind, blob)
    assert bad != blob
    with pytest.raises(DecryptError) as ei:
        open_sealed(bad, aad=AAD, keyring=keyring)
    exc = ei.value
    assert type(exc) is DecryptError and isinstance(exc, CryptoError)
    assert str(exc) == DecryptError.GENERIC
    assert exc.__cause__ is None and (exc.__suppress_context__ or exc.__context__ is None)
    assert TOKEN not in repr(exc) and TOKEN not in str(exc.args)


@pytest.mark.parametrize("value", [None, "v1-string", 0, b""])
def test_non_bytes_or_empty_value_is_decrypt_error(kr1, value):
    with pytest.raises(DecryptError):
        open_sealed(value, aad=AAD, keyring=kr1)  # type: ignore[arg-type]
    with pytest.raises(DecryptError):
        blob_kid(value)  # type: ignore[arg-type]


def test_every_single_bit_flip_and_every_truncation_fails_closed(kr1):
    blob = seal(TOKEN, aad=AAD, keyring=kr1)
    for i in range(len(blob)):
        for mask in (0x01, 0x80):
            with pytest.raises(DecryptError):
                open_sealed(flip(blob, i, mask), aad=AAD, keyring=kr1)
    for n in range(len(blob)):
        with pytest.raises(DecryptError):
            open_sealed(blob[:n], aad=AAD, keyring=kr1)


def test_wrong_kek_same_kid_fails_closed():
    blob = seal(TOKEN, aad=AAD, keyring=LocalKeyring([K1]))
    impostor = LocalKeyring([("k1", os.urandom(32))])
    with pytest.raises(DecryptError):
        open_sealed(blob, aad=AAD, keyring=impostor)


# --------------------------------------------------------------------------- ------------ rotation


def test_rotation_k1_to_k2():
    blob = seal(REFRESH, aad=AAD, keyring=LocalKeyring([K1]))
    assert blob_kid(blob) == "k1"

    rotated_ring = LocalKeyring([K2, K1])
    assert open_sealed(blob, aad=AAD, keyring=rotated_ring) == REFRESH
    assert blob_kid(seal(REFRESH, aad=AAD, keyring=rotated_ring)) == "k2"  # new writes use k2 at once

    new_blob = rewrap(blob, aad=AAD, keyring=rotated_ring)
    assert blob_kid(new_blob) == "k2"
    assert new_blob != blob
    assert part(new_blob, "nonce") != part(blob, "nonce")

    assert open_sealed(new_blob, aad=AAD, keyring=LocalKeyring([K2])) == REFRESH
    with pytest.raises(DecryptError):
        open_sealed(new_blob, aad=AAD, keyring=LocalKeyring([K1]))
    with pytest.raises(DecryptError):  # old blob needs k1: retiring k1 too early is detected
        open_sealed(blob, aad=AAD, keyring=LocalKeyring([K2]))


def test_rewrap_is_idempotent_under_primary():
    ring = LocalKeyring([K2, K1])
    blob = seal(TOKEN, aad=AAD, keyring=ring)
    assert rewrap(blob, aad=AAD, keyring=ring) == blob  # same bytes: the job can skip the write


def test_rewrap_keeps_aad_binding_and_detects_tamper():
    ring = LocalKeyring([K2, K1])
    blob = seal(TOKEN, aad=AAD, keyring=LocalKeyring([K1]))
    with pytest.raises(DecryptError):
        rewrap(blob, aad=aad_for("ws-1", "open-B", "refresh"), keyring=ring)
    with pytest.raises(DecryptError):
        rewrap(flip(blob, len(blob) - 1), aad=AAD, keyring=ring)
    new_blob = rewrap(blob, aad=AAD, keyring=ring)
    with pytest.raises(DecryptError):
        open_sealed(new_blob, aad=aad_for("ws-1", "open-A", "access"), keyring=ring)


def test_envelope_module_does_not_import_flask():
    for mod in (envelope_mod, keyring_mod):
        text = Path(mod.__file__).read_text()
        assert "import flask" not in text.lower() and "from flask" not in text.lower()

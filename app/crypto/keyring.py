"""Key-encryption keys (KEKs) for envelope encryption of tokens at rest.

A keyring produces and protects data-encryption keys (DEKs). ``app.crypto.envelope`` asks the
keyring for a fresh DEK per sealed value (``new_dek``) and later for the DEK back (``unwrap``).

* ``LocalKeyring`` — KEKs from the ``TOKEN_KEYS`` setting (``id:base64key,id2:base64key``, first
  is primary). DEKs are wrapped with AES-256-GCM under the KEK; the wrap binds the key id and the
  caller's aad ("encryption context").
* ``KmsKeyring`` — the KEK lives in AWS KMS (``KMS_KEY_ID``). DEKs come from GenerateDataKey
  (AES_256) and are unwrapped with Decrypt, both under an EncryptionContext rebuilt from the aad.
  Unwrapped DEKs are cached briefly (TTL + max uses) so KMS calls stay bounded and a short KMS
  outage does not break values that were just used.

Nothing here ever stores or logs a plaintext DEK or KEK. Fernet is not used (it is AES-128).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import struct
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .errors import DecryptError, KeyConfigError, KeyUnavailable

__all__ = [
    "DEK_BYTES",
    "KEK_BYTES",
    "Keyring",
    "LocalKeyring",
    "KmsKeyring",
    "DekCache",
    "encryption_context",
    "generate_token_key",
    "keyring_from_config",
    "parse_token_keys",
    "valid_kid",
]

KEK_BYTES = 32  # AES-256
DEK_BYTES = 32  # AES-256
NONCE_BYTES = 12  # 96-bit GCM nonce
TAG_BYTES = 16

_KID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")
_WRAP_DOMAIN = b"logic-target/dek-wrap/v1"
_FINGERPRINT_DOMAIN = b"logic-target/kek-fingerprint/v1"


def valid_kid(kid: object) -> bool:
    """Key ids are 1–32 chars of ``[A-Za-z0-9._-]``, starting alphanumeric (safe to log)."""
    return isinstance(kid, str) and _KID_RE.fullmatch(kid) is not None


def frame(*parts: bytes) -> bytes:
    """Unambiguous concatenation: each part prefixed with its 4-byte big-endian length."""
    return b"".join(struct.pack(">I", len(p)) + p for p in parts)


@runtime_checkable
class Keyring(Protocol):
    """What ``seal``/``open_sealed`` need from a key-encryption-key provider."""

    primary_kid: str

    def new_dek(self, aad: bytes) -> tuple[bytes, str, bytes]:
        """Return ``(dek_plaintext, kid, wrapped_dek)`` for a fresh 32-byte DEK under the primary KEK."""
        ...

    def wrap(self, dek: bytes, aad: bytes) -> tuple[str, bytes]:
        """Wrap an existing 32-byte DEK under the primary KEK: ``(kid, wrapped_dek)``."""
        ...

    def unwrap(self, kid: str, wrapped: bytes, aad: bytes) -> bytes:
        """Return the plaintext DEK. Raises DecryptError (bad/unknown) or KeyUnavailable."""
        ...


# --------------------------------------------------------------------------------------------
# TOKEN_KEYS parsing
# --------------------------------------------------------------------------------------------


def _b64decode_key(text: str) -> bytes:
    """Decode standard or URL-safe base64, padding optional. Raises ValueError."""
    s = text.strip().translate(str.maketrans("-_", "+/"))
    if not s:
        raise ValueError("empty")
    s += "=" * (-len(s) % 4)
    return base64.b64decode(s, validate=True)


def parse_token_keys(value: str, *, setting: str = "TOKEN_KEYS") -> list[tuple[str, bytes]]:
    """Parse ``id:base64key,id2:base64key`` (first is primary) into ``[(kid, 32-byte key), ...]``.

    Raises KeyConfigError with a one-line message that names the setting and the key id (or the
    entry position when the id itself is unusable) — never any key text.
    """
    if not isinstance(value, str) or not value.strip():
        raise KeyConfigError(f"{setting}: no keys configured (expected 'id:base64key[,id2:base64key...]')")
    keys: list[tuple[str, bytes]] = []
    seen: dict[str, int] = {}
    material: dict[bytes, str] = {}
    for pos, raw in enumerate(value.split(","), start=1):
        entry = raw.strip()
        if not entry:
            raise KeyConfigError(f"{setting}: entry {pos} is empty (stray comma?)")
        if ":" not in entry:
            raise KeyConfigError(f"{setting}: entry {pos} has no ':' (expected 'id:base64key')")
        kid, _, b64 = entry.partition(":")
        kid = kid.strip()
        if not kid:
            raise KeyConfigError(f"{setting}: entry {pos} has an empty key id")
        if not valid_kid(kid):
            raise KeyConfigError(
                f"{setting}: entry {pos} key id is invalid (use 1-32 chars of A-Z a-z 0-9 . _ -)"
            )
        if kid in seen:
            raise KeyConfigError(f"{setting}: key id '{kid}' appears more than once")
        seen[kid] = pos
        try:
            key = _b64decode_key(b64)
        except (ValueError, binascii.Error):
            raise KeyConfigError(f"{setting}: key '{kid}' is not valid base64") from None
        if len(key) != KEK_BYTES:
            raise KeyConfigError(
                f"{setting}: key '{kid}' is not {KEK_BYTES} bytes of base64 (decodes to {len(key)} bytes)"
            )
        if key in material:
            raise KeyConfigError(f"{setting}: keys '{material[key]}' and '{kid}' have the same key material")
        material[key] = kid
        keys.append((kid, key))
    return keys


def generate_token_key(kid: str = "k1") -> str:
    """Return a fresh ``kid:base64key`` entry (32 random bytes) for TOKEN_KEYS in dev setup."""
    if not valid_kid(kid):
        raise KeyConfigError("TOKEN_KEYS: key id is invalid (use 1-32 chars of A-Z a-z 0-9 . _ -)")
    return f"{kid}:{base64.b64encode(os.urandom(KEK_BYTES)).decode('ascii')}"


# --------------------------------------------------------------------------------------------
# LocalKeyring
# --------------------------------------------------------------------------------------------


class LocalKeyring:
    """KEKs held in config. ``keys[0]`` is primary (wraps new DEKs); the rest only unwrap.

    Wrapped DEK format: ``nonce(12) || AES-256-GCM(kek, nonce, dek, aad=frame(domain, kid, aad))``
    (60 bytes). The raw KEK bytes are not kept as attributes; only AESGCM objects and fingerprints.
    """

    def __init__(self, keys: list[tuple[str, bytes]]) -> None:
        if not keys:
            raise KeyConfigError("TOKEN_KEYS: no keys configured")
        self._aead: dict[str, AESGCM] = {}
        self._fingerprints: dict[str, str] = {}
        for kid, key in keys:
            if not valid_kid(kid):
                raise KeyConfigError("TOKEN_KEYS: key id is invalid (use 1-32 chars of A-Z a-z 0-9 . _ -)")
            if kid in self._aead:
                raise KeyConfigError(f"TOKEN_KEYS: key id '{kid}' appears more than once")
            if not isinstance(key, (bytes, bytearray)) or len(key) != KEK_BYTES:
                raise KeyConfigError(f"TOKEN_KEYS: key '{kid}' is not {KEK_BYTES} bytes")
            self._aead[kid] = AESGCM(bytes(key))
            self._fingerprints[kid] = hmac.new(bytes(key), _FINGERPRINT_DOMAIN, hashlib.sha256).hexdigest()[:16]
        self.primary_kid: str = keys[0][0]

    def __repr__(self) -> str:
        return f"LocalKeyring(kids={list(self._aead)!r}, primary={self.primary_kid!r})"

    @property
    def kids(self) -> list[str]:
        return list(self._aead)

    def fingerprints(self) -> dict[str, str]:
        """Non-secret per-key fingerprints (HMAC of a fixed label), to detect a wrong key at boot."""
        return dict(self._fingerprints)

    @staticmethod
    def _wrap_aad(kid: str, aad: bytes) -> bytes:
        return frame(_WRAP_DOMAIN, kid.encode("ascii"), bytes(aad))

    def new_dek(self, aad: bytes) -> tuple[bytes, str, bytes]:
        dek = os.urandom(DEK_BYTES)
        kid, wrapped = self.wrap(dek, aad)
        return dek, kid, wrapped

    def wrap(self, dek: bytes, aad: bytes) -> tuple[str, bytes]:
        if len(dek) != DEK_BYTES:
            raise ValueError("DEK must be 32 bytes")
        kid = self.primary_kid
        nonce = os.urandom(NONCE_BYTES)
        return kid, nonce + self._aead[kid].encrypt(nonce, bytes(dek), self._wrap_aad(kid, aad))

    def unwrap(self, kid: str, wrapped: bytes, aad: bytes) -> bytes:
        aead = self._aead.get(kid) if isinstance(kid, str) else None
        if aead is None:
            raise DecryptError("unknown_kid")
        wrapped = bytes(wrapped)
        if len(wrapped) != NONCE_BYTES + DEK_BYTES + TAG_BYTES:
            raise DecryptError("format")
        try:
            dek = aead.decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], self._wrap_aad(kid, aad))
        except (InvalidTag, ValueError, TypeError):
            raise DecryptError("auth") from None
        if len(dek) != DEK_BYTES:  # pragma: no cover - authenticated, cannot happen
            raise DecryptError("format")
        return dek


# --------------------------------------------------------------------------------------------
# KmsKeyring
# --------------------------------------------------------------------------------------------


def encryption_context(aad: bytes) -> dict[str, str]:
    """KMS EncryptionContext for an aad; deterministic, so it is rebuilt exactly at decrypt time.

    Printable-ASCII aad (e.g. ``tiktok-token:{workspace}:{open_id}:refresh``) is kept readable for
    CloudTrail; anything else is hex-encoded.
    """
    aad = bytes(aad)
    try:
        text = aad.decode("ascii")
    except UnicodeDecodeError:
        text = None
    if text is not None and text.isprintable():
        return {"purpose": "logic-target-token", "aad": text}
    return {"purpose": "logic-target-token", "aad_hex": aad.hex()}


class DekCache:
    """Small thread-safe cache of unwrapped DEKs: each entry expires after ``ttl`` seconds or
    ``max_uses`` hits, whichever first; at most ``max_entries`` entries (LRU eviction).

    Keys are SHA-256 digests of (kid, wrapped DEK, aad), so the cache never holds a ciphertext
    that could be confused across rows.
    """

    def __init__(
        self,
        ttl: float = 300.0,
        max_uses: int = 100,
        max_entries: int = 1000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = float(ttl)
        self.max_uses = int(max_uses)
        self.max_entries = int(max_entries)
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[bytes, list[Any]] = OrderedDict()  # key -> [dek, expires, uses_left]

    @property
    def enabled(self) -> bool:
        return self.ttl > 0 and self.max_uses > 0 and self.max_entries > 0

    @staticmethod
    def key(kid: str, wrapped: bytes, aad: bytes) -> bytes:
        return hashlib.sha256(frame(kid.encode("utf-8"), bytes(wrapped), bytes(aad))).digest()

    def get(self, key: bytes) -> bytes | None:
        if not self.enabled:
            return None
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            dek, expires, uses_left = entry
            if self._clock() >= expires or uses_left <= 0:
                del self._entries[key]
                return None
            entry[2] = uses_left - 1
            if entry[2] <= 0:
                del self._entries[key]
            else:
                self._entries.move_to_end(key)
            return dek

    def put(self, key: bytes, dek: bytes) -> None:
        if not self.enabled:
            return
        with self._lock:
            self._entries[key] = [bytes(dek), self._clock() + self.ttl, self.max_uses]
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __repr__(self) -> str:
        return f"DekCache(entries={len(self)}, ttl={self.ttl}, max_uses={self.max_uses})"


# KMS error codes that mean "this ciphertext/context is wrong" (permanent for the value);
# everything else (disabled, invalid state, throttled, access denied, not found, network) is
# KeyUnavailable.
_KMS_DECRYPT_CODES = frozenset({"InvalidCiphertextException", "IncorrectKeyException"})


class KmsKeyring:
    """KEK in AWS KMS. ``new_dek`` = GenerateDataKey(AES_256), ``wrap`` = Encrypt,
    ``unwrap`` = Decrypt (with KeyId pinned), all under ``encryption_context(aad)``.

    The boto3 client is created lazily (``client`` may be injected, e.g. a Stubber-wrapped one).
    ``kms_calls`` counts KMS requests made (for bounding/monitoring).
    """

    def __init__(
        self,
        key_id: str,
        client: Any = None,
        *,
        kid: str = "kms",
        region_name: str | None = None,
        cache_ttl: float = 300.0,
        cache_max_uses: int = 100,
        cache_max_entries: int = 1000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not isinstance(key_id, str) or not key_id.strip():
            raise KeyConfigError("KMS_KEY_ID: empty key id")
        if not valid_kid(kid):
            raise KeyConfigError("KMS_KEY_ID: keyring kid is invalid")
        self.key_id = key_id.strip()
        self.primary_kid: str = kid
        self._client = client
        self._region_name = region_name
        self._client_lock = threading.Lock()
        self.cache = DekCache(cache_ttl, cache_max_uses, cache_max_entries, clock)
        self.kms_calls = 0

    def __repr__(self) -> str:
        return f"KmsKeyring(key_id={self.key_id!r}, kid={self.primary_kid!r})"

    @property
    def client(self) -> Any:
        if self._client is None:
            with self._client_lock:
                if self._client is None:
                    import boto3
                    from botocore.config import Config

                    self._client = boto3.client(
                        "kms",
                        region_name=self._region_name,
                        config=Config(
                            connect_timeout=3,
                            read_timeout=5,
                            retries={"max_attempts": 3, "mode": "standard"},
                        ),
                    )
        return self._client

    def _call(self, op: str, **params: Any) -> dict[str, Any]:
        """Call KMS; map every failure to DecryptError (bad ciphertext/context) or KeyUnavailable."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            client = self.client
            self.kms_calls += 1
            return getattr(client, op)(**params)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code") or "ClientError")
            if code in _KMS_DECRYPT_CODES and op == "decrypt":
                raise DecryptError("auth") from None
            raise KeyUnavailable(code) from None
        except BotoCoreError as exc:
            raise KeyUnavailable(type(exc).__name__) from None

    def new_dek(self, aad: bytes) -> tuple[bytes, str, bytes]:
        resp = self._call(
            "generate_data_key",
            KeyId=self.key_id,
            KeySpec="AES_256",
            EncryptionContext=encryption_context(aad),
        )
        dek, wrapped = resp.get("Plaintext"), resp.get("CiphertextBlob")
        if not isinstance(dek, bytes) or len(dek) != DEK_BYTES or not wrapped:
            raise KeyUnavailable("BadGenerateDataKeyResponse")
        wrapped = bytes(wrapped)
        # Prime the unwrap cache: the value just sealed is usually opened again soon.
        self.cache.put(DekCache.key(self.primary_kid, wrapped, aad), dek)
        return dek, self.primary_kid, wrapped

    def wrap(self, dek: bytes, aad: bytes) -> tuple[str, bytes]:
        if len(dek) != DEK_BYTES:
            raise ValueError("DEK must be 32 bytes")
        resp = self._call(
            "encrypt", KeyId=self.key_id, Plaintext=bytes(dek), EncryptionContext=encryption_context(aad)
        )
        wrapped = resp.get("CiphertextBlob")
        if not wrapped:
            raise KeyUnavailable("BadEncryptResponse")
        return self.primary_kid, bytes(wrapped)

    def unwrap(self, kid: str, wrapped: bytes, aad: bytes) -> bytes:
        if kid != self.primary_kid:
            raise DecryptError("unknown_kid")
        wrapped = bytes(wrapped)
        if not wrapped:
            raise DecryptError("format")
        ckey = DekCache.key(kid, wrapped, aad)
        cached = self.cache.get(ckey)
        if cached is not None:
            return cached
        resp = self._call(
            "decrypt", CiphertextBlob=wrapped, KeyId=self.key_id, EncryptionContext=encryption_context(aad)
        )
        dek = resp.get("Plaintext")
        if not isinstance(dek, bytes) or len(dek) != DEK_BYTES:
            raise DecryptError("format")
        self.cache.put(ckey, dek)
        return dek


# --------------------------------------------------------------------------------------------
# Factory
# --------------------------------------------------------------------------------------------


def keyring_from_config(config: Mapping[str, Any]) -> Keyring:
    """Build the keyring from app config (a Flask ``app.config`` or any mapping).

    ``KMS_KEY_ID`` set → KmsKeyring (optional ``KMS_REGION``, ``KMS_DEK_CACHE_TTL``,
    ``KMS_DEK_CACHE_MAX_USES``); else ``TOKEN_KEYS`` → LocalKeyring. ``TOKEN_KEYS`` may be the raw
    ``id:base64key,...`` string or the already-parsed ``[(kid, 32-byte key), ...]`` list that
    ``config.load_config`` stores. Setting both, or neither, is a KeyConfigError (KMS-wrapped and
    plaintext keys are mutually exclusive).
    """
    kms_key_id = str(config.get("KMS_KEY_ID") or "").strip()
    token_keys = config.get("TOKEN_KEYS") or None
    if isinstance(token_keys, str) and not token_keys.strip():
        token_keys = None
    if kms_key_id and token_keys:
        raise KeyConfigError("TOKEN_KEYS and KMS_KEY_ID are both set; configure exactly one")
    if kms_key_id:
        try:
            ttl = float(config.get("KMS_DEK_CACHE_TTL", 300.0))
            max_uses = int(config.get("KMS_DEK_CACHE_MAX_USES", 100))
        except (TypeError, ValueError):
            raise KeyConfigError("KMS_DEK_CACHE_TTL/KMS_DEK_CACHE_MAX_USES: not a number") from None
        return KmsKeyring(
            kms_key_id,
            region_name=(config.get("KMS_REGION") or None),
            cache_ttl=ttl,
            cache_max_uses=max_uses,
        )
    if not token_keys:
        raise KeyConfigError("TOKEN_KEYS: not set (or set KMS_KEY_ID); generate one with generate_token_key()")
    if isinstance(token_keys, str):
        return LocalKeyring(parse_token_keys(token_keys))
    if not isinstance(token_keys, (list, tuple)) or not all(
        isinstance(item, (list, tuple)) and len(item) == 2 for item in token_keys
    ):
        raise KeyConfigError("TOKEN_KEYS: expected 'id:base64key,...' or a list of (id, key) pairs")
    return LocalKeyring([(kid, bytes(key)) for kid, key in token_keys])

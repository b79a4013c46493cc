"""AES-256-GCM envelope encryption of single string values (TikTok access/refresh tokens).

Each ``seal`` uses a fresh 32-byte DEK from the keyring and a fresh 12-byte ``os.urandom`` nonce,
so every DEK encrypts exactly one value (far below the 2^32 random-nonce limit per key).

Blob format v1 (all integers big-endian; every field length-prefixed; no trailing bytes)::

    b"v1"                      2   magic + version
    kid_len    u8              1   1..32
    kid        ascii           kid_len   key id ([A-Za-z0-9._-])
    wrapped_len u16            2   1..65535
    wrapped    bytes           wrapped_len   DEK wrapped by the keyring's KEK
    nonce_len  u8              1   always 12
    nonce      bytes           12
    ct_len     u32             4   >= 17 (non-empty plaintext + 16-byte tag)
    ct         bytes           ct_len   AES-256-GCM ciphertext || tag

The GCM associated data is ``frame(b"logic-target/token/v1", header, aad)`` where ``header`` is
every byte before ``ct_len``; so version, kid, wrapped DEK and nonce are all authenticated, and the
caller's ``aad`` (e.g. ``b"tiktok-token:{workspace_id}:{open_id}:refresh"``) binds the value to
its row and column. Any failure to open is one generic ``DecryptError``.
"""

from __future__ import annotations

import os
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .errors import DecryptError, SealError
from .keyring import DEK_BYTES, NONCE_BYTES, TAG_BYTES, Keyring, frame, valid_kid

__all__ = ["VERSION", "seal", "open_sealed", "rewrap", "blob_kid"]

VERSION = b"v1"
_DOMAIN = b"logic-target/token/v1"


def _check_aad(aad: object) -> bytes:
    if not isinstance(aad, (bytes, bytearray, memoryview)):
        raise TypeError("aad must be bytes")
    aad = bytes(aad)
    if not aad:
        raise ValueError("aad must not be empty (bind the value to its row and column)")
    return aad


class _Parsed:
    __slots__ = ("kid", "wrapped", "nonce", "header", "ct")

    def __init__(self, kid: str, wrapped: bytes, nonce: bytes, header: bytes, ct: bytes) -> None:
        self.kid, self.wrapped, self.nonce, self.header, self.ct = kid, wrapped, nonce, header, ct


def _encode_header(kid: str, wrapped: bytes, nonce: bytes) -> bytes:
    if not valid_kid(kid):
        raise SealError("keyring returned an invalid key id")
    if not 0 < len(wrapped) <= 0xFFFF:
        raise SealError("keyring returned an invalid wrapped key")
    k = kid.encode("ascii")
    return (
        VERSION
        + struct.pack(">B", len(k)) + k
        + struct.pack(">H", len(wrapped)) + wrapped
        + struct.pack(">B", len(nonce)) + nonce
    )


def _parse(blob: object) -> _Parsed:
    """Strictly parse a v1 blob. Raises DecryptError on anything malformed."""
    if not isinstance(blob, (bytes, bytearray, memoryview)):
        raise DecryptError("format")
    b = bytes(blob)
    if len(b) < 2:
        raise DecryptError("format")
    if b[:2] != VERSION:
        raise DecryptError("version")
    try:
        i = 2
        (klen,) = struct.unpack_from(">B", b, i)
        i += 1
        kid_raw = b[i : i + klen]
        i += klen
        (wlen,) = struct.unpack_from(">H", b, i)
        i += 2
        wrapped = b[i : i + wlen]
        i += wlen
        (nlen,) = struct.unpack_from(">B", b, i)
        i += 1
        nonce = b[i : i + nlen]
        i += nlen
        header_end = i
        (clen,) = struct.unpack_from(">I", b, i)
        i += 4
        ct = b[i : i + clen]
        i += clen
    except struct.error:
        raise DecryptError("format") from None
    if (
        len(kid_raw) != klen
        or not 0 < wlen == len(wrapped)
        or nlen != NONCE_BYTES
        or len(nonce) != NONCE_BYTES
        or clen != len(ct)
        or clen <= TAG_BYTES
        or i != len(b)
    ):
        raise DecryptError("format")
    try:
        kid = kid_raw.decode("ascii")
    except UnicodeDecodeError:
        raise DecryptError("format") from None
    if not valid_kid(kid):
        raise DecryptError("format")
    return _Parsed(kid, wrapped, nonce, b[:header_end], ct)


def seal(plaintext: str, *, aad: bytes, keyring: Keyring) -> bytes:
    """Encrypt one non-empty string under a fresh DEK; return the v1 blob.

    Raises SealError for empty/non-str plaintext, KeyUnavailable if the KEK can't be used
    (nothing is returned, so nothing can be stored in plaintext).
    """
    if not isinstance(plaintext, str):
        raise SealError("only str values can be sealed")
    if not plaintext:
        raise SealError("refusing to seal an empty value")
    aad = _check_aad(aad)
    dek, kid, wrapped = keyring.new_dek(aad)
    if not isinstance(dek, (bytes, bytearray)) or len(dek) != DEK_BYTES:
        raise SealError("keyring returned a DEK that is not 32 bytes (AES-256)")
    nonce = os.urandom(NONCE_BYTES)
    header = _encode_header(kid, bytes(wrapped), nonce)
    ct = AESGCM(bytes(dek)).encrypt(nonce, plaintext.encode("utf-8"), frame(_DOMAIN, header, aad))
    del dek
    return header + struct.pack(">I", len(ct)) + ct


def open_sealed(blob: bytes, *, aad: bytes, keyring: Keyring) -> str:
    """Decrypt a v1 blob sealed under the same aad.

    Raises DecryptError (tampered/truncated/empty/wrong aad/unknown kid/wrong version) or
    KeyUnavailable (KMS can't be reached/used right now). Never returns partial data.
    """
    aad = _check_aad(aad)
    p = _parse(blob)
    dek = keyring.unwrap(p.kid, p.wrapped, aad)
    if not isinstance(dek, (bytes, bytearray)) or len(dek) != DEK_BYTES:
        raise DecryptError("format")
    try:
        pt = AESGCM(bytes(dek)).decrypt(p.nonce, p.ct, frame(_DOMAIN, p.header, aad))
        text = pt.decode("utf-8")
    except (InvalidTag, ValueError, TypeError):
        raise DecryptError("auth") from None
    finally:
        del dek
    if not text:  # pragma: no cover - seal refuses empty values
        raise DecryptError("format")
    return text


def rewrap(blob: bytes, *, aad: bytes, keyring: Keyring) -> bytes:
    """Return the value sealed under the keyring's primary key (for ``flask keys rotate``).

    The blob is always opened first (so tamper is detected). If it is already under the primary
    kid the *same bytes* are returned, so a rotation job can skip the write (and its
    compare-and-swap) — idempotent. Otherwise the value is re-sealed with a fresh DEK and nonce.
    """
    kid = blob_kid(blob)
    plaintext = open_sealed(blob, aad=aad, keyring=keyring)
    if kid == keyring.primary_kid:
        return bytes(blob)
    try:
        return seal(plaintext, aad=aad, keyring=keyring)
    finally:
        del plaintext


def blob_kid(blob: bytes) -> str:
    """Key id a blob was sealed under (from the header; not authenticated until opened)."""
    return _parse(blob).kid


"""Error types for app.crypto.

Every message here is deliberately generic and one line: no plaintext, no key material, no
ciphertext. Callers may log ``str(exc)`` and the non-secret ``reason``/``code`` attributes.
"""

from __future__ import annotations


class CryptoError(Exception):
    """Base class for every error raised by app.crypto."""


class KeyConfigError(CryptoError, ValueError):
    """The key configuration (TOKEN_KEYS / KMS_KEY_ID) is missing or malformed.

    Raised at boot; the message names the setting and the key id, never the key material.
    """


class SealError(CryptoError, ValueError):
    """A value was refused at seal time (e.g. an empty token)."""


class DecryptError(CryptoError):
    """A sealed value could not be opened: tampered, truncated, empty, wrong aad, unknown key id,
    unsupported version, or a KMS ciphertext rejected for its encryption context.

    The message is always the same generic text. ``reason`` is a short non-secret tag for
    security-event logs: ``"format"``, ``"version"``, ``"unknown_kid"``, ``"auth"``.
    Treat as permanent for this value (the connection needs a reconnect); never fall back.
    """

    GENERIC = "sealed value could not be decrypted"

    def __init__(self, reason: str = "auth") -> None:
        super().__init__(self.GENERIC)
        self.reason = reason


class KeyUnavailable(CryptoError):
    """The key-encryption key cannot be used right now (KMS disabled/invalid state/throttled/
    unreachable/access denied, ...). Fail closed: nothing is sealed or opened. Usually transient,
    so callers should retry later rather than mark the connection broken.

    ``code`` is the AWS error code or botocore exception class name (not secret).
    """

    def __init__(self, code: str = "unknown") -> None:
        super().__init__(f"token key service unavailable ({code})")
        self.code = code

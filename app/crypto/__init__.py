"""Envelope encryption of tokens at rest (AES-256-GCM DEKs under a KEK from config or AWS KMS).

Pure Python: no Flask imports. Only ``services/token_sealing.py`` (tokens) and
``services/two_factor.py`` (its secrets) should call seal/open_sealed.
"""

from .envelope import VERSION, blob_kid, open_sealed, rewrap, seal
from .errors import CryptoError, DecryptError, KeyConfigError, KeyUnavailable, SealError
from .keyring import (
    DekCache,
    Keyring,
    KmsKeyring,
    LocalKeyring,
    encryption_context,
    generate_token_key,
    keyring_from_config,
    parse_token_keys,
)

__all__ = [
    "VERSION",
    "CryptoError",
    "DecryptError",
    "DekCache",
    "KeyConfigError",
    "KeyUnavailable",
    "Keyring",
    "KmsKeyring",
    "LocalKeyring",
    "SealError",
    "blob_kid",
    "encryption_context",
    "generate_token_key",
    "keyring_from_config",
    "open_sealed",
    "parse_token_keys",
    "rewrap",
    "seal",
]

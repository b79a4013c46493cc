"""TikTok sandbox: a strict local stand-in for TikTok's Login Kit, Accounts API and Marketing API.

Self-contained on purpose: from the rest of `app` it imports only `app.tiktok.fields`, TikTok's
documented field names and scopes (the one cited table, shared with the client, so the sandbox
accepts exactly what TikTok accepts). It runs alone (`serve`) or mounted by the host app at
/sandbox/tiktok in sandbox mode.

Business-envelope codes it answers with (`{code, message, request_id, data}`, HTTP 200 unless
`error_http_status` says otherwise): 0 OK · 40001 scope/permission missing (field or endpoint
needs an ungranted scope; business_id/advertiser not yours) · 40002 invalid params (bad/unknown
field or metric, non-JSON body, bad dates, max_count, filters, more than 100 ids, unsupported_grant_type)
· 40100 rate limited (+ Retry-After) · 40101 invalid_client (also a wrong app_id on token_info)
· 40104 access token missing/unknown/revoked (on token_info: also expired) · 40105 access token expired
· 40106 invalid_grant (refresh token refused: unknown, revoked, expired, rotated token reused)
· 40110 authorization code refused on a code exchange (unknown, used, expired, issued to another
client, wrong redirect_uri, PKCE failure) · 50000 internal error (injected http_500 only).
Only 0 and 40100 are documented by TikTok; 40101 and 40110 are what independent clients of the
Accounts and Marketing APIs handle; the rest are this sandbox's promise.
"""
from .blueprint import URL_PREFIX, create_blueprint, create_sandbox_app, serve
from .settings import (
    DEFAULT_SCOPES,
    DEMO_ADS_APP_ID,
    DEMO_CLIENT_KEY,
    SandboxSettings,
)
from .state import FAULT_KINDS, SandboxError, SandboxState

__all__ = [
    "DEFAULT_SCOPES",
    "DEMO_ADS_APP_ID",
    "DEMO_CLIENT_KEY",
    "FAULT_KINDS",
    "SandboxError",
    "SandboxSettings",
    "SandboxState",
    "URL_PREFIX",
    "create_blueprint",
    "create_sandbox_app",
    "serve",
]

"""The only code in the product that talks to TikTok: one package per outside system.

Import from here: ``from app.tiktok import get_client, errors, types``.
"""

from . import errors, pkce, types, webhook
from .client import TikTokClient, get_client, interpret_response
from .errors import (
    BadResponse,
    ClientConfigError,
    GrantRevoked,
    InvalidGrant,
    InvalidSignature,
    RateLimited,
    ScopeMissing,
    TikTokError,
    TokenInvalid,
    TokenRevoked,
    Unavailable,
)
from .types import (
    AdsReportRow,
    AdsToken,
    AdvertiserInfo,
    DailyAccountMetrics,
    Profile,
    SparkAd,
    TokenSet,
    Video,
    VideoPage,
    WebhookEvent,
)

__all__ = [
    "AdsReportRow",
    "AdsToken",
    "AdvertiserInfo",
    "BadResponse",
    "ClientConfigError",
    "DailyAccountMetrics",
    "GrantRevoked",
    "InvalidGrant",
    "InvalidSignature",
    "Profile",
    "RateLimited",
    "ScopeMissing",
    "SparkAd",
    "TikTokClient",
    "TikTokError",
    "TokenInvalid",
    "TokenRevoked",
    "TokenSet",
    "Unavailable",
    "Video",
    "VideoPage",
    "WebhookEvent",
    "errors",
    "get_client",
    "interpret_response",
    "pkce",
    "types",
    "webhook",
]

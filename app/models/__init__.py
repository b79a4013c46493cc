"""All models, imported here so Alembic and `db.create_all()` see every table."""
from app.models.audit import AuditEvent
from app.models.base import UTCDateTime, utcnow
from app.models.branding import WorkspaceBrand
from app.models.connection import AdsAccount, OAuthTransaction, TikTokConnection
from app.models.dashboard_panel import DashboardPanel
from app.models.deletion import DeletionReceipt, DeletionRequest, DeletionRequestMatch
from app.models.invite import Invite
from app.models.job import JobClaim, JobRun, PurgeReceiptLink
from app.models.password_reset import PasswordReset
from app.models.post import Post, PostMetric
from app.models.report import Report, ReportConnection, ReportDelivery
from app.models.report_recipients import (ReportAgencyRecipient, ReportExternalRecipient, ReportSettings,
                                         ReportUnsubscribe)
from app.models.snapshot import AccountSnapshot, AudienceSnapshot, SparkAdMetric
from app.models.two_factor import RecoveryCode, SignInChallenge
from app.models.user import User
from app.models.webhook import WebhookDelivery
from app.models.workspace import Membership, Workspace

__all__ = [
    "AccountSnapshot", "AdsAccount", "AudienceSnapshot", "AuditEvent", "DashboardPanel", "DeletionReceipt", "DeletionRequest", "DeletionRequestMatch", "Invite", "JobClaim", "JobRun",
    "Membership", "OAuthTransaction", "PasswordReset", "Post", "PostMetric", "PurgeReceiptLink", "Report", "ReportConnection",
    "RecoveryCode", "ReportAgencyRecipient", "ReportDelivery", "ReportExternalRecipient", "ReportSettings",
    "ReportUnsubscribe", "SignInChallenge", "SparkAdMetric", "TikTokConnection", "UTCDateTime", "User", "WebhookDelivery", "Workspace", "WorkspaceBrand", "utcnow",
]

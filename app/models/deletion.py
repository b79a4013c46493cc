"""Public data-deletion requests, the connected accounts they name, and the anonymous
receipts purges leave behind."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from app.extensions import db
from app.models.base import UTCDateTime, utcnow

REQUEST_RECEIVED = "received"    # filed; waiting for the requester to open the emailed link
REQUEST_IN_REVIEW = "in_review"  # mailbox confirmed; waiting for agency staff (or proof with TikTok)
REQUEST_APPROVED = "approved"    # the named accounts are marked for the next purge run
REQUEST_REJECTED = "rejected"    # agency staff said no, with a reason the requester sees
REQUEST_COMPLETED = "completed"  # nothing left to delete; the requester is told
REQUEST_STATUSES = (REQUEST_RECEIVED, REQUEST_IN_REVIEW, REQUEST_APPROVED, REQUEST_REJECTED, REQUEST_COMPLETED)

DECIDED_BY_STAFF = "staff"    # an agency user approved or rejected it
DECIDED_BY_TIKTOK = "tiktok"  # the requester signed in with the named TikTok account

MAX_REASON = 1000


class DeletionRequest(db.Model):
    __tablename__ = "deletion_requests"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    reference: so.Mapped[str] = so.mapped_column(sa.String(32), unique=True)
    handle: so.Mapped[str] = so.mapped_column(sa.String(64), index=True)
    email: so.Mapped[str] = so.mapped_column(sa.String(254))
    status: so.Mapped[str] = so.mapped_column(sa.String(12), default=REQUEST_RECEIVED)
    verify_token_hash: so.Mapped[str | None] = so.mapped_column(sa.String(64), unique=True)
    verify_expires_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    verified_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    completed_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    # The decision: by an agency user (approve / reject with a reason) or by TikTok ownership proof.
    decided_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    decided_by_user_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    decided_via: so.Mapped[str | None] = so.mapped_column(sa.String(8))
    decision_reason: so.Mapped[str | None] = so.mapped_column(sa.String(MAX_REASON))

    # Who has been emailed: staff and owners once per request (user ids as they are sent,
    # then the time all were), and the last status the requester was told about.
    notified_user_ids: so.Mapped[list[int] | None] = so.mapped_column(sa.JSON, default=list)
    reviewers_notified_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    requester_notified: so.Mapped[str | None] = so.mapped_column(sa.String(12))

    __table_args__ = (
        sa.CheckConstraint("status IN ('received', 'in_review', 'approved', 'rejected', 'completed')",
                           name="request_status"),
    )

    def __repr__(self) -> str:  # never the email or the reference (the status page's capability)
        return f"<DeletionRequest {self.id} {self.status}>"


class DeletionRequestMatch(db.Model):
    """A connected account a verified request names (same handle, any workspace). It
    scopes the request to that workspace's admins and says what an approval deletes;
    the row goes with the account's data when it is purged."""

    __tablename__ = "deletion_request_matches"
    __data_inventory__ = {
        "what": "Which connected account a public data-deletion request names (a link between the request "
                "and the account, matched on its @handle), so the workspace's admins can see the request.",
        "source_scopes": ["user.info.username"],
        "deleted": "With the account's data when it is purged, or with the request.",
    }

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    request_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("deletion_requests.id", ondelete="CASCADE"),
                                                  index=True)
    connection_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("tiktok_connections.id", ondelete="CASCADE"),
                                                     index=True)
    matched_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (sa.UniqueConstraint("request_id", "connection_id"),)


class DeletionReceipt(db.Model):
    """What remains after a purge: a reference, counts and a time — nothing that identifies anyone."""

    __tablename__ = "deletion_receipts"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    reference: so.Mapped[str] = so.mapped_column(sa.String(32), unique=True)
    counts: so.Mapped[dict[str, Any]] = so.mapped_column(sa.JSON, default=dict)
    completed_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

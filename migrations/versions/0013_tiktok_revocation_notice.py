"""Remember when TikTok told us a person removed Logic Target's access

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 13:20:00

tiktok_connections.revoked_by_tiktok_at: set when TikTok's authorization.removed webhook
disconnected the account (the person removed the app in TikTok, or the account was
deleted or banned). The refresh-tokens job's notices email the account's owner and the
workspace's client admins once about it; `reconnect_alerted_at` records that they were.
A nullable column: existing rows need no value, so no table rebuild on SQLite.
"""

from alembic import op
import sqlalchemy as sa

from app.models.sqlite_rebuild import foreign_keys_off


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('tiktok_connections', sa.Column('revoked_by_tiktok_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    # SQLite drops a column by rebuilding the table: with foreign keys on, dropping the old
    # table would delete every row that refers to a connection (ON DELETE CASCADE).
    with foreign_keys_off('tiktok_connections'), op.batch_alter_table('tiktok_connections') as batch_op:
        batch_op.drop_column('revoked_by_tiktok_at')

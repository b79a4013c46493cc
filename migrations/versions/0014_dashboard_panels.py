"""Dashboard panels rendered at sync time, shared by every app instance

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 13:40:00

dashboard_panels: one account's rendered dashboard panel per period, written by the sync
right after it stores the account's new figures, so the first view after a sync (on any
instance) reads it instead of computing it. Deleted with the account (ON DELETE CASCADE)
and by the purge, like every table that refers to a connection.
"""

from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'dashboard_panels',
        sa.Column('connection_id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('html', sa.Text(), nullable=False),
        sa.Column('rendered_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['connection_id'], ['tiktok_connections.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('connection_id', 'key'),
    )


def downgrade():
    op.drop_table('dashboard_panels')

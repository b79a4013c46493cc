"""Report recipients, unsubscribes and approval before sending

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 08:30:00

Placeholder in the revision chain; filled in by the change that needs it.
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass

"""Public deletion requests go through review or TikTok ownership proof

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 07:45:00

Placeholder in the revision chain; filled in by the change that needs it.
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass

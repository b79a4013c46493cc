"""Two-factor sign-in (TOTP) and per-workspace requirement

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 07:45:00

Placeholder in the revision chain; filled in by the change that needs it.
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass

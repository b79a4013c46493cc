"""Workspace settings editable by agency staff

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 08:30:00

Placeholder in the revision chain; filled in by the change that needs it.
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass

"""Invites and member management

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 08:30:00

Placeholder in the revision chain; filled in by the change that needs it.
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass

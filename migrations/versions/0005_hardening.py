"""Hardening: SQLite AUTOINCREMENT ids, revocation cap

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 07:45:00

Placeholder in the revision chain; filled in by the change that needs it.
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass

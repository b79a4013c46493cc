"""TikTok insights: reach, followers lost/new, activity, demographics, post insights, paid engagement

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 07:45:00

Placeholder in the revision chain; filled in by the change that needs it.
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass

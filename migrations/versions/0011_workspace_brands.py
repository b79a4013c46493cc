"""Workspace brands: the logo, accent colour, sender name and reply-to of a workspace's reports

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 12:55:00

workspace_brands: one row per workspace that set its brand (the logo's bytes, checked
type and size, an accent colour, the display name and reply-to address of its report
emails, and whether they carry the report as a PDF). Created with
`sqlite_autoincrement=True` (ids never reused).
"""

from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('workspace_brands',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('logo', sa.LargeBinary(), nullable=True),
    sa.Column('logo_type', sa.String(length=20), nullable=True),
    sa.Column('logo_width', sa.Integer(), nullable=True),
    sa.Column('logo_height', sa.Integer(), nullable=True),
    sa.Column('logo_sha256', sa.String(length=64), nullable=True),
    sa.Column('accent_color', sa.String(length=7), nullable=True),
    sa.Column('sender_name', sa.String(length=80), nullable=True),
    sa.Column('reply_to', sa.String(length=254), nullable=True),
    sa.Column('attach_pdf', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("logo_type IS NULL OR logo_type IN ('image/png', 'image/jpeg')",
                       name=op.f('ck_workspace_brands_logo_type')),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'],
                            name=op.f('fk_workspace_brands_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_workspace_brands')),
    sa.UniqueConstraint('workspace_id', name=op.f('uq_workspace_brands_workspace_id')),
    sqlite_autoincrement=True,
    )


def downgrade():
    op.drop_table('workspace_brands')

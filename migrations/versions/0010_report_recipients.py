"""Report recipients, unsubscribes and approval before sending

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 08:30:00

1. report_settings: per workspace, whether Monday's report waits for an agency user's
   approval and for how many hours (default 48) before it expires unsent.
2. report_agency_recipients: agency staff who asked for a workspace's report.
3. report_external_recipients: addresses outside Logic Target an admin added.
4. report_unsubscribes: addresses that unsubscribed from one workspace's report.
5. reports: the approval state of each report (waiting / approved / expired), when it
   expires, who approved it and when, and the note to the client shown atop it.

New tables are created with `sqlite_autoincrement=True` (ids never reused). On SQLite,
`reports` is rebuilt (a foreign key and a check constraint need that) with foreign keys
off, so the rebuild cascades into no delivery, and checked after.
"""

from alembic import op
import sqlalchemy as sa

from app.models.sqlite_rebuild import foreign_keys_off


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('report_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('approval_required', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('approval_window_hours', sa.Integer(), server_default='48', nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('approval_window_hours >= 1 AND approval_window_hours <= 336',
                       name=op.f('ck_report_settings_approval_window')),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'],
                            name=op.f('fk_report_settings_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_settings')),
    sa.UniqueConstraint('workspace_id', name=op.f('uq_report_settings_workspace_id')),
    sqlite_autoincrement=True,
    )

    op.create_table('report_agency_recipients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                            name=op.f('fk_report_agency_recipients_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'],
                            name=op.f('fk_report_agency_recipients_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_agency_recipients')),
    sa.UniqueConstraint('workspace_id', 'user_id', name=op.f('uq_report_agency_recipients_workspace_id_user_id')),
    sqlite_autoincrement=True,
    )
    with op.batch_alter_table('report_agency_recipients', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_agency_recipients_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_report_agency_recipients_workspace_id'), ['workspace_id'], unique=False)

    op.create_table('report_external_recipients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('added_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['added_by_user_id'], ['users.id'],
                            name=op.f('fk_report_external_recipients_added_by_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'],
                            name=op.f('fk_report_external_recipients_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_external_recipients')),
    sa.UniqueConstraint('workspace_id', 'email', name=op.f('uq_report_external_recipients_workspace_id_email')),
    sqlite_autoincrement=True,
    )
    with op.batch_alter_table('report_external_recipients', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_external_recipients_workspace_id'), ['workspace_id'], unique=False)

    op.create_table('report_unsubscribes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('unsubscribed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'],
                            name=op.f('fk_report_unsubscribes_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_unsubscribes')),
    sa.UniqueConstraint('workspace_id', 'email', name=op.f('uq_report_unsubscribes_workspace_id_email')),
    sqlite_autoincrement=True,
    )
    with op.batch_alter_table('report_unsubscribes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_unsubscribes_workspace_id'), ['workspace_id'], unique=False)

    with foreign_keys_off('reports'), \
            op.batch_alter_table('reports', table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.add_column(sa.Column('approval_status', sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column('approval_expires_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('approved_by_user_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('client_note', sa.String(length=500), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_reports_approved_by_user_id_users'), 'users',
                                    ['approved_by_user_id'], ['id'], ondelete='SET NULL')
        batch_op.create_check_constraint('approval_status', "approval_status IN ('waiting', 'approved', 'expired')")


def downgrade():
    with foreign_keys_off('reports'), \
            op.batch_alter_table('reports', table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_reports_approval_status'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_reports_approved_by_user_id_users'), type_='foreignkey')
        batch_op.drop_column('client_note')
        batch_op.drop_column('approved_by_user_id')
        batch_op.drop_column('approved_at')
        batch_op.drop_column('approval_expires_at')
        batch_op.drop_column('approval_status')

    op.drop_table('report_unsubscribes')
    op.drop_table('report_external_recipients')
    op.drop_table('report_agency_recipients')
    op.drop_table('report_settings')

"""Report periods: weekly and monthly reports, delivery day and hour, creator cut

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 13:10:00

1. reports: keyed by period instead of ISO week. `iso_week`, `week_start` and
   `week_end` are renamed `period_key`, `period_start` and `period_end` (existing rows
   keep their values: every one of them is a week), `kind` says weekly or monthly
   (existing rows: weekly), and `queued_at` records when the schedule queued a
   report's emails, so the hourly job does each (workspace, period) once. Existing
   rows count as queued at their build time: the weekly run that built them did it.
   The unique constraint moves from (workspace_id, iso_week) to (workspace_id, period_key).
2. report_settings: the cadence (weekly, monthly or both), the delivery weekday
   (0 = Monday) and local hour (default Monday 09:00), and whether creators get their
   own cut of the report.

On SQLite both tables are rebuilt (constraints need that) with foreign keys off, so the
rebuild cascades into no delivery, and checked after.
"""

from alembic import op
import sqlalchemy as sa

from app.models.sqlite_rebuild import foreign_keys_off


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with foreign_keys_off('reports'), \
            op.batch_alter_table('reports', table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_reports_workspace_id_iso_week'), type_='unique')
        batch_op.alter_column('iso_week', new_column_name='period_key', existing_type=sa.String(length=8),
                              existing_nullable=False)
        batch_op.alter_column('week_start', new_column_name='period_start', existing_type=sa.Date(),
                              existing_nullable=False)
        batch_op.alter_column('week_end', new_column_name='period_end', existing_type=sa.Date(),
                              existing_nullable=False)
        batch_op.add_column(sa.Column('kind', sa.String(length=8), server_default='weekly', nullable=False))
        batch_op.add_column(sa.Column('queued_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_check_constraint('report_kind', "kind IN ('weekly', 'monthly')")
    # A second batch: SQLite's rebuild drops a constraint on a column renamed in the same batch.
    with foreign_keys_off('reports'), \
            op.batch_alter_table('reports', table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.create_unique_constraint(batch_op.f('uq_reports_workspace_id_period_key'),
                                          ['workspace_id', 'period_key'])
    op.execute(sa.text('UPDATE reports SET queued_at = generated_at'))

    with op.batch_alter_table('report_settings', table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.add_column(sa.Column('cadence', sa.String(length=8), server_default='weekly', nullable=False))
        batch_op.add_column(sa.Column('delivery_weekday', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('delivery_hour', sa.Integer(), server_default='9', nullable=False))
        batch_op.add_column(sa.Column('creator_cut', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_check_constraint('cadence', "cadence IN ('weekly', 'monthly', 'both')")
        batch_op.create_check_constraint('delivery_weekday', 'delivery_weekday >= 0 AND delivery_weekday <= 6')
        batch_op.create_check_constraint('delivery_hour', 'delivery_hour >= 0 AND delivery_hour <= 23')


def downgrade():
    with op.batch_alter_table('report_settings', table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_report_settings_delivery_hour'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_report_settings_delivery_weekday'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_report_settings_cadence'), type_='check')
        batch_op.drop_column('creator_cut')
        batch_op.drop_column('delivery_hour')
        batch_op.drop_column('delivery_weekday')
        batch_op.drop_column('cadence')

    # Monthly reports have no place in the weekly-only table.
    op.execute(sa.text("DELETE FROM reports WHERE kind = 'monthly'"))
    with foreign_keys_off('reports'), \
            op.batch_alter_table('reports', table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_reports_report_kind'), type_='check')
        batch_op.drop_constraint(batch_op.f('uq_reports_workspace_id_period_key'), type_='unique')
    with foreign_keys_off('reports'), \
            op.batch_alter_table('reports', table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.drop_column('queued_at')
        batch_op.drop_column('kind')
        batch_op.alter_column('period_end', new_column_name='week_end', existing_type=sa.Date(),
                              existing_nullable=False)
        batch_op.alter_column('period_start', new_column_name='week_start', existing_type=sa.Date(),
                              existing_nullable=False)
        batch_op.alter_column('period_key', new_column_name='iso_week', existing_type=sa.String(length=8),
                              existing_nullable=False)
    with foreign_keys_off('reports'), \
            op.batch_alter_table('reports', table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.create_unique_constraint(batch_op.f('uq_reports_workspace_id_iso_week'), ['workspace_id', 'iso_week'])

"""Hardening: SQLite AUTOINCREMENT ids, revocation cap

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 07:45:00

tiktok_connections.revoke_unconfirmed_at: when a revocation TikTok never confirmed
was given up (REVOKE_GIVE_UP_DAYS after the disconnect), so the token could be wiped
and the purge go ahead.

SQLite rebuilds a table to drop a column (create, copy, drop, rename). The app turns
SQLite foreign keys on for every connection, and with them on, dropping the old table
would first delete its rows and fire ON DELETE CASCADE into the tables that reference
it; so foreign keys are off while it happens (the pragma only takes effect outside a
transaction, hence the autocommit blocks), checked with `PRAGMA foreign_key_check`,
and on again afterwards.
"""
from contextlib import contextmanager

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with _foreign_keys_off():
        with op.batch_alter_table('tiktok_connections') as batch_op:
            batch_op.add_column(sa.Column('revoke_unconfirmed_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with _foreign_keys_off():
        with op.batch_alter_table('tiktok_connections') as batch_op:
            batch_op.drop_column('revoke_unconfirmed_at')


@contextmanager
def _foreign_keys_off():
    """SQLite: foreign keys off while a table is rebuilt, checked and back on after."""
    if op.get_bind().dialect.name != 'sqlite':
        yield
        return
    context = op.get_context()
    with context.autocommit_block():
        op.execute('PRAGMA foreign_keys=OFF')
    try:
        yield
        problems = op.get_bind().execute(sa.text('PRAGMA foreign_key_check')).fetchall()
        if problems:
            raise RuntimeError(f'foreign key check failed after rebuilding tables: {problems[:5]}')
    except BaseException:
        # Undo this revision's work and restore the pragma on this connection before
        # it goes back to the pool (alembic's own rollback then finds nothing to do).
        raw = op.get_bind().connection.dbapi_connection
        raw.rollback()
        raw.execute('PRAGMA foreign_keys=ON')
        raise
    with context.autocommit_block():  # commits the rebuild, then the pragma can take effect
        op.execute('PRAGMA foreign_keys=ON')

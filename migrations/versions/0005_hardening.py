"""Hardening: SQLite AUTOINCREMENT ids, revocation cap

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 07:45:00

1. tiktok_connections.revoke_unconfirmed_at: when a revocation TikTok never confirmed
   was given up (REVOKE_GIVE_UP_DAYS after the disconnect), so the token could be
   wiped and the purge go ahead.
2. SQLite only: every table with a single integer primary key is rebuilt with
   AUTOINCREMENT, so the id of a deleted row is never handed out again (plain SQLite
   reuses max(id)+1; a new account could then appear under an old link, audit entry or
   receipt). The tables are found by inspecting the database, not listed here, so
   tables the earlier revisions added are covered too; this revision must stay after
   every revision that creates tables, and later ones pass `sqlite_autoincrement=True`
   to `op.create_table`. Rows keep their ids; SQLite starts each table's sequence at
   its current highest id (ids freed above it before this upgrade cannot be known).
   PostgreSQL sequences never reuse ids: nothing to do there.

   The rebuild is alembic's batch "move and copy" (create, copy, drop, rename). The app
   turns SQLite foreign keys on for every connection, and with them on, dropping the
   old table would first delete its rows and fire ON DELETE CASCADE into the tables
   that reference it; so foreign keys are off during the rebuild (the pragma only
   takes effect outside a transaction, hence the autocommit blocks), the result is
   checked with `PRAGMA foreign_key_check`, and they are on again afterwards.

Downgrade drops the column; the tables keep AUTOINCREMENT (harmless to the older
schema, and ids stay unique).
"""

from alembic import op
import sqlalchemy as sa

from app.models.sqlite_rebuild import foreign_keys_off


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with foreign_keys_off():
        with op.batch_alter_table('tiktok_connections') as batch_op:
            batch_op.add_column(sa.Column('revoke_unconfirmed_at', sa.DateTime(timezone=True), nullable=True))
        if op.get_bind().dialect.name == 'sqlite':
            for name in _tables_to_rebuild():
                with op.batch_alter_table(name, recreate='always', table_kwargs={'sqlite_autoincrement': True}):
                    pass


def downgrade():
    with foreign_keys_off():
        with op.batch_alter_table('tiktok_connections') as batch_op:
            batch_op.drop_column('revoke_unconfirmed_at')


def _tables_to_rebuild() -> list[str]:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    names = []
    for name in sorted(inspector.get_table_names()):
        if name == 'alembic_version' or name.startswith('sqlite_'):
            continue
        pk = inspector.get_pk_constraint(name).get('constrained_columns') or []
        if len(pk) != 1:
            continue  # AUTOINCREMENT exists only for a single INTEGER PRIMARY KEY
        column = next(c for c in inspector.get_columns(name) if c['name'] == pk[0])
        if not isinstance(column['type'], sa.Integer):
            continue
        sql = bind.execute(sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :n"),
                           {'n': name}).scalar() or ''
        if 'AUTOINCREMENT' in sql.upper():
            continue  # already rebuilt (or created so): nothing to do
        names.append(name)
    return names

"""For migrations that rebuild SQLite tables (batch "move and copy").

SQLite cannot alter most constraints in place, so Alembic's batch mode copies a table into
a new one and drops the old. With foreign keys on, dropping a parent table cascades to its
children's rows; so the rebuild runs with them off, is checked, and they go back on.
"""
from __future__ import annotations

from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op


@contextmanager
def foreign_keys_off(what: str = "tables"):
    """SQLite: foreign keys off while `what` is rebuilt, checked and back on after (a no-op
    on other databases). A failed check undoes the revision's work."""
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
            raise RuntimeError(f'foreign key check failed after rebuilding {what}: {problems[:5]}')
    except BaseException:
        # Undo this revision's work and restore the pragma on this connection before
        # it goes back to the pool (alembic's own rollback then finds nothing to do).
        raw = op.get_bind().connection.dbapi_connection
        raw.rollback()
        raw.execute('PRAGMA foreign_keys=ON')
        raise
    with context.autocommit_block():  # commits the rebuild, then the pragma can take effect
        op.execute('PRAGMA foreign_keys=ON')

"""Migrations build the same schema as the models, on SQLite and PostgreSQL."""
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from app.extensions import db


def test_upgrade_matches_models_and_downgrade_works(app):
    db.drop_all()
    with db.engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
    upgrade()
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == [], diff
    downgrade(revision="base")
    with db.engine.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names()) - {"alembic_version"}
    assert tables == set()
    upgrade()


@pytest.mark.parametrize("db_backend", ["sqlite"])
def test_sqlite_enforces_foreign_keys(app):
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(sa.text("PRAGMA busy_timeout")).scalar() == 5000
        assert conn.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"


@pytest.mark.parametrize("db_backend", ["postgresql"])
def test_postgres_has_timeouts(app):
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SHOW statement_timeout")).scalar() == "30s"
        assert conn.execute(sa.text("SHOW lock_timeout")).scalar() == "10s"

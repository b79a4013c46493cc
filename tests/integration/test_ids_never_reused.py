"""Ids of deleted rows are never handed out again (SQLite AUTOINCREMENT), both for tables
the models create and for databases built by `flask db upgrade`, and migration 0005
rebuilds existing SQLite tables without losing a row or a foreign key."""
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from app import create_app
from app.extensions import db
from app.models import AuditEvent, DeletionReceipt, Workspace
from tests.conftest import base_overrides

NOW = datetime(2026, 6, 1, 12, tzinfo=timezone.utc)


@pytest.fixture
def empty_db_app(tmp_path, db_backend, app_factory):
    """An app whose database has no tables yet: a new SQLite file (so not even
    `sqlite_sequence` exists), or this process's PostgreSQL schema emptied."""
    if db_backend == "sqlite":
        app = create_app(base_overrides(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'migrated.sqlite3'}"))
    else:
        app = app_factory(db_backend)
    with app.app_context():
        if db_backend != "sqlite":
            db.drop_all()
            with db.engine.begin() as conn:
                conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        yield app
        db.session.remove()
        if db_backend == "sqlite":
            db.engine.dispose()


def _single_integer_pk_tables(conn) -> list[str]:
    inspector = sa.inspect(conn)
    names = []
    for name in inspector.get_table_names():
        if name == "alembic_version" or name.startswith("sqlite_"):
            continue
        pk = inspector.get_pk_constraint(name)["constrained_columns"]
        if len(pk) == 1 and isinstance(next(c for c in inspector.get_columns(name) if c["name"] == pk[0])["type"],
                                       sa.Integer):
            names.append(name)
    return names


def test_every_model_table_asks_for_autoincrement():
    missing = [t.name for t in db.metadata.sorted_tables if not t.dialect_options["sqlite"]["autoincrement"]]
    assert missing == []


@pytest.mark.parametrize("model", [Workspace, DeletionReceipt, AuditEvent])
def test_deleted_id_is_not_reused_on_tables_the_models_create(app, model):
    make = {
        Workspace: lambda i: Workspace(name=f"Client {i}"),
        DeletionReceipt: lambda i: DeletionReceipt(reference=f"ref{i}", counts={}, completed_at=NOW),
        AuditEvent: lambda i: AuditEvent(event="test.event", detail={"i": i}),
    }[model]
    first, second = make(1), make(2)
    db.session.add_all([first, second])
    db.session.commit()
    newest = second.id
    db.session.delete(second)
    db.session.commit()
    third = make(3)
    db.session.add(third)
    db.session.commit()
    assert third.id > newest


def test_flask_db_upgrade_builds_autoincrement_tables_and_ids_are_not_reused(empty_db_app):
    app = empty_db_app
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    with db.engine.connect() as conn:
        if db.engine.dialect.name == "sqlite":
            assert conn.execute(sa.text(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'")).scalar() == 1
            for name in _single_integer_pk_tables(conn):
                sql = conn.execute(sa.text("SELECT sql FROM sqlite_master WHERE name = :n"), {"n": name}).scalar()
                assert "AUTOINCREMENT" in sql, name
            assert conn.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1  # back on after the rebuild
    db.session.add_all([Workspace(name="A"), Workspace(name="B")])
    db.session.commit()
    b = db.session.scalar(sa.select(Workspace).where(Workspace.name == "B"))
    gone = b.id
    db.session.delete(b)
    db.session.commit()
    c = Workspace(name="C")
    db.session.add(c)
    db.session.commit()
    assert c.id > gone


def _insert(conn, table: str, **values) -> int:
    """Insert a row giving every NOT NULL column without a default a plain value, so the
    test does not depend on which columns the earlier revisions added."""
    for col in sa.inspect(conn).get_columns(table):
        if col["name"] in values or col["nullable"] or col.get("default") is not None or col["name"] == "id":
            continue
        t = col["type"]
        if isinstance(t, sa.Boolean):
            value = False
        elif isinstance(t, sa.DateTime):
            value = NOW
        elif isinstance(t, (sa.Integer, sa.Numeric, sa.Float)):
            value = 0
        elif isinstance(t, sa.JSON):
            value = "{}"
        elif isinstance(t, sa.LargeBinary):
            value = b""
        else:
            value = "x"
        values[col["name"]] = value
    names = ", ".join(values)
    params = ", ".join(f":{k}" for k in values)
    conn.execute(sa.text(f"INSERT INTO {table} ({names}) VALUES ({params})"), values)
    return conn.execute(sa.text(f"SELECT max(id) FROM {table}")).scalar()


def test_rebuild_keeps_rows_ids_and_cascades(empty_db_app):
    """Upgrading a database with data: nothing is lost (dropping a parent table with
    foreign keys on would cascade into its children), ids are kept, and ON DELETE
    CASCADE still works afterwards."""
    upgrade(revision="0004")
    with db.engine.begin() as conn:
        ws = _insert(conn, "workspaces", name="Brass Studio", timezone="UTC")
        for i in range(3):
            conn_id = _insert(conn, "tiktok_connections", workspace_id=ws, open_id=f"open-{i}", status="active")
        _insert(conn, "posts", connection_id=conn_id, item_id="item-1")
        conn.execute(sa.text("DELETE FROM tiktok_connections WHERE id = :i"), {"i": conn_id - 1})
        before = {t: conn.execute(sa.text(f"SELECT id FROM {t} ORDER BY id")).scalars().all()
                  for t in ("workspaces", "tiktok_connections", "posts")}
    upgrade()
    with db.engine.begin() as conn:
        after = {t: conn.execute(sa.text(f"SELECT id FROM {t} ORDER BY id")).scalars().all() for t in before}
        assert after == before
        assert "revoke_unconfirmed_at" in {c["name"] for c in sa.inspect(conn).get_columns("tiktok_connections")}
        fks = sa.inspect(conn).get_foreign_keys("posts")
        assert any(fk["referred_table"] == "tiktok_connections" and fk["options"].get("ondelete") == "CASCADE"
                   for fk in fks), fks
        if db.engine.dialect.name == "sqlite":
            assert conn.execute(sa.text("PRAGMA foreign_key_check")).fetchall() == []
        newest = max(before["tiktok_connections"])
        conn.execute(sa.text("DELETE FROM tiktok_connections WHERE id = :i"), {"i": newest})
        assert conn.execute(sa.text("SELECT count(*) FROM posts")).scalar() == 0  # cascaded
        again = _insert(conn, "tiktok_connections", workspace_id=ws, open_id="open-new", status="active")
        assert again > newest
    downgrade(revision="0004")
    with db.engine.connect() as conn:
        assert "revoke_unconfirmed_at" not in {c["name"] for c in sa.inspect(conn).get_columns("tiktok_connections")}
        assert conn.execute(sa.text("SELECT count(*) FROM workspaces")).scalar() == 1
        assert conn.execute(sa.text("SELECT count(*) FROM tiktok_connections")).scalar() == 2
    upgrade()

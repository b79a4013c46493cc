"""Shared column types and time helpers for the models, and the rule that ids are never reused."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import DateTime, MetaData, Table, event
from sqlalchemy.types import TypeDecorator

from app.extensions import db


@event.listens_for(Table, "after_parent_attach")
def _ids_never_reused(table: Table, parent) -> None:
    """Every model's table is `sqlite_autoincrement=True`.

    Without AUTOINCREMENT, SQLite hands out max(id)+1, so deleting the newest row frees
    its id for the next insert: a purged connection's id could come back as another
    account under an old link, audit entry or receipt. With it, SQLite keeps the
    high-water mark in `sqlite_sequence` and never goes back. (PostgreSQL sequences
    never reuse ids; the option means nothing there.) Set here, when each table joins
    the models' metadata, so a model added later cannot forget it; every model module
    imports this one before declaring its classes. Tables without a single integer
    primary key are unaffected (SQLite ignores the option for them).
    Migration 0005 rebuilt the SQLite tables that existed then; a later migration that
    creates a table passes `sqlite_autoincrement=True` to `op.create_table`.
    """
    if isinstance(parent, MetaData) and parent is db.metadata:
        table.dialect_kwargs["sqlite_autoincrement"] = True


def utcnow() -> datetime:
    """Now, timezone-aware UTC. Used as a *callable* column default (never evaluated at import)."""
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Timestamps stored in UTC and always returned timezone-aware.

    SQLite keeps no offset, so values come back naive; this restores UTC on read and
    refuses naive datetimes on write, so a local time can never slip in unnoticed.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)

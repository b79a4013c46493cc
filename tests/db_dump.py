"""What an attacker with the database would read: the SQLite file bytes (with its -wal and
-journal) or, on PostgreSQL, every row of every table cast to text."""
from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from app.extensions import db


def raw_database_bytes() -> bytes:
    """Call inside an app context, after the requests under test have committed."""
    engine = db.engine
    if engine.dialect.name == "sqlite":
        path = Path(engine.url.database)
        files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-journal")]
        return b"".join(f.read_bytes() for f in files if f.exists())
    rows: list[str] = []
    with engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            rows += [r[0] for r in conn.execute(sa.text(f'SELECT t::text FROM "{table.name}" AS t'))]
    return "\n".join(rows).encode()


def assert_secrets_absent(haystack: bytes | str, secrets: dict[str, str]) -> None:
    """No secret appears, as text or hex-encoded (PostgreSQL prints bytea as \\x…hex)."""
    data = haystack.encode() if isinstance(haystack, str) else haystack
    lowered = data.lower()
    for name, secret in secrets.items():
        assert secret, name
        assert secret.encode() not in data, f"{name} found in plain text"
        assert secret.encode().hex().encode() not in lowered, f"{name} found hex-encoded"

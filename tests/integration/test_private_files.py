"""Files other local users must not read are created 0600 (folders 0700): the SQLite
database and its -wal/-shm, the mail outbox's .eml files (they carry one-time links),
and the secrets generated into instance/. Created so from the first byte, whatever
the umask."""
import os
import stat

import pytest
import sqlalchemy as sa

from app import create_app
from app.extensions import db
from app.models import Workspace
from app.services import mail
from tests.conftest import base_overrides


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def permissive_umask():
    """The most careless umask there is: anything we create is private only on purpose."""
    old = os.umask(0)
    yield
    os.umask(old)


def test_sqlite_database_and_its_wal_and_shm_are_0600(tmp_path, permissive_umask):
    folder = tmp_path / "data"
    path = folder / "app.sqlite3"
    app = create_app(base_overrides(tmp_path, DATABASE_URL=f"sqlite:///{path}"))
    with app.app_context():
        db.create_all()
        db.session.add(Workspace(name="Brass Studio"))
        db.session.commit()
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
            assert (folder / "app.sqlite3-wal").exists() and (folder / "app.sqlite3-shm").exists()
            for name in ("app.sqlite3", "app.sqlite3-wal", "app.sqlite3-shm"):
                assert mode(folder / name) == 0o600, name
        db.engine.dispose()
    assert mode(folder) == 0o700


def test_existing_database_file_is_left_as_the_operator_set_it(tmp_path):
    path = tmp_path / "existing.sqlite3"
    path.touch(mode=0o640)
    os.chmod(path, 0o640)
    app = create_app(base_overrides(tmp_path, DATABASE_URL=f"sqlite:///{path}"))
    with app.app_context():
        db.engine.dispose()
    assert mode(path) == 0o640


def test_outbox_messages_are_0600_in_a_0700_folder(app, permissive_umask):
    outbox = app.config["MAIL_OUTBOX_DIR"]
    mail.send_one(_plain_message("someone@example.com"))
    files = sorted(os.listdir(outbox))
    assert len(files) == 1 and files[0].endswith(".eml")
    assert mode(os.path.join(outbox, files[0])) == 0o600
    assert mode(outbox) == 0o700


def _plain_message(to: str):
    from flask_mail import Message

    return Message(subject="Hello", recipients=[to], body="Your one-time link: https://lt.example/x/secret",
                   sender="Logic Target <reports@logic-target.local>")


def test_instance_secrets_are_0600_in_a_0700_folder(tmp_path, permissive_umask):
    from config import load_config

    instance = tmp_path / "instance"
    with pytest.warns(UserWarning):
        load_config({"APP_ENV": "development"}, instance_dir=instance)
    assert mode(instance) == 0o700
    for name in os.listdir(instance):
        assert mode(instance / name) == 0o600, name

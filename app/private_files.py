"""Files only the app's own user may read.

Secrets and keys generated into `instance/`, the SQLite database (and the `-wal`/`-shm`
files SQLite creates next to it, which inherit the database file's mode), and the mail
outbox's `.eml` files (they carry one-time links) are created with mode 0600, their
directories with 0700. They are *created* that way — never created readable and
tightened afterwards — so there is no moment when another local user could open them,
whatever the process umask is (a umask can only take bits away).

Files and directories that already exist keep their mode: an operator may have chosen
it (e.g. a backup group), and this module only decides what it creates.

Pure standard library; imported lazily by `config.py`, so it must not import the app.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(path: str | os.PathLike) -> Path:
    """`path` as a directory, created 0700 (with any missing parents) if it doesn't exist."""
    path = Path(path)
    if not path.is_dir():
        missing = []
        p = path
        while not p.exists():
            missing.append(p)
            p = p.parent
        for d in reversed(missing):
            try:
                d.mkdir(mode=DIR_MODE)
            except FileExistsError:  # another process made it meanwhile
                pass
    return path


def write_private(path: str | os.PathLike, data: bytes) -> Path:
    """Write a new file (0600). Refuses to overwrite or follow a symlink planted at `path`."""
    path = Path(path)
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), FILE_MODE)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return path


def create_once(path: str | os.PathLike, data: bytes) -> bool:
    """Publish `data` at `path` (0600) unless the file exists already; True if we created it.

    Several processes may start at once on a fresh machine (gunicorn workers, a test run
    in parallel): the content is written to a private temporary file first and linked
    into place, so nobody ever reads a half-written file and exactly one writer wins."""
    path = Path(path)
    if path.exists():
        return False
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    write_private(tmp, data)
    try:
        os.link(tmp, path)
        return True
    except FileExistsError:
        return False
    except OSError:  # a filesystem without hard links: create exclusively in place instead
        try:
            write_private(path, data)
            return True
        except FileExistsError:
            return False
    finally:
        tmp.unlink(missing_ok=True)


def touch_private(path: str | os.PathLike) -> Path:
    """Create an empty file (0600) if none exists; an existing file is left as it is."""
    path = Path(path)
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), FILE_MODE)
    except FileExistsError:
        return path
    os.close(fd)
    return path

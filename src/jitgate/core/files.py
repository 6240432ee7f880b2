"""Local files jitgate creates: the data dir (0700) and the SQLite database file (0600).

The SQLite file holds token hashes, people's names and the audit log; the data dir holds it and
the demo's tokens. Both are created private to the account running jitgate, whatever the umask.
SQLite gives its journal and WAL files the database file's permissions. A directory or file that
already exists is left as it is (the operator may have chosen its permissions on purpose).
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import make_url

DIR_MODE = 0o700
FILE_MODE = 0o600


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) with mode 0700; an existing directory is kept."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for directory in reversed(missing):
        directory.mkdir(mode=DIR_MODE, exist_ok=True)
        directory.chmod(DIR_MODE)  # mkdir's mode is filtered by the umask
    return path


def prepare_sqlite_file(url: str) -> None:
    """Create the database file of a SQLite ``url`` with mode 0600 before SQLite opens it."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return
    if database.startswith("file:") or parsed.query.get("mode") == "memory":
        return
    path = Path(database)
    ensure_private_dir(path.parent)
    try:
        descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE)
    except FileExistsError:
        return
    os.close(descriptor)
    path.chmod(FILE_MODE)

"""The node's files are private: the data directory and its keys directory 0700, the SQLite
database and its `-wal`, `-shm` and `-journal` files 0600. They hold restricted notice content,
the audit trail and token hashes.

`denex init` creates the directory and an empty database file with those modes before SQLite
opens it; SQLite then gives the files it makes beside the database (`-wal`, `-shm`,
`-journal`) the database file's own mode, so no later file is ever wider. Every command that
opens a node narrows wider modes it finds (a node made before this rule, a restored backup)
and says which in one warning line (docs/decisions/0020).
"""

import logging
import os
import stat
from pathlib import Path

from sqlalchemy.engine import make_url

from service.errors import ConfigError

DIR_MODE = 0o700
FILE_MODE = 0o600
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")
log = logging.getLogger("denex.files")


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL; None for other databases and in-memory ones."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(str(parsed.database))


def create_database_file(path: Path) -> None:
    """Create an empty database file of mode 0600 for SQLite to fill (an empty file is an
    empty SQLite database); an existing file is left alone."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except FileExistsError:
        pass


def _narrow(path: Path, mode: int, repaired: list[str]) -> None:
    try:
        current = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    if current & ~mode:
        try:
            path.chmod(current & mode)
        except OSError as exc:
            raise ConfigError(
                f"{path} has mode {current:04o} and cannot be made private ({exc.strerror}): "
                f"chmod it {mode:o}"
            ) from exc
        repaired.append(f"{path} {current:04o}->{current & mode:04o}")


def make_private(data_dir: Path, database: Path | None) -> list[str]:
    """Narrow the modes of the data directory, its keys directory, and the SQLite database
    with its side files to 0700/0600; return what was changed."""
    repaired: list[str] = []
    _narrow(data_dir, DIR_MODE, repaired)
    _narrow(data_dir / "keys", DIR_MODE, repaired)
    if database is not None:
        for suffix in ("", *SQLITE_SIDE_FILES):
            _narrow(database.with_name(database.name + suffix), FILE_MODE, repaired)
    if repaired:
        log.warning("made the node's files private: %s", ", ".join(repaired))
    return repaired

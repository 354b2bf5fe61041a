"""The question log's hashing key and private files.

The key is made at random on first use and kept beside the database, readable only by its
owner; files and folders of the log are created owner-only before anything is written.
Failure: a key file too short to be a key raises ValueError naming it (delete it to make a new one).
"""

from __future__ import annotations

import logging
import os
import secrets
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)


def load_or_create_key(key_path: Path) -> bytes:
    """The log's hashing key from `key_path`, made (random, owner-only) on first use.

    A new key is written to a temporary file and linked into place, so a crash or a
    second process starting at the same moment never leaves an empty or different key.
    """
    if not key_path.exists():
        fd, temp_name = tempfile.mkstemp(prefix=".key-", dir=key_path.parent)  # mode 0600
        try:
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(secrets.token_hex(32) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.link(temp_name, key_path)
            log.info("made a new key for hashing IDs in the question log: %s", key_path)
        except FileExistsError:
            pass  # another process made it first: use theirs
        finally:
            os.unlink(temp_name)
    mode = key_path.stat().st_mode & 0o777
    if mode & 0o077:
        log.warning("the question log key %s was readable by others; now owner-only", key_path)
        os.chmod(key_path, 0o600)
    key = key_path.read_text(encoding="ascii").strip()
    if len(key) < 32:
        raise ValueError(f"{key_path} does not hold a usable key; delete it to make a new one")
    return key.encode("ascii")


def key_path_for(db_path: Path) -> Path:
    return db_path.with_name(db_path.stem + ".key")


def create_private_folder(folder: Path) -> None:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)


def create_private_file(path: Path) -> None:
    """Create the database file owner-only before SQLite opens it (SQLite would use the umask)."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass

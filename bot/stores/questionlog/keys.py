"""The question log's hashing key and private files.

The key is made at random on first use and kept beside the database, readable only by its
owner; files and folders of the log are created owner-only before anything is written.
Failure: a key file too short to be a key raises ValueError naming it (delete it to make a new one).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from bot.key_files import load_or_create_key_file

log = logging.getLogger(__name__)


def load_or_create_key(key_path: Path) -> bytes:
    """The log's hashing key from `key_path`, made (random, owner-only) on first use.

    A new key is written to a temporary file and linked into place, so a crash or a
    second process starting at the same moment never leaves an empty or different key.
    """
    key = load_or_create_key_file(key_path, "made a new key for hashing IDs in the question log: %s")
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

"""Random keys kept in owner-only files: made once, then read by every process that needs them.

A new key is written to a temporary file and linked into place, so a crash, or a second process
starting at the same moment, never leaves an empty key or two different ones (the loser of the
race uses the winner's). A key file readable by others is made owner-only, with a warning.
"""

from __future__ import annotations

import logging
import os
import secrets
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)


def load_or_create_key_file(key_path: Path, made_message: str) -> str:
    """The text kept in `key_path` (stripped), first making it (64 random hex digits) if it does
    not exist; `made_message` is logged with the path when a new key is made."""
    if not key_path.exists():
        fd, temp_name = tempfile.mkstemp(prefix=".key-", dir=key_path.parent)  # mode 0600
        try:
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(secrets.token_hex(32) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.link(temp_name, key_path)
            log.info(made_message, key_path)
        except FileExistsError:
            pass  # another process made it first: use theirs
        finally:
            os.unlink(temp_name)
    if key_path.stat().st_mode & 0o077:
        log.warning("the key file %s was readable by others; now owner-only", key_path)
        os.chmod(key_path, 0o600)
    return key_path.read_text(encoding="utf-8", errors="replace").strip()

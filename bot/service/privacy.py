"""Turning platform identifiers into opaque keys with the deployment's one secret.

Every hash of a platform ID (rate-limit keys, answered-event keys, job entries, the question
log) is an HMAC-SHA256 keyed by one secret per deployment: `QABOT_SECRET`, or a random key
made on first use in a key file (`load_or_create_secret`). No key is fixed in the code, so
without the secret nobody can tell which account a stored key belongs to.

Replicas must share the secret, or each would count a user's rate limit under another key.
They compare `secret_fingerprint(secret)`: a keyed hash of a fixed label, which shows whether
two keys are the same without revealing either (a fingerprint cannot be turned back into the
key, nor used to hash IDs). Shared stores record it (Redis, the question log's database) and a
replica whose fingerprint differs refuses to start.

Failure behaviour: a key file that cannot be made or read raises OSError; one too short to be a
key raises ValueError naming the file (delete it to make a new one). Nothing here logs a key.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from pathlib import Path
from typing import Callable

from bot.key_files import load_or_create_key_file

log = logging.getLogger(__name__)

MIN_SECRET_CHARS = 32
"""A key file or QABOT_SECRET shorter than this is refused: 32 hex digits are 128 bits."""

_FINGERPRINT_LABEL = b"qabot deployment secret fingerprint v1"


def user_key(platform: str, raw_id: str, secret: bytes) -> str:
    """A keyed hash of a platform user (or channel) ID: stable, but not reversible."""
    return keyed_hash(secret, f"{platform}:{raw_id}")


def keyed_hash(secret: bytes, text: str) -> str:
    """HMAC-SHA256 of `text` under `secret`, as 32 hex digits (128 bits: no collisions in practice)."""
    if not secret:
        raise ValueError("hashing an ID needs the deployment secret; none was given")
    return hmac.new(secret, text.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:32]


def secret_fingerprint(secret: bytes) -> str:
    """What replicas compare to know they share one secret: equal for equal keys, and it reveals
    nothing of the key (nor hashes any ID). Stores record this, never the key."""
    return keyed_hash(secret, _FINGERPRINT_LABEL.decode("ascii"))


def check_secret_text(text: str, where: str) -> bytes:
    """The key in `text` (QABOT_SECRET or a key file's content) as bytes; ValueError when too short."""
    key = text.strip()
    if len(key) < MIN_SECRET_CHARS:
        raise ValueError(
            f"{where} is too short to be a key (at least {MIN_SECRET_CHARS} characters; "
            "for example: python3 -c 'import secrets; print(secrets.token_hex(32))')"
        )
    return key.encode("utf-8")


def load_or_create_secret(key_path: Path) -> bytes:
    """The deployment secret kept in `key_path`, made (random, owner-only) on first use.

    The folder is created owner-only (0700). A new key is written to a temporary file and linked
    into place, so a crash, or a second process starting at the same moment, never leaves an
    empty key or two different ones. A key file readable by others is made owner-only.
    """
    key_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    made = "made a new deployment secret (for hashing IDs) in %s; give every replica the same one"
    return check_secret_text(load_or_create_key_file(key_path, made), str(key_path))



def event_key_hasher(secret: bytes) -> Callable[[str], str]:
    """What the stores hash an event key with (a platform event ID, a channel and timestamp)."""
    return lambda event_key: keyed_hash(secret, f"event:{event_key}")

"""Turning platform identifiers into opaque keys, so no raw user ID is kept anywhere."""

from __future__ import annotations

import hashlib
import hmac


DEFAULT_ID_SECRET = b"qabot"
"""The key today's deployments hash IDs with; a per-deployment secret replaces it (issue 15)."""


def user_key(platform: str, raw_id: str, secret: bytes = DEFAULT_ID_SECRET) -> str:
    """A keyed hash of a platform user (or channel) ID: stable, but not reversible."""
    message = f"{platform}:{raw_id}".encode("utf-8")
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:32]

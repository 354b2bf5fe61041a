"""Turning platform identifiers into opaque keys, so no raw user ID is kept anywhere."""

from __future__ import annotations

import hashlib
import hmac


def user_key(platform: str, raw_id: str, secret: bytes = b"qabot") -> str:
    """A keyed hash of a platform user (or channel) ID: stable, but not reversible."""
    message = f"{platform}:{raw_id}".encode("utf-8")
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:32]

"""Whether a string is a web address qabot may fetch, store or link: the one check for all of them."""

from __future__ import annotations

from urllib.parse import urlsplit


def is_web_address(url: str) -> bool:
    """True for an absolute http(s) URL with a host name and no whitespace; never raises
    (a malformed address such as "http://[::1" is simply not one)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(host) and not any(c.isspace() for c in url)

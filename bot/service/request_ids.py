"""An opaque ID for each request (a question, a vote), carried by every log line made while it runs.

The ID is random (12 hex digits): it ties the lines of one request together, and to nothing
else (no user, channel or message ID is in it or derived from it). It lives in a context
variable, so threads and asyncio tasks each see their own; `logging_setup` adds it to the
lines it writes.
"""

from __future__ import annotations

import contextlib
import contextvars
import secrets
from typing import Iterator

_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("qabot_request_id", default=None)


def current_request_id() -> str | None:
    return _current.get()


@contextlib.contextmanager
def request_scope() -> Iterator[str]:
    """A request ID for the lines logged inside; an enclosing request's ID is kept, not replaced."""
    existing = _current.get()
    if existing is not None:
        yield existing
        return
    token = _current.set(secrets.token_hex(6))
    try:
        yield _current.get() or ""
    finally:
        _current.reset(token)

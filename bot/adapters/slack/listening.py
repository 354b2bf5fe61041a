"""The HTTP mode's listening socket, bound as the very first thing `qabot slack --http` does.

Bound and listening right after the settings are read, before the Slack libraries load, the
tokens are checked with Slack and the question service is built (about a second): from then on
the kernel completes Slack's connections and queues them (up to `BACKLOG`), and the server
answers them as soon as it is up, instead of their being refused meanwhile. Standard library
only, so binding costs nothing but Python's own start.

Failure behaviour: a host or port that cannot be bound (in use, not allowed, no such address)
raises `SetupError` naming them and the reason, in one line.
"""

from __future__ import annotations

import socket

from bot.errors import SetupError

BACKLOG = 1024
"""Connections the kernel queues before the server accepts them: Slack can deliver a burst at
once, and during start-up every request waits here (the default of 5 would refuse them)."""


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to host:port (0: a free port) and listening; SetupError if it cannot be."""
    try:
        # SO_REUSEADDR (create_server sets it): a restart binds at once, as the standard server did.
        return socket.create_server((host, port), backlog=BACKLOG)
    except OSError as exc:
        # create_server adds "(while attempting to bind on address ...)": the address is named already.
        reason = (exc.strerror or str(exc)).split(" (while attempting")[0]
        raise SetupError(f"cannot listen on {host}:{port}: {reason}") from None

"""Platform mentions taken out of a question before it is logged: they carry raw user, role and channel IDs."""

from __future__ import annotations

import re

# Platform mention markup carries raw user, role and channel IDs.
_MENTIONS = (
    (re.compile(r"<@[!&]?\d+>"), "@someone"),  # Discord user or role
    (re.compile(r"<#\d+>"), "#channel"),  # Discord channel
    (re.compile(r"<@[UWB][A-Z0-9]+(?:\|[^>]*)?>"), "@someone"),  # Slack user
    (re.compile(r"<#C[A-Z0-9]+(?:\|[^>]*)?>"), "#channel"),  # Slack channel
    (re.compile(r"<!subteam\^[A-Z0-9]+(?:\|[^>]*)?>"), "@group"),  # Slack user group
)


def redact_mentions(text: str) -> str:
    for pattern, replacement in _MENTIONS:
        text = pattern.sub(replacement, text)
    return text

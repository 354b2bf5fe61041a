"""Reading a bot's /healthz, /readyz and /metrics as a monitoring system does (plain HTTP GETs)."""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass


@dataclass(frozen=True)
class Reply:
    status: int
    body: str
    content_type: str


def get(url: str, timeout: float = 5.0) -> Reply:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return Reply(response.status, response.read().decode("utf-8"), response.headers.get("Content-Type", ""))
    except urllib.error.HTTPError as error:  # 503 and 404 carry a body too
        return Reply(error.code, error.read().decode("utf-8"), error.headers.get("Content-Type", ""))


def wait_until_ready(base_url: str, timeout: float = 30.0) -> Reply:
    """/readyz once it answers 200 (or the last answer when it never did)."""
    deadline = time.monotonic() + timeout
    while True:
        reply = get(base_url + "/readyz")
        if reply.status == 200 or time.monotonic() > deadline:
            return reply
        time.sleep(0.1)


def metric(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample in Prometheus text, or None when it is not there."""
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        found = re.fullmatch(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)", line)
        if not found or found.group(1) != name:
            continue
        have = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', found.group(2) or ""))
        if all(have.get(key) == value for key, value in labels.items()):
            return float(found.group(3))
    return None

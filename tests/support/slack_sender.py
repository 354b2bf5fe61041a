"""Plays Slack delivering a burst of events: signs each request body and sends them all at once.

    SLACK_SIGNING_SECRET=... python -m tests.support.slack_sender URL BODIES.json [--concurrency N]

BODIES.json is a JSON list of event bodies (as Slack would send them). Each is signed with
the signing secret from the environment (never an argument: it would show in the process
list), then all are posted concurrently to URL over at most N connections (default: all at
once). Prints one JSON object: per request its index, HTTP status, when it was sent
(time.monotonic, which is system-wide on Linux) and how long its acknowledgement took. This is the "second process" of the load tests
(`benchmarks.load`, `tests/test_load.py`); it runs against 127.0.0.1 only in those.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from typing import Any

import aiohttp
from slack_sdk.signature import SignatureVerifier

REQUEST_TIMEOUT_SECONDS = 30


def signed_requests(bodies: list[dict[str, Any]], signing_secret: str) -> list[tuple[bytes, dict[str, str]]]:
    """Each body as Slack sends it: JSON, with its timestamp and signature headers."""
    verifier = SignatureVerifier(signing_secret)
    requests = []
    for body in bodies:
        raw = json.dumps(body)
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": verifier.generate_signature(timestamp=stamp, body=raw) or "",
        }
        requests.append((raw.encode("utf-8"), headers))
    return requests


async def send_all(url: str, requests: list[tuple[bytes, dict[str, str]]], concurrency: int) -> dict[str, Any]:
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS)
    # At most `concurrency` requests in flight; a request's clock starts when it is sent, as
    # Slack's 3 seconds do, not while it waits here for its turn.
    slots = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def send(index: int, data: bytes, headers: dict[str, str]) -> dict[str, Any]:
            async with slots:
                return await send_now(index, data, headers)

        async def send_now(index: int, data: bytes, headers: dict[str, str]) -> dict[str, Any]:
            started_at = time.monotonic()  # system-wide on Linux: the caller compares it with its own
            started = time.perf_counter()
            try:
                async with session.post(url, data=data, headers=headers) as response:
                    await response.read()
                    status = response.status
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                status = 0  # no HTTP answer at all
                print(f"request {index}: {type(exc).__name__}", file=sys.stderr)
            ack_ms = (time.perf_counter() - started) * 1000
            return {"index": index, "status": status, "started": started_at, "ack_ms": ack_ms}

        started = time.perf_counter()
        results = await asyncio.gather(*(send(i, data, headers) for i, (data, headers) in enumerate(requests)))
        return {"seconds": time.perf_counter() - started, "requests": results}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="the app's /slack/events URL")
    parser.add_argument("bodies", help="JSON file: a list of event bodies")
    parser.add_argument("--concurrency", type=int, default=0, help="most connections at once (default: one per body)")
    args = parser.parse_args(argv)
    secret = os.environ.get("SLACK_SIGNING_SECRET", "")
    if not secret:
        print("slack_sender: SLACK_SIGNING_SECRET is not set", file=sys.stderr)
        return 2
    with open(args.bodies, encoding="utf-8") as handle:
        bodies = json.load(handle)
    requests = signed_requests(bodies, secret)
    report = asyncio.run(send_all(args.url, requests, args.concurrency or len(requests)))
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())

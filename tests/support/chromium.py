"""A real browser for tests: Debian's headless Chromium, driven over the DevTools protocol.

Chromium starts with networking off in every way it has (no background networking, a proxy
that goes nowhere, every host name unresolvable) and a throwaway profile; the test talks to it
over its DevTools websocket (aiohttp's client, already a dependency), records every request the
page makes, measures elements, and takes a screenshot. Without a `chromium` binary the test is
skipped, except in CI (CI=true), where it fails: CI installs it (`.ci/run`).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.support.processes import ends_with_the_tests

BINARIES = ("chromium", "chromium-browser")


def chromium_binary() -> str:
    """The Chromium path; skips the test (fails it in CI) when it is not installed."""
    for name in BINARIES:
        found = shutil.which(name)
        if found:
            return found
    message = "needs Debian's chromium (apt-get install chromium); .ci/run installs it"
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@dataclass
class LoadedPage:
    requests: list[str] = field(default_factory=list)
    """Every URL the page asked for after the page itself (none, for a self-contained page)."""
    failed: list[str] = field(default_factory=list)
    value: Any = None
    """What the measuring expression returned."""
    screenshot: Path | None = None


def load_in_chromium(url: str, measure: str, profile: Path, screenshot: Path, timeout: float = 60) -> LoadedPage:
    """Open `url` in headless Chromium, evaluate the JavaScript expression `measure` once the page
    has loaded (its JSON-able value comes back), and save a full-page PNG to `screenshot`."""
    binary = chromium_binary()
    profile.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--no-first-run",
            "--no-default-browser-check",
            f"--user-data-dir={profile}",
            "--remote-debugging-port=0",
            "--remote-debugging-address=127.0.0.1",
            "--proxy-server=127.0.0.1:9",  # nothing listens there: any request would fail, and be seen
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--window-size=1000,900",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=ends_with_the_tests,
    )
    try:
        port = _devtools_port(profile, process, timeout)
        return asyncio.run(asyncio.wait_for(_drive(port, url, measure, screenshot), timeout))
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def _devtools_port(profile: Path, process: subprocess.Popen[bytes], timeout: float) -> int:
    marker = profile / "DevToolsActivePort"  # Chromium writes its port here when it listens
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"chromium exited with status {process.returncode}")
        if marker.is_file():
            lines = marker.read_text().split()
            if lines:
                return int(lines[0])
        time.sleep(0.1)
    raise RuntimeError("chromium did not open its DevTools port")


async def _drive(port: int, url: str, measure: str, screenshot: Path) -> LoadedPage:
    page = LoadedPage()
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{port}/json/list") as response:
            targets = await response.json()
        target = next(t for t in targets if t.get("type") == "page")
        async with http.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0) as ws:
            ids = iter(range(1, 1_000_000))
            loaded = asyncio.Event()
            waiting: dict[int, asyncio.Future[Any]] = {}
            navigated: list[str] = []

            async def listen() -> None:
                async for message in ws:
                    data = json.loads(message.data)
                    if "id" in data and data["id"] in waiting:
                        waiting.pop(data["id"]).set_result(data)
                    elif data.get("method") == "Network.requestWillBeSent":
                        requested = data["params"]["request"]["url"]
                        if requested == url and not navigated:
                            navigated.append(requested)  # the page itself
                        else:
                            page.requests.append(requested)
                    elif data.get("method") == "Network.loadingFailed":
                        page.failed.append(data["params"].get("errorText", ""))
                    elif data.get("method") == "Page.loadEventFired":
                        loaded.set()

            async def call(method: str, **params: Any) -> Any:
                number = next(ids)
                future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
                waiting[number] = future
                await ws.send_str(json.dumps({"id": number, "method": method, "params": params}))
                reply = await future
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

            listener = asyncio.create_task(listen())
            await call("Network.enable")
            await call("Page.enable")
            await call("Page.navigate", url=url)
            await loaded.wait()
            await asyncio.sleep(0.5)  # anything the page would fetch after load has asked by now
            result = await call("Runtime.evaluate", expression=measure, returnByValue=True)
            page.value = result.get("result", {}).get("value")
            shot = await call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
            screenshot.write_bytes(base64.b64decode(shot["data"]))
            page.screenshot = screenshot
            listener.cancel()
    return page

"""A local stand-in for Slack: its Web API, slash-command response URLs and the Socket Mode websocket.

Tests point the app at it with QABOT_SLACK_API_URL (`FakeSlack.api_url`). It
listens on 127.0.0.1 only, on a free port, in a background thread, and records
every call it receives. Like Slack it checks tokens (`invalid_auth` for any
other) and rejects messages over Block Kit's limits, so a test cannot pass
with a reply that real Slack would refuse. Failures can be scripted per method
(`fail_next`): an error code, an HTTP status, a Retry-After header.

Socket Mode: `apps.connections.open` returns the URL of a websocket here that
greets each connection with `hello`; `send_envelope` delivers an envelope to
the connected client and `wait_for_ack` waits for the client's acknowledgement.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

BOT_TOKEN = "xoxb-1111-2222-fakebottoken"
APP_TOKEN = "xapp-1-A0FAKEAPP-3333-fakeapptoken"
SIGNING_SECRET = "8f742231b10e8888abcd990ab12c85a5"
BOT_USER_ID = "U0QABOTBOT"
BOT_ID = "B0QABOTBOT"
TEAM_ID = "T0FAKETEAM"
API_APP_ID = "A0FAKEAPP"

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_CONTEXT_ELEMENTS = 10
MAX_TEXT = 40000
MAX_ACTION_ELEMENTS = 25
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000


@dataclass(frozen=True)
class RecordedCall:
    """One request the fake received."""

    method: str
    """The Web API method ("chat.postMessage"), or "response_url" for a slash-command response."""
    params: dict[str, Any]
    """The arguments, from a JSON or form body and the query string; `blocks` is decoded."""
    token: str | None
    """The bearer token it carried."""
    status: int
    """The HTTP status the fake answered with."""
    error: str | None
    """The `error` the fake answered with, or None for a successful call."""
    at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class ScriptedFailure:
    """How the next call(s) to a method fail."""

    status: int = 200
    error: str = "internal_error"
    retry_after: int | None = None


def block_kit_problems(params: dict[str, Any]) -> list[str]:
    """What real Slack would refuse in a chat.postMessage or response payload (the limits we rely on)."""
    problems = []
    text = params.get("text") or ""
    if len(text) > MAX_TEXT:
        problems.append(f"text is {len(text)} characters")
    blocks = params.get("blocks") or []
    if len(blocks) > MAX_BLOCKS:
        problems.append(f"{len(blocks)} blocks")
    for number, block in enumerate(blocks):
        kind = block.get("type")
        if kind == "section":
            section_text = block.get("text", {}).get("text", "")
            if not section_text or len(section_text) > MAX_SECTION_TEXT:
                problems.append(f"block {number}: section text of {len(section_text)} characters")
        elif kind == "context":
            elements = block.get("elements", [])
            if not elements or len(elements) > MAX_CONTEXT_ELEMENTS:
                problems.append(f"block {number}: {len(elements)} context elements")
            for element in elements:
                if len(element.get("text", "")) > MAX_SECTION_TEXT:
                    problems.append(f"block {number}: context text of {len(element['text'])} characters")
        elif kind == "actions":
            elements = block.get("elements", [])
            if not elements or len(elements) > MAX_ACTION_ELEMENTS:
                problems.append(f"block {number}: {len(elements)} action elements")
            action_ids = [element.get("action_id") for element in elements]
            if len(set(action_ids)) != len(action_ids):
                problems.append(f"block {number}: repeated action_id")
            for element in elements:
                label = element.get("text", {})
                if element.get("type") != "button" or label.get("type") != "plain_text":
                    problems.append(f"block {number}: not a plain-text button")
                elif not label.get("text") or len(label["text"]) > MAX_BUTTON_TEXT:
                    problems.append(f"block {number}: button text of {len(label.get('text', ''))} characters")
                if len(element.get("value", "")) > MAX_BUTTON_VALUE or len(element.get("action_id", "")) > 255:
                    problems.append(f"block {number}: button value or action_id too long")
        elif kind != "divider":
            problems.append(f"block {number}: unexpected type {kind!r}")
    return problems


class FakeSlack:
    """Start with `with FakeSlack() as slack:`; everything listens on 127.0.0.1 with a free port."""

    def __init__(
        self,
        bot_token: str = BOT_TOKEN,
        app_token: str = APP_TOKEN,
        bot_user_id: str = BOT_USER_ID,
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.bot_user_id = bot_user_id
        self._calls: list[RecordedCall] = []
        self._acks: list[dict[str, Any]] = []
        self._failures: dict[str, deque[ScriptedFailure]] = {}
        self._held: dict[str, threading.Event] = {}
        """Methods whose calls wait for their event before they are answered (`hold`)."""
        self._changed = threading.Condition()
        self._ts = itertools.count(1)
        self._posted: dict[str, list[dict[str, Any]]] = {}
        """Every message the bot posted, per channel, as conversations.replies/history return them."""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fake-slack", daemon=True)
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._sockets: set[web.WebSocketResponse] = set()
        self._transports: dict[web.WebSocketResponse, asyncio.BaseTransport | None] = {}
        self._outbox: asyncio.Queue[dict[str, Any]] | None = None
        self.socket_connections = 0

    # ------------------------------------------------------------ life cycle

    def start(self) -> "FakeSlack":
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)
        return self

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def __enter__(self) -> "FakeSlack":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def api_url(self) -> str:
        """What QABOT_SLACK_API_URL is set to."""
        return f"{self.base_url}/api/"

    def response_url(self, name: str = "1") -> str:
        """A slash command's response_url, answered by this fake."""
        return f"{self.base_url}/commands/{TEAM_ID}/{name}/fake"

    # ------------------------------------------------------------ what tests read

    def calls(self, method: str | None = None) -> list[RecordedCall]:
        with self._changed:
            return [c for c in self._calls if method is None or c.method == method]

    def wait_for_calls(self, method: str, count: int = 1, timeout: float = 10.0) -> list[RecordedCall]:
        """The first `count` calls to `method`, waiting up to `timeout` seconds for them."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                matching = [c for c in self._calls if c.method == method]
                if len(matching) >= count:
                    return matching[:count]
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [c.method for c in self._calls]
                    raise AssertionError(f"expected {count} {method} call(s) within {timeout}s; got {seen}")
                self._changed.wait(left)

    def assert_no_more_calls(self, method: str, expected: int, quiet_seconds: float = 1.0) -> None:
        """Wait `quiet_seconds` and check that `method` was still called exactly `expected` times."""
        deadline = time.monotonic() + quiet_seconds
        with self._changed:
            while (left := deadline - time.monotonic()) > 0:
                self._changed.wait(left)
            count = sum(1 for c in self._calls if c.method == method)
        assert count == expected, f"{method} was called {count} times, expected {expected}"

    def fail_next(
        self,
        method: str,
        *,
        error: str = "internal_error",
        status: int = 200,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Make the next `times` calls to `method` fail as Slack would."""
        with self._changed:
            queue = self._failures.setdefault(method, deque())
            queue.extend([ScriptedFailure(status, error, retry_after)] * times)

    def hold(self, method: str) -> Callable[[], None]:
        """Make calls to `method` wait (unanswered) until the returned function is called."""
        released = threading.Event()
        with self._changed:
            self._held[method] = released
        return released.set

    def stop_failing(self, method: str) -> None:
        """Forget the failures still planned for `method`."""
        with self._changed:
            self._failures.pop(method, None)

    # ------------------------------------------------------------ Socket Mode

    def send_envelope(self, envelope: dict[str, Any]) -> None:
        """Deliver an envelope to the connected Socket Mode client (or the next one to connect)."""
        self._loop.call_soon_threadsafe(self._queue_envelope, envelope)

    def wait_for_ack(self, envelope_id: str, timeout: float = 10.0) -> dict[str, Any]:
        """The client's acknowledgement of `envelope_id`."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for ack in self._acks:
                    if ack.get("envelope_id") == envelope_id:
                        return ack
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"envelope {envelope_id} was not acknowledged within {timeout}s")
                self._changed.wait(left)

    def drop_socket_connections(self, *, abrupt: bool = False) -> None:
        """Close every Socket Mode websocket from the server side at once, with no `disconnect` warning.

        By default with a close frame (not waiting for the client's reply); `abrupt` cuts the
        TCP connection without one, as a failing network does.
        """
        asyncio.run_coroutine_threadsafe(self._close_sockets(abrupt), self._loop).result(timeout=10)

    def refresh_socket_connections(self, grace_seconds: float = 5.0) -> None:
        """What Slack does every few hours: send `disconnect` (refresh_requested) on each open
        websocket, and close it once the client has opened a new one (or after `grace_seconds`)."""
        asyncio.run_coroutine_threadsafe(self._refresh_sockets(grace_seconds), self._loop).result(timeout=10)

    def wait_for_socket_connections(self, count: int, timeout: float = 10.0) -> None:
        """Wait until `count` websocket connections have been opened in all (reconnections included)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self.socket_connections < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{self.socket_connections} connection(s) after {timeout}s, expected {count}")
                self._changed.wait(left)

    def acks(self) -> list[dict[str, Any]]:
        with self._changed:
            return list(self._acks)

    # ------------------------------------------------------------ the server

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/api/{method}", self._web_api)
        app.router.add_get("/api/{method}", self._web_api)  # slack_sdk reads conversations with GET
        app.router.add_post("/commands/{team}/{name}/{secret}", self._response_url)
        app.router.add_get("/link", self._websocket)
        self._outbox = asyncio.Queue()
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = self._runner.addresses[0][1]

    async def _refresh_sockets(self, grace_seconds: float) -> None:
        old = list(self._sockets)
        opened_before = self.socket_connections
        for ws in old:
            await ws.send_json(
                {"type": "disconnect", "reason": "refresh_requested", "debug_info": {"host": "fake-slack"}}
            )

        async def close_when_replaced() -> None:
            deadline = time.monotonic() + grace_seconds
            while self.socket_connections == opened_before and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            for ws in old:
                await ws.close()

        asyncio.ensure_future(close_when_replaced())

    async def _close_sockets(self, abrupt: bool = False) -> None:
        for ws in list(self._sockets):
            transport = self._transports.get(ws)
            if abrupt and transport is not None:
                transport.abort()
            else:
                # ws.close() waits up to its timeout for the client's reply to the close frame,
                # which slack_sdk's client never sends; the frame itself goes out at once.
                asyncio.ensure_future(ws.close())
            self._sockets.discard(ws)
        await asyncio.sleep(0.05)

    async def _stop(self) -> None:
        await self._close_sockets()
        assert self._runner is not None
        await self._runner.cleanup()

    def _record(self, call: RecordedCall) -> None:
        with self._changed:
            self._calls.append(call)
            self._changed.notify_all()

    def _scripted_failure(self, method: str) -> ScriptedFailure | None:
        with self._changed:
            queue = self._failures.get(method)
            return queue.popleft() if queue else None

    async def _web_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        released = self._held.get(method)
        while released is not None and not released.is_set():
            await asyncio.sleep(0.01)  # held (`hold`): the caller waits, as on a slow Slack
        params = await _read_params(request)
        token = _bearer_token(request) or params.pop("token", None)
        status, body, headers = self._answer(method, params, token)
        self._record(RecordedCall(method, params, token, status, None if body.get("ok") else body.get("error")))
        return web.json_response(body, status=status, headers=headers)

    def _answer(
        self, method: str, params: dict[str, Any], token: str | None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        failure = self._scripted_failure(method)
        if failure is not None:
            headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
            return failure.status, {"ok": False, "error": failure.error}, headers
        expected = self.app_token if method == "apps.connections.open" else self.bot_token
        if not token:
            return 200, {"ok": False, "error": "not_authed"}, {}
        if token != expected:
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        if method == "auth.test":
            return (
                200,
                {
                    "ok": True,
                    "url": "https://fake.slack.test/",
                    "team": "Fake Team",
                    "user": "qabot",
                    "team_id": TEAM_ID,
                    "user_id": self.bot_user_id,
                    "bot_id": BOT_ID,
                    "is_enterprise_install": False,
                },
                {},
            )
        if method == "apps.connections.open":
            return 200, {"ok": True, "url": f"ws://127.0.0.1:{self._port}/link?ticket=fake-ticket"}, {}
        if method == "chat.postMessage":
            if not params.get("channel"):
                return 200, {"ok": False, "error": "channel_not_found"}, {}
            problems = block_kit_problems(params)
            if problems:
                return 200, {"ok": False, "error": "invalid_blocks", "errors": problems}, {}
            ts = f"{int(time.time())}.{next(self._ts):06d}"
            message = {"type": "message", "bot_id": BOT_ID, "user": self.bot_user_id, "ts": ts}
            message.update({k: params[k] for k in ("text", "blocks", "thread_ts") if k in params and params[k]})
            if isinstance(params.get("metadata"), dict):
                message["metadata"] = params["metadata"]
            with self._changed:
                self._posted.setdefault(params["channel"], []).append(message)
            return 200, {"ok": True, "channel": params["channel"], "ts": ts, "message": message}, {}
        if method == "chat.getPermalink":
            channel, ts = params.get("channel"), params.get("message_ts")
            if not channel or not ts:
                return 200, {"ok": False, "error": "message_not_found"}, {}
            link = f"https://fake.slack.test/archives/{channel}/p{str(ts).replace('.', '')}"
            return 200, {"ok": True, "channel": channel, "permalink": link}, {}
        if method in ("conversations.replies", "conversations.history"):
            return 200, self._conversation(method, params), {}
        return 200, {"ok": False, "error": "unknown_method"}, {}

    def _conversation(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """The bot's own posts in a thread (replies: `ts` is the thread) or after `oldest` (history),
        with their metadata only when `include_all_metadata` is asked for, as Slack does."""
        with self._changed:
            posted = list(self._posted.get(str(params.get("channel", "")), []))
        if method == "conversations.replies":
            found = [m for m in posted if m.get("thread_ts") == params.get("ts")]
        else:
            oldest = float(params.get("oldest") or 0)
            found = [m for m in posted if "thread_ts" not in m and float(m["ts"]) > oldest]
        if str(params.get("include_all_metadata", "")).lower() not in {"1", "true"}:
            found = [{k: v for k, v in m.items() if k != "metadata"} for m in found]
        return {"ok": True, "messages": found, "has_more": False}

    async def _response_url(self, request: web.Request) -> web.Response:
        params = await _read_params(request)
        failure = self._scripted_failure("response_url")
        if failure is not None:
            status, text = (failure.status if failure.status != 200 else 500), failure.error
        elif block_kit_problems(params):
            status, text = 400, "invalid_blocks"
        else:
            status, text = 200, "ok"
        self._record(RecordedCall("response_url", params, None, status, None if status == 200 else text))
        return web.Response(status=status, text=text)

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.add(ws)
        self._transports[ws] = request.transport
        with self._changed:
            self.socket_connections += 1
            self._changed.notify_all()
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": 1,
                "debug_info": {"host": "fake-slack", "approximate_connection_time": 3600},
                "connection_info": {"app_id": API_APP_ID},
            }
        )
        sender = asyncio.ensure_future(self._deliver_envelopes(ws))
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    with self._changed:
                        self._acks.append(json.loads(message.data))
                        self._changed.notify_all()
        finally:
            sender.cancel()
            self._sockets.discard(ws)
            self._transports.pop(ws, None)
        return ws

    def _queue_envelope(self, envelope: dict[str, Any]) -> None:
        assert self._outbox is not None
        self._outbox.put_nowait(envelope)

    async def _deliver_envelopes(self, ws: web.WebSocketResponse) -> None:
        assert self._outbox is not None
        while not ws.closed:
            envelope = await self._outbox.get()
            if ws.closed or ws not in self._sockets:  # dropped: put it back for the next connection
                self._outbox.put_nowait(envelope)
                return
            await ws.send_json(envelope)


async def _read_params(request: web.Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.query)
    raw = await request.read()
    if raw:
        if request.content_type == "application/json":
            params.update(json.loads(raw))
        else:
            params.update(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
    for name in ("blocks", "metadata"):
        if isinstance(params.get(name), str) and params[name]:
            params[name] = json.loads(params[name])
    return params


def _bearer_token(request: web.Request) -> str | None:
    auth = request.headers.get("Authorization", "")
    return auth[len("Bearer ") :] if auth.startswith("Bearer ") else None


def texts_of(blocks: Iterable[dict[str, Any]]) -> list[str]:
    """Every mrkdwn/plain text in `blocks`, in order: what a person would read."""
    out = []
    for block in blocks:
        if "text" in block:
            out.append(block["text"]["text"])
        for element in block.get("elements", []):
            if "text" in element:
                text = element["text"]
                out.append(text["text"] if isinstance(text, dict) else text)  # a button's label is a text object
    return out

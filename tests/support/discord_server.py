"""A small Discord on 127.0.0.1: the REST routes and the gateway websocket a bot uses.

A real discord.py client logs in, connects and replies against it, so tests
exercise the library's own login, gateway, rate-limit and REST code. The fake
records every request it receives; tests assert on exactly what reached
"Discord". It also plays the people in the server: it posts messages, runs
slash commands and adds or removes reactions by dispatching gateway events
(and accepts the bot's own reactions over REST), and it can answer chosen
requests with a 429 to exercise rate-limit retries.

Its gateway keeps sessions as Discord does: it can close the connection from
its side (`close_gateway`), keeps what it dispatches meanwhile, and on the
bot's RESUME replays every event after the sequence number the bot last saw
(optionally some before it too, as an at-least-once delivery may). Several
bots may connect at once (replicas using one token); each gets every event.

It speaks just enough of Discord API v10 for discord.py 2.7. Quirks it must
match: JSON replies carry `Content-Type: application/json` exactly (with a
charset, discord.py treats the body as text); a 429 carries a `Via` header
(without one, discord.py takes it for a Cloudflare ban and raises); member
objects carry `flags`; interactions carry `attachment_size_limit`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from aiohttp import WSMsgType, web

DISCORD_EPOCH_MS = 1_420_070_400_000
HEARTBEAT_INTERVAL_MS = 41_250
AUTHENTICATION_FAILED = 4004
"""The gateway close code for a token Discord does not accept."""


@dataclass(frozen=True)
class FakeUser:
    id: int
    username: str
    bot: bool = False

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "username": self.username,
            "global_name": self.username,
            "discriminator": "0",
            "avatar": None,
            "bot": self.bot,
            "public_flags": 0,
            "flags": 0,
        }


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request the bot made, and what the fake answered."""

    method: str
    path: str
    """Without the /api/v10 prefix, e.g. /channels/123/messages."""
    query: dict[str, str]
    body: Any
    authorization: str | None
    status: int
    at: float = field(default_factory=time.monotonic)
    """When it arrived (time.monotonic, comparable across processes on one machine)."""

    def is_message_send(self) -> bool:
        """A message the bot posted: to a channel, or as an interaction follow-up."""
        return self.method == "POST" and bool(
            re.fullmatch(r"/channels/\d+/messages|/webhooks/\d+/[^/]+", self.path)
        )


@dataclass
class _PlannedFailure:
    method: str
    path: re.Pattern[str]
    status: int
    retry_after: float
    remaining: int
    every: int = 1
    """Fail every `every`-th matching request (1: each one) until `remaining` are used."""
    seen: int = 0


@dataclass
class _Session:
    """One gateway session: survives its websocket closing, until resumed or forgotten."""

    session_id: str
    socket: web.WebSocketResponse | None
    transport: asyncio.BaseTransport | None = None
    sequence: int = 0
    dispatched: list[dict[str, Any]] = field(default_factory=list)
    """Every DISPATCH payload of this session, for replaying on RESUME."""


@dataclass
class FakeDiscord:
    """Discord for one bot in one server with one text channel, on 127.0.0.1."""

    token: str = "fake-bot-token"
    bot: FakeUser = field(default_factory=lambda: FakeUser(1_100_000_000_000_000_001, "qabot", bot=True))
    application_id: int = 1_100_000_000_000_000_001
    """Like a real bot's, the same as its user ID."""
    guild_id: int = 1_200_000_000_000_000_001
    channel_id: int = 1_300_000_000_000_000_001
    gateway_rejects_token: bool = False
    """Accept the token over REST but close the gateway with 4004, as for a token reset mid-login."""
    requests: list[RecordedRequest] = field(default_factory=list)
    identify_payloads: list[dict[str, Any]] = field(default_factory=list)
    """Every IDENTIFY the bot sent (intents, properties; the token is left out)."""
    resume_payloads: list[dict[str, Any]] = field(default_factory=list)
    """Every RESUME the bot sent (session ID and sequence; the token is left out)."""
    replay_overlap: int = 0
    """On RESUME, also replay this many events the bot had already seen (at-least-once delivery)."""

    def __post_init__(self) -> None:
        self._ids = itertools.count(1)
        self._posted: dict[int, list[dict[str, Any]]] = {}
        """Every message the bot sent, per channel, for reading the channel's history back."""
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._sessions: dict[str, _Session] = {}
        self._failures: list[_PlannedFailure] = []
        self._request_arrived = asyncio.Condition()
        self.session_ready = asyncio.Event()
        """Set once READY and GUILD_CREATE have been sent to an identified bot."""

    # -- life cycle ---------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", "/api/v10/{path:.*}", self._rest)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def close(self) -> None:
        for session in self._sessions.values():
            if session.socket is not None and not session.socket.closed:
                await session.socket.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> "FakeDiscord":
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def api_url(self) -> str:
        """What to put in `discord.http.Route.BASE`."""
        return f"http://127.0.0.1:{self._port}/api/v10"

    @property
    def gateway_url(self) -> str:
        """What to put in `discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY`."""
        return f"ws://127.0.0.1:{self._port}/gateway"

    # -- people in the server -----------------------------------------------

    def user(self, username: str, *, bot: bool = False) -> FakeUser:
        """A member of the server (a new ID each call)."""
        return FakeUser(self.snowflake(), username, bot=bot)

    async def post_message(
        self,
        author: FakeUser,
        content: str,
        *,
        mentions: tuple[FakeUser, ...] = (),
        mention_everyone: bool = False,
        direct: bool = False,
        message_id: int | None = None,
    ) -> dict[str, Any]:
        """`author` posts a message; the bot receives MESSAGE_CREATE.

        Like Discord without the Message Content intent, content reaches the bot only
        for a direct message or one that mentions it; otherwise it arrives empty.
        """
        reaches_bot = direct or any(user.id == self.bot.id for user in mentions) or author.id == self.bot.id
        message = {
            "id": str(message_id or self.snowflake()),
            "channel_id": str(self.dm_channel_id(author) if direct else self.channel_id),
            "author": author.payload(),
            "content": content if reaches_bot else "",
            "timestamp": _now_iso(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": mention_everyone,
            "mentions": [{**user.payload(), "member": _member(None)} for user in mentions]
            if not direct
            else [user.payload() for user in mentions],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "pinned": False,
            "type": 0,
            "flags": 0,
        }
        if not direct:
            message["guild_id"] = str(self.guild_id)
            message["member"] = _member(None)
        await self.dispatch("MESSAGE_CREATE", message)
        return message

    def dm_channel_id(self, user: FakeUser) -> int:
        """The direct-message channel between `user` and the bot (stable per user)."""
        return user.id + 7

    async def run_slash_command(self, user: FakeUser, name: str, **options: str | bool) -> dict[str, Any]:
        """`user` runs `/name` with `options` in the server's channel; the bot receives INTERACTION_CREATE."""
        option_types = {str: 3, bool: 5}
        interaction = {
            "id": str(self.snowflake()),
            "application_id": str(self.application_id),
            "type": 2,
            "token": f"interaction-token-{next(self._ids)}",
            "version": 1,
            "guild_id": str(self.guild_id),
            "channel_id": str(self.channel_id),
            "channel": self._channel(),
            "member": {**_member(user), "permissions": "2147483647"},
            "data": {
                "id": str(self.snowflake()),
                "name": name,
                "type": 1,
                "options": [
                    {"name": key, "type": option_types[type(value)], "value": value} for key, value in options.items()
                ],
            },
            "app_permissions": "2147483647",
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(self.guild_id)},
            "context": 0,
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        await self.dispatch("INTERACTION_CREATE", interaction)
        return interaction

    async def react(
        self, user: FakeUser, channel_id: int, message_id: int, emoji: str, *, remove: bool = False
    ) -> None:
        """`user` adds (or removes) `emoji` on a message; the bot receives MESSAGE_REACTION_ADD (or _REMOVE)."""
        data: dict[str, Any] = {
            "user_id": str(user.id),
            "channel_id": str(channel_id),
            "message_id": str(message_id),
            "emoji": {"id": None, "name": emoji},
            "burst": False,
            "type": 0,
        }
        if channel_id == self.channel_id:
            data["guild_id"] = str(self.guild_id)
            if not remove:  # Discord sends the member with additions in a server only
                data["member"] = _member(user)
        await self.dispatch("MESSAGE_REACTION_REMOVE" if remove else "MESSAGE_REACTION_ADD", data)

    # -- what reached Discord -----------------------------------------------

    def reactions_added(self) -> list[tuple[int, int, str]]:
        """(channel ID, message ID, emoji) for every reaction the bot added, in order."""
        added = []
        for request in self.requests:
            match = re.fullmatch(r"/channels/(\d+)/messages/(\d+)/reactions/([^/]+)/@me", request.path)
            if request.method == "PUT" and match and request.status == 204:
                added.append((int(match.group(1)), int(match.group(2)), match.group(3)))
        return added

    def messages_sent(self) -> list[RecordedRequest]:
        """Every message the bot posted successfully, in order."""
        return [r for r in self.requests if r.is_message_send() and r.status == 200]

    async def wait_for_request(
        self, matches: Callable[[RecordedRequest], bool], *, count: int = 1, timeout: float = 10.0
    ) -> list[RecordedRequest]:
        """The first `count` recorded requests that satisfy `matches`, waiting for them to arrive."""

        def found() -> list[RecordedRequest]:
            return [r for r in self.requests if matches(r)]

        async with self._request_arrived:
            await asyncio.wait_for(self._request_arrived.wait_for(lambda: len(found()) >= count), timeout)
        return found()[:count]

    @staticmethod
    def pinged_by(request: RecordedRequest) -> set[str]:
        """Who Discord would notify for a message the bot sent, by its allowed_mentions rules.

        Mentions in the content notify only as far as `allowed_mentions` allows
        (everything, when it is absent); a reply notifies its author unless
        `replied_user` is false. Embeds never notify anyone.
        """
        body = request.body or {}
        content = body.get("content") or ""
        allowed = body.get("allowed_mentions")
        parse = {"everyone", "roles", "users"} if allowed is None else set(allowed.get("parse", []))
        listed_users = set() if allowed is None else {str(u) for u in allowed.get("users", [])}
        listed_roles = set() if allowed is None else {str(r) for r in allowed.get("roles", [])}
        notify_replied = True if allowed is None else bool(allowed.get("replied_user", False))
        pinged: set[str] = set()
        if "everyone" in parse:
            pinged |= {f"@{name}" for name in re.findall(r"@(everyone|here)\b", content)}
        pinged |= {f"role:{r}" for r in re.findall(r"<@&(\d+)>", content) if "roles" in parse or r in listed_roles}
        pinged |= {f"user:{u}" for u in re.findall(r"<@!?(\d+)>", content) if "users" in parse or u in listed_users}
        if body.get("message_reference") and notify_replied:
            pinged.add("author of the replied-to message")
        return pinged

    def answer_with_status(
        self,
        method: str,
        path_pattern: str,
        *,
        status: int = 429,
        retry_after: float = 0.1,
        times: int = 1,
        every: int = 1,
    ) -> None:
        """Answer `times` requests to `method path_pattern` with `status` (429: rate limited):
        the next ones, or with `every=n` every n-th one."""
        self._failures.append(
            _PlannedFailure(method, re.compile(path_pattern), status, retry_after, times, every)
        )

    # -- gateway -------------------------------------------------------------

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send a DISPATCH event to every session (after the first one is ready).

        A session whose websocket is closed keeps the event, and gets it when it resumes.
        """
        await asyncio.wait_for(self.session_ready.wait(), 10)
        for session in list(self._sessions.values()):
            session.sequence += 1
            payload = {"op": 0, "t": event, "s": session.sequence, "d": data}
            session.dispatched.append(payload)
            if session.socket is not None and not session.socket.closed:
                with contextlib.suppress(ConnectionError):  # closing under us: it is replayed on resume
                    await session.socket.send_str(json.dumps(payload))

    async def close_gateway(self, code: int = 4000, *, forget_sessions: bool = False, abrupt: bool = False) -> None:
        """Close every bot's websocket from Discord's side, as on a gateway restart.

        Code 4000 ("unknown error") and most others let the bot RESUME; with
        `forget_sessions`, RESUME is refused (op 9) and the bot must IDENTIFY again.
        `abrupt` drops the TCP connection without a close frame, as a failing network does.
        """
        sessions = list(self._sessions.values())
        if forget_sessions:
            self._sessions.clear()
        for session in sessions:
            socket, session.socket = session.socket, None
            if socket is None or socket.closed:
                continue
            if abrupt and session.transport is not None:
                session.transport.abort()
            else:
                await socket.close(code=code, message=b"Closed by the fake Discord.")

    def connected_sessions(self) -> int:
        return sum(1 for s in self._sessions.values() if s.socket is not None and not s.socket.closed)

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        # Text frames only: discord.py asks for zlib/zstd, but also reads plain JSON text.
        await socket.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS}}))
        async for frame in socket:
            if frame.type is not WSMsgType.TEXT:
                continue
            payload = json.loads(frame.data)
            op = payload.get("op")
            if op == 1:  # heartbeat
                await socket.send_str(json.dumps({"op": 11}))
            elif op == 2:  # identify
                identify = dict(payload["d"])
                token = identify.pop("token", None)
                self.identify_payloads.append(identify)
                if token != self.token or self.gateway_rejects_token:
                    await socket.close(code=AUTHENTICATION_FAILED, message=b"Authentication failed.")
                    break
                await self._send_ready(socket, request.transport, identify.get("shard"))
            elif op == 6:  # resume
                resume = dict(payload["d"])
                token = resume.pop("token", None)
                self.resume_payloads.append(resume)
                session = self._sessions.get(resume.get("session_id", ""))
                if token != self.token or session is None:
                    await socket.send_str(json.dumps({"op": 9, "d": False}))  # invalid session: identify
                    continue
                await self._resume(session, socket, request.transport, int(resume.get("seq") or 0))
        return socket

    async def _resume(
        self, session: _Session, socket: web.WebSocketResponse, transport: asyncio.BaseTransport | None, seen: int
    ) -> None:
        session.socket, session.transport = socket, transport
        replay_from = max(0, seen - self.replay_overlap)
        for payload in session.dispatched:
            if payload["s"] > replay_from:
                await socket.send_str(json.dumps(payload))
        session.sequence += 1
        resumed = {"op": 0, "t": "RESUMED", "s": session.sequence, "d": {}}
        session.dispatched.append(resumed)
        await socket.send_str(json.dumps(resumed))

    async def _send_ready(
        self, socket: web.WebSocketResponse, transport: asyncio.BaseTransport | None, shard: list[int] | None = None
    ) -> None:
        session = _Session(f"session-{next(self._ids)}", socket, transport)
        ready = {
            "v": 10,
            "user": self.bot.payload(),
            "guilds": [{"id": str(self.guild_id), "unavailable": True}],
            "session_id": session.session_id,
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(self.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
        }
        if shard is not None:
            ready["shard"] = shard  # Discord echoes a sharded IDENTIFY's [shard id, shard count]
        for event, data in (("READY", ready), ("GUILD_CREATE", self._guild())):
            session.sequence += 1
            payload = {"op": 0, "t": event, "s": session.sequence, "d": data}
            session.dispatched.append(payload)
            await socket.send_str(json.dumps(payload))
        self._sessions[session.session_id] = session
        self.session_ready.set()

    def _guild(self) -> dict[str, Any]:
        everyone = {
            "id": str(self.guild_id),
            "name": "@everyone",
            "permissions": "2248473465835073",
            "position": 0,
            "color": 0,
            "hoist": False,
            "managed": False,
            "mentionable": False,
            "flags": 0,
        }
        return {
            "id": str(self.guild_id),
            "name": "Newsroom",
            "icon": None,
            "owner_id": "1",
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "roles": [everyone],
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "vanity_url_code": None,
            "description": None,
            "banner": None,
            "premium_tier": 0,
            "preferred_locale": "en-US",
            "public_updates_channel_id": None,
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "joined_at": _now_iso(),
            "large": False,
            "unavailable": False,
            "member_count": 2,
            "members": [_member(self.bot)],
            "channels": [self._channel()],
            "threads": [],
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }

    def _channel(self) -> dict[str, Any]:
        return {
            "id": str(self.channel_id),
            "type": 0,
            "guild_id": str(self.guild_id),
            "name": "ask-the-news",
            "position": 0,
            "permission_overwrites": [],
            "nsfw": False,
            "parent_id": None,
            "topic": None,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "flags": 0,
        }

    # -- REST ----------------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["path"]
        body = await request.json() if request.can_read_body and request.content_type == "application/json" else None
        authorization = request.headers.get("Authorization")
        status, reply, headers = self._route(request.method, path, body, authorization, dict(request.query))
        async with self._request_arrived:
            self.requests.append(
                RecordedRequest(request.method, path, dict(request.query), body, authorization, status)
            )
            self._request_arrived.notify_all()
        if reply is None:
            return web.Response(status=status, headers=headers)
        # Exactly application/json: discord.py reads the body as JSON only then.
        return web.Response(
            status=status, body=json.dumps(reply).encode(), headers={"Content-Type": "application/json", **headers}
        )

    def _route(
        self, method: str, path: str, body: Any, authorization: str | None, query: dict[str, str] | None = None
    ) -> tuple[int, Any, dict[str, str]]:
        query = query or {}
        for failure in self._failures:
            if failure.remaining > 0 and failure.method == method and failure.path.fullmatch(path):
                failure.seen += 1
                if failure.seen % failure.every:
                    continue
                failure.remaining -= 1
                if failure.status == 429:
                    # The Via header marks it as Discord's own limit (not a Cloudflare ban).
                    headers = {"Via": "1.1 google", "Retry-After": str(failure.retry_after)}
                    reply = {"message": "You are being rate limited.", "retry_after": failure.retry_after, "global": False}
                    return 429, reply, headers
                return failure.status, {"message": "Injected failure", "code": 0}, {}

        is_webhook = path.startswith("/webhooks/") or path.startswith("/interactions/")
        if not is_webhook and authorization != f"Bot {self.token}":
            return 401, {"message": "401: Unauthorized", "code": 0}, {}
        if method == "GET" and path == "/users/@me":
            return 200, self.bot.payload(), {}
        if method == "GET" and path == "/oauth2/applications/@me":
            return 200, self._application(), {}
        if method == "PUT" and re.fullmatch(rf"/applications/{self.application_id}(/guilds/\d+)?/commands", path):
            guild = re.search(r"/guilds/(\d+)/", path)
            return 200, [self._registered_command(c, guild.group(1) if guild else None) for c in body], {}
        if method == "POST" and (match := re.fullmatch(r"/channels/(\d+)/messages", path)):
            return 200, self._sent_message(int(match.group(1)), body), {}
        if method == "GET" and (match := re.fullmatch(r"/channels/(\d+)/messages", path)):
            return 200, self._history(int(match.group(1)), query), {}
        if method == "PUT" and re.fullmatch(r"/channels/\d+/messages/\d+/reactions/[^/]+/@me", path):
            return 204, None, {}
        if method == "POST" and re.fullmatch(r"/interactions/\d+/[^/]+/callback", path):
            interaction_id = path.split("/")[2]
            flags = ((body or {}).get("data") or {}).get("flags", 0)
            return 200, {
                "interaction": {
                    "id": interaction_id,
                    "type": 2,
                    "response_message_loading": body.get("type") == 5,
                    "response_message_ephemeral": bool(flags & 64),
                }
            }, {}
        if method == "POST" and re.fullmatch(rf"/webhooks/{self.application_id}/[^/]+", path):
            return 200, self._sent_message(self.channel_id, body), {}
        return 404, {"message": f"Unknown route {method} {path}", "code": 0}, {}

    def _application(self) -> dict[str, Any]:
        return {
            "id": str(self.application_id),
            "name": self.bot.username,
            "icon": None,
            "description": "",
            "rpc_origins": [],
            "bot_public": True,
            "bot_require_code_grant": False,
            "terms_of_service_url": None,
            "privacy_policy_url": None,
            "owner": FakeUser(1, "owner").payload(),
            "verify_key": "0" * 64,
            "team": None,
            "flags": 0,
            "interactions_endpoint_url": None,
        }

    def _registered_command(self, command: dict[str, Any], guild_id: str | None) -> dict[str, Any]:
        registered = {
            "id": str(self.snowflake()),
            "application_id": str(self.application_id),
            "version": str(self.snowflake()),
            "default_member_permissions": None,
            "dm_permission": True,
            "nsfw": False,
            **command,
        }
        registered.setdefault("type", 1)
        registered.setdefault("options", [])
        registered.setdefault("description", "")
        if guild_id:
            registered["guild_id"] = guild_id
        return registered

    def _sent_message(self, channel_id: int, body: dict[str, Any]) -> dict[str, Any]:
        message = {
            "id": str(self.snowflake()),
            "channel_id": str(channel_id),
            "author": self.bot.payload(),
            "content": body.get("content") or "",
            "timestamp": _now_iso(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": body.get("embeds") or [],
            "pinned": False,
            "type": 19 if body.get("message_reference") else 0,
            "flags": body.get("flags", 0),
        }
        if body.get("message_reference"):
            message["message_reference"] = body["message_reference"]
        self._posted.setdefault(channel_id, []).append(message)
        return message

    def _history(self, channel_id: int, query: dict[str, str]) -> list[dict[str, Any]]:
        """The bot's messages in a channel: the `limit` right after `after` (an ID), or the newest,
        listed newest first, as Discord lists them."""
        limit = int(query.get("limit") or 50)
        ordered = sorted(self._posted.get(channel_id, []), key=lambda m: int(m["id"]))
        if query.get("after"):
            page = [m for m in ordered if int(m["id"]) > int(query["after"])][:limit]
        else:
            page = ordered[-limit:]
        return list(reversed(page))

    def snowflake(self) -> int:
        """A new, unique Discord ID."""
        return ((int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22) + next(self._ids)


def _member(user: FakeUser | None) -> dict[str, Any]:
    member: dict[str, Any] = {
        "roles": [],
        "joined_at": _now_iso(),
        "deaf": False,
        "mute": False,
        "flags": 0,
        "pending": False,
    }
    if user is not None:
        member["user"] = user.payload()
    return member


def _now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())

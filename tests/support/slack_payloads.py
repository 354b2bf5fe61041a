"""What Slack sends an app, built the way Slack builds it: event callbacks, slash commands,
button clicks, Socket Mode envelopes, and HTTP requests signed with the signing secret."""

from __future__ import annotations

import itertools
import json
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any

from slack_sdk.signature import SignatureVerifier

from tests.support.slack_server import API_APP_ID, BOT_USER_ID, TEAM_ID

ASKER = "U0ASKER001"
OTHER_ASKER = "U0ASKER002"
CHANNEL = "C0NEWSROOM"
DM_CHANNEL = "D0ASKER001"

_ts_counter = itertools.count(1)


def new_ts() -> str:
    """A message timestamp, unique within the test run as Slack's are within a channel."""
    return f"{int(time.time())}.{next(_ts_counter):06d}"


def new_event_id() -> str:
    return "Ev" + uuid.uuid4().hex[:10].upper()


def event_callback(event: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    return {
        "token": "legacy-verification-token",
        "team_id": TEAM_ID,
        "api_app_id": API_APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or new_event_id(),
        "event_time": int(time.time()),
        "authorizations": [
            {"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True, "is_enterprise_install": False}
        ],
    }


def mention(
    question: str,
    *,
    user: str = ASKER,
    channel: str = CHANNEL,
    ts: str | None = None,
    thread_ts: str | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """`@qabot <question>` in a channel, as Slack's text (the question already in Slack's markup)."""
    ts = ts or new_ts()
    event = {
        "type": "app_mention",
        "user": user,
        "text": f"<@{BOT_USER_ID}> {question}",
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event_callback(event, event_id)


def direct_message(
    text: str,
    *,
    user: str = ASKER,
    channel: str = DM_CHANNEL,
    subtype: str | None = None,
    bot_id: str | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    ts = new_ts()
    event: dict[str, Any] = {
        "type": "message",
        "user": user,
        "text": text,
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
        "channel_type": "im",
    }
    if subtype:
        event["subtype"] = subtype
    if bot_id:
        event["bot_id"] = bot_id
    return event_callback(event, event_id)


def slash_command(text: str, response_url: str, *, user: str = ASKER, channel: str = CHANNEL) -> dict[str, str]:
    """The form fields of `/ask <text>`."""
    return {
        "token": "legacy-verification-token",
        "team_id": TEAM_ID,
        "team_domain": "fake",
        "channel_id": channel,
        "channel_name": "newsroom",
        "user_id": user,
        "user_name": "asker",
        "command": "/ask",
        "text": text,
        "api_app_id": API_APP_ID,
        "response_url": response_url,
        "trigger_id": "1111.2222.fake",
    }


def events_api_envelope(body: dict[str, Any], retry_attempt: int = 0) -> dict[str, Any]:
    return {
        "envelope_id": str(uuid.uuid4()),
        "payload": body,
        "type": "events_api",
        "accepts_response_payload": False,
        "retry_attempt": retry_attempt,
        "retry_reason": "timeout" if retry_attempt else "",
    }


def slash_command_envelope(fields: dict[str, str]) -> dict[str, Any]:
    return {
        "envelope_id": str(uuid.uuid4()),
        "payload": dict(fields),
        "type": "slash_commands",
        "accepts_response_payload": True,
    }


def button_click(
    action_id: str,
    value: str,
    response_url: str,
    *,
    user: str = ASKER,
    channel: str = CHANNEL,
    message_ts: str | None = None,
    ephemeral: bool = False,
) -> dict[str, Any]:
    """The `block_actions` payload Slack sends when `user` clicks a button in one of the app's messages."""
    ts = message_ts or new_ts()
    return {
        "type": "block_actions",
        "user": {"id": user, "username": "asker", "name": "asker", "team_id": TEAM_ID},
        "api_app_id": API_APP_ID,
        "token": "legacy-verification-token",
        "container": {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": ephemeral},
        "trigger_id": "2222.3333.fake",
        "team": {"id": TEAM_ID, "domain": "fake"},
        "channel": {"id": channel, "name": "newsroom"},
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "qabot_feedback",
                "text": {"type": "plain_text", "text": "vote", "emoji": True},
                "value": value,
                "action_ts": new_ts(),
            }
        ],
    }


def interactive_envelope(payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "envelope_id": str(uuid.uuid4()),
        "payload": payload,
        "type": "interactive",
        "accepts_response_payload": False,
    }


@dataclass(frozen=True)
class HttpResult:
    status: int
    body: str
    seconds: float


@dataclass(frozen=True)
class SignedSender:
    """Sends requests to an app's /slack/events as Slack does, signed with `signing_secret`."""

    url: str
    signing_secret: str

    def post_event(
        self,
        body: dict[str, Any],
        *,
        retry_num: int | None = None,
        timestamp: int | None = None,
        signing_secret: str | None = None,
    ) -> HttpResult:
        return self._post(json.dumps(body), "application/json", retry_num, timestamp, signing_secret)

    def post_command(self, fields: dict[str, str], *, timestamp: int | None = None) -> HttpResult:
        return self._post(urllib.parse.urlencode(fields), "application/x-www-form-urlencoded", None, timestamp, None)

    def post_interaction(self, payload: dict[str, Any], *, signing_secret: str | None = None) -> HttpResult:
        """A button click: Slack sends the JSON payload as a form field named `payload`."""
        raw = urllib.parse.urlencode({"payload": json.dumps(payload)})
        return self._post(raw, "application/x-www-form-urlencoded", None, None, signing_secret)

    def _post(
        self,
        raw: str,
        content_type: str,
        retry_num: int | None,
        timestamp: int | None,
        signing_secret: str | None,
    ) -> HttpResult:
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        verifier = SignatureVerifier(signing_secret or self.signing_secret)
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": verifier.generate_signature(timestamp=stamp, body=raw) or "",
        }
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        request = urllib.request.Request(self.url, data=raw.encode("utf-8"), headers=headers, method="POST")
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return HttpResult(response.status, response.read().decode("utf-8"), time.monotonic() - started)
        except urllib.error.HTTPError as error:
            return HttpResult(error.code, error.read().decode("utf-8"), time.monotonic() - started)

"""The manifest an admin pastes into Slack asks for exactly what the bot uses, and nothing more."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

import bot.adapters.slack
from tests.support.slack_payloads import slash_command, slash_command_envelope
from tests.support.slack_helpers import AppStarter

MANIFEST = Path(bot.adapters.slack.__file__).parent / "manifest.yaml"


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))


def test_the_bot_asks_only_for_the_scopes_it_uses(manifest):
    assert sorted(manifest["oauth_config"]["scopes"]["bot"]) == [
        "app_mentions:read",
        "channels:history",  # a taken-over job's thread is read before answering it (bot.adapters.slack.jobs)
        "chat:write",
        "commands",
        "groups:history",
        "im:history",
    ]
    assert "user" not in manifest["oauth_config"]["scopes"]


def test_it_hears_mentions_and_direct_messages_but_not_every_channel_message(manifest):
    assert manifest["settings"]["event_subscriptions"]["bot_events"] == ["app_mention", "message.im"]
    assert manifest["features"]["app_home"]["messages_tab_enabled"] is True
    assert manifest["features"]["app_home"]["messages_tab_read_only_enabled"] is False


def test_it_runs_in_socket_mode_with_one_escaped_slash_command(manifest):
    assert manifest["settings"]["socket_mode_enabled"] is True
    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == "/ask"
    assert command["should_escape"] is True  # @channel arrives as <!channel>, which the app decodes
    assert "url" not in command  # Socket Mode needs none; docs/slack.md adds it for --http


def test_the_manifest_slash_command_is_the_one_the_app_answers(manifest, socket_mode_slack_app: AppStarter):
    slack = socket_mode_slack_app()
    [command] = manifest["features"]["slash_commands"]
    fields = slash_command("Did Ring send customer videos to Flock?", slack.fake.response_url())
    fields["command"] = command["command"]
    slack.fake.send_envelope(slash_command_envelope(fields))
    [response] = slack.fake.wait_for_calls("response_url")
    assert response.error is None

"""The manifest an admin pastes into Slack asks for exactly what the bot uses, and nothing more."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import bot.adapters.slack
from tests.support.slack_payloads import slash_command, slash_command_envelope
from tests.support.slack_helpers import AppStarter

MANIFEST = Path(bot.adapters.slack.__file__).parent / "manifest.yaml"
REPO = Path(__file__).resolve().parents[2]


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


def test_the_printed_manifest_hints_ask_with_a_question_its_articles_answer(tmp_path, manifest):
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "bakery.md").write_text(
        "---\ntitle: Town bakery wins award\npublisher: Valley Gazette\n---\n\n"
        "The judges praised the Riverside Bakery, a family business founded in 1952, for its rye bread.\n\n"
        "Owner Maria Lopez said the Riverside Bakery would keep its prices.\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "slack", "--manifest"],
        cwd=tmp_path,  # no .env from a developer's checkout
        env={
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(tmp_path),
            "PYTHONPATH": str(REPO),
            "QABOT_CACHE_DIR": str(tmp_path / "cache"),
            "QABOT_CORPUS_DIR": str(folder),
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    printed = yaml.safe_load(result.stdout)
    [ask] = printed["features"]["slash_commands"]
    assert ask["usage_hint"] == "What is the Riverside Bakery?"
    assert "Ring" not in result.stdout and "Flock" not in result.stdout
    # Everything else is the packaged manifest, scopes and events included.
    ask["usage_hint"] = manifest["features"]["slash_commands"][0]["usage_hint"]
    assert printed == manifest


def test_the_packaged_manifest_names_no_story():
    text = MANIFEST.read_text(encoding="utf-8")
    assert "Ring" not in text and "Flock" not in text

"""People vote 👍/👎 on the bot's answers in Slack with buttons; each vote lands in the private question log.

The real Bolt app runs against the fake Slack on 127.0.0.1; clicks arrive signed
over HTTP, or as `interactive` envelopes in Socket Mode, as Slack sends them.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import yaml

import bot.adapters.slack
from bot.adapters.slack.formatting import VOTE_DOWN_ACTION, VOTE_UP_ACTION
from bot.stores.questionlog.report import LoggedAnswer, read_answers
from tests.support.slack_payloads import (
    ASKER,
    OTHER_ASKER,
    button_click,
    direct_message,
    interactive_envelope,
    mention,
    slash_command,
    slash_command_envelope,
)
from tests.support.slack_server import RecordedCall
from tests.support.slack_helpers import AppStarter

QUESTION = "What did the Flock spokesperson tell the BBC?"


def log_file(tmp_path: Path) -> Path:
    return tmp_path / "log" / "questions.sqlite3"


def feedback_buttons(call: RecordedCall) -> list[dict[str, Any]]:
    blocks = call.params.get("blocks", [])
    return [element for block in blocks if block["type"] == "actions" for element in block["elements"]]


def votes_become(path: Path, expected: tuple[int, int], timeout: float = 10.0) -> LoggedAnswer:
    """The first logged answer, once its (👍, 👎) counts are `expected`."""
    deadline = time.monotonic() + timeout
    while True:
        row = read_answers(path)[0]
        if (row.up_votes, row.down_votes) == expected or time.monotonic() > deadline:
            return row
        time.sleep(0.05)


def test_an_answer_in_a_thread_carries_thumbs_and_a_click_is_a_vote(http_slack_app: AppStarter, tmp_path):
    slack = http_slack_app(QABOT_QUESTION_LOG_PATH=str(log_file(tmp_path)))
    slack.sender.post_event(mention(QUESTION))
    [reply] = slack.fake.wait_for_calls("chat.postMessage")
    up, down = feedback_buttons(reply)
    [logged] = read_answers(log_file(tmp_path))
    assert (up["action_id"], down["action_id"]) == (VOTE_UP_ACTION, VOTE_DOWN_ACTION)
    assert up["value"] == down["value"] == str(logged.answer_id)
    assert up["text"]["text"].startswith("👍") and down["text"]["text"].startswith("👎")
    assert reply.error is None  # within Block Kit's limits, as the fake checks

    clicked = slack.sender.post_interaction(
        button_click(VOTE_DOWN_ACTION, down["value"], slack.fake.response_url("vote-1"), user=OTHER_ASKER)
    )
    assert clicked.status == 200
    row = votes_become(log_file(tmp_path), (0, 1))
    assert (row.up_votes, row.down_votes, row.platform) == (0, 1, "slack")
    [thanks] = slack.fake.wait_for_calls("response_url")
    assert thanks.params["response_type"] == "ephemeral" and thanks.params["replace_original"] is False
    assert "👎" in thanks.params["text"]

    # Changing one's mind changes the vote; it never counts twice.
    slack.sender.post_interaction(
        button_click(VOTE_UP_ACTION, up["value"], slack.fake.response_url("vote-2"), user=OTHER_ASKER)
    )
    row = votes_become(log_file(tmp_path), (1, 0))
    assert (row.up_votes, row.down_votes) == (1, 0)


def test_a_forged_click_is_refused_and_counts_for_nothing(http_slack_app: AppStarter, tmp_path):
    slack = http_slack_app(QABOT_QUESTION_LOG_PATH=str(log_file(tmp_path)))
    slack.sender.post_event(direct_message(QUESTION))
    [reply] = slack.fake.wait_for_calls("chat.postMessage")
    [_, down] = feedback_buttons(reply)
    forged = slack.sender.post_interaction(
        button_click(VOTE_DOWN_ACTION, down["value"], slack.fake.response_url()), signing_secret="0" * 32
    )
    assert forged.status == 401
    time.sleep(0.3)
    [row] = read_answers(log_file(tmp_path))
    assert (row.up_votes, row.down_votes) == (0, 0)


def test_a_private_slash_answer_has_thumbs_too_in_socket_mode(socket_mode_slack_app: AppStarter, tmp_path):
    slack = socket_mode_slack_app(QABOT_QUESTION_LOG_PATH=str(log_file(tmp_path)))
    slack.fake.send_envelope(slash_command_envelope(slash_command(QUESTION, slack.fake.response_url("ask"))))
    [response] = slack.fake.wait_for_calls("response_url")
    assert response.params["response_type"] == "ephemeral"
    up, _ = feedback_buttons(response)

    envelope = interactive_envelope(
        button_click(VOTE_UP_ACTION, up["value"], slack.fake.response_url("vote"), user=ASKER, ephemeral=True)
    )
    slack.fake.send_envelope(envelope)
    slack.fake.wait_for_ack(envelope["envelope_id"])
    row = votes_become(log_file(tmp_path), (1, 0))
    assert (row.up_votes, row.down_votes) == (1, 0)


def test_no_thumbs_when_the_question_log_is_off(http_slack_app: AppStarter):
    slack = http_slack_app(QABOT_QUESTION_LOG="false")
    slack.sender.post_event(mention(QUESTION))
    [reply] = slack.fake.wait_for_calls("chat.postMessage")
    assert feedback_buttons(reply) == []


@pytest.mark.parametrize("question", ["", "who is the ceo of amazon's rival in china"])
def test_only_answers_and_declines_get_thumbs_not_hints_for_an_empty_question(
    http_slack_app: AppStarter, tmp_path, question
):
    slack = http_slack_app(QABOT_QUESTION_LOG_PATH=str(log_file(tmp_path)))
    slack.sender.post_event(mention(question))
    [reply] = slack.fake.wait_for_calls("chat.postMessage")
    [logged] = read_answers(log_file(tmp_path))
    has_buttons = bool(feedback_buttons(reply))
    assert has_buttons == (logged.outcome in ("answered", "not_found")), logged.outcome


def test_the_manifest_turns_interactivity_on_for_the_buttons_without_new_scopes():
    manifest = yaml.safe_load((Path(bot.adapters.slack.__file__).parent / "manifest.yaml").read_text())
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert "reactions:write" not in manifest["oauth_config"]["scopes"]["bot"]

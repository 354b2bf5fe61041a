"""The same questions over Socket Mode: the app opens the fake's websocket (from apps.connections.open),
is greeted with `hello`, acknowledges each envelope and answers through the Web API."""

from __future__ import annotations

import threading

from bot.app import build_service
from tests.support.slack_payloads import (
    CHANNEL,
    direct_message,
    events_api_envelope,
    mention,
    slash_command,
    slash_command_envelope,
)
from tests.support.slack_server import APP_TOKEN, texts_of
from tests.support.slack_helpers import (
    BBC_URL,
    SPOKESPERSON,
    AppStarter,
    GatedService,
    everything_shown,
    section_quoting,
)


def test_the_app_connects_with_its_app_level_token(socket_mode_slack_app: AppStarter):
    slack = socket_mode_slack_app()
    [opened] = slack.fake.calls("apps.connections.open")
    assert opened.token == APP_TOKEN
    assert slack.fake.socket_connections == 1


def test_a_mention_envelope_is_acknowledged_and_answered_in_its_thread(socket_mode_slack_app: AppStarter):
    slack = socket_mode_slack_app()
    question = mention("What did the Flock spokesperson tell the BBC?")
    envelope = events_api_envelope(question)
    slack.fake.send_envelope(envelope)

    assert slack.fake.wait_for_ack(envelope["envelope_id"]) == {"envelope_id": envelope["envelope_id"]}
    [reply] = slack.fake.wait_for_calls("chat.postMessage")
    assert reply.params["channel"] == CHANNEL
    assert reply.params["thread_ts"] == question["event"]["ts"]
    assert BBC_URL in section_quoting(reply, SPOKESPERSON)


def test_an_envelope_is_acknowledged_before_its_answer_is_ready(socket_mode_slack_app: AppStarter):
    gate = threading.Event()
    slack = socket_mode_slack_app(lambda settings: GatedService(build_service(settings), gate))
    envelope = events_api_envelope(direct_message("Did Ring send customer videos to Flock?"))
    slack.fake.send_envelope(envelope)
    slack.fake.wait_for_ack(envelope["envelope_id"], timeout=2.0)
    assert slack.fake.calls("chat.postMessage") == []
    gate.set()
    [reply] = slack.fake.wait_for_calls("chat.postMessage")
    assert "no Ring customer videos" in everything_shown(reply)


def test_ask_over_socket_mode_is_acknowledged_then_answered_at_the_response_url(socket_mode_slack_app: AppStarter):
    slack = socket_mode_slack_app()
    envelope = slash_command_envelope(
        slash_command("Did Ring send customer videos to Flock?", slack.fake.response_url())
    )
    slack.fake.send_envelope(envelope)
    slack.fake.wait_for_ack(envelope["envelope_id"])
    [response] = slack.fake.wait_for_calls("response_url")
    assert response.params["response_type"] == "ephemeral"
    assert texts_of(response.params["blocks"])[0] == "*Question:* Did Ring send customer videos to Flock?"


def test_a_redelivered_envelope_is_acknowledged_but_answered_once(socket_mode_slack_app: AppStarter):
    slack = socket_mode_slack_app()
    question = mention("Did Ring send customer videos to Flock?")
    first, retry = events_api_envelope(question), events_api_envelope(question, retry_attempt=1)
    slack.fake.send_envelope(first)
    slack.fake.send_envelope(retry)
    slack.fake.wait_for_ack(first["envelope_id"])
    slack.fake.wait_for_ack(retry["envelope_id"])  # acknowledged, so Slack stops retrying
    slack.fake.wait_for_calls("chat.postMessage")
    slack.fake.assert_no_more_calls("chat.postMessage", expected=1)
    assert len(slack.service.questions) == 1


def test_when_slack_refreshes_the_connection_the_app_reconnects_and_keeps_answering(
    socket_mode_slack_app: AppStarter,
):
    slack = socket_mode_slack_app()
    slack.fake.refresh_socket_connections()
    slack.fake.wait_for_socket_connections(2)
    assert len(slack.fake.calls("apps.connections.open")) == 2  # a fresh URL for the new connection
    envelope = events_api_envelope(mention("What did the Flock spokesperson tell the BBC?"))
    slack.fake.send_envelope(envelope)
    slack.fake.wait_for_ack(envelope["envelope_id"])
    [reply] = slack.fake.wait_for_calls("chat.postMessage")
    assert SPOKESPERSON in everything_shown(reply)

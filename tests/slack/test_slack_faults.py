"""Slack misbehaves: its Web API fails or asks the app to slow down, its Socket Mode websocket
drops. The app retries what is worth retrying, gives up cleanly on what is not, reconnects,
and keeps answering each question exactly once."""

from __future__ import annotations

import threading
import time

from bot.adapters.slack.formatting import APOLOGY
from bot.app import build_service
from tests.support.slack_payloads import events_api_envelope, mention
from tests.support.slack_helpers import (
    SPOKESPERSON,
    AppStarter,
    GatedService,
    everything_shown,
)

QUESTION = "Did Ring send customer videos to Flock?"
ANSWER_WORDS = "no Ring customer videos"

# ---------------------------------------------------------------- the Web API fails


def test_a_web_api_500_is_retried_once_and_the_answer_is_posted_once(http_slack_app: AppStarter):
    slack = http_slack_app()
    slack.fake.fail_next("chat.postMessage", status=500, error="internal_error")
    slack.sender.post_event(mention(QUESTION))
    failed, posted = slack.fake.wait_for_calls("chat.postMessage", 2)
    assert failed.status == 500 and posted.error is None
    assert posted.params["blocks"] == failed.params["blocks"], "the same answer, not an apology"
    assert ANSWER_WORDS in everything_shown(posted)
    slack.fake.assert_no_more_calls("chat.postMessage", expected=2)


def test_gateway_errors_are_retried_like_a_500(http_slack_app: AppStarter):
    slack = http_slack_app()
    slack.fake.fail_next("chat.postMessage", status=503, error="service_unavailable")
    slack.sender.post_event(mention(QUESTION))
    _, posted = slack.fake.wait_for_calls("chat.postMessage", 2)
    assert ANSWER_WORDS in everything_shown(posted)


def test_a_web_api_that_keeps_answering_429_is_retried_after_retry_after_then_given_up(
    http_slack_app: AppStarter, caplog
):
    slack = http_slack_app()
    slack.fake.fail_next("chat.postMessage", status=429, error="ratelimited", retry_after=1, times=3)
    slack.sender.post_event(mention(QUESTION))
    first, second, third, apology = slack.fake.wait_for_calls("chat.postMessage", 4, timeout=15)
    assert [c.status for c in (first, second, third)] == [429, 429, 429]
    assert second.at - first.at >= 0.9 and third.at - second.at >= 0.9, "Retry-After was honoured each time"
    assert apology.params["text"] == APOLOGY and apology.error is None
    assert any(r.exc_info and r.getMessage() == "posting an answer failed" for r in caplog.records)
    # Given up cleanly: the app goes on answering.
    slack.sender.post_event(mention("What did the Flock spokesperson tell the BBC?"))
    assert SPOKESPERSON in everything_shown(slack.fake.wait_for_calls("chat.postMessage", 5)[4])


def test_a_retry_after_of_minutes_is_not_waited_for(http_slack_app: AppStarter):
    slack = http_slack_app()
    slack.fake.fail_next("chat.postMessage", status=429, error="ratelimited", retry_after=600)
    started = time.monotonic()
    slack.sender.post_event(mention(QUESTION))
    limited, apology = slack.fake.wait_for_calls("chat.postMessage", 2)
    assert limited.status == 429 and apology.params["text"] == APOLOGY
    assert apology.at - started < 3, "the worker thread was not held for ten minutes"


# ---------------------------------------------------------------- the Socket Mode websocket drops


def test_when_the_websocket_drops_mid_session_the_app_reconnects_and_keeps_answering(
    socket_mode_slack_app: AppStarter,
):
    slack = socket_mode_slack_app()
    before = events_api_envelope(mention(QUESTION))
    slack.fake.send_envelope(before)
    slack.fake.wait_for_ack(before["envelope_id"])
    slack.fake.wait_for_calls("chat.postMessage", 1)

    slack.fake.drop_socket_connections()  # no disconnect message first, unlike a refresh
    # Within seconds: every second without the websocket is a second of unanswered questions.
    slack.fake.wait_for_socket_connections(2, timeout=2)
    assert len(slack.fake.calls("apps.connections.open")) == 2, "a fresh URL for the new connection"

    after = events_api_envelope(mention("What did the Flock spokesperson tell the BBC?"))
    slack.fake.send_envelope(after)
    slack.fake.wait_for_ack(after["envelope_id"])
    _, reply = slack.fake.wait_for_calls("chat.postMessage", 2)
    assert SPOKESPERSON in everything_shown(reply)
    slack.fake.assert_no_more_calls("chat.postMessage", expected=2)


def test_a_question_being_answered_when_the_websocket_drops_is_still_answered_once(
    socket_mode_slack_app: AppStarter,
):
    gate = threading.Event()
    slack = socket_mode_slack_app(lambda settings: GatedService(build_service(settings), gate))
    question = mention(QUESTION)
    envelope = events_api_envelope(question)
    slack.fake.send_envelope(envelope)
    slack.fake.wait_for_ack(envelope["envelope_id"])
    slack.fake.drop_socket_connections()
    # Slack redelivers the event on the new connection (as if the acknowledgement had been lost).
    slack.fake.send_envelope(events_api_envelope(question, retry_attempt=1))
    slack.fake.wait_for_socket_connections(2, timeout=15)
    gate.set()  # the answer was being worked out all along; it goes out over the Web API
    [reply] = slack.fake.wait_for_calls("chat.postMessage")
    assert ANSWER_WORDS in everything_shown(reply)
    slack.fake.assert_no_more_calls("chat.postMessage", expected=1)
    assert len(slack.service.questions) == 1


def test_when_the_network_cuts_the_websocket_without_a_close_frame_the_app_reconnects(
    socket_mode_slack_app: AppStarter,
):
    slack = socket_mode_slack_app()
    slack.fake.drop_socket_connections(abrupt=True)
    # Noticed by the client's connection checks every 3 s: a ping that fails (five times at
    # worst) or no pong for four intervals. Bolt's default interval would make that 10 to 60 s.
    slack.fake.wait_for_socket_connections(2, timeout=25)
    envelope = events_api_envelope(mention(QUESTION))
    slack.fake.send_envelope(envelope)
    slack.fake.wait_for_ack(envelope["envelope_id"])
    [reply] = slack.fake.wait_for_calls("chat.postMessage")
    assert ANSWER_WORDS in everything_shown(reply)


def test_an_event_sent_while_the_websocket_was_down_is_answered_after_the_reconnect(
    socket_mode_slack_app: AppStarter,
):
    slack = socket_mode_slack_app()
    slack.fake.drop_socket_connections()
    envelope = events_api_envelope(mention(QUESTION))
    slack.fake.send_envelope(envelope)  # held by the fake until a connection takes it
    slack.fake.wait_for_ack(envelope["envelope_id"], timeout=15)
    [reply] = slack.fake.wait_for_calls("chat.postMessage")
    assert ANSWER_WORDS in everything_shown(reply)

"""People follow up in Slack threads, with or without a mention; the bot answers each message once
whichever of `app_mention` and `message` arrives first; a message shortcut asks about a message."""

from __future__ import annotations

import dataclasses

import pytest

from bot.app import build_service
from bot.settings import Settings
from bot.stores.conversations import ConversationStore
from tests.support.slack_helpers import AppStarter, everything_shown
from tests.support.slack_payloads import (
    CHANNEL,
    OTHER_ASKER,
    channel_message,
    mention,
    message_shortcut,
    new_ts,
)
from tests.support.slack_server import BOT_ID, BOT_USER_ID, texts_of

FIRST = "When did Ring cancel the Flock deal?"
REASON = "significantly more time and resources than anticipated"


def quoted(call) -> list[str]:
    return [t for t in texts_of(call.params.get("blocks", [])) if t.startswith(">")]


def start_thread(slack) -> str:
    """Ask FIRST with a mention in the channel: the bot answers in the question's thread."""
    question = mention(FIRST)
    slack.sender.post_event(question)
    slack.fake.wait_for_calls("chat.postMessage")
    return question["event"]["ts"]


def test_a_message_in_a_thread_the_bot_answered_in_is_a_follow_up_without_a_mention(http_slack_app: AppStarter):
    slack = http_slack_app()
    thread = start_thread(slack)
    slack.sender.post_event(channel_message("why?", thread_ts=thread, user=OTHER_ASKER))
    _, why = slack.fake.wait_for_calls("chat.postMessage", 2)
    slack.sender.post_event(channel_message("tell me more", thread_ts=thread))
    first, _, more = slack.fake.wait_for_calls("chat.postMessage", 3)

    assert why.params["thread_ts"] == thread
    assert f"_About:_ {FIRST}" in texts_of(why.params["blocks"])
    assert REASON in " ".join(quoted(why))
    assert quoted(more) and set(quoted(more)).isdisjoint(quoted(first) + quoted(why))
    assert f"_About:_ {FIRST}" in texts_of(more.params["blocks"])


def test_a_complete_new_question_in_the_thread_is_answered_on_its_own(http_slack_app: AppStarter):
    slack = http_slack_app()
    thread = start_thread(slack)
    slack.sender.post_event(channel_message("How much did Amazon pay for Ring?", thread_ts=thread))
    _, new = slack.fake.wait_for_calls("chat.postMessage", 2)
    assert not any(t.startswith("_About:_") for t in texts_of(new.params["blocks"]))
    assert "$839 million" in everything_shown(new)


def test_threads_the_bot_did_not_answer_in_and_the_bots_own_posts_are_left_alone(http_slack_app: AppStarter):
    slack = http_slack_app()
    thread = start_thread(slack)
    slack.sender.post_event(channel_message("why?", thread_ts=new_ts()))  # someone else's thread
    slack.sender.post_event(channel_message("why?"))  # top level, no mention, not an auto channel
    slack.sender.post_event(channel_message("Here is what", thread_ts=thread, bot_id=BOT_ID, user=BOT_USER_ID))
    slack.sender.post_event(channel_message("why?", thread_ts=thread, subtype="message_changed"))
    slack.fake.assert_no_more_calls("chat.postMessage", 1)


def test_without_a_mention_a_thread_is_followed_for_a_bounded_number_of_messages(http_slack_app: AppStarter):
    slack = http_slack_app(QABOT_CONVERSATION_MESSAGES="2")
    thread = start_thread(slack)
    slack.sender.post_event(channel_message("why?", thread_ts=thread))
    slack.fake.wait_for_calls("chat.postMessage", 2)
    slack.sender.post_event(channel_message("who said that?", thread_ts=thread))  # a third: not without a mention
    slack.fake.assert_no_more_calls("chat.postMessage", 2)
    slack.sender.post_event(channel_message(f"<@{BOT_USER_ID}> who said that?", thread_ts=thread))
    slack.fake.wait_for_calls("chat.postMessage", 3)


def test_a_follow_up_after_the_conversation_expired_is_a_new_question(http_slack_app: AppStarter):
    now = [1000.0]

    def service_with_a_clock(settings: Settings):
        service = build_service(settings)
        return dataclasses.replace(service, conversations=ConversationStore(idle_seconds=30 * 60, clock=lambda: now[0]))

    slack = http_slack_app(service_with_a_clock)
    thread = start_thread(slack)
    now[0] += 31 * 60
    slack.sender.post_event(channel_message("why?", thread_ts=thread))  # no mention: the thread is over
    slack.fake.assert_no_more_calls("chat.postMessage", 1)
    slack.sender.post_event(mention("why?", thread_ts=thread))
    _, late = slack.fake.wait_for_calls("chat.postMessage", 2)
    assert not any(t.startswith("_About:_") for t in texts_of(late.params["blocks"]))
    assert not quoted(late)  # "why?" alone asks nothing


@pytest.mark.parametrize("first_event", ["app_mention", "message"])
def test_a_mention_sent_as_both_events_is_answered_once_in_either_order_and_on_retries(
    http_slack_app: AppStarter, first_event: str
):
    slack = http_slack_app()
    thread = start_thread(slack)
    ts = new_ts()
    text = f"<@{BOT_USER_ID}> why?"
    as_mention = mention("why?", ts=ts, thread_ts=thread)
    as_message = channel_message(text, ts=ts, thread_ts=thread)
    first, second = (as_mention, as_message) if first_event == "app_mention" else (as_message, as_mention)
    for delivery in (first, second):
        assert slack.sender.post_event(delivery).status == 200
    for delivery in (second, first):  # Slack retries each delivery it thinks went unanswered
        assert slack.sender.post_event(delivery, retry_num=1).status == 200
        assert slack.sender.post_event(delivery, retry_num=2).status == 200
    _, answer = slack.fake.wait_for_calls("chat.postMessage", 2)
    slack.fake.assert_no_more_calls("chat.postMessage", 2)
    assert REASON in " ".join(quoted(answer))
    assert slack.service.questions == [FIRST, "why?"]


def test_an_auto_answer_channel_answers_questions_in_their_thread_and_ignores_chatter(http_slack_app: AppStarter):
    slack = http_slack_app(QABOT_SLACK_AUTO_CHANNELS=CHANNEL)
    slack.sender.post_event(channel_message("lol nice"))
    question = channel_message("why did ring drop flock")  # a question word, no "?"
    slack.sender.post_event(question)
    [answer] = slack.fake.wait_for_calls("chat.postMessage")
    slack.sender.post_event(channel_message("ok thanks everyone"))
    slack.fake.assert_no_more_calls("chat.postMessage", 1)
    assert answer.params["thread_ts"] == question["event"]["ts"]
    assert REASON in " ".join(quoted(answer))


def test_an_auto_answer_channel_question_with_a_mention_is_answered_once(http_slack_app: AppStarter):
    slack = http_slack_app(QABOT_SLACK_AUTO_CHANNELS=CHANNEL)
    ts = new_ts()
    slack.sender.post_event(channel_message(f"<@{BOT_USER_ID}> {FIRST}", ts=ts))
    slack.sender.post_event(mention(FIRST, ts=ts))
    slack.fake.wait_for_calls("chat.postMessage")
    slack.fake.assert_no_more_calls("chat.postMessage", 1)


def test_the_message_shortcut_answers_about_another_persons_message_ephemerally(http_slack_app: AppStarter):
    slack = http_slack_app()
    ts = new_ts()
    payload = message_shortcut("but why did they drop it? Ring and Flock, I mean", slack.fake.response_url("s"), message_ts=ts)
    assert slack.sender.post_interaction(payload).status == 200
    [response] = slack.fake.wait_for_calls("response_url")
    assert response.params["response_type"] == "ephemeral"
    shown = texts_of(response.params["blocks"])
    assert shown[0] == f"<https://fake.slack.test/archives/{CHANNEL}/p{ts.replace('.', '')}|About this message>"
    assert REASON in " ".join(quoted(response))
    assert slack.fake.calls("chat.postMessage") == []


def test_the_message_shortcut_can_answer_for_the_channel(http_slack_app: AppStarter):
    slack = http_slack_app(QABOT_ASK_ABOUT_VISIBILITY="public")
    slack.sender.post_interaction(message_shortcut("How much did Amazon pay for Ring?", slack.fake.response_url("s")))
    [response] = slack.fake.wait_for_calls("response_url")
    assert response.params["response_type"] == "in_channel" and "$839 million" in everything_shown(response)


def test_private_channels_follow_up_too(http_slack_app: AppStarter):
    slack = http_slack_app()
    question = mention(FIRST, channel="G0PRIVATE1")
    slack.sender.post_event(question)
    slack.fake.wait_for_calls("chat.postMessage")
    slack.sender.post_event(
        channel_message("why?", channel="G0PRIVATE1", channel_type="group", thread_ts=question["event"]["ts"])
    )
    _, why = slack.fake.wait_for_calls("chat.postMessage", 2)
    assert REASON in " ".join(quoted(why))


def test_ask_with_no_text_and_help_give_the_help_reply(http_slack_app: AppStarter):
    from tests.support.slack_payloads import slash_command

    slack = http_slack_app()
    slack.sender.post_command(slash_command("", slack.fake.response_url("empty")))
    [empty] = slack.fake.wait_for_calls("response_url")
    slack.sender.post_event(mention("help"))
    [helped] = slack.fake.wait_for_calls("chat.postMessage")
    for reply in (empty, helped):
        shown = everything_shown(reply)
        assert "I answer from 5 articles" in shown
        assert "Amazon's Ring ends deal with surveillance firm after backlash — BBC News, 2026-02-13" in shown
        assert "https://www.bbc.com/news/articles/cwy8dxz1g7zo" in shown

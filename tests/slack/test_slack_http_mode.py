"""People ask in Slack and the app, served over HTTP, answers: signed requests from a fake Slack,
the real Bolt app on 127.0.0.1, the answers checked in the fake's record of Web API calls."""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bot.adapters.slack.formatting import APOLOGY, NOT_AN_ANSWER_NOTE
from bot.answering.answer import Answer
from bot.answering.core import AnsweringCore
from bot.answering.messages import ERROR_MESSAGE, RATE_LIMITED_MESSAGE
from bot.app import build_service, load_core
from bot.service.questions import QuestionService
from bot.settings import Settings
from bot.stores.ratelimit import SlidingWindowLimiter
from tests.support.slack_payloads import (
    ASKER,
    CHANNEL,
    DM_CHANNEL,
    OTHER_ASKER,
    direct_message,
    mention,
    new_ts,
    slash_command,
)
from tests.support.slack_server import (
    BOT_ID,
    BOT_TOKEN,
    BOT_USER_ID,
    SIGNING_SECRET,
    texts_of,
)
from tests.support.slack_helpers import (
    BBC_URL,
    SPOKESPERSON,
    AppStarter,
    GatedService,
    everything_shown,
    section_quoting,
)

# ---------------------------------------------------------------- asking


def test_a_mention_is_answered_in_its_thread_with_a_link_to_the_article_it_quotes(http_slack_app: AppStarter):
    slack = http_slack_app()
    thread = new_ts()
    delivery = slack.sender.post_event(mention("What did the Flock spokesperson tell the BBC?", thread_ts=thread))
    assert delivery.status == 200

    [reply] = slack.fake.wait_for_calls("chat.postMessage")
    assert reply.params["channel"] == CHANNEL
    assert reply.params["thread_ts"] == thread
    assert reply.token == BOT_TOKEN and reply.error is None
    quoted = section_quoting(reply, SPOKESPERSON)
    assert quoted.endswith(f"\n<{BBC_URL}|Amazon's Ring ends deal with surveillance firm after backlash · BBC News>")
    assert f"*{SPOKESPERSON}" in quoted  # the matched sentence stands out
    assert reply.params["unfurl_links"] is False and reply.params["unfurl_media"] is False
    assert SPOKESPERSON in reply.params["text"]  # the notification says something useful
    assert slack.service.questions == ["What did the Flock spokesperson tell the BBC?"]


def test_a_mention_outside_a_thread_starts_one_under_the_question(http_slack_app: AppStarter):
    slack = http_slack_app()
    question = mention("Did Ring send customer videos to Flock?")
    slack.sender.post_event(question)
    [reply] = slack.fake.wait_for_calls("chat.postMessage")
    assert reply.params["thread_ts"] == question["event"]["ts"]


def test_an_article_without_a_url_is_named_without_a_link_and_other_outlets_are_credited(
    http_slack_app: AppStarter,
):
    slack = http_slack_app()
    slack.sender.post_event(mention("Did Ring send customer videos to Flock?"))
    [reply] = slack.fake.wait_for_calls("chat.postMessage")
    blocks = reply.params["blocks"]
    quoted = section_quoting(reply, "no Ring customer videos were ever sent to Flock")
    assert quoted.endswith(
        "\nAmazon no longer working with controversial police tech company after backlash"
        " over Ring doorbell Super Bowl ad · NBC News"
    )
    credit = blocks[blocks.index({"type": "section", "text": {"type": "mrkdwn", "text": quoted, "verbatim": True}}) + 1]
    assert credit["type"] == "context"
    assert credit["elements"][0]["text"].startswith(f"Also reported by <{BBC_URL}|")


def test_a_bare_mention_gets_a_hint_on_how_to_ask(http_slack_app: AppStarter):
    slack = http_slack_app()
    slack.sender.post_event(mention(""))
    [reply] = slack.fake.wait_for_calls("chat.postMessage")
    assert texts_of(reply.params["blocks"])[0].startswith("Please ask a question, for example:")
    assert slack.service.questions == [""]  # the bot's own mention is not part of the question


def test_a_direct_message_is_answered_in_the_conversation(http_slack_app: AppStarter):
    slack = http_slack_app()
    slack.sender.post_event(direct_message("What did the Flock spokesperson tell the BBC?"))
    [reply] = slack.fake.wait_for_calls("chat.postMessage")
    assert reply.params["channel"] == DM_CHANNEL
    assert "thread_ts" not in reply.params
    assert BBC_URL in section_quoting(reply, SPOKESPERSON)


def test_edits_bot_posts_and_the_bots_own_messages_in_a_dm_are_not_questions(http_slack_app: AppStarter):
    slack = http_slack_app()
    for event in (
        direct_message("edited text", subtype="message_changed"),
        direct_message("a file", subtype="file_share"),
        direct_message("another bot talking", user="U0OTHERBOT", bot_id="B0OTHERBOT"),
        direct_message("Here is what the articles say:", user=BOT_USER_ID, bot_id=BOT_ID),
    ):
        assert slack.sender.post_event(event).status == 200
    slack.sender.post_event(direct_message("Did Ring send customer videos to Flock?"))
    slack.fake.wait_for_calls("chat.postMessage")
    slack.fake.assert_no_more_calls("chat.postMessage", expected=1)
    assert slack.service.questions == ["Did Ring send customer videos to Flock?"]


def test_when_the_articles_do_not_answer_the_bot_says_so_and_marks_the_closest_passage(http_slack_app: AppStarter):
    slack = http_slack_app()
    slack.sender.post_event(mention("Who won the world cup?"))
    [reply] = slack.fake.wait_for_calls("chat.postMessage")
    shown = texts_of(reply.params["blocks"])
    assert shown[0].startswith("I couldn't find an answer to that in the articles.")
    assert NOT_AN_ANSWER_NOTE in shown
    assert reply.params["text"].startswith("I couldn't find an answer")


# ---------------------------------------------------------------- /ask


def test_ask_is_acknowledged_at_once_and_answered_afterwards_only_to_the_asker(http_slack_app: AppStarter):
    gate = threading.Event()
    slack = http_slack_app(lambda settings: GatedService(build_service(settings), gate))
    response_url = slack.fake.response_url("ask-1")

    acknowledgement = slack.sender.post_command(
        slash_command("What did the Flock spokesperson tell the BBC?", response_url)
    )
    # Acknowledged while the answer is still being worked out, well within Slack's 3 seconds.
    assert acknowledgement.status == 200 and acknowledgement.seconds < 2.0
    assert slack.fake.calls("response_url") == []

    gate.set()
    [response] = slack.fake.wait_for_calls("response_url")
    assert response.params["response_type"] == "ephemeral"
    shown = texts_of(response.params["blocks"])
    assert shown[0] == "*Question:* What did the Flock spokesperson tell the BBC?"
    assert BBC_URL in section_quoting(response, SPOKESPERSON)
    assert response.params["unfurl_links"] is False


def test_ask_can_answer_for_the_whole_channel(http_slack_app: AppStarter):
    slack = http_slack_app(QABOT_SLACK_SLASH_VISIBILITY="in_channel")
    slack.sender.post_command(slash_command("Did Ring send customer videos to Flock?", slack.fake.response_url()))
    [response] = slack.fake.wait_for_calls("response_url")
    assert response.params["response_type"] == "in_channel"


# ---------------------------------------------------------------- one question, one answer


def test_a_retried_event_is_answered_once(http_slack_app: AppStarter):
    slack = http_slack_app()
    question = mention("Did Ring send customer videos to Flock?")
    assert slack.sender.post_event(question).status == 200
    assert slack.sender.post_event(question, retry_num=1).status == 200
    assert slack.sender.post_event(question, retry_num=2).status == 200
    slack.fake.wait_for_calls("chat.postMessage")
    slack.fake.assert_no_more_calls("chat.postMessage", expected=1)
    assert len(slack.service.questions) == 1


def test_a_retry_whose_first_delivery_never_arrived_is_answered(http_slack_app: AppStarter):
    slack = http_slack_app()  # e.g. the app was restarting when Slack first tried
    assert slack.sender.post_event(mention("Did Ring send customer videos to Flock?"), retry_num=1).status == 200
    [reply] = slack.fake.wait_for_calls("chat.postMessage")
    assert "no Ring customer videos" in everything_shown(reply)


def test_a_retry_that_arrives_while_the_first_delivery_is_still_being_answered_is_dropped(
    http_slack_app: AppStarter,
):
    gate = threading.Event()
    slack = http_slack_app(lambda settings: GatedService(build_service(settings), gate))
    question = mention("Did Ring send customer videos to Flock?")
    slack.sender.post_event(question)
    assert slack.sender.post_event(question, retry_num=1).status == 200
    gate.set()
    slack.fake.wait_for_calls("chat.postMessage")
    slack.fake.assert_no_more_calls("chat.postMessage", expected=1)


def test_an_edited_mention_does_not_get_a_second_answer(http_slack_app: AppStarter):
    slack = http_slack_app()
    first = mention("Did Ring send customer videos to Flock?")
    edited = mention("Did Ring send customer videos to Flock? (edited)", ts=first["event"]["ts"])
    slack.sender.post_event(first)
    slack.sender.post_event(edited)  # a new event_id for the same message
    slack.fake.wait_for_calls("chat.postMessage")
    slack.fake.assert_no_more_calls("chat.postMessage", expected=1)


# ---------------------------------------------------------------- requests not from Slack


def test_requests_with_a_bad_signature_or_a_stale_timestamp_are_rejected_and_nothing_is_posted(
    http_slack_app: AppStarter,
):
    slack = http_slack_app()
    forged = slack.sender.post_event(mention("Who won?"), signing_secret="0" * 32)
    stale = slack.sender.post_event(mention("Who won?"), timestamp=int(time.time()) - 6 * 60)
    forged_command = slack.sender.post_command(
        slash_command("Who won?", slack.fake.response_url()), timestamp=int(time.time()) + 6 * 60
    )
    assert (forged.status, stale.status, forged_command.status) == (401, 401, 401)
    slack.fake.assert_no_more_calls("chat.postMessage", expected=0, quiet_seconds=0.5)
    assert slack.fake.calls("response_url") == []
    assert slack.service.questions == []


def test_a_rejected_delivery_does_not_stop_the_real_one_from_being_answered(http_slack_app: AppStarter):
    slack = http_slack_app()
    question = mention("Did Ring send customer videos to Flock?")
    assert slack.sender.post_event(question, signing_secret="0" * 32).status == 401
    assert slack.sender.post_event(question).status == 200
    slack.fake.wait_for_calls("chat.postMessage")


def test_slack_can_verify_the_request_url(http_slack_app: AppStarter):
    slack = http_slack_app()
    check = slack.sender.post_event({"type": "url_verification", "token": "legacy", "challenge": "c-123"})
    assert check.status == 200 and "c-123" in check.body
    forged = slack.sender.post_event(
        {"type": "url_verification", "token": "legacy", "challenge": "c-123"}, signing_secret="0" * 32
    )
    assert forged.status == 401


# ---------------------------------------------------------------- what a question cannot do


def test_channel_wide_mentions_in_a_question_notify_nobody(http_slack_app: AppStarter):
    slack = http_slack_app()
    # Typing "@channel" reaches the app as <!channel>; typing "<!here>" literally reaches it escaped.
    slack.sender.post_event(mention("<!channel> what did the Flock spokesperson tell the BBC?"))
    slack.sender.post_command(
        slash_command("&lt;!here&gt; <!channel> did Ring send videos to Flock?", slack.fake.response_url())
    )
    [reply] = slack.fake.wait_for_calls("chat.postMessage")
    [response] = slack.fake.wait_for_calls("response_url")
    for call in (reply, response):
        controls = re.findall(r"<[^>]*>", everything_shown(call))
        assert all(c.startswith("<http") for c in controls), controls
    assert texts_of(response.params["blocks"])[0] == (
        "*Question:* &lt;!here&gt; @channel did Ring send videos to Flock?"
    )


def test_long_passages_are_trimmed_to_slacks_limits_and_slack_accepts_the_answer(
    http_slack_app: AppStarter, tmp_path: Path
):
    corpus = tmp_path / "articles"
    corpus.mkdir()
    for n in range(30):
        # Three sentences of about 1,150 characters; the middle one answers, so its passage is
        # all three (over 3,000 characters) and must be trimmed. Made-up words keep the stories
        # apart (the core folds passages sharing a run of words); each story has a copy at a
        # second outlet, so each passage also carries an "also reported by" block.
        sentences = [
            made_up_sentence("Zz", n * 1000),
            made_up_sentence(
                f"{letters_only(n).title()} Ring & Flock {letters_only(n + 500)} <partnership> ended", n * 1000 + 300
            ),
            made_up_sentence("Zz", n * 1000 + 600),
        ]
        for outlet in ("a", "b"):
            (corpus / f"long-{n}-{outlet}.md").write_text(
                f"---\ntitle: Long report {n}\npublisher: Outlet {outlet}\n"
                f"url: https://example.com/{outlet}/{n}?a=1&b=2\n---\n\n" + " ".join(sentences) + "\n",
                encoding="utf-8",
            )
    slack = http_slack_app(QABOT_CORPUS_DIR=str(corpus), QABOT_TOP_K="30", QABOT_CACHE_DIR=str(tmp_path / "c"))
    slack.sender.post_event(mention("Why did the Ring Flock partnership end?"))
    [reply] = slack.fake.wait_for_calls("chat.postMessage")
    assert reply.error is None, reply.error  # the fake, like Slack, refuses a message over the limits
    blocks = reply.params["blocks"]
    assert len(blocks) <= 50
    assert all(len(t) <= 3000 for t in texts_of(blocks))
    # (More passages than 50 blocks can hold is covered in test_formatting: the core returns fewer.)
    assert sum(1 for block in blocks if block["type"] == "context") >= 5  # "also reported by" under each
    trimmed = [t for t in texts_of(blocks) if t.startswith(">…") and "…\n<https://example.com/" in t]
    assert trimmed and all("&amp; Flock " in t and "&lt;partnership&gt; ended" in t for t in trimmed)


def letters_only(number: int) -> str:
    """A made-up word for `number` (digits would be dropped from the index, letters are kept)."""
    word = ""
    while True:
        number, digit = divmod(number, 26)
        word += chr(ord("a") + digit)
        if number == 0:
            return "zq" + word


def made_up_sentence(start: str, seed: int, length: int = 1150) -> str:
    words = [start]
    while sum(len(w) + 1 for w in words) < length:
        words.append(letters_only(seed + len(words)))
    return " ".join(words) + "."


# ---------------------------------------------------------------- limits and failures


def test_an_asker_over_the_rate_limit_gets_a_polite_note_while_others_are_answered(http_slack_app: AppStarter):
    slack = http_slack_app(QABOT_RATE_LIMIT="1/60")
    slack.sender.post_event(mention("Did Ring send customer videos to Flock?", user=ASKER))
    first = slack.fake.wait_for_calls("chat.postMessage", 1)[0]
    slack.sender.post_event(mention("What did the Flock spokesperson tell the BBC?", user=ASKER))
    second = slack.fake.wait_for_calls("chat.postMessage", 2)[1]
    slack.sender.post_event(mention("What did the Flock spokesperson tell the BBC?", user=OTHER_ASKER))
    third = slack.fake.wait_for_calls("chat.postMessage", 3)[2]

    assert "no Ring customer videos" in everything_shown(first)
    assert texts_of(second.params["blocks"]) == [f":hourglass_flowing_sand: {RATE_LIMITED_MESSAGE}"]
    assert SPOKESPERSON in everything_shown(third)


def test_when_slack_refuses_the_answer_the_asker_gets_an_apology_and_the_app_keeps_answering(
    http_slack_app: AppStarter, caplog
):
    slack = http_slack_app()
    slack.fake.fail_next("chat.postMessage", status=500, error="fatal_error", times=2)  # the call and its retry
    slack.sender.post_event(mention("Did Ring send customer videos to Flock?"))
    _, failed, apology = slack.fake.wait_for_calls("chat.postMessage", 3)
    assert failed.error == "fatal_error"
    assert apology.params["text"] == APOLOGY and apology.params["thread_ts"] == failed.params["thread_ts"]
    assert any(r.exc_info and "posting an answer failed" in r.getMessage() for r in caplog.records)

    slack.sender.post_event(mention("What did the Flock spokesperson tell the BBC?"))
    answer = slack.fake.wait_for_calls("chat.postMessage", 4)[3]
    assert SPOKESPERSON in everything_shown(answer)


def test_when_even_the_apology_cannot_be_posted_the_app_still_answers_the_next_question(http_slack_app: AppStarter):
    slack = http_slack_app()
    slack.fake.fail_next("chat.postMessage", error="not_in_channel", times=2)
    slack.sender.post_event(mention("Did Ring send customer videos to Flock?"))
    slack.fake.wait_for_calls("chat.postMessage", 2)
    slack.sender.post_event(mention("What did the Flock spokesperson tell the BBC?"))
    answer = slack.fake.wait_for_calls("chat.postMessage", 3)[2]
    assert answer.error is None and SPOKESPERSON in everything_shown(answer)


def test_slack_asking_to_slow_down_delays_the_answer_without_doubling_it(http_slack_app: AppStarter):
    slack = http_slack_app()
    slack.fake.fail_next("chat.postMessage", status=429, error="ratelimited", retry_after=1)
    slack.sender.post_event(mention("Did Ring send customer videos to Flock?"))
    limited, posted = slack.fake.wait_for_calls("chat.postMessage", 2)
    assert limited.error == "ratelimited" and posted.error is None
    assert posted.at - limited.at >= 0.9  # Retry-After was honoured
    assert "no Ring customer videos" in everything_shown(posted)
    slack.fake.assert_no_more_calls("chat.postMessage", expected=2)


def test_a_failed_ask_response_is_followed_by_an_apology(http_slack_app: AppStarter):
    slack = http_slack_app()
    slack.fake.fail_next("response_url", status=500, error="internal")
    slack.sender.post_command(slash_command("Did Ring send videos to Flock?", slack.fake.response_url()))
    failed, apology = slack.fake.wait_for_calls("response_url", 2)
    assert failed.status == 500
    assert apology.params["text"] == APOLOGY


@dataclass
class CoreThatFailsOn:
    """The real core, except that one question makes it raise, as a bug would."""

    real: AnsweringCore
    trigger: str

    def answer(self, question: str) -> Answer:
        if self.trigger in question:
            raise RuntimeError("index exploded")
        return self.real.answer(question)


def test_an_error_inside_the_core_is_answered_with_an_apology_and_logged_and_the_app_keeps_going(
    http_slack_app: AppStarter, caplog
):

    def service_with_a_failing_core(settings: Settings) -> QuestionService:
        failing_core = CoreThatFailsOn(load_core(settings), trigger="explode")
        return QuestionService(core=failing_core, limiter=SlidingWindowLimiter(settings.rate_limit))  # type: ignore[arg-type]

    slack = http_slack_app(service_with_a_failing_core)

    slack.sender.post_event(mention("please explode"))
    [apology] = slack.fake.wait_for_calls("chat.postMessage")
    assert texts_of(apology.params["blocks"]) == [ERROR_MESSAGE]
    assert any(r.exc_info and r.exc_info[0] is RuntimeError for r in caplog.records)

    slack.sender.post_event(mention("What did the Flock spokesperson tell the BBC?"))
    answer = slack.fake.wait_for_calls("chat.postMessage", 2)[1]
    assert SPOKESPERSON in everything_shown(answer)


class ServiceThatRaises:
    def ask(self, question: str, user_id: str, platform: str = "", channel_id: str | None = None) -> Answer:
        raise RuntimeError("a service that breaks its promise never to raise")


def test_even_a_service_that_raises_gets_the_asker_an_apology(http_slack_app: AppStarter):
    slack = http_slack_app(lambda settings: ServiceThatRaises())
    slack.sender.post_event(direct_message("anything"))
    [apology] = slack.fake.wait_for_calls("chat.postMessage")
    assert texts_of(apology.params["blocks"]) == [ERROR_MESSAGE]


# ---------------------------------------------------------------- privacy


def test_no_token_secret_or_raw_user_id_reaches_the_logs(http_slack_app: AppStarter, caplog):
    caplog.set_level(logging.DEBUG)
    slack = http_slack_app()
    slack.fake.fail_next("chat.postMessage", error="fatal_error")
    slack.sender.post_event(mention("Did Ring send customer videos to Flock?", user=ASKER))
    slack.sender.post_event(mention("forged", user=OTHER_ASKER), signing_secret="0" * 32)
    slack.sender.post_command(slash_command("Did Ring send videos?", slack.fake.response_url(), user=OTHER_ASKER))
    slack.fake.wait_for_calls("chat.postMessage", 2)
    slack.fake.wait_for_calls("response_url")

    logged = "\n".join(caplog.text.splitlines() + [r.getMessage() for r in caplog.records])
    assert "posting an answer failed" in logged  # the logs were captured
    for secret in (BOT_TOKEN, SIGNING_SECRET, ASKER, OTHER_ASKER):
        assert secret not in logged

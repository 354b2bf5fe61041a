"""People follow up: "why?", "who said that?", "tell me more", "what about axon?" — read with the
earlier question of the same conversation, answered only with quoted passages."""

from __future__ import annotations

import gc
import json
import re
import subprocess
import sys
import tracemalloc
from dataclasses import replace
from pathlib import Path

from bot.answering.answer import Outcome
from bot.answering.conversation import Conversation, passage_keys
from bot.service.privacy import user_key
from bot.service.questions import QuestionService
from bot.stores.conversations import ConversationStore
from bot.stores.ratelimit import RateLimit, SlidingWindowLimiter

REASON = "significantly more time and resources than anticipated"
FIRST = "When did Ring cancel the Flock deal?"
SECRET = b"a test deployment secret"


def shown_keys(*answers):
    return {key for answer in answers for passage in answer.passages for key in passage_keys(passage)}


def test_why_after_when_is_answered_with_the_reason(core):
    conversation = Conversation()
    first = core.answer(FIRST, conversation)
    assert first.answered and first.follow_up_of is None
    why = core.answer("why?", conversation)
    assert why.answered
    assert why.follow_up_of == FIRST
    assert REASON in why.passages[0].text


def test_a_lone_why_outside_a_conversation_still_asks_for_words(core):
    assert core.answer("why?").outcome is Outcome.INVALID_QUESTION


def test_tell_me_more_shows_passages_not_shown_before(core):
    conversation = Conversation()
    first = core.answer(FIRST, conversation)
    why = core.answer("why?", conversation)
    more = core.answer("tell me more", conversation)
    assert more.answered and more.follow_up_of == FIRST
    assert more.passages
    assert shown_keys(more).isdisjoint(shown_keys(first, why))


def test_asking_for_more_again_and_again_never_repeats_a_passage(core):
    conversation = Conversation()
    answers = [core.answer("Why did Ring drop Flock?", conversation)]
    for _ in range(12):  # more than the turns a conversation keeps
        answers.append(core.answer("more", conversation))
    seen: set[str] = set()
    for answer in answers:
        keys = shown_keys(answer)
        assert seen.isdisjoint(keys)
        seen |= keys
    assert answers[-1].outcome is Outcome.NOT_FOUND and "no other passages" in answers[-1].message


def test_more_without_a_conversation_says_to_ask_first(core):
    answer = core.answer("tell me more")
    assert answer.outcome is Outcome.INVALID_QUESTION and "first" in answer.message


def test_the_follow_ups_own_kind_decides_the_answer(core):
    conversation = Conversation()
    core.answer("How much did Amazon pay for Ring?", conversation)
    when = core.answer("when?", conversation)
    assert when.follow_up_of == "How much did Amazon pay for Ring?"
    assert "2018" in when.passages[0].sentence


def test_what_about_x_carries_the_earlier_question_over(core):
    conversation = Conversation()
    core.answer(FIRST, conversation)
    axon = core.answer("what about axon?", conversation)
    assert axon.follow_up_of == FIRST
    assert "Axon" in axon.passages[0].sentence


def test_a_complete_new_question_in_a_conversation_is_answered_on_its_own(core):
    conversation = Conversation()
    core.answer(FIRST, conversation)
    in_thread = core.answer("How much did Amazon pay for Ring?", conversation)
    alone = core.answer("How much did Amazon pay for Ring?")
    assert in_thread.follow_up_of is None
    assert [p.sentence for p in in_thread.passages] == [p.sentence for p in alone.passages]


def test_a_follow_up_after_the_conversation_expired_is_a_new_question(core):
    now = [1000.0]
    store = ConversationStore(idle_seconds=30 * 60, clock=lambda: now[0])
    questions = QuestionService(core=core, limiter=SlidingWindowLimiter(RateLimit(0, 1.0)), conversations=store)
    questions.ask(FIRST, "U1", "slack", "C1", conversation="C1:1.0")
    now[0] += 29 * 60
    assert questions.ask("why?", "U1", "slack", "C1", conversation="C1:1.0").follow_up_of == FIRST
    now[0] += 31 * 60
    late = questions.ask("why?", "U1", "slack", "C1", conversation="C1:1.0")
    assert late.follow_up_of is None and late.outcome is Outcome.INVALID_QUESTION


def test_a_reply_to_the_bots_answer_continues_its_conversation(core):
    questions = QuestionService(core=core, limiter=SlidingWindowLimiter(RateLimit(0, 1.0)))
    questions.ask(FIRST, "U1", "discord", "C1", conversation="message:10")
    questions.link_conversation("discord", "message:10", "message:11")  # the bot's answer
    assert questions.in_conversation("discord", "message:11")
    assert questions.ask("why?", "U2", "discord", "C1", conversation="message:11").follow_up_of == FIRST
    assert not questions.in_conversation("discord", "message:12")


def test_conversation_keys_are_hashed_never_raw_ids(core):
    store = ConversationStore()
    questions = QuestionService(core=core, limiter=SlidingWindowLimiter(RateLimit(0, 1.0)), conversations=store)
    questions.ask(FIRST, "U0RAWUSER", "slack", "C0RAWCHAN", conversation="C0RAWCHAN:1712345678.000100")
    questions.link_conversation("slack", "C0RAWCHAN:1712345678.000100", "C0RAWCHAN:1712345679.000200")
    keys = store.keys()
    assert keys and not any("C0RAWCHAN" in k or "1712345678" in k or "U0RAWUSER" in k for k in keys)
    # A new service (a restart) remembers nothing.
    restarted = QuestionService(core=core, limiter=SlidingWindowLimiter(RateLimit(0, 1.0)))
    assert not restarted.in_conversation("slack", "C0RAWCHAN:1712345678.000100")


TRACED_FRAMES = 1
CONVERSATION_CODE = (__file__, "*/bot/stores/conversations.py", "*/bot/answering/conversation.py", "<string>")
"""Where what a conversation store holds is allocated: this test's turns, the store, the
conversations, and the dataclasses' generated __init__ ("<string>")."""


def memory_allocated_by_this_test() -> int:
    """Bytes still held that were allocated by the conversation code: allocations by other tests'
    threads still running in this process (a reload watcher, an index tidying up) are not counted."""
    ours = [tracemalloc.Filter(True, pattern) for pattern in CONVERSATION_CODE]
    return sum(trace.size for trace in tracemalloc.take_snapshot().filter_traces(ours).traces)


def test_memory_stays_flat_over_ten_thousand_threads(core):
    store = ConversationStore(max_conversations=500)
    # A real turn (a real answer's passages); each thread gets its own copy of it.
    sample = Conversation()
    core.answer("Why did Ring drop Flock?", sample)
    turn = sample.last()
    assert turn is not None and turn.shown

    def threads(start: int, count: int) -> None:
        for n in range(start, start + count):
            key = user_key("slack", f"conversation:C1:{n}.0", SECRET)
            conversation = store.open(key)
            for asked in range(3):
                conversation.add(replace(turn, question=f"{turn.question} {n} {asked}", shown=frozenset(f"{k}{n}" for k in turn.shown)))
            store.link(user_key("slack", f"conversation:C1:{n}.5", SECRET), key)

    gc.collect()
    tracemalloc.start(TRACED_FRAMES)
    try:
        # 3,000 threads fill the store (500) and its links (2,000) and replace everything held
        # before tracing began: from then on what is traced is what the store holds.
        threads(0, 3000)
        gc.collect()
        after_3000 = memory_allocated_by_this_test()
        threads(3000, 10_000)
        gc.collect()
        after_13000 = memory_allocated_by_this_test()
    finally:
        tracemalloc.stop()
    assert len(store) == 500
    # 10,000 more threads, each holding ~3 KB of turns: flat (within 64 KB), not 30 MB more.
    assert after_13000 - after_3000 < 64 * 1024, (after_3000, after_13000)


def test_qabot_ask_conversation_json_reads_one_conversation(tmp_path: Path):
    lines = "When did Ring cancel the Flock deal?\nwhy?\ntell me more\n"
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "ask", "--conversation", "--json"],
        check=False,
        input=lines,
        capture_output=True,
        text=True,
        env={"QABOT_CACHE_DIR": str(tmp_path / "cache"), "QABOT_QUESTION_LOG": "false", "PATH": "/usr/bin:/bin"},
        cwd=Path(__file__).resolve().parents[1],
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    first, why, more = (json.loads(line) for line in result.stdout.splitlines())
    assert first["follow_up_of"] is None
    assert why["follow_up_of"] == FIRST and REASON in why["passages"][0]["text"]
    assert more["follow_up_of"] == FIRST and more["passages"]
    earlier = {p["sentence"] for p in first["passages"] + why["passages"]}
    assert earlier.isdisjoint(p["sentence"] for p in more["passages"])
    assert {"answered", "message", "outcome", "coverage", "passages"} <= set(why)


def test_help_lists_the_articles_from_the_corpus_with_two_questions_to_try(core):
    from bot.answering.help import HELP_ARTICLES_SHOWN

    for asked in ("help", "what can you do?", "what do you know", "sources"):
        answer = core.answer(asked)
        assert answer.outcome is Outcome.CHAT and not answer.passages, asked
        assert answer.message.startswith(f"I answer from {len(core.articles)} articles")
    text = core.answer("help").message
    listed = [a for a in core.articles if f"• {a.label}" in text]
    assert len(listed) == min(HELP_ARTICLES_SHOWN, len(core.articles))
    for article in listed:
        if article.url:
            assert article.url in text
        if article.published:
            assert article.published.isoformat() in text
    examples = re.findall(r"“([^”]+\?)”", text.split("Try: ", 1)[1].splitlines()[0])
    assert len(set(examples)) == 2
    assert all(core.answer(q).answered for q in examples)  # made from the articles, and answered


def test_help_in_a_larger_corpus_lists_the_newest_few_and_counts_the_rest():
    from bot.answering.core import AnsweringCore
    from index.analysis import Analyzer
    from index.sentence_index import SentenceIndex
    from tests.support.synthetic import articles

    made = tuple(articles(240, seed=3))  # 12 articles of 20 sentences
    core = AnsweringCore.from_index(made, SentenceIndex.build(made, Analyzer()))
    text = core.answer("help").message
    assert text.startswith("I answer from 12 articles") and "…and 7 more articles." in text
    newest = max(made, key=lambda a: a.published)
    assert text.splitlines()[1].startswith(f"• {newest.label}") and newest.url in text.splitlines()[1]


def test_chatter_is_not_a_follow_up(core):
    conversation = Conversation()
    core.answer(FIRST, conversation)
    assert core.answer("thanks!", conversation).outcome is Outcome.CHAT
    assert core.answer("why?", conversation).follow_up_of == FIRST

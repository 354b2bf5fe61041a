"""With QABOT_REDIS_URL, conversations are shared: "why?" asked of one replica is read with the
question another replica answered; they expire when idle, stay bounded, hold no raw ID, and a
Redis that is down costs the follow-up, never the answer. Real redis-server, real core."""

from __future__ import annotations

import time

from bot.answering.answer import Outcome
from bot.answering.conversation import passage_keys
from bot.service.questions import QuestionService
from bot.stores.choice import open_stores
from bot.stores.ratelimit import RateLimit
from bot.stores.redis_conversations import RedisConversationStore
from bot.stores.redis_stores import OUTAGE_COOLDOWN_SECONDS
from tests.support.redis_server import RedisServer

REASON = "significantly more time and resources than anticipated"
FIRST = "When did Ring cancel the Flock deal?"
SECRET = b"the deployment secret every replica of this test shares"
THREAD = "thread:C0RAWCHAN:1712345678.000100"


def replica(core, redis_url: str, **options) -> QuestionService:
    """One replica as `bot.app` builds it: its stores chosen by `open_stores`, the shared secret."""
    stores = open_stores(RateLimit(0, 1.0), redis_url=redis_url, redis_timeout=0.5, **options)
    assert isinstance(stores.conversations, RedisConversationStore)
    return QuestionService(core=core, limiter=stores.limiter, id_secret=SECRET, conversations=stores.conversations)


def shown(*answers) -> set[str]:
    return {key for answer in answers for passage in answer.passages for key in passage_keys(passage)}


def test_a_follow_up_asked_of_another_replica_is_read_with_the_first_question(core, redis_url: str):
    one, other = replica(core, redis_url), replica(core, redis_url)
    first = one.ask(FIRST, "U0ALICE", "slack", "C0RAWCHAN", conversation=THREAD)
    assert first.answered and first.follow_up_of is None

    assert other.in_conversation("slack", THREAD)  # a thread the bot answered in, for every replica
    why = other.ask("why?", "U0BOB", "slack", "C0RAWCHAN", conversation=THREAD)
    assert why.follow_up_of == FIRST and REASON in why.passages[0].text

    more = one.ask("tell me more", "U0ALICE", "slack", "C0RAWCHAN", conversation=THREAD)
    assert more.answered and more.follow_up_of == FIRST
    assert more.passages and shown(more).isdisjoint(shown(first, why))  # what the other replica showed too


def test_a_reply_to_an_answer_continues_its_conversation_on_any_replica(core, redis_url: str):
    one, other = replica(core, redis_url), replica(core, redis_url)
    one.ask(FIRST, "U0ALICE", "discord", "C1", conversation="message:10")
    one.link_conversation("discord", "message:10", "message:11")  # the bot's answer
    assert other.in_conversation("discord", "message:11")
    why = other.ask("why?", "U0BOB", "discord", "C1", conversation="message:11")
    assert why.follow_up_of == FIRST
    other.link_conversation("discord", "message:11", "message:12")  # the answer to the reply
    assert one.ask("who said that?", "U0ALICE", "discord", "C1", conversation="message:12").follow_up_of == FIRST
    assert not other.in_conversation("discord", "message:13")


def test_the_questions_asked_in_a_thread_are_counted_for_every_replica(core, redis_url: str):
    one, other = replica(core, redis_url), replica(core, redis_url)
    one.ask(FIRST, "U1", "slack", "C1", conversation=THREAD)
    other.ask("why?", "U1", "slack", "C1", conversation=THREAD)
    one.ask("who said that?", "U1", "slack", "C1", conversation=THREAD)
    assert other.in_conversation("slack", THREAD, max_questions=4)
    assert not other.in_conversation("slack", THREAD, max_questions=3)


def test_a_conversation_idle_too_long_is_over_and_a_new_question_starts_afresh(core, redis_url: str):
    one, other = replica(core, redis_url, conversation_idle_seconds=1.0), replica(core, redis_url, conversation_idle_seconds=1.0)
    one.ask(FIRST, "U1", "slack", "C1", conversation=THREAD)
    time.sleep(1.3)  # Redis's own clock expires it
    assert not other.in_conversation("slack", THREAD)
    late = other.ask("why?", "U1", "slack", "C1", conversation=THREAD)
    assert late.follow_up_of is None and late.outcome is Outcome.INVALID_QUESTION


def test_redis_holds_a_bounded_number_of_conversations_under_hashed_keys_only(core, redis_url: str, redis_server: RedisServer):
    service = replica(core, redis_url, max_conversations=20)
    for n in range(60):
        service.ask("Why did Ring drop Flock?", f"U0RAWUSER{n}", "slack", "C0RAWCHAN", conversation=f"thread:C0RAWCHAN:1712345678.{n:06d}")
    service.link_conversation("slack", "thread:C0RAWCHAN:1712345678.000059", "message:C0RAWCHAN:1712345679.000200")
    client = redis_server.client()
    keys = [k.decode() for k in client.keys("*")]
    conversations = [k for k in keys if k.startswith("qabot:conversation:")]
    assert len(conversations) == 20 and client.zcard("qabot:conversations") == 20
    # The newest are kept: the last thread is still a conversation, the first is forgotten.
    assert service.in_conversation("slack", "thread:C0RAWCHAN:1712345678.000059")
    assert not service.in_conversation("slack", "thread:C0RAWCHAN:1712345678.000000")
    stored = "\n".join(keys) + "\n".join(str(client.get(k)) for k in conversations)
    for raw in ("C0RAWCHAN", "U0RAWUSER", "1712345678", "1712345679"):
        assert raw not in stored
    # Every conversation and link expires: nothing is kept for ever.
    assert all(0 < client.pttl(k) for k in keys if k.startswith("qabot:conversation"))


def test_with_redis_down_the_question_is_answered_on_its_own_and_follow_ups_come_back_with_it(
    core, private_redis: RedisServer, caplog
):
    one, other = replica(core, private_redis.url), replica(core, private_redis.url)
    assert one.ask(FIRST, "U1", "slack", "C1", conversation=THREAD).answered
    private_redis.stop()
    started = time.monotonic()
    alone = other.ask("Why did Ring drop Flock?", "U1", "slack", "C1", conversation=THREAD)
    assert alone.answered and alone.follow_up_of is None  # Redis has the thread; this replica does not
    assert time.monotonic() - started < 3
    # Meanwhile the replica remembers the thread itself, as a replica without Redis does.
    assert other.ask("who said that?", "U1", "slack", "C1", conversation=THREAD).follow_up_of == "Why did Ring drop Flock?"
    assert any("Redis at" in r.getMessage() and "own conversations" in r.getMessage() for r in caplog.records)
    private_redis.start()
    time.sleep(OUTAGE_COOLDOWN_SECONDS + 0.2)  # after a failure, Redis is left alone this long
    # The Redis of this test keeps nothing on disk: a restarted one has forgotten the thread.
    assert not other.in_conversation("slack", THREAD)
    other.ask(FIRST, "U1", "slack", "C1", conversation=THREAD)
    assert one.ask("why?", "U1", "slack", "C1", conversation=THREAD).follow_up_of == FIRST


def test_a_conversation_that_cannot_be_read_is_started_afresh(core, redis_url: str, redis_server: RedisServer):
    service = replica(core, redis_url)
    service.ask(FIRST, "U1", "slack", "C1", conversation=THREAD)
    client = redis_server.client()
    [key] = [k for k in client.keys("qabot:conversation:*")]
    client.set(key, b"{not json", px=60_000)
    why = service.ask("why?", "U1", "slack", "C1", conversation=THREAD)
    assert why.outcome is Outcome.INVALID_QUESTION and why.follow_up_of is None
    assert service.ask("Why did Ring drop Flock?", "U1", "slack", "C1", conversation=THREAD).answered
    assert service.ask("who said that?", "U1", "slack", "C1", conversation=THREAD).follow_up_of == "Why did Ring drop Flock?"


def test_a_job_from_an_older_replica_without_a_conversation_is_answered_on_its_own(core, redis_url: str):
    from bot.stores.jobs import QuestionJob

    old_entry = '{"platform": "slack", "surface": "mention", "question": "why?", "user_key": "k"}'
    job = QuestionJob.decode(old_entry)
    assert job.conversation_key is None
    service = replica(core, redis_url)
    assert service.ask_as(job.question, job.user_key, "slack", job.channel_key, job.conversation_key).follow_up_of is None


def test_a_conversation_is_one_key_under_the_key_it_was_given_and_the_index(redis_url: str, redis_server: RedisServer):
    # The store is given hashed keys; it adds nothing of its own but the prefix.
    stores = open_stores(RateLimit(0, 1.0), redis_url=redis_url, redis_prefix="team-a")
    conversation = stores.conversations.open("0123abcd")
    conversation.count_question()
    stores.conversations.save("0123abcd", conversation)
    assert {k.decode() for k in redis_server.client().keys("*")} == {"team-a:conversation:0123abcd", "team-a:conversations"}
    assert stores.conversations.find("0123abcd") is not None


def test_two_replicas_answering_in_one_thread_at_once_each_keep_their_turn(core, redis_url: str):
    one, other = (open_stores(RateLimit(0, 1.0), redis_url=redis_url).conversations for _ in range(2))
    key = "hashed-thread-key"
    first = one.open(key)
    core.answer(FIRST, first)
    one.save(key, first)
    # Both read the thread before either has saved: each answers against the first question only.
    seen_by_one, seen_by_other = one.open(key), other.open(key)
    assert core.answer("why?", seen_by_one).follow_up_of == FIRST
    assert core.answer("who said that?", seen_by_other).follow_up_of == FIRST
    one.save(key, seen_by_one)
    other.save(key, seen_by_other)
    after = one.find(key)
    assert after is not None and after.questions == 3
    assert [turn.question for turn in after.turns()] == [FIRST, "why?", "who said that?"]

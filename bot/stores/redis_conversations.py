"""Conversations shared through Redis, so a follow-up is read with its thread whichever replica
(or durable job worker) answers it, and "is this a thread the bot answered in" is one answer for all.

One Redis string per conversation, `<prefix>:conversation:<key>`: JSON with how many questions it
had and its last `MAX_TURNS` turns (each the question, the texts it was read with, its topic and
the shown passages as 12-byte digests, as in memory). It expires `idle_seconds` after its last
question (`PX`, on Redis's own clock). A sorted set `<prefix>:conversations` (key -> last
question) keeps at most `max_conversations`: the least recently used beyond that are deleted.
A message the bot posted in a conversation is `<prefix>:conversation-link:<message key>` ->
the conversation's key, kept `LINK_SECONDS` (a reply to an answer up to a day old continues its
conversation, if that is still live).

Answering in a conversation is `open` (one script: follow the link, read the conversation),
the core's answer, then `save`: one script appends the turns the answer added and counts its
questions, so two replicas answering in one thread at once each add theirs (both may have read
the conversation without the other's turn, as two threads of one process may).

The scripts reach keys they work out (a link's conversation, the conversations evicted), so this
needs one Redis (or a primary with replicas), not a Redis Cluster.

Privacy: every key is the service's keyed hash of platform IDs; the values hold the questions'
text (as the question log does) and passage digests, never a user or channel ID.

Failure behaviour: Redis unreachable or slow (through the shared `OutageGuard`: one warning per
outage, Redis left alone for a few seconds): `open`, `find` and `link` use this replica's own
in-memory store, so the question is always answered, as a new question when its conversation is
in Redis (and a follow-up without a mention in a thread whose conversation only Redis knows is
not taken for one); a `save` that fails loses that turn. A conversation that cannot be read (not
JSON) is logged and started afresh. Nothing here raises `redis.RedisError`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any, Iterable

import redis

from bot.answering.conversation import MAX_TURNS, Conversation, Turn
from bot.stores.conversations import DEFAULT_MAX_CONVERSATIONS, ConversationStore
from bot.stores.redis_stores import OutageGuard

log = logging.getLogger(__name__)

LINK_SECONDS = 24 * 60 * 60
"""How long a reply to one of the bot's answers can continue the answer's conversation."""

# KEYS[1]: the link key of `key`. ARGV: the conversations' key prefix, `key`.
# Returns {the conversation's key (the linked one, or `key`), its JSON or nil}.
OPEN_SCRIPT = """
local target = redis.call('GET', KEYS[1]) or ARGV[2]
return {target, redis.call('GET', ARGV[1] .. target)}
"""

# KEYS[1]: the conversation, KEYS[2]: the index of conversations by last use.
# ARGV: new turns (a JSON array of JSON strings), questions added, turns kept, idle expiry (ms),
# conversations kept, the conversation's key (its member in the index), the conversations' prefix.
# Turns stay opaque strings here: Lua's cjson cannot tell an empty array from an empty object.
SAVE_SCRIPT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local ttl = tonumber(ARGV[4])
local questions, turns = 0, {}
local raw = redis.call('GET', KEYS[1])
if raw then
  local ok, state = pcall(cjson.decode, raw)
  if ok and type(state) == 'table' then
    questions = tonumber(state.questions) or 0
    if type(state.turns) == 'table' then
      for _, turn in ipairs(state.turns) do turns[#turns + 1] = turn end
    end
  end
end
for _, turn in ipairs(cjson.decode(ARGV[1])) do turns[#turns + 1] = turn end
local kept = {}
for i = math.max(1, #turns - tonumber(ARGV[3]) + 1), #turns do kept[#kept + 1] = turns[i] end
questions = questions + tonumber(ARGV[2])
redis.call('SET', KEYS[1], cjson.encode({questions = questions, turns = kept}), 'PX', ttl)
redis.call('ZADD', KEYS[2], now, ARGV[6])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - ttl)
local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[5])
if over > 0 then
  local oldest = redis.call('ZPOPMIN', KEYS[2], over)
  for i = 1, #oldest, 2 do redis.call('DEL', ARGV[7] .. oldest[i]) end
end
redis.call('PEXPIRE', KEYS[2], ttl)
return questions
"""

# KEYS[1]: the new link, KEYS[2]: the link key of `key`. ARGV: `key`, the link's expiry (ms).
# A link to a linked message points to that message's conversation, as in memory.
LINK_SCRIPT = """
local target = redis.call('GET', KEYS[2]) or ARGV[1]
redis.call('SET', KEYS[1], target, 'PX', ARGV[2])
return 1
"""


class SharedConversation(Conversation):
    """A conversation read from Redis: it remembers which turns answering adds, for `save`."""

    def __init__(self, key: str, turns: Iterable[Turn] = (), questions: int = 0) -> None:
        super().__init__()
        for turn in turns:
            super().add(turn)
        self.questions = questions
        self.key = key
        """The conversation's own key (a reply to a bot message is read under its conversation's)."""
        self.read_questions = questions
        self.new_turns: list[Turn] = []

    def add(self, turn: Turn) -> None:
        super().add(turn)
        self.new_turns.append(turn)


def encode_turn(turn: Turn) -> str:
    # ASCII: a lone surrogate in a question survives the trip through Redis.
    data = {"question": turn.question, "reading": list(turn.reading), "topic": turn.topic, "shown": sorted(turn.shown)}
    return json.dumps(data, ensure_ascii=True)


def decode_turn(text: Any) -> Turn:
    data = json.loads(text)
    reading, shown = data.get("reading"), data.get("shown")
    return Turn(
        question=str(data["question"]),
        reading=tuple(str(t) for t in reading) if isinstance(reading, list) else (),
        topic=str(data["topic"]),
        shown=frozenset(str(s) for s in shown) if isinstance(shown, list) else frozenset(),
    )


def decode_conversation(key: str, raw: bytes | str) -> SharedConversation:
    """A conversation's JSON as Redis keeps it; ValueError (KeyError, TypeError) when it is not one."""
    state = json.loads(raw)
    turns = state.get("turns")
    # An empty list comes back from Lua as {}: no turns.
    decoded = [decode_turn(t) for t in turns] if isinstance(turns, list) else []
    return SharedConversation(key, decoded, int(state.get("questions") or 0))


@dataclass
class RedisConversationStore:
    """`Conversations` shared by every replica using the same Redis and key prefix."""

    client: redis.Redis = field(repr=False)
    guard: OutageGuard
    prefix: str = "qabot"
    idle_seconds: float = 30 * 60
    """A conversation with no question for this long is over (Redis deletes it)."""
    max_conversations: int = DEFAULT_MAX_CONVERSATIONS
    link_seconds: float = LINK_SECONDS
    local: ConversationStore | None = field(default=None, repr=False)
    """This replica's own store, used only while Redis is unreachable."""

    def __post_init__(self) -> None:
        if self.local is None:
            self.local = ConversationStore(idle_seconds=self.idle_seconds, max_conversations=self.max_conversations)
        # register_script sends EVALSHA and loads the script again after a Redis restart.
        self._open = self.client.register_script(OPEN_SCRIPT)
        self._save = self.client.register_script(SAVE_SCRIPT)
        self._link = self.client.register_script(LINK_SCRIPT)

    @property
    def conversation_prefix(self) -> str:
        return f"{self.prefix}:conversation:"

    @property
    def index_key(self) -> str:
        return f"{self.prefix}:conversations"

    def link_key(self, key: str) -> str:
        return f"{self.prefix}:conversation-link:{key}"

    def open(self, key: str) -> Conversation:
        local = self._local

        def shared() -> Conversation:
            target, found = self._read(key)
            return found if found is not None else SharedConversation(target)  # saved once answered in

        return self.guard.call(shared, lambda: local.open(key))

    def find(self, key: str) -> Conversation | None:
        local = self._local
        return self.guard.call(lambda: self._read(key)[1], lambda: local.find(key))

    def save(self, key: str, conversation: Conversation) -> None:
        if not isinstance(conversation, SharedConversation):
            return  # opened from this replica's own store (Redis was down): answering changed it there
        added = conversation.questions - conversation.read_questions
        if added <= 0 and not conversation.new_turns:
            return
        turns = json.dumps([encode_turn(t) for t in conversation.new_turns])
        arguments: list[str | int] = [
            turns,
            added,
            MAX_TURNS,
            max(1, int(self.idle_seconds * 1000)),
            self.max_conversations,
            conversation.key,
            self.conversation_prefix,
        ]
        keys = [self.conversation_prefix + conversation.key, self.index_key]
        self.guard.call(lambda: self._save(keys=keys, args=arguments), lambda: None)

    def link(self, message_key: str, key: str) -> None:
        local = self._local
        keys = [self.link_key(message_key), self.link_key(key)]
        arguments: list[str | int] = [key, max(1, int(self.link_seconds * 1000))]
        # Kept here too: a reply that comes while Redis is down still finds its conversation.
        local.link(message_key, key)
        self.guard.call(lambda: self._link(keys=keys, args=arguments), lambda: None)

    @property
    def _local(self) -> ConversationStore:
        assert self.local is not None
        return self.local

    def _read(self, key: str) -> tuple[str, SharedConversation | None]:
        """The conversation's own key (`key`, or the one the message `key` links to) and the
        conversation, None when there is none (or it expired)."""
        reply = self._open(keys=[self.link_key(key)], args=[self.conversation_prefix, key])
        target = reply[0].decode("utf-8") if isinstance(reply[0], bytes) else str(reply[0])
        raw = reply[1] if len(reply) > 1 else None  # a nil at the end of a Lua array is dropped
        if raw is None:
            return target, None
        try:
            return target, decode_conversation(target, raw)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("a conversation in Redis cannot be read (%s); starting it afresh", type(exc).__name__)
            return target, SharedConversation(target)

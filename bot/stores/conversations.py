"""Conversations in memory: hashed key -> `Conversation`, bounded in number and expiring when idle.

A thread or reply chain the bot answered in is a conversation for `idle_seconds` after its
last question. The store holds at most `max_conversations` (the least recently used goes
first), so memory stays flat however many threads there are; and the messages the bot
posted in a conversation (`link`) point to it, at most `max_conversations * LINKS_PER_CONVERSATION`.

Privacy: keys are the service's keyed hashes of platform IDs (`bot.service.privacy`), never
raw IDs; nothing is written anywhere, so a restart forgets every conversation.

`Conversations` is what the service needs of a store; with QABOT_REDIS_URL the replicas share
one in Redis instead (`bot.stores.redis_conversations`), chosen in `bot.stores.choice`.

Failure behaviour: nothing here raises; an unknown or expired key is simply no conversation.
Thread-safe (one lock; every operation is a few dictionary steps).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from bot.answering.conversation import Conversation

DEFAULT_MAX_CONVERSATIONS = 5000
LINKS_PER_CONVERSATION = 4
"""Bot messages remembered per conversation on average (a reply to any of them follows up)."""


class Conversations(Protocol):
    """What the question service needs of a conversation store (keys are hashed already)."""

    def open(self, key: str) -> Conversation:
        """The live conversation under `key` (or a linked message's), or a new one, to answer in."""
        ...

    def save(self, key: str, conversation: Conversation) -> None:
        """`conversation` (from `open(key)`) was answered in: keep what the answer added to it."""
        ...

    def find(self, key: str) -> Conversation | None:
        """The live conversation under `key` (or a linked message's), without starting one."""
        ...

    def link(self, message_key: str, key: str) -> None:
        """A message the bot posted in conversation `key`: a reply to it continues that conversation."""
        ...


@dataclass
class _Entry:
    conversation: Conversation
    started: float
    last_used: float


@dataclass
class ConversationStore:
    idle_seconds: float = 30 * 60
    """A conversation with no question for this long is over: the next message starts a new one."""
    max_conversations: int = DEFAULT_MAX_CONVERSATIONS
    clock: Callable[[], float] = time.monotonic
    _entries: OrderedDict[str, _Entry] = field(default_factory=OrderedDict, repr=False)
    _links: OrderedDict[str, str] = field(default_factory=OrderedDict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def open(self, key: str) -> Conversation:
        """The live conversation under `key` (or the one a linked message points to), or a new one."""
        now = self.clock()
        with self._lock:
            key = self._links.get(key, key)
            entry = self._live(key, now)
            if entry is None:
                entry = self._entries[key] = _Entry(Conversation(), started=now, last_used=now)
                while len(self._entries) > self.max_conversations:
                    self._entries.popitem(last=False)  # the least recently used
            entry.last_used = now
            self._entries.move_to_end(key)
            return entry.conversation

    def save(self, key: str, conversation: Conversation) -> None:
        """Nothing to do: `open` handed out the conversation kept here, and answering changed it."""

    def find(self, key: str) -> Conversation | None:
        """The live conversation under `key` (or a linked message's), without starting one."""
        with self._lock:
            entry = self._live(self._links.get(key, key), self.clock())
            return entry.conversation if entry is not None else None

    def link(self, message_key: str, key: str) -> None:
        """A message the bot posted in conversation `key`: a reply to it continues that conversation."""
        with self._lock:
            self._links[message_key] = self._links.get(key, key)
            self._links.move_to_end(message_key)
            while len(self._links) > self.max_conversations * LINKS_PER_CONVERSATION:
                self._links.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def keys(self) -> list[str]:
        """Every key held (conversations and linked messages): for checking that none is a raw ID."""
        with self._lock:
            return [*self._entries, *self._links, *self._links.values()]

    def _live(self, key: str, now: float) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is not None and now - entry.last_used > self.idle_seconds:
            del self._entries[key]  # expired: forgotten at once
            return None
        return entry

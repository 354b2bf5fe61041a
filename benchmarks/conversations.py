"""Conversations: what a follow-up costs to answer, and what the conversation store holds in memory.

    python -m benchmarks.conversations                 # bundled corpus, 200 rounds, 10k and 100k threads
    python -m benchmarks.conversations --rounds 50 --threads 10000
    python -m benchmarks.conversations --redis         # also: the store in Redis beside the one in memory

Prints, never asserts. Latency: `answer()` on the bundled corpus for a first question and its
follow-ups ("why?", "who said that?", "tell me more"), median and p95 in ms, each follow-up in
a fresh conversation after the same first question. Memory: traced Python allocations of a
`ConversationStore` (bound `QABOT_CONVERSATIONS_MAX`'s default) after N threads of three turns
each, each turn a real answer's turn.

With `--redis` (a `redis-server` on PATH, started on a free port in a temporary folder, or
`--redis-url`): `QuestionService.ask` of a first question and "why?" in a fresh thread, with the
in-memory store and the Redis one (`bot.stores.redis_conversations`) alternating round by round,
median and p95; and Redis's `used_memory` after N threads of three turns each, bound
`QABOT_CONVERSATIONS_MAX`'s default. The load average is printed with every timing.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
import tracemalloc
from dataclasses import replace
from pathlib import Path
from typing import Iterator

import redis

from bot.answering.conversation import Conversation
from bot.app import load_core
from bot.service.privacy import user_key
from bot.settings import Settings
from bot.service.questions import QuestionService
from bot.stores.choice import open_stores
from bot.stores.conversations import DEFAULT_MAX_CONVERSATIONS, ConversationStore, Conversations
from bot.stores.ratelimit import RateLimit

RESULTS = Path(__file__).resolve().parent / "results"
FIRST = "When did Ring cancel the Flock deal?"
FOLLOW_UPS = ("why?", "who said that?", "what about axon?", "tell me more")


def _ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    return f"median {statistics.median(ordered):6.2f} ms   p95 {ordered[int(0.95 * (len(ordered) - 1))]:6.2f} ms"


def latency(rounds: int) -> None:
    core = load_core(Settings.load(environ={}, dotenv_path=None, cache_dir=RESULTS / "cache-bundled"))
    core.answer(FIRST)  # warm
    timings: dict[str, list[float]] = {FIRST: [], **{q: [] for q in FOLLOW_UPS}, FIRST + " (alone)": []}
    for _ in range(rounds):
        started = time.perf_counter()
        core.answer(FIRST)
        timings[FIRST + " (alone)"].append((time.perf_counter() - started) * 1000)
        for follow_up in FOLLOW_UPS:
            conversation = Conversation()
            started = time.perf_counter()
            core.answer(FIRST, conversation)
            timings[FIRST].append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            core.answer(follow_up, conversation)
            timings[follow_up].append((time.perf_counter() - started) * 1000)
    print(f"answer() on the bundled corpus, {rounds} rounds")
    for question, samples in timings.items():
        print(f"  {question:48s} {_ms(samples)}")


def memory(threads: int) -> None:
    core = load_core(Settings.load(environ={}, dotenv_path=None, cache_dir=RESULTS / "cache-bundled"))
    sample = Conversation()
    core.answer(FIRST, sample)
    turn = sample.last()
    assert turn is not None
    store = ConversationStore()
    secret = b"benchmark"
    gc.collect()
    tracemalloc.start()
    checkpoints: list[tuple[int, int, int]] = []
    for n in range(threads):
        key = user_key("slack", f"conversation:C1:{n}.0", secret)
        conversation = store.open(key)
        for asked in range(3):
            shown = frozenset(f"{k}{n}" for k in turn.shown)
            conversation.add(replace(turn, question=f"{turn.question} {n} {asked}", shown=shown))
        store.link(user_key("slack", f"conversation:C1:{n}.5", secret), key)
        if (n + 1) % max(1, threads // 5) == 0:
            gc.collect()
            checkpoints.append((n + 1, tracemalloc.get_traced_memory()[0], len(store)))
    tracemalloc.stop()
    print(f"ConversationStore (bound {DEFAULT_MAX_CONVERSATIONS:,}), 3 turns per thread, traced memory:")
    for count, traced, kept in checkpoints:
        print(f"  after {count:>9,} threads: {traced / 1e6:7.2f} MB held, {kept:,} conversations kept")


def _load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


@contextlib.contextmanager
def _redis_server() -> Iterator[str]:
    """A throwaway redis-server on 127.0.0.1 (nothing kept on disk); its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed (Debian: apt-get install redis-server)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory() as folder:
        command = [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no", "--dir", folder]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            url = f"redis://127.0.0.1:{port}/0"
            client = redis.Redis.from_url(url)
            for _ in range(200):  # up to 10 s for it to listen
                with contextlib.suppress(redis.ConnectionError):
                    client.ping()
                    break
                time.sleep(0.05)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=10)


def shared_latency(rounds: int, redis_url: str) -> None:
    core = load_core(Settings.load(environ={}, dotenv_path=None, cache_dir=RESULTS / "cache-bundled"))
    secret = b"benchmark secret"
    redis_store = open_stores(RateLimit(0, 1.0), redis_url=redis_url).conversations
    services: dict[str, QuestionService] = {}
    stores: dict[str, Conversations] = {"in memory": ConversationStore(), "in Redis": redis_store}
    for name, store in stores.items():
        services[name] = QuestionService(core=core, limiter=open_stores(RateLimit(0, 1.0)).limiter, id_secret=secret, conversations=store)
        services[name].ask(FIRST, "U1", "slack", "C1", conversation="warm")
    timings: dict[str, list[float]] = {f"{q} ({name})": [] for name in stores for q in (FIRST, "why?")}
    redis.Redis.from_url(redis_url).config_resetstat()
    for n in range(rounds):
        for name, service in services.items():
            thread = f"thread:C1:{n}.{name}"
            for question in (FIRST, "why?"):
                started = time.perf_counter()
                answer = service.ask(question, "U1", "slack", "C1", conversation=thread)
                timings[f"{question} ({name})"].append((time.perf_counter() - started) * 1000)
            assert answer.follow_up_of == FIRST, name
    print(f"QuestionService.ask in a thread, bundled corpus, {rounds} rounds, stores alternating ({_load()})")
    for question, samples in timings.items():
        print(f"  {question:52s} {_ms(samples)}")
    # Redis's own time per script call: what the store costs Redis, whatever the scheduler does.
    stats = redis.Redis.from_url(redis_url).info("commandstats")
    for command in ("cmdstat_evalsha", "cmdstat_eval"):
        if command in stats:
            print(f"  Redis {command[8:]}: {stats[command]['calls']} calls, {stats[command]['usec_per_call']:.1f} µs each inside Redis")


def shared_memory(threads: int, redis_url: str) -> None:
    core = load_core(Settings.load(environ={}, dotenv_path=None, cache_dir=RESULTS / "cache-bundled"))
    sample = Conversation()
    core.answer(FIRST, sample)
    turn = sample.last()
    assert turn is not None
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    client.config_resetstat()
    before = int(client.info("memory")["used_memory"])
    store = open_stores(RateLimit(0, 1.0), redis_url=redis_url).conversations
    secret = b"benchmark"
    checkpoints: list[tuple[int, int, int]] = []
    for n in range(threads):
        key = user_key("slack", f"conversation:C1:{n}.0", secret)
        conversation = store.open(key)
        for asked in range(3):
            shown = frozenset(f"{k}{n}" for k in turn.shown)
            conversation.add(replace(turn, question=f"{turn.question} {n} {asked}", shown=shown))
        store.save(key, conversation)
        store.link(user_key("slack", f"conversation:C1:{n}.5", secret), key)
        if (n + 1) % max(1, threads // 5) == 0:
            used = int(client.info("memory")["used_memory"]) - before
            checkpoints.append((n + 1, used, int(client.zcard("qabot:conversations"))))
    print(f"RedisConversationStore (bound {DEFAULT_MAX_CONVERSATIONS:,}), 3 turns per thread, a link each, Redis used_memory:")
    for count, used, kept in checkpoints:
        print(f"  after {count:>9,} threads: {used / 1e6:7.2f} MB more, {kept:,} conversations kept")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--threads", type=int, action="append")
    parser.add_argument("--redis", action="store_true", help="also measure the conversation store in Redis")
    parser.add_argument("--redis-url", help="a Redis to use (its database is emptied) instead of starting one")
    args = parser.parse_args()
    latency(args.rounds)
    for threads in args.threads or [10_000, 100_000]:
        memory(threads)
    if args.redis or args.redis_url:
        with contextlib.ExitStack() as stack:
            url = args.redis_url or stack.enter_context(_redis_server())
            shared_latency(args.rounds, url)
            for threads in args.threads or [10_000, 100_000]:
                shared_memory(threads, url)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Conversations: what a follow-up costs to answer, and what the conversation store holds in memory.

    python -m benchmarks.conversations                 # bundled corpus, 200 rounds, 10k and 100k threads
    python -m benchmarks.conversations --rounds 50 --threads 10000

Prints, never asserts. Latency: `answer()` on the bundled corpus for a first question and its
follow-ups ("why?", "who said that?", "tell me more"), median and p95 in ms, each follow-up in
a fresh conversation after the same first question. Memory: traced Python allocations of a
`ConversationStore` (bound `QABOT_CONVERSATIONS_MAX`'s default) after N threads of three turns
each, each turn a real answer's turn.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
import tracemalloc
from dataclasses import replace
from pathlib import Path

from bot.answering.conversation import Conversation
from bot.app import load_core
from bot.service.privacy import user_key
from bot.settings import Settings
from bot.stores.conversations import DEFAULT_MAX_CONVERSATIONS, ConversationStore

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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--threads", type=int, action="append")
    args = parser.parse_args()
    latency(args.rounds)
    for threads in args.threads or [10_000, 100_000]:
        memory(threads)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Over HTTP, Slack's requests are acknowledged before any answer is worked out, so that a burst
of events is acknowledged within Slack's 3 seconds (the load test measures the whole)."""

from __future__ import annotations

import threading
import time

from bot.adapters.slack.acks_first import AcknowledgementsFirst


def test_an_answer_waits_until_no_request_is_left_to_acknowledge():
    gate = AcknowledgementsFirst(max_wait_seconds=5)
    executor = gate.executor(max_workers=2)
    started: list[float] = []
    release = threading.Event()

    def one_request() -> None:
        with gate.acknowledging():
            release.wait(5)

    requests = [threading.Thread(target=one_request) for _ in range(3)]
    for request in requests:
        request.start()
    time.sleep(0.05)
    answered = executor.submit(lambda: started.append(time.monotonic()) or "answered")
    time.sleep(0.3)
    assert started == [], "the answer started while requests were waiting for their acknowledgement"
    acknowledged_at = time.monotonic()
    release.set()
    assert answered.result(timeout=5) == "answered"
    assert started[0] >= acknowledged_at
    for request in requests:
        request.join()
    executor.shutdown()


def test_under_a_steady_stream_of_requests_an_answer_waits_no_longer_than_its_limit():
    gate = AcknowledgementsFirst(max_wait_seconds=0.3)
    executor = gate.executor(max_workers=1)
    never_quiet = threading.Event()

    def endless_request() -> None:
        with gate.acknowledging():
            never_quiet.wait(5)

    threading.Thread(target=endless_request, daemon=True).start()
    time.sleep(0.05)
    submitted = time.monotonic()
    executor.submit(lambda: None).result(timeout=5)
    waited = time.monotonic() - submitted
    never_quiet.set()
    executor.shutdown()
    assert 0.25 <= waited < 2


def test_without_requests_an_answer_starts_at_once():
    gate = AcknowledgementsFirst(max_wait_seconds=5)
    executor = gate.executor(max_workers=1)
    submitted = time.monotonic()
    executor.submit(lambda: None).result(timeout=5)
    executor.shutdown()
    assert time.monotonic() - submitted < 0.2

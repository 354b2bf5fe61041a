"""What a running bot counts, for /metrics: Prometheus text through `prometheus-client`.

One `Metrics` per bot process, with its own registry (no module-level state: two bots in one
test process count apart). The service counts questions and their latency, the adapters the
platform's API errors and retries; figures that live elsewhere (the corpus watcher's reloads,
jobs waiting in a shared queue, jobs reclaimed from a dead replica) are read when /metrics is
asked, through `observe_reloads` and `observe_jobs`.

    qabot_questions_total{platform, outcome}         questions answered, declined, refused, failed
    qabot_answer_seconds{platform}                   histogram of the time to answer
    qabot_platform_api_errors_total{platform}        platform API calls that failed
    qabot_platform_api_retries_total{platform}       platform API calls retried (429, 5xx, connection)
    qabot_reloads_total{result}                      corpus reloads: loaded, failed
    qabot_jobs_waiting                               durable jobs not yet answered (when there is a queue)
    qabot_jobs_reclaimed_total                       jobs taken over from a replica that went quiet

Failure behaviour: recording never raises into the caller's path (prometheus-client's own
operations do not raise); a figure's callback that raises is left out of that scrape, logged.
No label ever holds a user, a channel or a question.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
ANSWER_SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""From a cached lookup (a few ms) to a cold index on a busy machine."""


class _ReadWhenScraped(Collector):
    """Figures kept by someone else, read at each scrape through callbacks."""

    def __init__(self) -> None:
        self.reloads: Callable[[], dict[str, int]] | None = None
        self.jobs_waiting: Callable[[], float] | None = None
        self.jobs_reclaimed: Callable[[], float] | None = None

    def collect(self) -> Iterator[Metric]:
        if self.reloads is not None:
            try:
                counts = self.reloads()
            except Exception as exc:
                log.warning("metrics: reading the reload counts failed (%s)", type(exc).__name__)
            else:
                family = CounterMetricFamily("qabot_reloads", "Corpus reloads, by result.", labels=["result"])
                for result, count in sorted(counts.items()):
                    family.add_metric([result], float(count))
                yield family
        for name, kind, doc, read in (
            ("qabot_jobs_waiting", GaugeMetricFamily, "Durable jobs not yet answered.", self.jobs_waiting),
            (
                "qabot_jobs_reclaimed",
                CounterMetricFamily,
                "Jobs taken over from a replica that stopped answering.",
                self.jobs_reclaimed,
            ),
        ):
            if read is None:
                continue
            try:
                value = float(read())
            except Exception as exc:  # a queue that cannot be asked now: left out of this scrape
                log.warning("metrics: reading %s failed (%s)", name, type(exc).__name__)
                continue
            yield kind(name, doc, value=value)


@dataclass
class Metrics:
    """The bot's counters; `exposition()` is the /metrics body."""

    registry: CollectorRegistry = field(default_factory=lambda: CollectorRegistry(auto_describe=True))

    def __post_init__(self) -> None:
        self.questions = Counter(
            "qabot_questions", "Questions, by platform and outcome.", ["platform", "outcome"], registry=self.registry
        )
        self.answer_seconds = Histogram(
            "qabot_answer_seconds",
            "Time from a question reaching the service to its answer.",
            ["platform"],
            buckets=ANSWER_SECONDS_BUCKETS,
            registry=self.registry,
        )
        self.platform_errors = Counter(
            "qabot_platform_api_errors", "Platform API calls that failed.", ["platform"], registry=self.registry
        )
        self.platform_retries = Counter(
            "qabot_platform_api_retries", "Platform API calls retried.", ["platform"], registry=self.registry
        )
        self._scraped = _ReadWhenScraped()
        self.registry.register(self._scraped)

    def question(self, platform: str, outcome: str, seconds: float | None) -> None:
        """One question; `seconds` None for one that was never answered (rate limited)."""
        self.questions.labels(platform=platform, outcome=outcome).inc()
        if seconds is not None:
            self.answer_seconds.labels(platform=platform).observe(seconds)

    def platform_error(self, platform: str) -> None:
        self.platform_errors.labels(platform=platform).inc()

    def platform_retry(self, platform: str) -> None:
        self.platform_retries.labels(platform=platform).inc()

    def observe_reloads(self, counts: Callable[[], dict[str, int]]) -> None:
        """Read the corpus reloads ({'loaded': n, 'failed': m}) at each scrape."""
        self._scraped.reloads = counts

    def observe_jobs(
        self, waiting: Callable[[], float] | None = None, reclaimed: Callable[[], float] | None = None
    ) -> None:
        """Read the durable job queue's figures at each scrape (its owner keeps the numbers)."""
        if waiting is not None:
            self._scraped.jobs_waiting = waiting
        if reclaimed is not None:
            self._scraped.jobs_reclaimed = reclaimed

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

"""The composition root: settings in, a question service and its stores out, and shut down again.

Everything that reads `Settings` to build the bot's parts is here, so the parts themselves take
plain values: the answering core its limits, the stores a rate limit and a Redis URL, the
service its core, limiter, question log and watcher. `qabot ask`, `qabot eval`, both runners
and the tests build through these functions, so there is one way to assemble the bot.

Failure behaviour: `load_core` and `build_service` raise `CorpusError` when the articles cannot
be loaded, and `SemanticModelError` when QABOT_SEMANTIC_MODEL names a model that cannot be
loaded (the caller decides how to say so; for a load in the background, see `build_service`); `deployment_secret` raises `SetupError` when the key
cannot be had, and `running` when Redis records another secret's fingerprint (replicas must share
one); a question log that cannot be opened is logged and left out, never fatal (answering matters
more than logging), except one this replica must not write into (its database records another
secret's fingerprint, or a newer schema: SetupError); `running` closes the service
whatever happens inside it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

from bot.errors import CorpusError, QabotError, SetupError
from bot.settings import Settings, user_corpus_dir
from corpus import BUNDLED_DIR
from corpus.loader import check_corpus_folder
from corpus.store import copy_articles
from index.analysis import Analyzer
from index.location import MANIFEST, index_folder
from index.progress import BuildProgress, ProgressCallback, for_log

# What only a running bot needs (the service, its stores, health and metrics, the question log)
# is imported where it is built: `qabot ask` and `qabot add` use this module too, and these
# imports (psycopg, prometheus-client, asyncio, the HTTP server) took 0.3-0.9 s of every start.
# The index code (numpy) likewise: a bot with no index yet listens before it needs any.
if TYPE_CHECKING:
    from bot.answering.core import AnsweringCore
    from bot.service.following import Follower
    from bot.service.health import Health, HealthServer
    from bot.service.metrics import Metrics
    from bot.service.questions import QuestionService
    from bot.stores.choice import Stores
    from bot.stores.questionlog.store import QuestionLog
    from corpus.follow import CheckReport
    from corpus.loader import FolderListing
    from index.cache import LoadedIndex
    from index.reranking import Reranker

log = logging.getLogger(__name__)


_FROM_SETTINGS = "from settings"


def load_core(
    settings: Settings,
    progress: ProgressCallback | None = None,
    *,
    reranker: Reranker | None | str = _FROM_SETTINGS,
    listing: FolderListing | None = None,
) -> AnsweringCore:
    """The answering core over the corpus the settings name (its index from the cache when
    current, else updated with the changed articles only, or built).

    A broken article file is left out (and listed in `broken_files`); raises CorpusError only
    when the folder is missing or no article loads. `progress` hears how a build goes (see
    `index.progress`); by default a build logs a line every few seconds. `reranker`: one already
    loaded (a reload keeps its model), None for none, or by default the one QABOT_SEMANTIC_MODEL names.
    `listing`: the folder as the watcher just listed it (else it is listed here)."""
    from index.cache import load_or_build

    loaded = load_or_build(
        settings.corpus_dir, settings.cache_dir, Analyzer(), progress=progress or for_log(log), listing=listing
    )
    return core_over(loaded, settings, reranker)


def core_over(
    loaded: LoadedIndex, settings: Settings, reranker: Reranker | None | str = _FROM_SETTINGS
) -> AnsweringCore:
    """The answering core over an index already loaded, with the settings' limits and re-ranker."""
    from bot.answering.core import AnsweringCore

    return AnsweringCore.from_index(
        loaded.articles,
        loaded.index,
        top_k=settings.top_k,
        min_confidence=settings.min_confidence,
        max_question_chars=settings.max_question_chars,
        broken_files=loaded.broken,
        reranker=semantic_reranker(settings) if isinstance(reranker, str) else reranker,
    )


@dataclass(frozen=True)
class WritableCorpus:
    """The folder `qabot add` and `qabot follow` write into, and where its articles were copied
    from when this call made it (None: it already existed)."""

    folder: Path
    copied_from: Path | None = None
    copied: int = 0


def writable_corpus(settings: Settings) -> WritableCorpus:
    """The corpus folder to change. The bundled articles are part of the installed package (an
    upgrade replaces them), so they are never written: the first change copies them into the user
    data folder, which the default QABOT_CORPUS_DIR then follows (`bot.settings.default_corpus_dir`).

    Raises SetupError when that copy cannot be made."""
    folder = Path(settings.corpus_dir)
    if folder.resolve() != BUNDLED_DIR.resolve():
        return WritableCorpus(folder)
    target = user_corpus_dir()
    if target.is_dir():
        return WritableCorpus(target)
    try:
        copied = copy_articles(BUNDLED_DIR, target)
    except OSError as exc:
        raise SetupError(
            f"cannot copy the bundled articles to {target} ({exc.strerror or exc}); set QABOT_CORPUS_DIR to a folder of your own"
        ) from None
    return WritableCorpus(target, BUNDLED_DIR, copied)


def follow_round(settings: Settings, folder: Path | None = None, *, due_only: bool = True) -> list[CheckReport] | None:
    """Check the followed feeds and sitemaps of the corpus folder once (see `corpus.follow`), with the
    settings' fetch limits and pause per host. None when another check is running."""
    # Here, not at the top: the HTTP client and trafilatura load only when something is followed,
    # so `qabot ask` stays fast.
    from corpus.fetch import FetchLimits
    from corpus.follow import check_sources

    return check_sources(
        Path(folder or settings.corpus_dir),
        FetchLimits(timeout_seconds=settings.fetch_timeout, max_bytes=settings.fetch_max_bytes),
        interval_seconds=settings.follow_minutes * 60,
        host_delay=settings.follow_host_delay,
        due_only=due_only,
    )


def semantic_reranker(settings: Settings) -> Reranker | None:
    """The re-ranker QABOT_SEMANTIC_MODEL names (None for "off"); raises SemanticModelError
    (a QabotError, one line naming the model) when it cannot be loaded."""
    from index.reranking import Reranker

    return Reranker.from_setting(settings.semantic_model)


def deployment_secret(settings: Settings) -> bytes:
    """The key of every hash of a platform ID: QABOT_SECRET, else the key file (made on first use).

    Raises SetupError (one line, never the key) when QABOT_SECRET is too short or the key file
    cannot be made or read."""
    from bot.service.privacy import check_secret_text, load_or_create_secret

    try:
        if settings.secret:
            return check_secret_text(settings.secret.reveal(), "QABOT_SECRET")
        return load_or_create_secret(settings.secret_key_file())
    except ValueError as exc:
        raise SetupError(str(exc)) from None
    except OSError as exc:
        raise SetupError(
            f"cannot make or read the secret key file {settings.secret_key_file()}: {exc.strerror or exc}; "
            "set QABOT_SECRET or QABOT_SECRET_FILE"
        ) from None


def stores_for(settings: Settings) -> Stores:
    """Where rate limits, answered events and conversations are kept: this process, or the Redis
    the settings name.
    Event keys are hashed with the deployment secret before any store sees them."""
    from bot.service.privacy import event_key_hasher
    from bot.stores.choice import open_stores

    return open_stores(
        settings.rate_limit,
        redis_url=settings.redis_url.reveal(),
        redis_prefix=settings.redis_prefix,
        redis_timeout=settings.redis_timeout,
        hash_event_key=event_key_hasher(deployment_secret(settings)),
        consumer=f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}",  # unique per process
        job_claim_seconds=settings.job_claim_seconds,
        conversation_idle_seconds=settings.conversation_minutes * 60,
        max_conversations=settings.conversations_max,
    )


def open_question_log(settings: Settings) -> QuestionLog | None:
    """The question log, or None: when QABOT_QUESTION_LOG is off, or (with one error in the log)
    when it cannot be opened, since answering questions matters more than logging them.

    With QABOT_DATABASE_URL it is the PostgreSQL log every replica shares, else the SQLite file.
    Raises SetupError (KeyMismatchError, SchemaTooNewError) when this replica must not write into
    the log at all: it hashes IDs with another key, or the log is newer than this code.
    """
    from bot.service.privacy import secret_fingerprint
    from bot.stores.questionlog.database import log_failures
    from bot.stores.questionlog.store import QuestionLog

    if not settings.question_log:
        return None
    path = settings.question_log_file()
    # The deployment secret, as text: the log rehashes the service's keys with it. Its database
    # records the secret's fingerprint, so a replica with another secret is refused (SetupError).
    key = deployment_secret(settings)
    secret, fingerprint = key.decode("utf-8"), secret_fingerprint(key)
    url = settings.database_url.reveal()
    if url:
        from bot.stores.questionlog.postgres import describe_database  # psycopg: only with PostgreSQL

        where = f"in {describe_database(url)}"
    else:
        where = f"at {path}"
    try:
        if url:
            return QuestionLog.open_postgres(
                url, secret=secret, retention_days=settings.question_log_days, fingerprint=fingerprint
            )
        return QuestionLog.open(path, secret=secret, retention_days=settings.question_log_days, fingerprint=fingerprint)
    except log_failures(postgres=bool(url)) as exc:
        log.error(
            "the question log %s cannot be used (%s); answering without it, and without 👍/👎",
            where,
            _one_line(exc),
        )
        return None


def _one_line(exc: BaseException) -> str:
    # psycopg's messages run over several lines (and may quote the connection string's host).
    return " ".join(str(exc).split()) or type(exc).__name__


def build_service(
    settings: Settings,
    stores: Stores | None = None,
    metrics: Metrics | None = None,
    in_background: bool = False,
    start_from_cache: bool = False,
) -> QuestionService:
    """The service for `settings`: the articles loaded (and watched for changes once asked), and
    the question log opened unless it is off. `stores` lets a runner share its rate limiter (in
    this process or in Redis) with its adapter's duplicate check; `metrics` counts its questions
    and reloads.

    With `in_background`, it returns at once and the articles are read (the index built, if it
    must be) in a background thread; until then a question is told the bot is still reading
    them (`QuestionService.readiness` is "building"). A missing folder, or one with no article
    file, still raises CorpusError at once; articles that fail to load later are logged, and
    answered from as soon as they are fixed.

    With `start_from_cache` (a bot's start, see `running`), a usable cached index is answered
    from as last written, without looking at the article files (with 500,000 of them that look
    took 8-10 s), and the watcher's first pass, at once in the background, compares the folder
    with it and updates it with whatever changed while the bot was stopped (then answers from
    the updated index); until that pass ends, answers may come from articles as they were."""
    from bot.service.questions import QuestionService
    from bot.service.reload import CorpusWatcher

    reranker = _reranker_for(settings, later=in_background)  # loaded once, kept across reloads
    stores = stores or stores_for(settings)
    service = QuestionService(
        core=None,
        limiter=stores.limiter,
        id_secret=deployment_secret(settings),
        metrics=metrics,
        conversations=stores.conversations,  # with Redis, shared: a follow-up reaches any replica
    )

    def build(listing: FolderListing | None) -> AnsweringCore:
        return load_core(settings, progress=_kept_and_logged(service), reranker=reranker(), listing=listing)

    watcher: CorpusWatcher[AnsweringCore] = CorpusWatcher(
        settings.corpus_dir,
        build=build,
        interval_seconds=settings.reload_seconds,
        broken_files=lambda core: core.broken_files,  # named in the log, once each
        known_digests=lambda: _indexed_file_digests(settings),
        indexed=lambda listing: _index_is_of(settings, listing),
    )
    service.watcher = watcher
    if metrics is not None:
        metrics.observe_reloads(lambda: {"loaded": watcher.reloads_loaded, "failed": watcher.reloads_failed})
    if in_background:
        check_corpus_folder(settings.corpus_dir)
        service.question_log = open_question_log(settings)
        service.load_in_background()
    else:
        started = time.perf_counter()
        # Before the log is opened: a failure here leaves nothing open.
        if start_from_cache:
            cached, first_check = _cached_start(settings, service, reranker)
            service.core = watcher.load(cached, first_check)
        else:
            service.core = watcher.load()
        log.info(
            "ready: the articles are read (%.1f s); answering questions%s",
            time.perf_counter() - started,
            " (from the cached index; the article files are checked against it in the background)"
            if watcher.first_check_pending
            else "",
        )
        service.question_log = open_question_log(settings)
    return service


def _cached_start(
    settings: Settings,
    service: QuestionService,
    reranker: Callable[[], Reranker | None],
) -> tuple[Callable[[], AnsweringCore], Callable[[FolderListing], AnsweringCore | None]]:
    """A bot's start from its cached index: the core from the index as last written (the
    article files not looked at), and the watcher's first check of the folder against it (a
    new core when anything changed; the index itself updated with only the changed articles)."""
    from index.cache import load_or_build, refresh

    started_from: list[tuple[str, bool]] = []
    """The loaded index's key, and whether that load looked at the folder after all."""

    def cached() -> AnsweringCore:
        check_corpus_folder(settings.corpus_dir)  # a missing or emptied folder still stops the start
        loaded = load_or_build(
            settings.corpus_dir, settings.cache_dir, Analyzer(), progress=for_log(log), check_folder=False
        )
        started_from.append((loaded.key, loaded.folder_checked))
        return core_over(loaded, settings, reranker())

    def first_check(listing: FolderListing) -> AnsweringCore | None:
        key, folder_checked = started_from[-1]
        if folder_checked:
            return None  # no usable index to start from, so that load checked (and built) it all
        refreshed = refresh(
            settings.corpus_dir, settings.cache_dir, Analyzer(), progress=_kept_and_logged(service), listing=listing
        )
        if refreshed.key == key:
            return None
        log.info(
            "the articles in %s changed while the bot was stopped: %s; the index is updated",
            settings.corpus_dir,
            f"{refreshed.analysed_articles:,} added or changed" if refreshed.analysed_articles else "some removed",
        )
        return load_core(settings, progress=_kept_and_logged(service), reranker=reranker(), listing=listing)

    return cached, first_check


def _indexed_file_digests(settings: Settings) -> dict[str, tuple[int, int, bytes]]:
    from index.cache import indexed_file_digests

    return indexed_file_digests(settings.corpus_dir, settings.cache_dir)


def _index_is_of(settings: Settings, listing: FolderListing) -> bool:
    from index.cache import is_current

    return is_current(settings.corpus_dir, settings.cache_dir, listing=listing)


def _reranker_for(settings: Settings, later: bool) -> Callable[[], Reranker | None]:
    """The re-ranker QABOT_SEMANTIC_MODEL names, loaded once. With `later`, the bundled model
    (the default) is loaded by the first build, in the background with the index: a bot that
    must build its index listens without waiting for numpy and the model (about 0.25 s of its
    start); any other model is loaded now, so that a bad name stops the start with one line."""
    if not (later and settings.semantic_model == "static"):
        loaded = semantic_reranker(settings)
        return lambda: loaded
    lock = threading.Lock()
    found: list[Reranker | None] = []

    def once() -> Reranker | None:
        with lock:
            if not found:
                found.append(semantic_reranker(settings))
            return found[0]

    return once


def _kept_and_logged(service: QuestionService) -> ProgressCallback:
    """A build's progress: kept by the service (for "still reading (62%)") and logged every few seconds."""
    log_lines = for_log(log)

    def on_progress(progress: BuildProgress) -> None:
        service.build_progress(progress)
        log_lines(progress)

    return on_progress


def _has_cached_index(settings: Settings) -> bool:
    """Whether the cache holds an index of the corpus folder to start from (current or not: the
    article files are not looked at, see `build_service(start_from_cache=True)`)."""
    if not (index_folder(settings.cache_dir, settings.corpus_dir) / MANIFEST).exists():
        return False  # no index at all: known without importing the index code
    from index.cache import has_index

    return has_index(settings.corpus_dir, settings.cache_dir, Analyzer())


def health_for(settings: Settings, service: QuestionService, metrics: Metrics) -> Health:
    """The readiness checks of a bot: its articles, and Redis and the question log's database when
    configured. The runner adds the platform's own check ('platform')."""
    from bot.service.health import Health

    health = Health(metrics)
    health.add_check("index", lambda: _index_problem(service))
    redis_url = settings.redis_url.reveal()
    if redis_url:
        health.add_check("redis", _redis_probe(redis_url, settings.redis_timeout))
    if settings.question_log:
        health.add_check("database", lambda: _question_log_problem(service))
    return health


def _index_problem(service: QuestionService) -> str | None:
    """None once the articles answer; else "building" (with how far it got) or why they do not load."""
    from bot.service.questions import IndexReadiness

    readiness = service.readiness
    if readiness is IndexReadiness.READY:
        return None
    if readiness is IndexReadiness.FAILED:
        return "failed: the articles could not be loaded (the error is in the bot's log)"
    percent = service.build_percent
    return "building: the articles are being indexed" + (f" ({percent}%)" if percent is not None else "")


def _redis_probe(url: str, timeout: float) -> Callable[[], str | None]:
    import redis  # only a bot that uses Redis needs it

    client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)

    def probe() -> str | None:
        try:
            client.ping()
        except redis.RedisError as exc:  # the type only: the message may quote the URL
            return f"Redis does not answer ({type(exc).__name__})"
        return None

    return probe


def _question_log_problem(service: QuestionService) -> str | None:
    question_log = service.question_log
    if question_log is None:
        return "the question log could not be opened (its error is in the bot's log)"
    if not question_log.ping():
        return f"the question log {question_log.database.description} does not answer"
    return None


@contextlib.contextmanager
def serving_health(settings: Settings, health: Health) -> Iterator[HealthServer | None]:
    """/healthz, /readyz and /metrics on QABOT_HEALTH_HOST:QABOT_HEALTH_PORT while inside.

    A port that cannot be bound is one error line, and the bot runs on without them:
    answering matters more than being watched (a container's HEALTHCHECK then reports it)."""
    from bot.service.health import start_health_server

    try:
        server = start_health_server(health, settings.health_host, settings.health_port)
    except OSError as exc:
        log.error(
            "cannot serve /healthz, /readyz and /metrics on %s:%d (%s); running without them",
            settings.health_host,
            settings.health_port,
            exc.strerror or exc,
        )
        yield None
        return
    log.info("serving /healthz, /readyz and /metrics at %s", server.url)
    try:
        yield server
    finally:
        server.stop()


def example_question(service: QuestionService) -> str | None:
    """A question the service's articles answer, made from them, for command hints (the Discord
    /ask option, the Slack manifest's usage hint); None when its core makes none, or when it has
    none yet (a first index still being built)."""
    from bot.answering.core import AnsweringCore

    core = service.core
    if core is None:
        return None  # still reading the articles (see `build_service`): the generic hint
    return core.example_question if isinstance(core, AnsweringCore) else None


@dataclass(frozen=True)
class RunningBot:
    """What a runner serves a platform with: the service, the stores its adapter shares, what
    counts for /metrics and the readiness checks (the runner adds the platform's)."""

    service: QuestionService
    stores: Stores
    metrics: Metrics
    health: Health


@contextlib.contextmanager
def running(settings: Settings) -> Iterator[RunningBot]:
    """Build the bot's service and stores, watch the articles (SIGHUP reloads at once), and close
    the service when the runner is done. Raises SetupError when the articles cannot be loaded."""
    from bot.service.metrics import Metrics
    from bot.service.privacy import secret_fingerprint

    stores = stores_for(settings)
    refusal = stores.compare_secret(secret_fingerprint(deployment_secret(settings)))
    if refusal is not None:
        raise SetupError(refusal)
    metrics = Metrics()
    jobs = stores.jobs
    if jobs is not None:
        # The stream's length is the deployment's; reclaimed counts this replica's take-overs.
        metrics.observe_jobs(waiting=jobs.waiting, reclaimed=lambda: jobs.stats.reclaimed)
    try:
        # A cached index loads in a moment, before serving, and the article files are checked
        # against it in the background (a changed one updates it); with none, the build happens
        # while serving, and questions asked meanwhile are told so (and /readyz says "building").
        cached = _has_cached_index(settings)
        service = build_service(settings, stores, metrics, in_background=not cached, start_from_cache=cached)
    except CorpusError as exc:
        raise SetupError(str(exc)) from None  # it names the folder or file already
    except QabotError as exc:
        # Imported only now: index.embedding loads numpy (0.2 s a bot with no index yet need not
        # wait for before listening), and if it raised this, it is loaded already.
        from index.embedding import SemanticModelError

        if not isinstance(exc, SemanticModelError):
            raise
        raise SetupError(str(exc)) from None  # it names the model already
    log.info("answered events, rate limits and conversations are kept %s", stores.description)
    follower = _follower(settings)
    try:
        # New and removed articles are picked up while running; SIGHUP checks at once.
        service.watch_corpus()
        if follower is not None:
            follower.start()  # new articles from followed feeds, which the watcher then picks up
        yield RunningBot(service, stores, metrics, health_for(settings, service, metrics))
    finally:
        if follower is not None:
            follower.stop()
        service.close()


def _follower(settings: Settings) -> Follower | None:
    """The background checker of followed feeds (`qabot follow`), unless QABOT_FOLLOW_MINUTES is 0."""
    from bot.logging_setup import quiet_fetch_libraries
    from bot.service.following import Follower

    if settings.follow_minutes <= 0:
        return None
    quiet_fetch_libraries()  # one line per failing feed from corpus.follow, not urllib3's retries
    return Follower(lambda: follow_round(settings), settings.follow_minutes * 60)

"""An admin building a large index sees how far it has got: a bar on a terminal, a line every
few seconds in a log or a pipe, never silence until the end."""

from __future__ import annotations

import io
import logging

from index.progress import BuildProgress, ProgressBar, ProgressLines, describe, for_log, for_stream


def build_of(total: int, seconds_per_article: float) -> list[BuildProgress]:
    """What a build of `total` articles reports, batch by batch, then done."""
    steps = [BuildProgress(0, total, 0, 0.0)]
    for done in range(100, total + 1, 100):
        steps.append(BuildProgress(done, total, done * 19, done * seconds_per_article))
    steps.append(BuildProgress(total, total, total * 19, total * seconds_per_article, finished=True))
    return steps


def test_a_line_says_articles_and_sentences_done_and_the_time_left():
    line = describe(BuildProgress(5_000, 20_000, 94_000, 10.0))
    assert line == "read 5,000 of 20,000 articles (25%), 94,000 sentences; about 30 s left"
    assert describe(BuildProgress(20_000, 20_000, 379_000, 41.5, finished=True)) == (
        "read 20,000 articles, 379,000 sentences, in 41.5 s"
    )


def test_off_a_terminal_a_long_build_prints_a_line_every_few_seconds_and_a_short_one_nothing():
    lines: list[str] = []
    report = ProgressLines(lines.append, interval=5.0)
    for step in build_of(2_000, 0.01):  # 20 s in all
        report(step)
    assert 3 <= len(lines) <= 6 and lines[-1].startswith("read 2,000 articles")
    quiet: list[str] = []
    report = ProgressLines(quiet.append, interval=5.0)
    for step in build_of(300, 0.01):  # 3 s
        report(step)
    assert quiet == []


def test_on_a_terminal_a_bar_shows_articles_sentences_and_time_left():
    screen = io.StringIO()
    bar = ProgressBar(screen)
    for step in build_of(1_000, 0.01)[:6]:
        bar(step)
    shown = screen.getvalue()
    assert "500/1000" in shown and "9,500 sentences" in shown and "reading articles" in shown
    assert "<" in shown, "elapsed<left, tqdm's time estimate"
    bar.close()


def test_the_right_display_is_chosen_for_terminals_pipes_and_logs(caplog):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert isinstance(for_stream(Terminal()), ProgressBar)
    assert isinstance(for_stream(io.StringIO()), ProgressLines)
    with caplog.at_level(logging.INFO, logger="qabot.test"):
        report = for_log(logging.getLogger("qabot.test"), interval=1.0)
        for step in build_of(500, 0.01):
            report(step)
    assert "building the index: read 200 of 500 articles (40%)" in caplog.text

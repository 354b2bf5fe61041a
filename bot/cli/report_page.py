"""`qabot report --html FILE`: the question log as one page to look at, with its charts drawn in.

The page is self-contained: the charts are SVG drawn by pygal (a well-kept, pure-Python charting
library: the optional extra `qabot[report]`) and put inline, the style is inline, and pygal's
tooltip script (which it loads from the web by default) is left out, so the page needs no network
to be viewed: no CDN, no remote font, no request at all. What it shows: questions per day by
outcome (answered, declined, other), the share answered, the coverage gaps (most asked first) each
with the `qabot ask` command line that asks it again, 👍/👎 per day, answer latency (median and
95th percentile per day), and the followed sources with what each added.

Failure behaviour: `render_page` raises ReportPageError (one line, naming the extra to install)
when pygal is missing; everything else is plain values in, text out. Every text from the log
(questions, article IDs, URLs) is HTML-escaped.
"""

from __future__ import annotations

import datetime as dt
import html
import shlex
import statistics
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from bot.errors import QabotError
from bot.stores.questionlog.report import GAP_OUTCOMES, LoggedAnswer, Report


class ReportPageError(QabotError):
    """The page cannot be drawn; the message says what to install."""


@dataclass(frozen=True)
class FollowedSummary:
    """A followed feed or sitemap, as the page shows it."""

    url: str
    since: str
    last_checked: str | None
    added: tuple[str, ...]
    last_error: str | None


@dataclass(frozen=True)
class DayFigures:
    day: str
    answered: int
    declined: int
    other: int
    up_votes: int
    down_votes: int
    median_ms: float
    p95_ms: float

    @property
    def questions(self) -> int:
        return self.answered + self.declined + self.other


def day_figures(answers: Iterable[LoggedAnswer]) -> list[DayFigures]:
    """Per day (UTC), over every platform: outcomes, votes, latency."""
    days: dict[str, list[LoggedAnswer]] = defaultdict(list)
    for answer in answers:
        days[answer.asked_at.date().isoformat()].append(answer)
    figures = []
    for day, group in sorted(days.items()):
        latencies = sorted(a.latency_ms for a in group)
        figures.append(
            DayFigures(
                day=day,
                answered=sum(a.answered for a in group),
                declined=sum(a.outcome == "not_found" and not a.answered for a in group),
                other=sum(a.outcome not in GAP_OUTCOMES for a in group),
                up_votes=sum(a.up_votes for a in group),
                down_votes=sum(a.down_votes for a in group),
                median_ms=statistics.median(latencies),
                p95_ms=latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))],
            )
        )
    return figures


def ask_again_command(question: str) -> str:
    """The command line that asks `question` again in a terminal, quoted for a POSIX shell."""
    return f"qabot ask {shlex.quote(question)}"


def render_page(
    report: Report,
    answers: Sequence[LoggedAnswer],
    followed: Sequence[FollowedSummary],
    *,
    log_name: str,
    generated: dt.datetime | None = None,
) -> str:
    """The whole HTML page."""
    try:
        import pygal
        from pygal.style import Style
    except ImportError:
        raise ReportPageError("the HTML report draws its charts with pygal: pip install 'qabot[report]'") from None
    style = Style(
        background="white",
        plot_background="white",
        font_family="system-ui, sans-serif",  # the viewer's own fonts: nothing to download
        colors=("#2e7d32", "#c62828", "#9e9e9e", "#1565c0", "#ef6c00"),
    )
    options: dict[str, Any] = {
        "js": [],  # pygal's tooltips script lives on the web: left out, so the page makes no request
        "disable_xml_declaration": True,
        "style": style,
        "width": 760,
        "height": 300,
        "legend_at_bottom": True,
        "x_label_rotation": 30,
        "print_values": False,
    }
    days = day_figures(answers)
    labels = [d.day for d in days]
    charts: list[tuple[str, str, str]] = []

    outcomes = pygal.StackedBar(title="Questions per day, by outcome", **options)
    outcomes.x_labels = labels
    outcomes.add("answered", [d.answered for d in days])
    outcomes.add("declined", [d.declined for d in days])
    outcomes.add("other (empty, too long, failed)", [d.other for d in days])
    charts.append(("outcomes", "Questions per day", outcomes.render(is_unicode=True)))

    share = pygal.Line(title="Share answered (%)", range=(0, 100), **options)
    share.x_labels = labels
    share.add("answered", [round(100 * d.answered / d.questions, 1) if d.questions else None for d in days])
    charts.append(("share", "Share answered", share.render(is_unicode=True)))

    votes = pygal.Bar(title="Votes per day", **options)
    votes.x_labels = labels
    # Words beside the emoji: a viewer without an emoji font still reads the legend.
    votes.add("👍 helpful", [d.up_votes for d in days])
    votes.add("👎 not helpful", [d.down_votes for d in days])
    charts.append(("votes", "Votes", votes.render(is_unicode=True)))

    latency = pygal.Line(title="Answer latency per day (ms)", **options)
    latency.x_labels = labels
    latency.add("median", [round(d.median_ms, 1) for d in days])
    latency.add("95th percentile", [round(d.p95_ms, 1) for d in days])
    charts.append(("latency", "Answer latency", latency.render(is_unicode=True)))

    total_answered = sum(d.answered for d in days)
    share_text = f"{100 * total_answered / report.total:.0f}%" if report.total else "no questions yet"
    esc = html.escape
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        # No request may leave the page: this says so to the browser too.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        "img-src data:; script-src 'unsafe-inline'\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>qabot report: {esc(log_name)}</title>",
        f"<style>{PAGE_STYLE}</style></head><body>",
        "<h1>What people asked</h1>",
        f'<p class="summary">{report.total:,} questions{_since(report)}; answered: <b id="share-answered">{share_text}</b>. '
        f"Log: {esc(log_name)}. Made {esc(_stamp(generated))} (times in UTC).</p>",
    ]
    for key, heading, svg in charts:
        parts.append(f'<section class="chart" id="chart-{key}"><h2>{esc(heading)}</h2>{svg}</section>')
    parts.append("<h2>Coverage gaps</h2>")
    parts.append(
        f"<p>Questions declined or answered below confidence {report.low_confidence:.2f}, most asked first: "
        "the articles worth finding next. Each has the <code>qabot ask</code> command line that asks it again "
        "(select it, or press copy), to check an article you added.</p>"
    )
    if report.gaps:
        parts.append('<table id="gaps"><tr><th>asked</th><th>how it went</th><th>last asked</th><th>question</th>'
                     "<th>ask again</th></tr>")
        for gap in report.gaps:
            how = "declined" if gap.declined else f"low ({gap.best_confidence:.2f})"
            command = ask_again_command(gap.question)
            parts.append(
                f"<tr><td>{gap.times}×</td><td>{how}</td><td>{esc(gap.last_asked)}</td><td>{esc(gap.question)}</td>"
                f'<td><code class="ask">{esc(command)}</code> <button type="button" class="copy">copy</button></td></tr>'
            )
        parts.append("</table>")
    else:
        parts.append("<p>No gaps: every question was answered with confidence.</p>")
    parts.append("<h2>Followed sources</h2>")
    if followed:
        parts.append('<table id="followed"><tr><th>source</th><th>since</th><th>last checked</th><th>added</th>'
                     "<th>last error</th></tr>")
        for source in followed:
            added = ", ".join(source.added[-5:]) + (" …" if len(source.added) > 5 else "")
            parts.append(
                f"<tr><td>{esc(source.url)}</td><td>{esc(source.since)}</td><td>{esc(source.last_checked or 'not yet')}</td>"
                f"<td>{len(source.added)}{': ' + esc(added) if added else ''}</td><td>{esc(source.last_error or '')}</td></tr>"
            )
        parts.append("</table>")
    else:
        parts.append("<p>Nothing is followed (<code>qabot follow URL</code> starts).</p>")
    parts.append(f"<script>{COPY_SCRIPT}</script></body></html>")
    return "\n".join(parts)


def _since(report: Report) -> str:
    return f" since {report.since}" if report.since else ""


def _stamp(moment: dt.datetime | None) -> str:
    return (moment or dt.datetime.now(dt.timezone.utc)).strftime("%Y-%m-%d %H:%M")


PAGE_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 62em; color: #222; padding: 0 1em; }
section.chart svg { width: 100%; max-width: 760px; height: auto; display: block; }
table { border-collapse: collapse; width: 100%; font-size: 0.92em; }
th, td { text-align: left; border-bottom: 1px solid #ddd; padding: 0.3em 0.5em; vertical-align: top; }
code.ask { background: #f4f4f4; padding: 0.1em 0.3em; user-select: all; }
.summary { font-size: 1.1em; }
"""

COPY_SCRIPT = """
for (const button of document.querySelectorAll('button.copy')) {
  button.addEventListener('click', () => {
    const text = button.previousElementSibling.textContent;
    if (navigator.clipboard) navigator.clipboard.writeText(text);
  });
}
"""

"""A newcomer finds every module in the README's "How it works" map."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

NOT_YET_MAPPED = frozenset({
    "bot/adapters/discord/client.py",
    "bot/adapters/discord/formatting.py",
    "bot/adapters/discord/runner.py",
    "bot/adapters/slack/acks_first.py",
    "bot/adapters/slack/app.py",
    "bot/adapters/slack/credentials.py",
    "bot/adapters/slack/formatting.py",
    "bot/adapters/slack/http_server.py",
    "bot/adapters/slack/manifest.py",
    "bot/adapters/slack/markup.py",
    "bot/adapters/slack/runner.py",
    "bot/adapters/slack/socket_mode.py",
    "bot/adapters/slack/web_client.py",
    "bot/answering/help.py",
    "bot/answering/messages.py",
    "bot/app.py",
    "bot/cli/articles.py",
    "bot/cli/ask.py",
    "bot/cli/main.py",
    "bot/cli/report.py",
    "bot/cli/serve.py",
    "bot/errors.py",
    "bot/logging_setup.py",
    "bot/service/privacy.py",
    "bot/service/questions.py",
    "bot/service/reload.py",
    "bot/stores/choice.py",
    "bot/stores/questionlog/database.py",
    "bot/stores/questionlog/keys.py",
    "bot/stores/questionlog/migrations.py",
    "bot/stores/questionlog/redaction.py",
    "bot/stores/questionlog/report.py",
    "bot/stores/ratelimit.py",
    "bot/stores/redis_stores.py",
    "bot/stores/seen_events.py",
    "corpus/article.py",
    "corpus/draft.py",
    "corpus/errors.py",
    "index/progress.py",
    "index/segments.py",
    "index/store_files.py",
})
"""Modules that were missing from the map when this test was written (after the layout change of
issue 11): a list to shrink, never to grow. A module added since must be in the map."""


def the_map() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## How it works"):]
    start = section.index("```") + 3
    return section[start : section.index("```", start)]


def test_every_new_module_is_in_the_how_it_works_map():
    shown = the_map()
    modules = sorted(
        path.relative_to(REPO).as_posix()
        for package in ("bot", "corpus", "index")
        for path in (REPO / package).rglob("*.py")
        if path.name not in ("__init__.py", "__main__.py")
    )
    missing = [m for m in modules if m not in NOT_YET_MAPPED and Path(m).name not in shown]
    assert missing == [], f"add these to README's How it works map: {missing}"

"""The Slack app manifest an admin pastes into Slack, with `/ask`'s usage hint from the articles.

`manifest.yaml` beside this module is the manifest with a neutral usage hint;
`qabot slack --manifest` prints it with the hint set to a question the loaded articles
answer (`AnsweringCore.example_question`), never a fixed story's question.

Failure behaviour: the packaged manifest is always readable (it ships with the code);
a manifest without a `usage_hint:` line is returned unchanged.
"""

from __future__ import annotations

import json
import re
from importlib import resources

_USAGE_HINT = re.compile(r"^(?P<indent>\s*)usage_hint:.*$", re.MULTILINE)


def packaged_manifest() -> str:
    return resources.files("bot.adapters.slack").joinpath("manifest.yaml").read_text(encoding="utf-8")


def manifest_text(example: str | None) -> str:
    """The manifest, its `/ask` usage hint set to `example` when there is one."""
    text = packaged_manifest()
    if not example:
        return text
    # A JSON string is a valid YAML double-quoted scalar: any ':' or '#' in the question stays text.
    return _USAGE_HINT.sub(lambda m: f"{m.group('indent')}usage_hint: {json.dumps(example)}", text, count=1)

"""Where a corpus folder's index lives in the cache folder: importable without numpy, so a bot
can tell whether an index exists at all before it loads the index code (see `bot.app`)."""

from __future__ import annotations

import hashlib
from pathlib import Path

MANIFEST = "manifest.json"


def index_folder(cache_dir: Path, corpus_dir: Path) -> Path:
    """Where the index of `corpus_dir` lives in `cache_dir`."""
    tag = hashlib.sha256(str(Path(corpus_dir).resolve()).encode()).hexdigest()[:12]
    return Path(cache_dir) / f"index-{tag}"

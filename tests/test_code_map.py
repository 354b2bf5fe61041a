"""The README's "How it works" map names every module, so a newcomer finds each one's job."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_the_readme_map_names_every_module():
    readme = REPO.joinpath("README.md").read_text(encoding="utf-8")
    start = readme.index("## How it works")
    code_map = readme[start : readme.index("```\n", readme.index("```\n", start) + 4)]
    named = {line.split()[0] for line in code_map.splitlines() if line.strip() and line.split()[0].endswith(".py")}
    modules = {
        path.name
        for package in ("bot", "index", "corpus")
        for path in (REPO / package).rglob("*.py")
        if path.name not in ("__init__.py", "__main__.py")
    }
    missing = sorted(modules - named)
    assert not missing, f"add these modules to README.md's 'How it works' map, with their one job: {missing}"

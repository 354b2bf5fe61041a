"""Counting how often the code lists a folder (`os.scandir`): a listing of 20,000 article files
costs a fifth of a second, so the tests check that a command or a reload lists the folder once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def count_listings(monkeypatch: pytest.MonkeyPatch, folder: Path) -> list[str]:
    """From now on, each `os.scandir(folder)` appends the folder to the list returned."""
    listings: list[str] = []
    real_scandir = os.scandir

    def counted(path="."):  # type: ignore[no-untyped-def]
        if Path(path) == folder:
            listings.append(str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", counted)
    return listings

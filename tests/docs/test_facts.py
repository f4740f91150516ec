"""Statements about AWS that the repository once got wrong, kept from coming back."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Where the repository states facts: the docs, the README and the code's comments.
SOURCES = ("docs", "src", "cli", "local", "harness", "bench", "webnode")


def _texts() -> list[Path]:
    files = [ROOT / "README.md"]
    for top in SOURCES:
        files += [p for p in (ROOT / top).rglob("*") if p.suffix in {".md", ".py"}]
    return files


def test_nothing_says_pending_instances_do_not_count_toward_desired_capacity() -> None:
    # DesiredCapacity is the target size: instances launching to reach it count toward it
    # (Amazon EC2 Auto Scaling User Guide: an instance is Pending until it is InService).
    wrong = re.compile(r"count toward\s+(?:#\s*)?DesiredCapacity only once InService", re.I)
    found = [
        str(path.relative_to(ROOT))
        for path in _texts()
        if wrong.search(re.sub(r"\s+", " ", path.read_text(encoding="utf-8")))
    ]
    assert not found, found

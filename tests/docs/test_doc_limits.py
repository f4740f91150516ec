"""The docs a reader has to get through stay short (issue 32): the README and docs/*.md
together at most 15,000 words, the README's deploy section one page, no table cell a wall."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MAX_WORDS = 15_000
MAX_DEPLOY_WORDS = 800
MAX_CELL = 400
_FENCE = re.compile(r"^[ \t]*```.*?^[ \t]*```", re.MULTILINE | re.DOTALL)


def words(text: str) -> int:
    """As `wc -w` counts them: runs of characters between white space."""
    return len(text.split())


def test_the_readme_and_the_docs_stay_within_their_word_budget() -> None:
    counts = {
        p.relative_to(ROOT).as_posix(): words(p.read_text(encoding="utf-8")) for p in DOCUMENTS
    }
    assert sum(counts.values()) <= MAX_WORDS, counts


def test_the_readmes_deploy_section_fits_one_page() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme.count("\n## Deploy to production\n") == 1
    section = readme.split("\n## Deploy to production\n", 1)[1].split("\n## ", 1)[0]
    assert words(section) <= MAX_DEPLOY_WORDS, words(section)


def _cells(text: str) -> list[str]:
    cells = []
    for line in _FENCE.sub("", text).splitlines():
        row = line.strip()
        if row.startswith("|") and row.endswith("|"):
            # A pipe written \| inside a cell (a pattern) does not split it.
            cells += [c.strip() for c in re.split(r"(?<!\\)\|", row[1:-1])]
    return cells


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_table_cell_is_longer_than_400_characters(document: Path) -> None:
    long = [c[:60] + "…" for c in _cells(document.read_text(encoding="utf-8")) if len(c) > MAX_CELL]
    assert not long, long


def test_the_cells_are_found() -> None:
    # The README's exit codes are a table: a reader that finds no cell checks nothing.
    assert len(_cells((ROOT / "README.md").read_text(encoding="utf-8"))) > 100

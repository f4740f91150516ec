"""Every document the code, the tests and the docs point a reader to is in this repository."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CODE = ("src", "tests", "local", "bench", "harness", "webnode", "cli")
# A file name ending in .md, as a comment or docstring cites it.
_CITED_MD = re.compile(r"(?<![\w./-])([\w./-]*[\w-]\.md)\b")
# The messages link the docs through apcu_notifier.messages.DOCS, the repository's docs/ folder.
_DOCS_LINK = "{DOCS}"


def _sources() -> list[Path]:
    files = [p for top in CODE if (ROOT / top).is_dir() for p in (ROOT / top).rglob("*.py")]
    files += [ROOT / "Makefile", ROOT / "template.yaml", ROOT / "README.md"]
    files += sorted((ROOT / "docs").glob("*.md"))
    # This file spells out the patterns it looks for.
    return [f for f in files if f.is_file() and f != Path(__file__).resolve()]


def _resolves(cited: str, where: Path) -> bool:
    # A citation is read from the repository root, or (in a Markdown link) from its own folder.
    return (ROOT / cited).is_file() or (where.parent / cited).is_file()


def test_every_cited_markdown_file_exists() -> None:
    # Given every source, test and document, When each names a .md file, Then that file exists.
    missing = [
        f"{path.relative_to(ROOT)}:{number}: {cited}"
        for path in _sources()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        for cited in _CITED_MD.findall(line.replace(_DOCS_LINK, "docs/"))
        if not cited.startswith(("http", "//")) and not _resolves(cited, path)
    ]
    assert not missing, "cited but not in the repository:\n" + "\n".join(missing)


def test_nothing_points_outside_the_repository() -> None:
    outside = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in _sources()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "../shared" in line or "/work/" in line
    ]
    assert not outside, outside

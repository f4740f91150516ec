"""Every link to a section goes somewhere: a Slack message's link to the docs, and every
Markdown link from one document to a heading of another (or its own), reaches a heading that
exists, as GitHub names its anchors."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

from apcu_notifier import messages
from harness import cfn_template
from tests.notifier.snapshots import entries

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = sorted(
    [
        ROOT / "README.md",
        ROOT / "SECURITY.md",
        ROOT / "CHANGELOG.md",
        *(ROOT / "docs").glob("*.md"),
        # Each folder's own README (cli/, webnode/, ...); not the tools' (.pytest_cache/, ...).
        *(
            folder / "README.md"
            for folder in ROOT.iterdir()
            if not folder.name.startswith(".") and (folder / "README.md").is_file()
        ),
    ]
)
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6} (.+?)\s*$", re.MULTILINE)
_FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


def _slug(heading: str) -> str:
    # GitHub's anchors: lower case, punctuation other than - and _ dropped, spaces as -.
    text = re.sub(r"[`*]", "", heading).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


@cache
def anchors(path: Path) -> frozenset[str]:
    text = _FENCE.sub("", path.read_text(encoding="utf-8"))
    seen: dict[str, int] = {}
    found = set()
    for heading in _HEADING.findall(text):
        slug = _slug(heading)
        # A repeated heading gets -1, -2, ... after the first.
        found.add(slug if slug not in seen else f"{slug}-{seen[slug]}")
        seen[slug] = seen.get(slug, 0) + 1
    return frozenset(found)


def _reaches(path: Path, anchor: str) -> bool:
    return path.is_file() and (not anchor or anchor in anchors(path))


def test_the_messages_link_to_the_repository_the_template_names() -> None:
    metadata = cfn_template.load()["Metadata"]["AWS::ServerlessRepo::Application"]
    assert metadata["SourceCodeUrl"] == messages.REPOSITORY_URL


def _message_texts() -> list[tuple[str, str]]:
    return [
        (f"{language.value}.{name}", value)
        for language, catalogue in messages.CATALOGUE.items()
        for name, value in entries(catalogue).items()
        if isinstance(value, str)
    ]


def test_every_docs_link_in_a_message_reaches_a_heading() -> None:
    prefix = re.escape(messages.REPOSITORY_URL) + r"/blob/main/([^#|>]+)(?:#([^|>]+))?"
    links = [
        (name, match.group(1), match.group(2) or "")
        for name, text in _message_texts()
        for match in re.finditer(prefix, text)
    ]
    assert links, "the notification-missing line links its section"
    broken = [link for link in links if not _reaches(ROOT / link[1], link[2])]
    assert not broken, broken


def test_a_message_that_names_a_document_links_it() -> None:
    # "see Troubleshooting in docs/deploy.md" pointed at a section that did not exist; a
    # message that sends the reader to the docs gives the link.
    unlinked = [
        name
        for name, text in _message_texts()
        if re.search(r"\w+\.md\b", text) and f"<{messages.REPOSITORY_URL}/" not in text
    ]
    assert not unlinked, unlinked


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_link_to_a_section_reaches_a_heading(document: Path) -> None:
    text = _FENCE.sub("", document.read_text(encoding="utf-8"))
    broken = []
    for target in _LINK.findall(text):
        if re.match(r"[a-z]+:", target):
            continue
        file_part, _, anchor = target.partition("#")
        path = (document.parent / file_part).resolve() if file_part else document
        if path.suffix == ".md" or anchor:
            if not _reaches(path, anchor):
                broken.append(target)
        elif not path.exists():
            broken.append(target)
    assert not broken, f"{document.relative_to(ROOT)} links to what does not exist: {broken}"

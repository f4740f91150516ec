"""Every sentence the notifier posts, one catalogue per language (en.py declares every entry).
Links to the docs name the public repository (REPOSITORY_URL, the template's SourceCodeUrl),
where tests check each reaches a heading; `docs_links` leads them to the stack's DOCS_URL."""

from __future__ import annotations

from apcu_notifier.config import Language
from apcu_notifier.messages.en import REPOSITORY_URL, Messages
from apcu_notifier.messages.ja import Japanese

CATALOGUE: dict[Language, Messages] = {Language.EN: Messages(), Language.JA: Japanese()}


def docs_links(text: str, docs_url: str) -> str:
    """`text` with its links to the repository's docs led to the stack's DOCS_URL."""
    return text.replace(REPOSITORY_URL + "/", docs_url + "/")

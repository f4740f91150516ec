"""Every sentence the notifier posts, one catalogue per language: en.py (whose Messages declares
every entry) and ja.py, each written as a reader of that language would write it. Links to the
docs name the public repository (REPOSITORY_URL, the template's SourceCodeUrl), where tests check
each reaches a heading; a message leads them to the stack's DOCS_URL (`docs_links`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from apcu_notifier.config import Language

if TYPE_CHECKING:
    from apcu_notifier.messages.en import Messages

REPOSITORY_URL = "https://github.com/apcu-fleet-flush/apcu-fleet-flush"
DOCS = REPOSITORY_URL + "/blob/main/docs/"


@dataclass(frozen=True)
class Count:
    """A count and its noun: "1 instance", "3 instances", "1,200 compiled scripts". A language
    without plurals gives one form."""

    one: str
    other: str = ""

    def __call__(self, n: int) -> str:
        return (self.other if n != 1 and self.other else self.one).format(n=f"{n:,}")


@dataclass(frozen=True)
class Job:
    """How the sentences name what an action did, so that one sentence serves all three: `job`
    in a title ("APCu clear reached no instance"), `done` in the ok title ("APCu cleared on every
    instance"), `the_job` inside a sentence ("ran the clear"), and `nothing` of instances whose
    cache began empty ("nothing to clear")."""

    job: str
    done: str
    the_job: str
    nothing: str


def docs_links(text: str, docs_url: str) -> str:
    """`text` with its links to the repository's docs led to the stack's DOCS_URL."""
    return text.replace(REPOSITORY_URL + "/", docs_url + "/")


def _catalogue() -> dict[Language, Messages]:
    # The catalogues use Count and Job, defined above: they are read once those exist.
    from apcu_notifier.messages.en import Messages
    from apcu_notifier.messages.ja import Japanese

    return {Language.EN: Messages(), Language.JA: Japanese()}


CATALOGUE: dict[Language, Messages] = _catalogue()

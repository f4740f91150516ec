"""docs/design.md's verdict tables name every verdict the notifier can come to."""

from __future__ import annotations

import re
from pathlib import Path

from apcu_notifier.verdict import VerdictKind

DESIGN = Path(__file__).resolve().parents[2] / "docs/design.md"


def test_every_verdict_kind_has_a_row() -> None:
    section = DESIGN.read_text(encoding="utf-8").split("## Verdicts", 1)[1].split("\n## ", 1)[0]
    # The first cell of each row, as written ("no targets") or as the code spells it.
    rows = {cell.strip() for cell in re.findall(r"^\| ([^|]+) \|", section, re.MULTILINE)}
    missing = [
        k.value
        for k in VerdictKind
        if k.value not in rows and k.value.replace("_", " ") not in rows
    ]
    assert not missing, f"docs/design.md's verdict tables have no row for {missing}"

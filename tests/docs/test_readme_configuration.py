"""The README's configuration table: one row per variable, and a row for every variable the
template gives a function, naming that function."""

from __future__ import annotations

import re
from pathlib import Path

from harness import cfn_template

README = Path(__file__).resolve().parents[2] / "README.md"
FUNCTIONS = {"DispatcherFunction": "dispatcher", "NotifierFunction": "notifier"}
# "The standard POWERTOOLS_* variables and LOG_LEVEL apply to both", as the README says.
STANDARD = re.compile(r"POWERTOOLS_\w+|LOG_LEVEL")


def _rows() -> list[tuple[str, str]]:
    section = README.read_text(encoding="utf-8").split("\n### Configuration\n", 1)[1]
    section = section.split("\n#", 1)[0]
    return re.findall(r"^\| `([A-Z0-9_]+)` \| ([a-z, ]+) \|", section, re.MULTILINE)


def test_each_variable_has_one_row() -> None:
    names = [name for name, _ in _rows()]
    assert names
    twice = sorted({name for name in names if names.count(name) > 1})
    assert not twice, f"more than one row for {twice}"


def test_every_variable_the_template_sets_has_a_row_naming_its_function() -> None:
    rows = dict(_rows())
    resources = cfn_template.load()["Resources"]
    missing = []
    for logical_id, function in FUNCTIONS.items():
        variables = resources[logical_id]["Properties"]["Environment"]["Variables"]
        for name in variables:
            if STANDARD.fullmatch(name):
                continue
            where = rows.get(name, "")
            if where != "both" and where != function:
                missing.append(f"{name} ({function}; the table says {where or 'nothing'})")
    assert not missing, missing

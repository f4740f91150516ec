"""docs/design.md's configuration contract: one row per variable, a row for every variable the
template gives a function, naming that function, and no row for a variable no function gets."""

from __future__ import annotations

import re
from pathlib import Path

from harness import cfn_template

DESIGN = Path(__file__).resolve().parents[2] / "docs/design.md"
FUNCTIONS = {"DispatcherFunction": "dispatcher", "NotifierFunction": "notifier"}
# "The standard POWERTOOLS_* variables and LOG_LEVEL apply to both", as the page says.
STANDARD = re.compile(r"POWERTOOLS_\w+|LOG_LEVEL")


def _rows() -> list[tuple[str, str]]:
    section = DESIGN.read_text(encoding="utf-8").split("\n## Configuration contract\n", 1)[1]
    section = section.split("\n## ", 1)[0]
    return re.findall(r"^\| `([A-Z0-9_]+)` \| ([a-z, ]+) \|", section, re.MULTILINE)


def _template_variables() -> dict[str, set[str]]:
    """Each variable the template sets, and the functions it sets it for."""
    resources = cfn_template.load()["Resources"]
    found: dict[str, set[str]] = {}
    for logical_id, function in FUNCTIONS.items():
        for name in resources[logical_id]["Properties"]["Environment"]["Variables"]:
            if not STANDARD.fullmatch(name):
                found.setdefault(name, set()).add(function)
    return found


def _says(where: str) -> set[str]:
    return set(FUNCTIONS.values()) if where == "both" else {where}


def test_each_variable_has_one_row() -> None:
    names = [name for name, _ in _rows()]
    assert names
    twice = sorted({name for name in names if names.count(name) > 1})
    assert not twice, f"more than one row for {twice}"


def test_every_variable_the_template_sets_has_a_row_naming_its_functions() -> None:
    rows = dict(_rows())
    wrong = [
        f"{name} (the template gives it to {sorted(functions)}; the table says "
        f"{rows.get(name) or 'nothing'})"
        for name, functions in _template_variables().items()
        if name not in rows or _says(rows[name]) != functions
    ]
    assert not wrong, wrong


def test_no_row_names_a_variable_no_function_gets() -> None:
    stale = sorted(set(dict(_rows())) - set(_template_variables()))
    assert not stale, f"docs/design.md's table names variables the template never sets: {stale}"

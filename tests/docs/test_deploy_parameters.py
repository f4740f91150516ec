"""docs/deploy.md's parameter table is the template's: every parameter has a row, every row is a
parameter, and each row's default is the one the template has."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from harness import cfn_template

DEPLOY = Path(__file__).resolve().parents[2] / "docs/deploy.md"
# How the table writes a default: the value in backticks, or these for none at all.
NO_DEFAULT, EMPTY = "(required)", "(none)"


def _rows() -> dict[str, str]:
    section = DEPLOY.read_text(encoding="utf-8").split("\n## Parameters\n", 1)[1]
    section = section.split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \| ([^|]+) \|", section, re.MULTILINE)
    names = [name for name, _ in rows]
    assert len(names) == len(set(names)), f"a parameter with two rows: {names}"
    return {name: default.strip() for name, default in rows}


def _written(spec: dict[str, Any]) -> str:
    if "Default" not in spec:
        return NO_DEFAULT
    default = str(spec["Default"])
    return f"`{default}`" if default else EMPTY


def test_every_parameter_has_a_row_and_every_row_is_a_parameter() -> None:
    documented, parameters = set(_rows()), set(cfn_template.load()["Parameters"])
    assert documented, "docs/deploy.md has a parameter table"
    assert not parameters - documented, f"no row for {sorted(parameters - documented)}"
    assert not documented - parameters, f"rows for no parameter: {sorted(documented - parameters)}"


def test_each_row_gives_the_templates_default() -> None:
    rows = _rows()
    wrong = {
        name: (rows[name], _written(spec))
        for name, spec in cfn_template.load()["Parameters"].items()
        if name in rows and rows[name] != _written(spec)
    }
    assert not wrong, f"the table's default, then the template's: {wrong}"

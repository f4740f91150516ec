"""events/env.json, the settings `sam local invoke` gives the functions: each EXAMPLE value
stands for a value of the deployed stack, and one of the stack's outputs gives it, so the
README's "replace its EXAMPLE names with your stack's outputs" can be done."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.stack.deployed import DeployedStack

ENV_JSON = Path(__file__).resolve().parents[2] / "events" / "env.json"


def _examples() -> list[tuple[str, str]]:
    settings = json.loads(ENV_JSON.read_text(encoding="utf-8"))
    found = [
        (function, name)
        for function, variables in settings.items()
        if function != "Parameters"
        for name, value in variables.items()
        if "EXAMPLE" in value
    ]
    assert found
    return found


@pytest.mark.parametrize(("function", "name"), _examples())
def test_every_example_value_is_given_by_a_stack_output(function: str, name: str) -> None:
    stack = DeployedStack()
    variables = stack.properties(function)["Environment"]["Variables"]
    assert name in variables, f"{function} is given no {name} by template.yaml"
    # The same value as the function gets: the same resource, and its ARN where it gets an ARN.
    giving = [output for output, value in stack.outputs.items() if value == variables[name]]
    assert giving, f"no output of template.yaml gives {function}'s {name} ({variables[name]})"


def test_every_output_has_a_row_in_docs_deploy_md() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs/deploy.md").read_text(encoding="utf-8")
    table = docs.split("\n## Outputs\n", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`(\w+)`", "\n".join(re.findall(r"^\| ([^|]+) \|", table, re.M))))
    missing = sorted(set(DeployedStack().template["Outputs"]) - named)
    assert not missing, f"docs/deploy.md's Outputs table does not say what {missing} is for"

"""Reads template.yaml as data: CloudFormation's short tags kept, Fn::Sub evaluated on request.

The web node test, the stack tests and the local run all need the SSM document exactly as
the stack deploys it; they read it from here rather than keep a copy that could drift.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml

TEMPLATE = Path(__file__).resolve().parents[1] / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that turns `!Sub x` into {"Fn::Sub": x}, `!Ref x` into {"Ref": x}, and so on."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    # !Ref and !Condition keep their names; every other short tag is an Fn:: function.
    name = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _tag)


@cache
def load(path: Path = TEMPLATE) -> dict[str, Any]:
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=_CfnLoader)  # noqa: S506 (SafeLoader subclass)
    assert isinstance(data, dict)
    return data


def function_timeout(logical_id: str, template: dict[str, Any] | None = None) -> float:
    """The seconds Lambda gives the function: its own Timeout, or the Globals' one."""
    template = template or load()
    own = template["Resources"][logical_id]["Properties"].get("Timeout")
    return float(own if own is not None else template["Globals"]["Function"]["Timeout"])


def parameter_defaults(template: dict[str, Any] | None = None) -> dict[str, str]:
    template = template or load()
    return {
        name: str(spec.get("Default", "")) for name, spec in template.get("Parameters", {}).items()
    }


_SUB_VARIABLE = re.compile(r"\$\{(!?)([^}]*)\}")


def substitute(text: str, values: dict[str, str]) -> str:
    """Fn::Sub on a string: ${Name} from `values`, ${!Name} to a literal ${Name}."""

    def replace(match: re.Match[str]) -> str:
        literal, name = match.groups()
        if literal:
            return "${" + name + "}"
        if name not in values:
            raise KeyError(f"Fn::Sub variable {name} has no value")
        return values[name]

    return _SUB_VARIABLE.sub(replace, text)


def resolve_subs(node: Any, values: dict[str, str]) -> Any:
    """Evaluate every Fn::Sub (string form) inside a template fragment."""
    if isinstance(node, dict):
        if set(node) == {"Fn::Sub"} and isinstance(node["Fn::Sub"], str):
            return substitute(node["Fn::Sub"], values)
        return {key: resolve_subs(value, values) for key, value in node.items()}
    if isinstance(node, list):
        return [resolve_subs(item, values) for item in node]
    return node


def flush_document(values: dict[str, str] | None = None) -> dict[str, Any]:
    """The SSM document's content as deployed with these stack parameters (defaults otherwise)."""
    template = load()
    merged = {**parameter_defaults(template), **(values or {})}
    content = template["Resources"]["FlushDocument"]["Properties"]["Content"]
    resolved = resolve_subs(content, merged)
    assert isinstance(resolved, dict)
    return resolved


def flush_script(values: dict[str, str] | None = None) -> str:
    """The shell script the document's one step runs on every instance."""
    steps = flush_document(values)["mainSteps"]
    commands = steps[0]["inputs"]["runCommand"]
    return "\n".join(commands)

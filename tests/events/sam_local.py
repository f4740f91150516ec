"""The environment `sam local invoke --env-vars FILE` gives a function, without Docker.

Mirrors SAM CLI 1.170 (samcli/commands/local/lib/local_lambda.py `_make_env_vars` and
samcli/local/lambdafn/env_vars.py `EnvironmentVariables.resolve`), checked against it:

- only the variables the template declares for the function (Globals merged in) are set;
- each takes, from lowest to highest priority, the template's value as SAM's local resolver
  reads it, the file's "Parameters" (every function), then the file's entry for the
  function's logical id;
- the AWS_* variables (region, credentials, function name) are always set.

SAM's local resolver cannot know what a deployed stack would name things: a Ref to a resource
becomes the resource's logical id and a GetAtt a made-up Lambda ARN, which is why the
functions' configuration checks fail without an env-vars file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness import cfn_template


class OverridesNotWellDefined(ValueError):
    """SAM refuses an env-vars file whose top-level values are not objects."""


def declared_variables(logical_id: str, template: dict[str, Any] | None = None) -> dict[str, Any]:
    template = template or cfn_template.load()
    globals_ = template.get("Globals", {}).get("Function", {}).get("Environment", {})
    own = template["Resources"][logical_id]["Properties"].get("Environment", {})
    return {**globals_.get("Variables", {}), **own.get("Variables", {})}


def sam_environment(logical_id: str, env_vars_file: Path | None, *, region: str) -> dict[str, str]:
    template = cfn_template.load()
    file_values: dict[str, Any] = {}
    if env_vars_file is not None:
        file_values = json.loads(env_vars_file.read_text(encoding="utf-8"))
        for value in file_values.values():
            if not isinstance(value, dict):
                raise OverridesNotWellDefined(f"Environment variables {value} in incorrect format")
    overrides = {**file_values.get("Parameters", {}), **file_values.get(logical_id, {})}
    result = {
        "AWS_SAM_LOCAL": "true",
        "AWS_LAMBDA_FUNCTION_NAME": logical_id,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
    }
    for name, value in declared_variables(logical_id, template).items():
        chosen = overrides[name] if name in overrides else _resolved(value, template)
        result[name] = _stringified(chosen)
    return result


def _resolved(value: Any, template: dict[str, Any]) -> Any:
    if not isinstance(value, dict):
        return value
    if "Ref" in value:
        parameter = template.get("Parameters", {}).get(value["Ref"])
        if parameter is not None and "Default" in parameter:
            return parameter["Default"]
        return value["Ref"]
    if "Fn::GetAtt" in value:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{value['Fn::GetAtt'][0]}"
    if "Fn::If" in value:
        # The stack's conditions hold with the parameters' defaults (a secret is created).
        return _resolved(value["Fn::If"][1], template)
    return value


def _stringified(value: Any) -> str:
    if isinstance(value, dict | list | tuple) or value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)

"""template.yaml as CloudFormation would deploy it, worked out offline.

aws-sam-translator (the code behind the AWS::Serverless transform) turns the SAM template
into plain CloudFormation without calling AWS. `DeployedStack` then does what CloudFormation
does with that result for a given set of parameters: it evaluates the conditions, drops
the resources and properties they switch off, and resolves Ref, Fn::GetAtt, Fn::Sub,
Fn::Join, Fn::Split and Fn::If, so that tests can compare policies and settings with plain
strings. What only exists after deployment stays a readable token: `{FlushDocument}` for a
Ref to a resource, `{NotifierFailureQueue.Arn}` for a GetAtt, and `ssm:<name>` for a
parameter CloudFormation would read from SSM Parameter Store.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from functools import cache
from typing import Any

import boto3
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator
from samtranslator.utils.py27hash_fix import (
    to_py27_compatible_template,
    undo_mark_unicode_str_in_template,
)

from harness import cfn_template

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
PSEUDO_PARAMETERS = {
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT_ID,
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "apcu-fleet-flush",
}
# The parameter without a default, given here as an operator would at deploy time.
REQUIRED_PARAMETERS = {"AllowedGroups": "web-prod,web-staging"}


class _NoManagedPolicies:
    """Stands in for samtranslator's ManagedPolicyLoader, which lists IAM's managed policies
    when a function names one by name; the stack names none, so IAM is never called."""

    def load(self) -> dict[str, str]:
        return {}


class _NoValue:
    """AWS::NoValue: the property or list item disappears."""


NO_VALUE = _NoValue()
_SUB_VARIABLE = re.compile(r"\$\{(!?)([^}]*)\}")


@cache
def _transformed() -> dict[str, Any]:
    return transform(cfn_template.load())


def transform(template: Mapping[str, Any]) -> dict[str, Any]:
    """The SAM template as CloudFormation receives it after the AWS::Serverless transform."""
    sam_template = copy.deepcopy(dict(template))
    for resource in sam_template["Resources"].values():
        # `sam build`/`sam package` replace the local folder with an S3 location before the
        # transform runs; the translator refuses a local path.
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://artifacts/function.zip"
        if resource["Type"] == "AWS::Serverless::LayerVersion":
            uri = str(resource["Properties"]["ContentUri"])
            packaged = uri if uri.startswith("s3://") else "s3://artifacts/layer.zip"
            resource["Properties"]["ContentUri"] = packaged
    parameters = {**PSEUDO_PARAMETERS, **REQUIRED_PARAMETERS}
    # What samtranslator.translator.transform.transform does (the entry point CloudFormation
    # and `sam` use), with the region given here rather than read from the environment.
    to_py27_compatible_template(sam_template, parameters)
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=REGION))
    translated = translator.translate(
        sam_template,
        parameter_values=parameters,
        get_managed_policy_map=_NoManagedPolicies().load,
    )
    result = undo_mark_unicode_str_in_template(translated)
    assert isinstance(result, dict)
    return result


class DeployedStack:
    """The transformed template, with conditions and intrinsic functions evaluated."""

    def __init__(self, parameters: Mapping[str, str] | None = None) -> None:
        self.template = _transformed()
        self._given = {**REQUIRED_PARAMETERS, **(parameters or {})}
        unknown = set(self._given) - set(self.template["Parameters"])
        assert not unknown, f"not parameters of the template: {sorted(unknown)}"

    # -- parameters and conditions

    def parameter(self, name: str) -> str:
        spec = self.template["Parameters"][name]
        value = self._given.get(name, spec.get("Default"))
        assert value is not None, f"parameter {name} has no value and no default"
        if spec["Type"].startswith("AWS::SSM::Parameter::Value"):
            return f"ssm:{value}"
        return str(value)

    def condition(self, name: str) -> bool:
        return bool(self._evaluate(self.template["Conditions"][name]))

    def _evaluate(self, node: Any) -> Any:
        if isinstance(node, dict) and len(node) == 1:
            ((key, args),) = node.items()
            if key == "Fn::Equals":
                return self.resolve(args[0]) == self.resolve(args[1])
            if key == "Fn::Not":
                return not self._evaluate(args[0])
            if key == "Fn::And":
                return all(self._evaluate(arg) for arg in args)
            if key == "Fn::Or":
                return any(self._evaluate(arg) for arg in args)
            if key == "Condition":
                return self.condition(args)
        return self.resolve(node)

    # -- resources

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        """Every resource CloudFormation would create: {"Type": ..., "Properties": {...}}."""
        created: dict[str, dict[str, Any]] = {}
        for logical_id, resource in self.template["Resources"].items():
            condition = resource.get("Condition")
            if condition is not None and not self.condition(condition):
                continue
            created[logical_id] = {
                "Type": resource["Type"],
                "Properties": self.resolve(resource.get("Properties", {})),
            }
        return created

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        """Properties of every created resource of one type, by logical id."""
        return {
            logical_id: resource["Properties"]
            for logical_id, resource in self.resources.items()
            if resource["Type"] == resource_type
        }

    def only(self, resource_type: str) -> tuple[str, dict[str, Any]]:
        """The logical id and properties of the one created resource of a type (SAM names
        versions and layers after a hash of their content)."""
        (found,) = self.of_type(resource_type).items()
        return found

    def properties(self, logical_id: str) -> dict[str, Any]:
        resource = self.resources[logical_id]
        properties = resource["Properties"]
        assert isinstance(properties, dict)
        return properties

    @property
    def outputs(self) -> dict[str, Any]:
        return {
            name: self.resolve(output["Value"])
            for name, output in self.template["Outputs"].items()
            if "Condition" not in output or self.condition(output["Condition"])
        }

    # -- intrinsic functions

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in PSEUDO_PARAMETERS:
            return PSEUDO_PARAMETERS[name]
        if name in self.template["Parameters"]:
            return self.parameter(name)
        assert name in self.template["Resources"], f"Ref to unknown {name}"
        return "{" + name + "}"

    def get_att(self, logical_id: str, attribute: str) -> str:
        assert logical_id in self.template["Resources"], f"GetAtt of unknown {logical_id}"
        return "{" + logical_id + "." + attribute + "}"

    def sub(self, text: str, variables: Mapping[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            literal, name = match.groups()
            if literal:
                return "${" + name + "}"
            if name in variables:
                return str(self.resolve(variables[name]))
            if "." in name:
                return self.get_att(*name.split(".", 1))
            return str(self.ref(name))

        return _SUB_VARIABLE.sub(replace, text)

    def resolve(self, node: Any) -> Any:
        if isinstance(node, list):
            items = [self.resolve(item) for item in node]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, args),) = node.items()
            if key == "Ref":
                return self.ref(args)
            if key == "Fn::GetAtt":
                return self.get_att(*args)
            if key == "Fn::Sub":
                text, variables = (args, {}) if isinstance(args, str) else args
                return self.sub(text, variables)
            if key == "Fn::Join":
                # The list may itself be a function (Fn::Split), as CloudFormation allows.
                parts = self.resolve(args[1])
                return args[0].join(str(self.resolve(part)) for part in parts)
            if key == "Fn::Split":
                return str(self.resolve(args[1])).split(args[0])
            if key == "Fn::If":
                name, when_true, when_false = args
                return self.resolve(when_true if self.condition(name) else when_false)
            assert not key.startswith("Fn::"), f"{key} is not evaluated here; add it"
        resolved = {key: self.resolve(value) for key, value in node.items()}
        return {key: value for key, value in resolved.items() if value is not NO_VALUE}


def statements(policy_document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A policy's statements with Action and Resource always lists, as IAM reads them."""
    normalised = []
    for statement in policy_document["Statement"]:
        entry = dict(statement)
        for key in ("Action", "Resource", "NotAction", "NotResource"):
            if isinstance(entry.get(key), str):
                entry[key] = [entry[key]]
        normalised.append(entry)
    return normalised


def role_statements(role: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every permission statement of an AWS::IAM::Role's inline policies."""
    return [
        statement
        for policy in role.get("Policies", [])
        for statement in statements(policy["PolicyDocument"])
    ]

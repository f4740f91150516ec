"""Moves the notifier's alias to a version with $LATEST's configuration, after a deploy that
changed only the stack's parameters.

Clears run on the notifier's alias (`live`): a durable execution runs on a version. SAM names
the version it publishes by a hash of the function's properties with their parameter
references unresolved (serverless-application-model #3820), so a deploy that changes only a
parameter (MessageLanguage, AllowedGroups, AlertMention, Tracing, PowertoolsLayerArn...)
updates $LATEST and publishes no version: every new clear would run on the old settings, while
the dispatcher, which runs its $LATEST, already has the new ones.

This compares the configuration of the version the alias points to with $LATEST's, and when
they differ publishes $LATEST as a version (guarded by $LATEST's code hash) and moves the
alias to it (guarded by the alias's revision). CloudFormation moves the alias again only with
the next version SAM publishes, so the move stays; older versions stay too, and a clear in
flight finishes on the version it started on.

    python .github/scripts/sync_notifier_alias.py --stack apcu-fleet-flush-prod --region ap-northeast-1

Prints "in step" or "moved" on its first line, then the alias's versions and, for a move,
the names of what differed: environment variables by name, never their values. Exit 0 for
both; 1, with an ::error:: line, when it cannot read or move the alias, and when $LATEST's
code is not the code of the alias's version (code reaches the alias only through a deploy).

Its calls, made directly and not through CloudFormation: cloudformation:DescribeStacks on the
stack; lambda:GetAlias, lambda:GetFunctionConfiguration, lambda:PublishVersion and
lambda:UpdateAlias on the notifier. It needs botocore only, which the deploy job's Python has
from `pip install ./cli`.
"""

from __future__ import annotations

import argparse
import re
import sys
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import botocore.session
from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

# template.yaml's output: `!Ref NotifierFunction.Alias`, the alias's ARN.
ALIAS_OUTPUT = "NotifierAliasArn"
_ALIAS_ARN = re.compile(r"arn:[\w-]+:lambda:[\w-]+:\d{12}:function:([\w-]+):([\w-]+)")

# The configuration a published version keeps, apart from its variables (compared by name)
# and its code (CodeSha256): everything the template sets on the notifier, directly or in
# Globals, that a parameter reaches or could. Not compared: what differs between a version
# and $LATEST by nature (Version, FunctionArn, RevisionId, LastModified, State, SnapStart's
# status, the runtime version Lambda picked) and the version's Description, which this sets.
PROPERTIES = (
    "MemorySize",
    "Timeout",
    "TracingConfig",
    "Layers",
    "LoggingConfig",
    "DurableConfig",
    "DeadLetterConfig",
    "EphemeralStorage",
    "Architectures",
    "Runtime",
    "Handler",
    "Role",
    "KMSKeyArn",
)
# PublishVersion's Description holds at most 256 characters.
_DESCRIPTION_LENGTH = 256


class SyncError(Exception):
    """What stopped the sync, in words that quote no configuration value."""


class AliasMoved(SyncError):
    """The alias moved between reading it and moving it: someone else deployed meanwhile."""


@dataclass(frozen=True)
class Drift:
    """How the alias's version differs from $LATEST: names only, never values."""

    function: str
    alias: str
    version: str
    # The alias's revision when it was read: the move happens only if it is still that.
    revision: str
    # $LATEST's code hash when it was read: the publish happens only if it is still that.
    code_sha256: str
    variables: tuple[str, ...]
    properties: tuple[str, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return self.variables + self.properties

    def describe(self) -> str:
        """What differed, for the log: variable names, then property names."""
        parts = []
        if self.variables:
            parts.append("the environment variables " + ", ".join(self.variables))
        if self.properties:
            parts.append(", ".join(self.properties))
        return " and ".join(parts)


def _layers(configuration: Mapping[str, Any]) -> list[str]:
    # A layer's ARN names its version; its size and signing follow from it.
    return [str(layer.get("Arn")) for layer in configuration.get("Layers") or []]


def _value(configuration: Mapping[str, Any], name: str) -> Any:
    return _layers(configuration) if name == "Layers" else configuration.get(name)


def _variables(configuration: Mapping[str, Any]) -> dict[str, Any]:
    found = (configuration.get("Environment") or {}).get("Variables") or {}
    return dict(found)


def differences(
    version: Mapping[str, Any], latest: Mapping[str, Any]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(variables, properties) whose value differs between the two configurations, as
    GetFunctionConfiguration answers them: a variable set in one and not the other differs."""
    before, after = _variables(version), _variables(latest)
    variables = tuple(
        sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))
    )
    properties = tuple(name for name in PROPERTIES if _value(version, name) != _value(latest, name))
    return variables, properties


def alias_of_stack(cloudformation: Any, stack: str) -> tuple[str, str]:
    """(function name, alias name) of the stack's notifier alias, from its outputs."""
    found = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in found.get("Outputs", [])}
    match = _ALIAS_ARN.fullmatch(str(outputs.get(ALIAS_OUTPUT, "")))
    if not match:
        raise SyncError(f"the stack {stack} has no output {ALIAS_OUTPUT} naming a function alias")
    return match.group(1), match.group(2)


def compare(client: LambdaClient, function: str, alias: str) -> Drift:
    """How the version the alias points to differs from $LATEST, once $LATEST has settled."""
    found = client.get_alias(FunctionName=function, Name=alias)
    # An update still in progress (LastUpdateStatus InProgress) cannot be published, and its
    # configuration is not yet the one the deploy set.
    client.get_waiter("function_updated").wait(FunctionName=function)
    version = found["FunctionVersion"]
    current = client.get_function_configuration(FunctionName=function, Qualifier=version)
    latest = client.get_function_configuration(FunctionName=function)
    if current["CodeSha256"] != latest["CodeSha256"]:
        raise SyncError(
            f"the code of {function}'s $LATEST is not the code of version {version}, which "
            f"the alias {alias} runs: it changed outside a deploy, and a version published "
            "from $LATEST would put it under every new clear, so none was published"
        )
    variables, properties = differences(
        cast("Mapping[str, Any]", current), cast("Mapping[str, Any]", latest)
    )
    return Drift(
        function=function,
        alias=alias,
        version=version,
        revision=found["RevisionId"],
        code_sha256=latest["CodeSha256"],
        variables=variables,
        properties=properties,
    )


def _description(drift: Drift) -> str:
    text = (
        f"$LATEST's configuration after a deploy that published no version: version "
        f"{drift.version} of the alias {drift.alias} differed in {', '.join(drift.names)}"
    )
    return textwrap.shorten(text, width=_DESCRIPTION_LENGTH, placeholder=" …")


def publish_and_move(client: LambdaClient, drift: Drift) -> str:
    """Publishes $LATEST as a version and moves the alias to it; answers the version.

    Raises AliasMoved when the alias changed since `drift` was read, SyncError when $LATEST's
    code did, ClientError on anything else Lambda refuses."""
    try:
        published = client.publish_version(
            FunctionName=drift.function,
            CodeSha256=drift.code_sha256,
            Description=_description(drift),
        )
    except ClientError as error:
        # Lambda answers a code hash that is no longer $LATEST's with InvalidParameterValue.
        if _code(error) != "InvalidParameterValueException":
            raise
        raise SyncError(
            f"Lambda published no version of {drift.function}: {_code(error)}, its code "
            "changed while this ran (a deploy or a hand update meanwhile): run this again"
        ) from error
    version = published["Version"]
    # The alias moves only to a version that can run; a new version is Pending for a moment.
    client.get_waiter("published_version_active").wait(
        FunctionName=drift.function, Qualifier=version
    )
    try:
        client.update_alias(
            FunctionName=drift.function,
            Name=drift.alias,
            FunctionVersion=version,
            RevisionId=drift.revision,
        )
    except ClientError as error:
        if _code(error) != "PreconditionFailedException":
            raise
        raise AliasMoved(
            f"the alias {drift.alias} of {drift.function} moved while this ran (it was on "
            f"version {drift.version}); version {version} is published but the alias was left "
            "where it is now: run this again"
        ) from error
    return version


def _code(error: Exception) -> str:
    """A ClientError's code only: its message could quote more than this means to show. A
    BotoCoreError (a waiter that met a failed update, no credentials) says what failed."""
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", "ClientError"))
    return str(error)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--stack", required=True)
    parser.add_argument("--region", required=True)
    args = parser.parse_args(argv)
    session = botocore.session.get_session()
    client = cast("LambdaClient", session.create_client("lambda", region_name=args.region))
    try:
        function, alias = alias_of_stack(
            session.create_client("cloudformation", region_name=args.region), args.stack
        )
        drift = compare(client, function, alias)
        if not drift.names:
            print("in step")
            print(f"alias {alias} of {function}: version {drift.version}, as $LATEST")
            return 0
        version = publish_and_move(client, drift)
    except SyncError as error:
        print(f"::error::{error}")
        return 1
    except (ClientError, BotoCoreError) as error:
        print(
            f"::error::cannot sync the notifier's alias of the stack {args.stack}: {_code(error)}"
        )
        return 1
    print("moved")
    print(
        f"alias {alias} of {function}: version {drift.version} -> {version}; version "
        f"{drift.version} differed from $LATEST in {drift.describe()}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

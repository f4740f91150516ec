"""Each function's process environment as the stack deploys it, read from template.yaml.

Three layers, in the order Lambda applies them:
1. Globals.Function.Environment, then the function's own Environment, with every Ref, GetAtt,
   If and Sub evaluated for the stack parameters given (defaults otherwise) and the local
   stand-ins for the stack's resources.
2. Tracing (Globals or the function's own), which decides the X-Ray trace header Lambda hands
   the function.
3. The variables Lambda itself defines for every function (Lambda Developer Guide, "Defined
   runtime environment variables"): LAMBDA_TASK_ROOT, AWS_LAMBDA_FUNCTION_NAME, the memory
   size, the trace header, the X-Ray daemon address and context-missing strategy, ...
Powertools and the X-Ray SDK look at these (LAMBDA_TASK_ROOT above all) to decide whether
they run inside Lambda; a benchmark without them measures code production never runs.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import cfn_template
from harness.aws_emulator import ACCOUNT_ID as ACCOUNT
from harness.aws_emulator import REGION

ROOT = Path(__file__).resolve().parent.parent
STACK_NAME = "apcu-fleet-flush"
FUNCTIONS = {"notifier": "NotifierFunction", "dispatcher": "DispatcherFunction"}
BUILD = ROOT / ".aws-sam" / "build"
# Lambda unpacks the layers under /opt, whose python/ folder comes after the function's own
# folder on sys.path: the stack's SDK layer (boto3, botocore) as sam build makes it. Powertools'
# public layer is this machine's installed Powertools, pinned to the same release.
SDK_LAYER = BUILD / "AwsSdkLayer" / "python"

# What a Ref or GetAtt of a resource evaluates to when the local stack has no stand-in for it:
# a plausible physical id of that type, so that an environment variable is never left out.
_PLAUSIBLE_REF = {
    "AWS::SNS::Topic": "arn:aws:sns:{region}:{account}:{stack}-{id}",
    "AWS::SQS::Queue": "https://sqs.{region}.amazonaws.com/{account}/{stack}-{id}",
    "AWS::DynamoDB::Table": "{stack}-{id}",
    "AWS::SecretsManager::Secret": "arn:aws:secretsmanager:{region}:{account}:secret:{stack}-{id}-AbCdEf",
    "AWS::Serverless::Function": "{stack}-{id}",
}
_PLAUSIBLE_ARN = {
    "AWS::IAM::Role": "arn:aws:iam::{account}:role/{stack}-{id}",
    "AWS::SQS::Queue": "arn:aws:sqs:{region}:{account}:{stack}-{id}",
    "AWS::DynamoDB::Table": "arn:aws:dynamodb:{region}:{account}:table/{stack}-{id}",
    "AWS::Serverless::Function": "arn:aws:lambda:{region}:{account}:function:{stack}-{id}",
}


@dataclass(frozen=True)
class Deployment:
    """One function, configured as the template deploys it with the given parameters."""

    function: str  # notifier | dispatcher
    parameters: dict[str, str]  # the stack parameters that differ from the defaults
    tracing: str  # Active | PassThrough
    memory_mb: int
    code_root: Path  # what LAMBDA_TASK_ROOT holds: the built artifact, or the source folder
    env: dict[str, str]


@dataclass(frozen=True)
class StandIns:
    """What a Ref or GetAtt .Arn of the stack's resources is here: the names and ARNs of the
    resources harness.stack.Stack made on the embedded AWS."""

    refs: dict[str, str]
    arns: dict[str, str]


def stand_ins(env: Mapping[str, str], **refs: str) -> StandIns:
    """From the harness stack's variables (harness.stack.environment), and `refs` besides
    (the secrets' ARNs, the alias a run starts clears on)."""
    return StandIns(
        refs={
            "NotificationTopic": env["NOTIFICATION_TOPIC_ARN"],
            "FlushDocument": env["DOCUMENT_NAME"],
            "CommandsTable": env["COMMANDS_TABLE"],
            "NotifierFunction.Alias": env["NOTIFIER_ALIAS_ARN"],
            **refs,
        },
        arns={"NotificationRole": env["NOTIFICATION_ROLE_ARN"]},
    )


class _Evaluator:
    def __init__(
        self, template: dict[str, Any], parameters: Mapping[str, str], local: StandIns
    ) -> None:
        self.template = template
        self.parameters = {**cfn_template.parameter_defaults(template), **parameters}
        self.pseudo = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::StackName": STACK_NAME,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        self.refs, self.arns = local.refs, local.arns
        self.resources: dict[str, Any] = template.get("Resources", {})

    def _fill(self, pattern: str, logical_id: str) -> str:
        return pattern.format(
            region=REGION, account=ACCOUNT, stack=STACK_NAME, id=logical_id.lower()
        )

    def ref(self, name: str) -> str:
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.refs:
            return self.refs[name]
        kind = self.resources.get(name, {}).get("Type", "")
        if kind in _PLAUSIBLE_REF:
            return self._fill(_PLAUSIBLE_REF[kind], name)
        raise KeyError(f"Ref {name}: no parameter, no local stand-in, no plausible value")

    def get_att(self, name: str, attribute: str) -> str:
        if attribute == "Arn" and name in self.arns:
            return self.arns[name]
        kind = self.resources.get(name, {}).get("Type", "")
        if attribute == "Arn" and kind in _PLAUSIBLE_ARN:
            return self._fill(_PLAUSIBLE_ARN[kind], name)
        if attribute in ("QueueName", "Name"):
            return f"{STACK_NAME}-{name.lower()}"
        raise KeyError(f"GetAtt {name}.{attribute}: no plausible value")

    def condition(self, name: str) -> bool:
        return bool(self.value(self.template["Conditions"][name]))

    def value(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self.value(item) for item in node]
        if not isinstance(node, dict) or len(node) != 1:
            return node
        (key, arg), *_ = node.items()
        match key:
            case "Ref":
                return self.ref(arg)
            case "Fn::GetAtt":
                return self.get_att(arg[0], arg[1])
            case "Fn::If":
                return self.value(arg[1] if self.condition(arg[0]) else arg[2])
            case "Fn::Equals":
                return str(self.value(arg[0])) == str(self.value(arg[1]))
            case "Fn::Not":
                return not self.value(arg[0])
            case "Fn::And":
                return all(self.value(item) for item in arg)
            case "Fn::Or":
                return any(self.value(item) for item in arg)
            case "Condition":
                return self.condition(arg)
            case "Fn::Join":
                return str(arg[0]).join(str(self.value(item)) for item in arg[1])
            case "Fn::Sub" if isinstance(arg, str):
                names = {
                    **self.pseudo,
                    **self.parameters,
                    **self.refs,
                    **{f"{k}.Arn": v for k, v in self.arns.items()},
                }
                return cfn_template.substitute(arg, names)
        return {k: self.value(v) for k, v in node.items()}


def trace_header(tracing: str) -> str:
    """_X_AMZN_TRACE_ID as Lambda sets it. SNS and HTTP APIs pass no sampled header on, so
    only Active tracing samples (X-Ray's default rule: the first request each second, which
    a notifier or a clear almost always is); PassThrough gets an unsampled header."""
    root = f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"
    sampled = "1" if tracing == "Active" else "0"
    return f"Root={root};Parent={secrets.token_hex(8)};Sampled={sampled}"


def code_root(function: str) -> Path:
    """The built artifact (what Lambda unpacks into /var/task); `make bench` runs sam build."""
    built = BUILD / FUNCTIONS[function]
    if not (built / "app.py").is_file():
        raise SystemExit(f"{built.relative_to(ROOT)} is not built: run sam build (make bench does)")
    return built


def deployment(
    function: str,
    local: StandIns,
    base_env: Mapping[str, str],
    *,
    parameters: Mapping[str, str] | None = None,
    xray_daemon: str = "127.0.0.1:2000",
    overrides: Mapping[str, str] | None = None,
) -> Deployment:
    """The function's environment as deployed, on top of `base_env` (credentials, endpoint);
    `overrides`: the variables that must point at a local stand-in instead (Slack's API)."""
    template = cfn_template.load()
    evaluator = _Evaluator(template, parameters or {}, local)
    logical_id = FUNCTIONS[function]
    globals_ = template.get("Globals", {}).get("Function", {})
    properties = template["Resources"][logical_id]["Properties"]
    variables: dict[str, str] = {}
    for source in (globals_, properties):
        for name, node in source.get("Environment", {}).get("Variables", {}).items():
            variables[name] = str(evaluator.value(node))
    tracing = str(
        evaluator.value(properties.get("Tracing", globals_.get("Tracing", "PassThrough")))
    )
    memory = int(evaluator.value(properties.get("MemorySize", globals_.get("MemorySize", 128))))
    runtime = str(evaluator.value(properties.get("Runtime", globals_.get("Runtime", ""))))
    name = f"{STACK_NAME}-{function}"
    root = code_root(function)
    if not SDK_LAYER.is_dir():
        raise SystemExit(f"{SDK_LAYER.relative_to(ROOT)} is not built: run sam build")
    lambda_defined = {
        "_HANDLER": str(properties.get("Handler", "app.lambda_handler")),
        "_X_AMZN_TRACE_ID": trace_header(tracing),
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{runtime}",
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/01/01/[$LATEST]" + secrets.token_hex(16),
        "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001",
        "LAMBDA_TASK_ROOT": str(root),
        "LAMBDA_RUNTIME_DIR": "/var/runtime",
        "TZ": ":UTC",
        # Lambda sets both whatever the tracing mode. Locally the daemon address is a UDP
        # receiver of the benchmark's own on 127.0.0.1 (the SDK's default is 127.0.0.1:2000
        # too), so no segment can leave the machine.
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "AWS_XRAY_DAEMON_ADDRESS": xray_daemon,
        # /var/task is read-only in Lambda: nothing can be compiled into it at a cold start.
        "PYTHONDONTWRITEBYTECODE": "1",
        # /opt/python: the SDK layer ahead of this machine's own boto3 (and the repository,
        # for the bench's call counter only).
        "PYTHONPATH": os.pathsep.join((str(SDK_LAYER), str(ROOT))),
    }
    env = {**base_env, **variables, **lambda_defined, **(overrides or {})}
    return Deployment(
        function=function,
        parameters=dict(parameters or {}),
        tracing=tracing,
        memory_mb=memory,
        code_root=root,
        env=env,
    )


def choices(parameter: str) -> tuple[str, list[str]]:
    """A parameter's default and its allowed values (just the default when it has none)."""
    spec = cfn_template.load().get("Parameters", {}).get(parameter)
    if spec is None:
        return "", []
    default = str(spec.get("Default", ""))
    return default, [str(v) for v in spec.get("AllowedValues", [default])]

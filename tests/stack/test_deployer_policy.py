"""docs/deployer-policy.json: valid IAM policy grammar, only real actions, and enough to deploy
and delete every resource the stack has once SAM has transformed it.

Every resource is checked under the name or ARN CloudFormation gives it in a stack named
like the project (a name from the template, or "<stack>-<logical id>-<random>"), with the
actions of its type. A resource type added to template.yaml without its actions here fails the
coverage test, and a resource named outside the policy's patterns fails before a first deploy
would, so the policy a deployer is given never falls behind the stack.
"""

from __future__ import annotations

import json
import re
from fnmatch import fnmatchcase
from functools import cache
from pathlib import Path
from typing import Any

import botocore.session
import pytest

from tests.stack.deployed import DeployedStack, _transformed

POLICY_FILE = Path(__file__).resolve().parents[2] / "docs" / "deployer-policy.json"
# IAM's limit for a customer managed policy, counted without whitespace.
MANAGED_POLICY_MAX_CHARS = 6144
ACCOUNT = "123456789012"
REGION = "ap-northeast-1"
STACK = "apcu-fleet-flush-prod"
# Permissions that exist in IAM without an API operation of the same name (Service
# Authorization Reference); S3 and API Gateway name their permissions apart from their APIs.
PERMISSION_ONLY = {
    "iam:PassRole",
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
}
UNCHECKED_SERVICES = {"s3", "apigateway"}
BOTOCORE_NAME = {"cloudwatch": "cloudwatch", "events": "events", "logs": "logs"}
CONDITION_OPERATORS = {
    "StringEquals",
    "StringLike",
    "ForAnyValue:StringEquals",
    "ForAllValues:StringEquals",
    "ArnLike",
    "ArnEquals",
}
# CloudFormation creates the stack's resources on the deployer's behalf.
VIA_CLOUDFORMATION = {"aws:CalledVia": ["cloudformation.amazonaws.com"]}


def _arn(service: str, resource: str, *, region: str = REGION, account: str = ACCOUNT) -> str:
    return f"arn:aws:{service}:{region}:{account}:{resource}"


# For each resource type: what CloudFormation calls to create, update and delete it.
RESOURCE_TYPES: dict[str, list[str]] = {
    "AWS::Lambda::Function": [
        "lambda:CreateFunction",
        "lambda:DeleteFunction",
        "lambda:GetFunction",
        "lambda:UpdateFunctionCode",
        "lambda:UpdateFunctionConfiguration",
        "lambda:PutFunctionConcurrency",
        "lambda:DeleteFunctionConcurrency",
        "lambda:TagResource",
    ],
    "AWS::Lambda::Permission": ["lambda:AddPermission", "lambda:RemovePermission"],
    # The notifier's versions and its alias `live` (AutoPublishAlias): a version is published
    # on the function and deleted by its qualified ARN; the alias is its own ARN.
    "AWS::Lambda::Version": [
        "lambda:PublishVersion",
        "lambda:GetFunctionConfiguration",
        "lambda:ListVersionsByFunction",
        "lambda:DeleteFunction",
    ],
    "AWS::Lambda::Alias": [
        "lambda:CreateAlias",
        "lambda:GetAlias",
        "lambda:UpdateAlias",
        "lambda:DeleteAlias",
    ],
    # The SDK layer both functions use (layers/aws-sdk).
    "AWS::Lambda::LayerVersion": [
        "lambda:PublishLayerVersion",
        "lambda:GetLayerVersion",
        "lambda:DeleteLayerVersion",
    ],
    "AWS::Lambda::EventInvokeConfig": [
        "lambda:PutFunctionEventInvokeConfig",
        "lambda:UpdateFunctionEventInvokeConfig",
        "lambda:DeleteFunctionEventInvokeConfig",
    ],
    "AWS::IAM::Role": [
        "iam:CreateRole",
        "iam:DeleteRole",
        "iam:GetRole",
        "iam:PutRolePolicy",
        "iam:DeleteRolePolicy",
        "iam:UpdateAssumeRolePolicy",
        "iam:TagRole",
    ],
    # Grants that name their own role's function, kept apart from the role (template.yaml says
    # why); the resource type's handlers call these on each role it is attached to.
    "AWS::IAM::Policy": ["iam:PutRolePolicy", "iam:GetRolePolicy", "iam:DeleteRolePolicy"],
    "AWS::ApiGatewayV2::Api": [
        "apigateway:POST",
        "apigateway:GET",
        "apigateway:PATCH",
        "apigateway:DELETE",
    ],
    "AWS::ApiGatewayV2::Stage": [
        "apigateway:POST",
        "apigateway:GET",
        "apigateway:PATCH",
        "apigateway:DELETE",
    ],
    "AWS::SSM::Document": [
        "ssm:CreateDocument",
        "ssm:UpdateDocument",
        "ssm:UpdateDocumentDefaultVersion",
        "ssm:DeleteDocument",
        "ssm:DescribeDocument",
        "ssm:AddTagsToResource",
    ],
    "AWS::SNS::Topic": [
        "sns:CreateTopic",
        "sns:DeleteTopic",
        "sns:GetTopicAttributes",
        "sns:SetTopicAttributes",
    ],
    "AWS::SNS::Subscription": ["sns:Subscribe", "sns:Unsubscribe", "sns:SetSubscriptionAttributes"],
    "AWS::SQS::Queue": [
        "sqs:CreateQueue",
        "sqs:DeleteQueue",
        "sqs:GetQueueAttributes",
        "sqs:SetQueueAttributes",
    ],
    "AWS::SQS::QueuePolicy": ["sqs:SetQueueAttributes"],
    "AWS::DynamoDB::Table": [
        "dynamodb:CreateTable",
        "dynamodb:DeleteTable",
        "dynamodb:DescribeTable",
        "dynamodb:UpdateTable",
        "dynamodb:UpdateTimeToLive",
        "dynamodb:DescribeTimeToLive",
    ],
    "AWS::SecretsManager::Secret": [
        "secretsmanager:CreateSecret",
        "secretsmanager:DeleteSecret",
        "secretsmanager:DescribeSecret",
        "secretsmanager:UpdateSecret",
    ],
    "AWS::CloudWatch::Alarm": [
        "cloudwatch:PutMetricAlarm",
        "cloudwatch:DeleteAlarms",
        "cloudwatch:DescribeAlarms",
    ],
    "AWS::Logs::LogGroup": [
        "logs:CreateLogGroup",
        "logs:DeleteLogGroup",
        "logs:PutRetentionPolicy",
    ],
    "AWS::Events::Rule": [
        "events:PutRule",
        "events:DeleteRule",
        "events:PutTargets",
        "events:RemoveTargets",
    ],
}

# The property that names a resource when the template gives it a name. Without one,
# CloudFormation generates "<stack>-<logical id>-<random>" (secrets: "<logical id>-<random>"),
# per the Name type page of the CloudFormation user guide.
NAME_PROPERTY = {
    "AWS::Lambda::Function": "FunctionName",
    "AWS::IAM::Role": "RoleName",
    "AWS::SSM::Document": "Name",
    "AWS::SNS::Topic": "TopicName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::SecretsManager::Secret": "Name",
    "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::Lambda::LayerVersion": "LayerName",
    "AWS::Lambda::Alias": "Name",
    "AWS::Events::Rule": "Name",
}
RANDOM = "Q1w2E3r4"
API_ID = "a1b2c3d4e5"
# What a Ref to a resource gives, where it is not its name (CloudFormation's "Return values").
REF_GIVES_ARN = {
    "AWS::SNS::Topic",
    "AWS::SecretsManager::Secret",
    "AWS::Lambda::Alias",
    "AWS::Lambda::Version",
    "AWS::Lambda::LayerVersion",
}
# Every conditional resource switched on: the secret created, the warm-pool rule, the alarm
# topic, the reserved concurrency, tracing, the keys, the stop alarm, app mode's self-invoke.
ALL_ON = {
    "SlackMode": "app",
    "SlackAppSecretArn": "",
    "StopAlarmName": "web-prod-database",
    "ClearOnWarmPoolExit": "true",
    "AlarmTopicArn": _arn("sns", "ops-alarms"),
    "NotifierReservedConcurrency": "5",
    "Tracing": "Active",
    "DataKmsKeyArn": _arn("kms", "key/0a1b2c3d-0000-4000-8000-000000000000"),
}


class NamedStack(DeployedStack):
    """The transformed stack as CloudFormation would name it in a given stack: a Ref or GetAtt
    to a resource gives its physical name, ARN or URL instead of a token."""

    def __init__(self, stack_name: str) -> None:
        super().__init__({k: v for k, v in ALL_ON.items() if k in _transformed()["Parameters"]})
        self.stack = stack_name
        self.raw = self.template["Resources"]

    def ref(self, name: str) -> Any:
        pseudo = {"AWS::StackName": self.stack, "AWS::Region": REGION, "AWS::AccountId": ACCOUNT}
        if name in pseudo:
            return pseudo[name]
        if name not in self.raw:
            return super().ref(name)
        resource_type = self.raw[name]["Type"]
        if resource_type in REF_GIVES_ARN:
            return self.arn(name)
        if resource_type == "AWS::SQS::Queue":
            return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{self.name(name)}"
        if resource_type == "AWS::ApiGatewayV2::Api":
            return API_ID
        return self.name(name)

    def get_att(self, logical_id: str, attribute: str) -> str:
        return (
            self.arn(logical_id) if attribute == "Arn" else super().get_att(logical_id, attribute)
        )

    def name(self, logical_id: str) -> str:
        resource = self.raw[logical_id]
        given = resource.get("Properties", {}).get(NAME_PROPERTY.get(resource["Type"], ""))
        if given is not None:
            return str(self.resolve(given))
        if resource["Type"] == "AWS::SecretsManager::Secret":
            return f"{logical_id}-{RANDOM}"
        return f"{self.stack}-{logical_id}-{RANDOM}"

    def function_of(self, logical_id: str) -> str:
        """The name of the function a version or an alias belongs to."""
        return str(self.resolve(self.raw[logical_id]["Properties"]["FunctionName"]))

    def arn(self, logical_id: str) -> str:
        resource_type = self.raw[logical_id]["Type"]
        name = self.name(logical_id)
        arns = {
            "AWS::Lambda::Function": lambda: _arn("lambda", f"function:{name}"),
            "AWS::IAM::Role": lambda: f"arn:aws:iam::{ACCOUNT}:role/{name}",
            "AWS::SSM::Document": lambda: _arn("ssm", f"document/{name}"),
            "AWS::SNS::Topic": lambda: _arn("sns", name),
            "AWS::SQS::Queue": lambda: _arn("sqs", name),
            "AWS::DynamoDB::Table": lambda: _arn("dynamodb", f"table/{name}"),
            "AWS::SecretsManager::Secret": lambda: _arn("secretsmanager", f"secret:{name}-AbCdEf"),
            "AWS::CloudWatch::Alarm": lambda: _arn("cloudwatch", f"alarm:{name}"),
            "AWS::Logs::LogGroup": lambda: _arn("logs", f"log-group:{name}"),
            "AWS::Lambda::LayerVersion": lambda: _arn("lambda", f"layer:{name}:1"),
            "AWS::Lambda::Version": lambda: _arn(
                "lambda", f"function:{self.function_of(logical_id)}:1"
            ),
            "AWS::Lambda::Alias": lambda: _arn(
                "lambda", f"function:{self.function_of(logical_id)}:{name}"
            ),
            "AWS::Events::Rule": lambda: _arn("events", f"rule/{name}"),
            "AWS::ApiGatewayV2::Api": lambda: f"arn:aws:apigateway:{REGION}::/apis/{API_ID}",
        }
        assert resource_type in arns, f"{logical_id}: say here what ARN {resource_type} has"
        return arns[resource_type]()

    def targets(self, logical_id: str) -> list[str]:
        """The ARNs CloudFormation acts on to create, update and delete the resource."""
        resource = self.raw[logical_id]
        properties = self.resolve(resource.get("Properties", {}))
        resource_type = resource["Type"]
        if resource_type in ("AWS::Lambda::Permission", "AWS::Lambda::EventInvokeConfig"):
            # Lambda takes a function's name or its ARN.
            function = properties["FunctionName"]
            return [
                function if function.startswith("arn:") else _arn("lambda", f"function:{function}")
            ]
        if resource_type == "AWS::IAM::Policy":
            return [f"arn:aws:iam::{ACCOUNT}:role/{role}" for role in properties["Roles"]]
        if resource_type in ("AWS::Lambda::Version", "AWS::Lambda::Alias"):
            # Published or named on the function, deleted by their own qualified ARN.
            function = _arn("lambda", f"function:{properties['FunctionName']}")
            return [function, self.arn(logical_id)]
        if resource_type == "AWS::Lambda::LayerVersion":
            # Published on the layer's name, read and deleted by its version's ARN.
            return [_arn("lambda", f"layer:{properties['LayerName']}"), self.arn(logical_id)]
        if resource_type == "AWS::SNS::Subscription":
            return [properties["TopicArn"]]
        if resource_type == "AWS::SQS::QueuePolicy":
            # Queues are URLs; IAM names the queue by its ARN.
            return [_arn("sqs", url.rsplit("/", 1)[-1]) for url in properties["Queues"]]
        if resource_type == "AWS::ApiGatewayV2::Stage":
            api = f"arn:aws:apigateway:{REGION}::/apis/{properties['ApiId']}"
            return [f"{api}/stages/{properties['StageName']}"]
        return [self.arn(logical_id)]

    def passed_roles(self) -> list[tuple[str, str, str]]:
        """(resource, role ARN, service) for each role the stack hands to a service itself."""
        passed = []
        for logical_id, resource in self.raw.items():
            properties = self.resolve(resource.get("Properties", {}))
            if resource["Type"] == "AWS::Lambda::Function":
                passed.append((logical_id, properties["Role"], "lambda.amazonaws.com"))
            if resource["Type"] == "AWS::Events::Rule":
                passed += [
                    (logical_id, target["RoleArn"], "events.amazonaws.com")
                    for target in properties.get("Targets", [])
                    if "RoleArn" in target
                ]
        return passed


# A deployer may name the stack anything that starts with the project's name.
STACK_NAMES = ("apcu-fleet-flush", STACK)


def _every_resource() -> list[tuple[str, str]]:
    return [
        (stack, logical_id) for stack in STACK_NAMES for logical_id in _transformed()["Resources"]
    ]


# What `sam deploy` and `sam delete` do themselves, outside the resources.
DEPLOYING: list[tuple[str, str, dict[str, list[str]]]] = [
    (
        "cloudformation:CreateChangeSet",
        _arn("cloudformation", f"stack/{STACK}/0a1b2c3d-0000-4000-8000-000000000000"),
        {},
    ),
    (
        "cloudformation:CreateChangeSet",
        f"arn:aws:cloudformation:{REGION}:aws:transform/Serverless-2016-10-31",
        {},
    ),
    (
        "cloudformation:ExecuteChangeSet",
        _arn("cloudformation", f"stack/{STACK}/0a1b2c3d-0000-4000-8000-000000000000"),
        {},
    ),
    (
        "cloudformation:DescribeStacks",
        _arn("cloudformation", f"stack/{STACK}/0a1b2c3d-0000-4000-8000-000000000000"),
        {},
    ),
    (
        "cloudformation:DeleteStack",
        _arn("cloudformation", f"stack/{STACK}/0a1b2c3d-0000-4000-8000-000000000000"),
        {},
    ),
    ("cloudformation:GetTemplateSummary", "*", {}),
    (
        "s3:PutObject",
        f"arn:aws:s3:::aws-sam-cli-managed-default-samclisourcebucket-q1w2e3r4/{STACK}/0123abcd",
        {},
    ),
    (
        "ssm:GetParameters",
        f"arn:aws:ssm:{REGION}::parameter/aws/service/powertools/python/arm64/python3.13/3.37.0",
        {},
    ),
    (
        "lambda:GetLayerVersion",
        f"arn:aws:lambda:{REGION}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-arm64:7",
        {},
    ),
    (
        "iam:PassRole",
        f"arn:aws:iam::{ACCOUNT}:role/{STACK}-NotifierRole-Q1w2E3r4",
        {"iam:PassedToService": ["lambda.amazonaws.com"]},
    ),
    # A function created with the stack's SDK layer: Lambda checks the creator may read it.
    (
        "lambda:GetLayerVersion",
        f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:{STACK}-aws-sdk:3",
        {},
    ),
]


@cache
def policy() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(POLICY_FILE.read_text(encoding="utf-8"))
    return document


def _listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def _condition_holds(condition: dict[str, Any], context: dict[str, list[str]]) -> bool:
    for operator, tests in condition.items():
        for key, expected in tests.items():
            present = context.get(key, [])
            wanted = _listed(expected)
            if operator.endswith("StringLike"):
                if not any(fnmatchcase(p, w) for p in present for w in wanted):
                    return False
            elif not any(p in wanted for p in present):
                return False
    return True


def allowed(action: str, resource: str, context: dict[str, list[str]]) -> bool:
    for statement in policy()["Statement"]:
        if statement["Effect"] != "Allow":
            continue
        if not any(fnmatchcase(action.lower(), a.lower()) for a in _listed(statement["Action"])):
            continue
        if not any(fnmatchcase(resource, r) for r in _listed(statement["Resource"])):
            continue
        if _condition_holds(statement.get("Condition", {}), context):
            return True
    return False


def test_the_policy_is_valid_iam_grammar() -> None:
    document = policy()
    assert set(document) <= {"Version", "Id", "Statement"}
    assert document["Version"] == "2012-10-17"
    sids = [s["Sid"] for s in document["Statement"]]
    assert len(sids) == len(set(sids)), "Sids are unique"
    for statement in document["Statement"]:
        assert set(statement) <= {"Sid", "Effect", "Action", "Resource", "Condition"}, statement
        assert re.fullmatch(r"[A-Za-z0-9]+", statement["Sid"])
        assert statement["Effect"] == "Allow"
        for action in _listed(statement["Action"]):
            assert re.fullmatch(r"[a-z0-9-]+:[A-Za-z0-9*?]+", action), action
        for resource in _listed(statement["Resource"]):
            assert resource == "*" or re.fullmatch(r"arn:aws:[a-z0-9-]+:[^:]*:[^:]*:.+", resource)
        for operator, tests in statement.get("Condition", {}).items():
            assert operator in CONDITION_OPERATORS, operator
            for key, value in tests.items():
                assert re.fullmatch(r"[a-z]+:[A-Za-z]+", key), key
                assert all(isinstance(v, str) for v in _listed(value))
    compact = json.dumps(document, separators=(",", ":"))
    assert len(compact) <= MANAGED_POLICY_MAX_CHARS, "fits a customer managed policy"


def test_no_statement_allows_every_action_or_any_iam_role() -> None:
    for statement in policy()["Statement"]:
        actions = _listed(statement["Action"])
        assert not any(a == "*" or a.endswith(":*") for a in actions), statement["Sid"]
        if any(a.startswith("iam:") for a in actions):
            assert all(
                r.startswith("arn:aws:iam::*:role/apcu-fleet-flush")
                for r in _listed(statement["Resource"])
            )


@cache
def _operations(service: str) -> frozenset[str]:
    model = botocore.session.get_session().get_service_model(BOTOCORE_NAME.get(service, service))
    return frozenset(model.operation_names)


def test_every_action_names_a_real_permission() -> None:
    unknown = []
    for statement in policy()["Statement"]:
        for action in _listed(statement["Action"]):
            service, name = action.split(":")
            if service in UNCHECKED_SERVICES or action in PERMISSION_ONLY:
                continue
            operations = _operations(service) | {
                p.split(":")[1] for p in PERMISSION_ONLY if p.startswith(service + ":")
            }
            if not any(fnmatchcase(op, name) for op in operations):
                unknown.append(action)
    assert not unknown, f"no such permission: {unknown}"


def test_every_resource_type_of_the_transformed_stack_is_covered() -> None:
    types = {r["Type"] for r in _transformed()["Resources"].values()}
    missing = sorted(types - set(RESOURCE_TYPES))
    assert not missing, (
        f"add the actions CloudFormation needs for {missing} to docs/deployer-policy.json "
        "and to RESOURCE_TYPES here"
    )


@pytest.mark.parametrize(("stack", "logical_id"), _every_resource())
def test_cloudformation_may_create_update_and_delete_every_resource(
    stack: str, logical_id: str
) -> None:
    # Each resource under the name or ARN CloudFormation gives it, not an example of its type:
    # a resource named outside the policy's patterns fails here before a first deploy does.
    named = NamedStack(stack)
    actions = RESOURCE_TYPES[named.raw[logical_id]["Type"]]
    for target in named.targets(logical_id):
        refused = [a for a in actions if not allowed(a, target, VIA_CLOUDFORMATION)]
        assert not refused, f"docs/deployer-policy.json refuses {refused} on {target}"


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_every_role_the_stack_hands_to_a_service_may_be_passed(stack: str) -> None:
    passed = NamedStack(stack).passed_roles()
    assert passed
    refused = [
        (logical_id, role, service)
        for logical_id, role, service in passed
        if not allowed("iam:PassRole", role, {"iam:PassedToService": [service]})
    ]
    assert not refused


@pytest.mark.parametrize(("action", "resource", "context"), DEPLOYING)
def test_sam_may_deploy_and_delete_the_stack(
    action: str, resource: str, context: dict[str, list[str]]
) -> None:
    assert allowed(action, resource, context)


def test_the_resources_are_only_those_of_this_stack() -> None:
    # Outside CloudFormation the deployer may not touch the functions, and never another stack's.
    other = _arn("lambda", "function:payments-api-Handler-Q1w2E3r4")
    assert not allowed("lambda:UpdateFunctionCode", other, VIA_CLOUDFORMATION)
    own = _arn("lambda", f"function:{STACK}-NotifierFunction-Q1w2E3r4")
    assert not allowed("lambda:UpdateFunctionCode", own, {})
    assert not allowed(
        "iam:PassRole",
        f"arn:aws:iam::{ACCOUNT}:role/{STACK}-NotifierRole-Q1w2E3r4",
        {"iam:PassedToService": ["ec2.amazonaws.com"]},
    )

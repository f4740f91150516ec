"""docs/deployer-policy.json: valid IAM policy grammar, only real actions, and enough to deploy
and delete every resource the stack has once SAM has transformed it.

A resource type added to template.yaml without its actions here fails the coverage test, so
the policy a deployer is given never falls behind the stack.
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

from tests.stack.deployed import _transformed

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


# For each resource type: what CloudFormation calls to create, update and delete it, and a
# resource as the stack would name it (CloudFormation prefixes generated names with the stack's).
RESOURCE_TYPES: dict[str, tuple[list[str], str]] = {
    "AWS::Lambda::Function": (
        [
            "lambda:CreateFunction",
            "lambda:DeleteFunction",
            "lambda:GetFunction",
            "lambda:UpdateFunctionCode",
            "lambda:UpdateFunctionConfiguration",
            "lambda:PutFunctionConcurrency",
            "lambda:DeleteFunctionConcurrency",
            "lambda:TagResource",
        ],
        _arn("lambda", f"function:{STACK}-NotifierFunction-Q1w2E3r4"),
    ),
    "AWS::Lambda::Permission": (
        ["lambda:AddPermission", "lambda:RemovePermission"],
        _arn("lambda", f"function:{STACK}-DispatcherFunction-Q1w2E3r4"),
    ),
    "AWS::Lambda::EventInvokeConfig": (
        [
            "lambda:PutFunctionEventInvokeConfig",
            "lambda:UpdateFunctionEventInvokeConfig",
            "lambda:DeleteFunctionEventInvokeConfig",
        ],
        _arn("lambda", f"function:{STACK}-NotifierFunction-Q1w2E3r4"),
    ),
    "AWS::IAM::Role": (
        [
            "iam:CreateRole",
            "iam:DeleteRole",
            "iam:GetRole",
            "iam:PutRolePolicy",
            "iam:DeleteRolePolicy",
            "iam:UpdateAssumeRolePolicy",
            "iam:TagRole",
        ],
        f"arn:aws:iam::{ACCOUNT}:role/{STACK}-NotifierRole-Q1w2E3r4",
    ),
    # The scheduler role's right to invoke the notifier, kept apart from the role (template.yaml
    # says why); the resource type's handlers call these on the role.
    "AWS::IAM::RolePolicy": (
        ["iam:PutRolePolicy", "iam:GetRolePolicy", "iam:DeleteRolePolicy"],
        f"arn:aws:iam::{ACCOUNT}:role/{STACK}-WatchdogRole-Q1w2E3r4",
    ),
    "AWS::ApiGatewayV2::Api": (
        ["apigateway:POST", "apigateway:GET", "apigateway:PATCH", "apigateway:DELETE"],
        f"arn:aws:apigateway:{REGION}::/apis/a1b2c3d4e5",
    ),
    "AWS::ApiGatewayV2::Stage": (
        ["apigateway:POST", "apigateway:GET", "apigateway:PATCH", "apigateway:DELETE"],
        f"arn:aws:apigateway:{REGION}::/apis/a1b2c3d4e5/stages/$default",
    ),
    "AWS::SSM::Document": (
        [
            "ssm:CreateDocument",
            "ssm:UpdateDocument",
            "ssm:UpdateDocumentDefaultVersion",
            "ssm:DeleteDocument",
            "ssm:DescribeDocument",
            "ssm:AddTagsToResource",
        ],
        _arn("ssm", f"document/{STACK}-FlushDocument-Q1w2E3r4"),
    ),
    "AWS::SNS::Topic": (
        ["sns:CreateTopic", "sns:DeleteTopic", "sns:GetTopicAttributes", "sns:SetTopicAttributes"],
        _arn("sns", f"{STACK}-NotificationTopic-Q1w2E3r4"),
    ),
    "AWS::SNS::Subscription": (
        ["sns:Subscribe", "sns:Unsubscribe", "sns:SetSubscriptionAttributes"],
        _arn("sns", f"{STACK}-NotificationTopic-Q1w2E3r4"),
    ),
    "AWS::SQS::Queue": (
        ["sqs:CreateQueue", "sqs:DeleteQueue", "sqs:GetQueueAttributes", "sqs:SetQueueAttributes"],
        _arn("sqs", f"{STACK}-NotifierFailureQueue-Q1w2E3r4"),
    ),
    "AWS::SQS::QueuePolicy": (
        ["sqs:SetQueueAttributes"],
        _arn("sqs", f"{STACK}-NotificationDeadLetterQueue-Q1w2E3r4"),
    ),
    "AWS::DynamoDB::Table": (
        [
            "dynamodb:CreateTable",
            "dynamodb:DeleteTable",
            "dynamodb:DescribeTable",
            "dynamodb:UpdateTable",
            "dynamodb:UpdateTimeToLive",
            "dynamodb:DescribeTimeToLive",
        ],
        _arn("dynamodb", f"table/{STACK}-CommandsTable-Q1w2E3r4"),
    ),
    "AWS::SecretsManager::Secret": (
        [
            "secretsmanager:CreateSecret",
            "secretsmanager:DeleteSecret",
            "secretsmanager:DescribeSecret",
            "secretsmanager:UpdateSecret",
        ],
        _arn("secretsmanager", "secret:SlackWebhookSecret-Q1w2E3r4T5y6-AbCdEf"),
    ),
    "AWS::CloudWatch::Alarm": (
        ["cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:DescribeAlarms"],
        _arn("cloudwatch", f"alarm:{STACK}-NotifierErrorsAlarm-Q1w2E3r4"),
    ),
    "AWS::Logs::LogGroup": (
        ["logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:PutRetentionPolicy"],
        _arn("logs", f"log-group:/aws/lambda/{STACK}-dispatcher"),
    ),
    "AWS::Scheduler::ScheduleGroup": (
        ["scheduler:CreateScheduleGroup", "scheduler:DeleteScheduleGroup"],
        _arn("scheduler", f"schedule-group/{STACK}-watchdog"),
    ),
    "AWS::Events::Rule": (
        ["events:PutRule", "events:DeleteRule", "events:PutTargets", "events:RemoveTargets"],
        _arn("events", f"rule/{STACK}-WarmPoolRule-Q1w2E3r4"),
    ),
}

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


@pytest.mark.parametrize("resource_type", sorted(RESOURCE_TYPES))
def test_cloudformation_may_create_update_and_delete(resource_type: str) -> None:
    actions, resource = RESOURCE_TYPES[resource_type]
    refused = [a for a in actions if not allowed(a, resource, VIA_CLOUDFORMATION)]
    assert not refused, (resource_type, resource, refused)


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

"""What the stack tests compare with: statements as plain values, ARNs as the transformed
stack resolves them, and the shape of an alarm that fires on the first event."""

from __future__ import annotations

import json
from typing import Any

from tests.stack.deployed import ACCOUNT_ID, REGION, DeployedStack, role_statements, statements

EXISTING_SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT_ID}:secret:team/slack-webhook-AbCdEf"
EXISTING_APP_SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT_ID}:secret:team/slack-app-GhIjKl"
SECRET_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/11111111-2222-3333-4444-555555555555"
TOPIC_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/66666666-7777-8888-9999-000000000000"
DATA_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/0a1b2c3d-0000-4000-8000-000000000000"
ALARM_TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:on-call"
STOP_ALARM = "web-prod-database"
GROUPS = ["web-prod", "web-staging"]

# Resources whose one PolicyDocument grants something.
POLICY_RESOURCES = {
    "AWS::IAM::Policy",
    "AWS::IAM::RolePolicy",
    "AWS::IAM::ManagedPolicy",
    "AWS::SQS::QueuePolicy",
    "AWS::SNS::TopicPolicy",
}


def arn(service: str, rest: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT_ID}:{rest}"


Frozen = tuple[str, tuple[str, ...], tuple[str, ...], str]


def frozen(statement: dict[str, Any]) -> Frozen:
    """A statement as a comparable value: effect, actions, resources, condition."""
    return (
        statement["Effect"],
        tuple(sorted(statement["Action"])),
        tuple(sorted(statement["Resource"])),
        json.dumps(statement.get("Condition"), sort_keys=True),
    )


def no_condition() -> str:
    return json.dumps(None)


def condition(value: dict[str, Any]) -> str:
    return json.dumps(value, sort_keys=True)


CLAIM_ITEMS_ONLY = condition({"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["claim#*"]}})
ALLOWED_GROUPS_TAG = condition(
    {"StringEquals": {"ssm:resourceTag/aws:autoscaling:groupName": GROUPS}}
)
HOOK_ARNS = [
    f"arn:*:autoscaling:*:*:autoScalingGroup:*:autoScalingGroupName/{group}" for group in GROUPS
]
# SSM's service-linked role, which a command carrying a CloudWatch alarm needs (SSM user guide).
SSM_SERVICE_LINKED_ROLE: Frozen = (
    "Allow",
    ("iam:CreateServiceLinkedRole",),
    (
        f"arn:aws:iam::{ACCOUNT_ID}:role/aws-service-role/ssm.amazonaws.com/"
        "AWSServiceRoleForAmazonSSM",
    ),
    condition({"StringEquals": {"iam:AWSServiceName": "ssm.amazonaws.com"}}),
)
READ_ALARMS: Frozen = ("Allow", ("cloudwatch:DescribeAlarms",), ("*",), no_condition())


def granted(stack: DeployedStack, role: str) -> set[Frozen]:
    """Every statement of a role's inline policies and of the policies attached to it apart."""
    found = {frozen(s) for s in role_statements(stack.properties(role))}
    for policy in stack.of_type("AWS::IAM::Policy").values():
        if "{" + role + "}" in policy["Roles"]:
            found |= {frozen(s) for s in statements(policy["PolicyDocument"])}
    return found


def every_policy_document(stack: DeployedStack) -> list[tuple[str, dict[str, Any]]]:
    documents: list[tuple[str, dict[str, Any]]] = []
    for logical_id, resource in stack.resources.items():
        properties = resource["Properties"]
        if resource["Type"] == "AWS::IAM::Role":
            documents += [(logical_id, p["PolicyDocument"]) for p in properties.get("Policies", [])]
        elif resource["Type"] in POLICY_RESOURCES:
            documents.append((logical_id, properties["PolicyDocument"]))
    return documents


def alarms_on(stack: DeployedStack, namespace: str, metric: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: alarm
        for logical_id, alarm in stack.of_type("AWS::CloudWatch::Alarm").items()
        if alarm["Namespace"] == namespace and alarm["MetricName"] == metric
    }


def fires_on_the_first(alarm: dict[str, Any]) -> bool:
    return bool(
        alarm["Threshold"] == 0
        and alarm["ComparisonOperator"] == "GreaterThanThreshold"
        and alarm["EvaluationPeriods"] == 1
        and alarm["Period"] <= 300
        and alarm["TreatMissingData"] == "notBreaching"
    )


def watched(stack: DeployedStack, namespace: str, metric: str) -> list[list[dict[str, str]]]:
    """The dimensions of each alarm on a metric that fires on its first event."""
    return [
        a["Dimensions"]
        for a in alarms_on(stack, namespace, metric).values()
        if fires_on_the_first(a)
    ]

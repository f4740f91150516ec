"""What the stack keeps at rest is encrypted with AWS managed keys, or with the operator's own.

DataKmsKeyArn is optional: empty keeps every store on AWS managed encryption and adds no
permission; a key ARN moves the log groups, queues, commands table and created Slack secret
onto that key, and lets each role use it only through the services that hold them.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.stack.deployed import ACCOUNT_ID, REGION, DeployedStack, role_statements

DATA_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/abcdef01-2345-6789-abcd-ef0123456789"
LOG_GROUPS = ["ApiAccessLogGroup", "DispatcherLogGroup", "NotifierLogGroup"]
QUEUES = ["NotifierFailureQueue", "NotificationDeadLetterQueue", "WarmPoolExitFailureQueue"]


def kms_statements(stack: DeployedStack, role: str) -> list[dict[str, Any]]:
    return [
        s
        for s in role_statements(stack.properties(role))
        if any(action.startswith("kms:") for action in s["Action"])
    ]


@pytest.fixture(scope="module")
def default_stack() -> DeployedStack:
    return DeployedStack()


@pytest.fixture(scope="module")
def keyed_stack() -> DeployedStack:
    return DeployedStack({"DataKmsKeyArn": DATA_KEY})


def test_without_a_key_every_store_uses_aws_managed_encryption(
    default_stack: DeployedStack,
) -> None:
    for log_group in LOG_GROUPS:
        assert "KmsKeyId" not in default_stack.properties(log_group)
    for queue in QUEUES:
        properties = default_stack.properties(queue)
        assert properties["SqsManagedSseEnabled"] is True
        assert "KmsMasterKeyId" not in properties
    assert default_stack.properties("CommandsTable")["SSESpecification"] == {"SSEEnabled": True}
    assert "KmsKeyId" not in default_stack.properties("SlackWebhookSecret")
    for role in ("DispatcherRole", "NotifierRole", "NotificationRole"):
        assert kms_statements(default_stack, role) == []


def test_a_data_key_encrypts_every_log_group_queue_table_and_the_created_secret(
    keyed_stack: DeployedStack,
) -> None:
    for log_group in LOG_GROUPS:
        assert keyed_stack.properties(log_group)["KmsKeyId"] == DATA_KEY
    for queue in QUEUES:
        properties = keyed_stack.properties(queue)
        # SQS refuses SqsManagedSseEnabled together with a KMS key.
        assert "SqsManagedSseEnabled" not in properties
        assert properties["KmsMasterKeyId"] == DATA_KEY
    assert keyed_stack.properties("CommandsTable")["SSESpecification"] == {
        "SSEEnabled": True,
        "SSEType": "KMS",
        "KMSMasterKeyId": DATA_KEY,
    }
    assert keyed_stack.properties("SlackWebhookSecret")["KmsKeyId"] == DATA_KEY


def test_the_notifier_may_use_the_data_key_only_through_its_stores_services(
    keyed_stack: DeployedStack,
) -> None:
    (statement,) = kms_statements(keyed_stack, "NotifierRole")
    assert sorted(statement["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert statement["Resource"] == [DATA_KEY]
    assert statement["Condition"] == {
        "StringEquals": {
            "kms:ViaService": [
                f"dynamodb.{REGION}.amazonaws.com",
                f"secretsmanager.{REGION}.amazonaws.com",
                f"sqs.{REGION}.amazonaws.com",
            ]
        }
    }
    # CloudWatch Logs encrypts with the key itself (through the key's policy); SSM's
    # notification role touches nothing else the key protects.
    assert kms_statements(keyed_stack, "NotificationRole") == []


def test_the_dispatcher_may_use_the_data_key_only_through_its_stores(
    keyed_stack: DeployedStack,
) -> None:
    # The dispatcher writes and reads clear records, and Lambda keeps its failed asynchronous
    # events in a queue with its role.
    (statement,) = kms_statements(keyed_stack, "DispatcherRole")
    assert sorted(statement["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert statement["Resource"] == [DATA_KEY]
    assert statement["Condition"] == {
        "StringEquals": {
            "kms:ViaService": [f"dynamodb.{REGION}.amazonaws.com", f"sqs.{REGION}.amazonaws.com"]
        }
    }


def test_without_asynchronous_events_the_dispatcher_needs_no_queue_and_no_key_through_sqs() -> None:
    stack = DeployedStack(
        {"DataKmsKeyArn": DATA_KEY, "ClearOnWarmPoolExit": "false", "WarmPoolHookName": ""}
    )
    (statement,) = kms_statements(stack, "DispatcherRole")
    assert statement["Condition"] == {
        "StringEquals": {"kms:ViaService": [f"dynamodb.{REGION}.amazonaws.com"]}
    }


def test_the_data_key_parameter_takes_a_key_arn_or_nothing(default_stack: DeployedStack) -> None:
    spec = default_stack.template["Parameters"]["DataKmsKeyArn"]
    assert spec["Default"] == ""
    assert re.fullmatch(spec["AllowedPattern"], DATA_KEY)
    assert re.fullmatch(spec["AllowedPattern"], "")
    assert not re.fullmatch(spec["AllowedPattern"], "alias/aws/sqs")

"""Faults (issue 6 item 2): AWS throttling on every call, Slack storms, a broken secret.

Each ends in a clear log line and a raised error (so Lambda retries and its failure destination
keeps the event) or in an alert; nothing is lost in silence.
"""

from __future__ import annotations

import boto3
import pytest

from apcu_notifier import handler
from harness import aws_emulator as emu
from harness.aws_emulator import ok
from tests.notifier.conftest import GROUP, JSON_THROTTLE, XML_THROTTLE, World, throttle
from tests.notifier.records import TABLE


def settled(world: World, size: int = 2) -> str:
    members = emu.create_group(GROUP, size)
    command_id = world.send()
    emu.settle_command(command_id, {i: ok() for i in members})
    return command_id


@pytest.mark.parametrize(
    ("client_name", "operation", "body", "code"),
    [
        ("ssm", "ListCommands", JSON_THROTTLE, "ThrottlingException"),
        ("ssm", "ListCommandInvocations", JSON_THROTTLE, "ThrottlingException"),
        ("autoscaling", "DescribeAutoScalingGroups", XML_THROTTLE, "Throttling"),
        ("secretsmanager", "GetSecretValue", JSON_THROTTLE, "ThrottlingException"),
    ],
)
def test_aws_throttling_is_retried_then_raised(
    world: World, aws_sleeps: list[float], client_name: str, operation: str, body: bytes, code: str
) -> None:
    # Given every call of one operation is throttled
    command_id = settled(world)
    rt = world.start()
    client = {"ssm": rt.ssm, "autoscaling": rt.autoscaling, "secretsmanager": rt.secrets.client}[
        client_name
    ]
    attempts = throttle(client, operation, body)
    world.slack.always()

    # When the notification arrives, botocore retries in standard mode, then gives up
    with pytest.raises(handler.NotificationsFailed) as raised:
        world.notify(command_id)

    # Then the error names the throttling, after 3 attempts and 2 waits, and nothing was posted
    assert code in str(raised.value)
    assert attempts == [operation] * 3
    assert len(aws_sleeps) == 2
    assert world.slack.messages() == []


def test_dynamodb_throttling_on_the_commands_table_is_raised(
    world: World, aws_sleeps: list[float]
) -> None:
    emu.create_commands_table(TABLE)
    command_id = settled(world)
    world.table = TABLE
    rt = world.start()
    assert rt.ledger is not None
    attempts = throttle(
        rt.ledger.client,
        "UpdateItem",
        b'{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate exceeded"}',
    )
    world.slack.always()

    with pytest.raises(handler.NotificationsFailed, match="ThrottlingException"):
        world.notify(command_id)
    # The commands table's client makes 2 attempts (apcu_notifier.budget).
    assert attempts == ["UpdateItem"] * 2
    assert world.slack.messages() == []


def test_a_missing_secret_is_a_clear_error(world: World) -> None:
    command_id = settled(world)
    world.secret_arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:gone-AbCdEf"
    world.start()

    with pytest.raises(handler.NotificationsFailed) as raised:
        world.notify(command_id)
    assert (
        "SecretError: Slack webhook secret arn:aws:secretsmanager:us-east-1:123456789012:secret:gone-AbCdEf cannot be read (ResourceNotFoundException)"
        in str(raised.value)
    )


def test_a_malformed_secret_is_a_clear_error(world: World) -> None:
    command_id = settled(world)
    boto3.client("secretsmanager", region_name=emu.REGION).put_secret_value(
        SecretId=world.secret_arn, SecretString='{"webhook": "somewhere"}'
    )
    world.start()

    with pytest.raises(handler.NotificationsFailed, match='JSON without a string "url" key'):
        world.notify(command_id)


def test_a_429_storm_ends_in_a_raised_error_after_bounded_waits(world: World) -> None:
    command_id = settled(world)
    world.start()
    world.slack.server.expect_request("/services/T000/B000/XXXX", method="POST").respond_with_data(
        "rate_limited", status=429, headers={"Retry-After": "1"}
    )

    with pytest.raises(handler.NotificationsFailed, match="SlackUnavailable"):
        world.notify(command_id)
    assert world.sleeps == [1.0, 1.0, 1.0, 1.0]
    assert len(world.slack.messages()) == 5


def test_a_rejected_webhook_is_read_again_on_the_retry(world: World) -> None:
    # Given Slack says the webhook is gone, and the operator puts a new one in the secret
    command_id = settled(world)
    rt = world.start()
    reads: list[str] = []
    rt.secrets.client.meta.events.register(
        "before-call.secrets-manager.GetSecretValue", lambda **_: reads.append("x")
    )
    world.slack.answer("no_service", status=404)
    world.slack.answer("ok")

    with pytest.raises(handler.NotificationsFailed, match="HTTP 404 no_service"):
        world.notify(command_id)
    world.notify(command_id)

    # Then the retry read the secret again instead of its cached copy, and posted
    assert len(reads) == 2
    assert len(world.slack.messages()) == 2


def test_lambda_timeout_close_leaves_no_time_to_post(world: World) -> None:
    command_id = settled(world)
    world.start()
    world.context.remaining_ms = 1500
    world.slack.always()

    with pytest.raises(handler.NotificationsFailed, match="NoTimeLeft: no time left to read"):
        world.notify(command_id)
    assert world.slack.messages() == []

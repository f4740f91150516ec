"""apcu_clear.command: the command the fleet runs, and how it is sent without ever sending it twice
blindly (SendCommand has no idempotency token), against SSM (moto and the emulator)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from apcu_clear import command
from apcu_clear.command import CommandSettings, Notify, OutcomeUnknown
from harness import aws_emulator
from tests.dispatcher.conftest import lost_answer
from tests.faults import Faults, injected

DOCUMENT = "apcu-fleet-flush-FlushDocument-Xk2P9QmL7RtA"
SETTINGS = CommandSettings(
    document_name=DOCUMENT,
    delivery_timeout_seconds=120,
    execution_timeout_seconds=60,
    max_concurrency="50%",
)
NOTIFY = Notify(
    topic_arn="arn:aws:sns:us-east-1:123456789012:apcu-fleet-flush-NotificationTopic",
    role_arn="arn:aws:iam::123456789012:role/apcu-fleet-flush-NotificationRole",
)
TAG = "tag:aws:autoscaling:groupName"


def test_a_group_clear_targets_the_groups_tag_and_notifies_every_final_status() -> None:
    params = command.build(
        SETTINGS,
        action="clear-all",
        prefix="config:",
        comment="ops: flags",
        group="web-prod",
        notify=NOTIFY,
    )

    assert params == {
        "DocumentName": DOCUMENT,
        "Parameters": {"action": ["clear-all"], "prefix": ["config:"]},
        "TimeoutSeconds": 120,
        "MaxConcurrency": "50%",
        "MaxErrors": "100%",
        "Comment": "ops: flags",
        "Targets": [{"Key": TAG, "Values": ["web-prod"]}],
        "NotificationConfig": {
            "NotificationArn": NOTIFY.topic_arn,
            "NotificationEvents": ["Success", "TimedOut", "Cancelled", "Failed"],
            "NotificationType": "Command",
        },
        "ServiceRoleArn": NOTIFY.role_arn,
    }


def test_an_instance_clear_names_its_instances_and_carries_the_brake() -> None:
    braked = CommandSettings(**{**SETTINGS.__dict__, "stop_alarm_name": "db-load"})

    params = command.build(
        braked, action="clear-apcu", prefix="", comment="retry", instance_ids=["i-1", "i-2"]
    )

    assert params["InstanceIds"] == ["i-1", "i-2"] and "Targets" not in params
    assert "NotificationConfig" not in params and "ServiceRoleArn" not in params
    assert params["AlarmConfiguration"] == {
        "IgnorePollAlarmFailure": False,
        "Alarms": [{"Name": "db-load"}],
    }


@pytest.mark.parametrize("count", [0, 51])
def test_a_command_names_1_to_50_instances(count: int) -> None:
    with pytest.raises(ValueError, match="1 to 50 instances"):
        command.build(
            SETTINGS,
            action="clear-apcu",
            prefix="",
            comment="x",
            instance_ids=[f"i-{n:017x}" for n in range(count)],
        )


def test_the_comment_is_cut_to_ssms_100_characters() -> None:
    params = command.build(SETTINGS, action="clear-apcu", prefix="", comment="x" * 150, group="g")

    assert params["Comment"] == "x" * 100


@pytest.mark.parametrize(
    ("requester", "comment", "expected"),
    [
        (
            "arn:aws:sts::123456789012:assumed-role/PlatformOps/alice",
            "new flags",
            "PlatformOps/alice: new flags",
        ),
        ("arn:aws:iam::123456789012:user/ops/bob", "", "bob"),
        ("arn:aws:iam::123456789012:root", "why", "root: why"),
        ("console", "reload", "console: reload"),
        ("slack:U0APCUOPS (alice)", "", "slack:U0APCUOPS (alice)"),
        # An SSO role fills the room: the session alone, and the comment whole.
        (
            "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_AdministratorAccess_"
            "0123456789abcdef/alice@example.com",
            "c" * 80,
            "alice@example.com: " + "c" * 80,
        ),
        # Nothing fits beside an 80-character comment but a name cut short.
        ("x" * 300, "c" * 80, "x" * 18 + ": " + "c" * 80),
    ],
)
def test_the_comment_names_the_requester_and_never_cuts_the_comment(
    requester: str, comment: str, expected: str
) -> None:
    text = command.command_comment(requester, comment)

    assert text == expected
    assert len(text) <= command.MAX_COMMENT


# --- sending ------------------------------------------------------------------------------------


@pytest.fixture
def ssm(aws: None) -> Iterator[Any]:
    aws_emulator.create_group("web-prod", 2)
    client = boto3.client("ssm")
    client.create_document(
        Name=DOCUMENT, DocumentType="Command", Content='{"schemaVersion": "2.2", "mainSteps": []}'
    )
    yield client


def params(comment: str = "ops: flags") -> Any:
    return command.build(
        SETTINGS, action="clear-apcu", prefix="", comment=comment, group="web-prod"
    )


def since() -> dt.datetime:
    return dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)


def listed(ssm: Any) -> list[str]:
    return [c["CommandId"] for c in ssm.list_commands()["Commands"]]


def test_a_send_answered_is_the_command_with_its_times(ssm: Any) -> None:
    sent = command.send(ssm, ssm, params(), since=since())

    assert listed(ssm) == [sent.command_id]
    assert sent.requested_at.tzinfo is not None and sent.expires_at > sent.requested_at


def test_find_sent_finds_the_command_these_parameters_already_sent(ssm: Any) -> None:
    sent = ssm.send_command(**params())["Command"]["CommandId"]

    found = command.find_sent(ssm, params(), since=since())

    assert found is not None and found.command_id == sent
    assert command.find_sent(ssm, params("another comment"), since=since()) is None
    assert (
        command.find_sent(ssm, params(), since=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5))
        is None
    )
    other = command.build(
        SETTINGS, action="clear-apcu", prefix="", comment="ops: flags", instance_ids=["i-1"]
    )
    assert command.find_sent(ssm, other, since=since()) is None, "another target"


@pytest.mark.parametrize("kind", ["5xx", "timeout"])
def test_a_send_that_failed_after_ssm_took_it_is_found_not_sent_again(ssm: Any, kind: str) -> None:
    with injected(Faults(operation="SendCommand", occurrence=1, kind=kind)) as faults:
        sent = command.send(ssm, ssm, params(), since=since())

    assert faults.fired and faults.count("SendCommand") == 1
    assert listed(ssm) == [sent.command_id]


def test_a_send_whose_fate_is_unknown_and_not_listed_raises_outcome_unknown(ssm: Any) -> None:
    with lost_answer("SendCommand"), pytest.raises(OutcomeUnknown) as unknown:
        command.send(ssm, ssm, params(), since=since())

    assert unknown.value.comment == "ops: flags"
    assert "look for the comment 'ops: flags'" in str(unknown.value)
    assert listed(ssm) == []


def test_a_throttled_send_raises_as_it_came(ssm: Any) -> None:
    with (
        injected(Faults(operation="SendCommand", occurrence=1, kind="throttle")) as faults,
        pytest.raises(ClientError, match="Throttling"),
    ):
        command.send(ssm, ssm, params(), since=since())

    assert faults.count("ListCommands") == 0, "nothing ran, so nothing is looked for"
    assert listed(ssm) == []


def test_the_live_view_of_a_command_ssm_no_longer_knows_is_gone(ssm: Any) -> None:
    assert command.live(ssm, "5f0c4a1e-8d3b-4c2a-9e7f-1b6d2a9c3e48") == command.GONE

"""The clear's progress on its first command (apcu_clear.converge): what may be retried, the
resend, and the conditional writes that keep each round and each verdict to one."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws

from apcu_clear import claim, converge, store
from apcu_clear.converge import Attempt
from apcu_clear.item import CommandRecord, RecordedVerdict
from harness import aws_emulator

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

TABLE = "apcu-fleet-flush-CommandsTable-1A2B3C4D5E6F"
FIRST = "5f0c4a1e-8d3b-4c2a-9e7f-1b6d2a9c3e48"
LIVE: dict[str, Any] = {
    "CommandId": FIRST,
    "DocumentName": "apcu-fleet-flush-FlushDocument-AbC",
    "Parameters": {"action": ["clear-all"], "prefix": ["sess_"]},
    "Comment": "alice: release",
    "TimeoutSeconds": 120,
    "MaxConcurrency": "50%",
    "MaxErrors": "100%",
    "NotificationConfig": {
        "NotificationArn": "arn:aws:sns:us-east-1:123456789012:topic",
        "NotificationEvents": ["Success", "TimedOut", "Cancelled", "Failed"],
        "NotificationType": "Command",
    },
    "ServiceRole": "arn:aws:iam::123456789012:role/notification",
    "AlarmConfiguration": {"Alarms": [{"Name": "db"}], "IgnorePollAlarmFailure": False},
    "Targets": [{"Key": "tag:aws:autoscaling:groupName", "Values": ["web-prod"]}],
}


@pytest.fixture
def dynamodb() -> Iterator[DynamoDBClient]:
    with mock_aws():
        aws_emulator.create_commands_table(TABLE)
        client = boto3.client("dynamodb", region_name="us-east-1")
        store.put_sent(
            client,
            TABLE,
            CommandRecord(
                FIRST,
                "web-prod",
                "",
                "alice",
                "",
                "api",
                "2026-12-03T00:30:00Z",
                "2026-12-03T00:33:00Z",
            ),
        )
        yield client


def test_only_what_another_attempt_may_clear_is_retried() -> None:
    outcomes = {
        "i-1": "Delivery Timed Out",
        "i-2": "Undeliverable",
        "i-3": "Failed",
        "i-4": converge.NOT_REACHED,
        "i-5": "Access Denied",
        "i-6": "Cancelled",
        "i-7": "Execution Timed Out",
    }
    assert converge.retryable(outcomes) == ("i-1", "i-2", "i-3", "i-4", "i-6", "i-7")


def test_the_resend_is_the_same_command_to_the_instances_50_a_command() -> None:
    instances = [f"i-{n:017d}" for n in range(120)]
    commands = converge.resend(LIVE, instances)
    assert [len(c["InstanceIds"]) for c in commands] == [50, 50, 20]
    first = commands[0]
    assert first["DocumentName"] == LIVE["DocumentName"]
    assert first["Parameters"] == LIVE["Parameters"]
    assert first["NotificationConfig"] == LIVE["NotificationConfig"]
    assert first["ServiceRoleArn"] == LIVE["ServiceRole"]
    assert first["AlarmConfiguration"] == LIVE["AlarmConfiguration"]
    assert (first["TimeoutSeconds"], first["MaxConcurrency"], first["MaxErrors"]) == (
        120,
        "50%",
        "100%",
    )
    # A retry names its instances: never the group's tag, which would reach them all
    assert all("Targets" not in c for c in commands)


def test_a_round_is_started_once(dynamodb: DynamoDBClient) -> None:
    attempt = Attempt(FIRST, 0, {"i-1": "Failed"})
    assert converge.start_round(dynamodb, TABLE, FIRST, 1, "mine", attempt)
    # A second delivery, with its own token, finds the round taken
    assert not converge.start_round(dynamodb, TABLE, FIRST, 1, "theirs", attempt)
    # botocore resending a start that landed finds its own token
    assert converge.start_round(dynamodb, TABLE, FIRST, 1, "mine", attempt)
    # And the first attempt is kept once
    assert len(converge.read(dynamodb, TABLE, FIRST).attempts) == 1


def test_the_last_command_of_a_round_to_end_goes_on_and_only_it(dynamodb: DynamoDBClient) -> None:
    assert converge.start_round(
        dynamodb, TABLE, FIRST, 1, "t", Attempt(FIRST, 0, {"i-1": "Failed"})
    )
    converge.round_sent(dynamodb, TABLE, FIRST, ["r-1", "r-2"], ["i-9"])
    assert not converge.attempt_done(dynamodb, TABLE, FIRST, Attempt("r-1", 1, {}, ("i-1",)))
    assert converge.attempt_done(dynamodb, TABLE, FIRST, Attempt("r-2", 1, {}, ("i-2",)))
    progress = converge.read(dynamodb, TABLE, FIRST)
    assert progress.pending == frozenset()
    assert progress.offline == ("i-9",)
    assert [a.command_id for a in progress.attempts] == [FIRST, "r-1", "r-2"]


def test_the_clear_is_judged_once(dynamodb: DynamoDBClient) -> None:
    ok = RecordedVerdict("ok", False, 3, 3, 3, (), (), "2026-12-03T00:34:00Z", "sns")
    assert converge.judge_clear(dynamodb, TABLE, FIRST, ok)
    assert not converge.judge_clear(dynamodb, TABLE, FIRST, replace(ok, kind="failed"))
    assert converge.read(dynamodb, TABLE, FIRST).verdict == ok


def test_the_claim_passes_to_the_retry_only_from_its_holder(dynamodb: DynamoDBClient) -> None:
    now = dt.datetime(2026, 12, 3, 0, 30, tzinfo=dt.UTC)
    key = claim.group_key("web-prod")
    taken = claim.take(dynamodb, TABLE, key, now=now, until=now + dt.timedelta(minutes=8))
    assert isinstance(taken, claim.Taken)
    later = now + dt.timedelta(minutes=8)
    assert claim.name_holder(dynamodb, TABLE, taken, FIRST, until=later)
    assert not claim.hand_over(dynamodb, TABLE, key, "someone-else", "r-1", until=later)
    assert claim.hand_over(dynamodb, TABLE, key, FIRST, "r-1", until=later)
    # The first command's late notification no longer frees the clear's claim
    assert not claim.end(dynamodb, TABLE, key, FIRST)
    assert claim.end(dynamodb, TABLE, key, "r-1")

"""The clear's Slack message on its first command's item (app mode): one poster at a time,
none for the start message once the verdict is under way, and the message kept for good."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import TYPE_CHECKING

import boto3
import pytest
from moto import mock_aws

from apcu_clear import store
from apcu_clear.item import CommandRecord, SlackMessage
from harness import aws_emulator

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

TABLE = "apcu-fleet-flush-CommandsTable-1A2B3C4D5E6F"
COMMAND = "5f0c4a1e-8d3b-4c2a-9e7f-1b6d2a9c3e48"
NOW = dt.datetime(2026, 12, 3, 0, 30, tzinfo=dt.UTC)
MESSAGE = SlackMessage("C0APCUFLUSH", "1764721800.000100")


@pytest.fixture
def dynamodb() -> Iterator[DynamoDBClient]:
    with mock_aws():
        aws_emulator.create_commands_table(TABLE)
        client = boto3.client("dynamodb", region_name="us-east-1")
        store.put_sent(
            client,
            TABLE,
            CommandRecord(
                command_id=COMMAND,
                group="web-prod",
                prefix="",
                requester="alice",
                comment="",
                origin="api",
                requested_at="2026-12-03T00:29:00Z",
                expires_at="2026-12-03T00:32:00Z",
            ),
        )
        yield client


def take(
    client: DynamoDBClient, *, at: dt.datetime = NOW, before: bool = True
) -> store.MessageClaim:
    return store.take_slack_message(
        client, TABLE, COMMAND, now=at, hold_seconds=60, before_verdict=before
    )


def test_one_poster_at_a_time_then_the_message_for_good(dynamodb: DynamoDBClient) -> None:
    first = take(dynamodb)
    second = take(dynamodb)

    assert first.token and not second.token and second.message is None
    assert store.set_slack_message(dynamodb, TABLE, COMMAND, first.token, MESSAGE)
    # A resent write that had landed succeeds again
    assert store.set_slack_message(dynamodb, TABLE, COMMAND, first.token, MESSAGE)
    later = take(dynamodb, before=False)
    assert later == store.MessageClaim(message=MESSAGE)
    assert store.read(dynamodb, TABLE, COMMAND).slack_message == MESSAGE  # type: ignore[union-attr]


def test_a_lease_given_back_or_expired_can_be_taken_again(dynamodb: DynamoDBClient) -> None:
    first = take(dynamodb)
    store.release_slack_message(dynamodb, TABLE, COMMAND, first.token)
    second = take(dynamodb)
    assert second.token

    # The holder died mid-post: its lease expires
    third = take(dynamodb, at=NOW + dt.timedelta(seconds=61))
    assert third.token
    assert not store.set_slack_message(dynamodb, TABLE, COMMAND, second.token, MESSAGE)


def test_no_start_message_once_the_verdict_is_claimed_but_the_verdict_may_post(
    dynamodb: DynamoDBClient,
) -> None:
    store.claim_verdict(dynamodb, TABLE, COMMAND, now=NOW, hold_seconds=60)

    assert take(dynamodb) == store.MessageClaim()
    assert take(dynamodb, before=False).token


def test_a_command_without_an_item_has_nowhere_to_keep_a_message(
    dynamodb: DynamoDBClient,
) -> None:
    claim = store.take_slack_message(
        dynamodb, TABLE, "no-such-command", now=NOW, hold_seconds=60, before_verdict=False
    )
    assert claim == store.MessageClaim(missing=True)

"""The claim item (apcu_clear.claim) against moto's DynamoDB, made atomic by the emulator."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.models import table as moto_table

from apcu_clear import claim
from apcu_clear.claim import Held, Taken
from harness import aws_emulator

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

TABLE = "apcu-fleet-flush-CommandsTable-1A2B3C4D5E6F"
KEY = claim.group_key("web-prod")
NOW = dt.datetime(2026, 12, 3, 0, 30, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(minutes=8)


@pytest.fixture
def dynamodb() -> Iterator[DynamoDBClient]:
    with mock_aws():
        aws_emulator.create_commands_table(TABLE)
        yield boto3.client("dynamodb", region_name="us-east-1")


def test_the_first_taker_gets_the_claim_and_the_next_learns_who_holds_it(
    dynamodb: DynamoDBClient,
) -> None:
    first = claim.take(dynamodb, TABLE, KEY, now=NOW, until=LATER)
    assert isinstance(first, Taken)
    assert claim.name_holder(dynamodb, TABLE, first, "cmd-1", until=LATER)

    second = claim.take(dynamodb, TABLE, KEY, now=NOW + dt.timedelta(seconds=5), until=LATER)

    assert second == Held(KEY, "cmd-1", "2026-12-03T00:30:00Z", int(LATER.timestamp()))


def test_a_claim_still_being_sent_names_no_command(dynamodb: DynamoDBClient) -> None:
    claim.take(dynamodb, TABLE, KEY, now=NOW, until=LATER)

    second = claim.take(dynamodb, TABLE, KEY, now=NOW, until=LATER)

    assert isinstance(second, Held) and second.holder == ""


def test_an_expired_claim_is_taken_over_and_its_old_taker_can_no_longer_touch_it(
    dynamodb: DynamoDBClient,
) -> None:
    dead = claim.take(dynamodb, TABLE, KEY, now=NOW, until=LATER)
    assert isinstance(dead, Taken)

    after = LATER + dt.timedelta(seconds=1)
    new = claim.take(dynamodb, TABLE, KEY, now=after, until=after + dt.timedelta(minutes=8))

    assert isinstance(new, Taken)
    # The dead taker wakes up: it cannot name its command on the claim, nor give it back
    assert not claim.name_holder(dynamodb, TABLE, dead, "cmd-old", until=after)
    assert not claim.give_back(dynamodb, TABLE, dead)
    assert claim.held(dynamodb, TABLE, KEY, now=after) == Held(
        KEY, "", "2026-12-03T00:38:01Z", int((after + dt.timedelta(minutes=8)).timestamp())
    )


def test_an_unexpired_claim_is_not_taken_over(dynamodb: DynamoDBClient) -> None:
    claim.take(dynamodb, TABLE, KEY, now=NOW, until=LATER)

    assert isinstance(claim.take(dynamodb, TABLE, KEY, now=LATER, until=LATER), Held)


def test_given_back_the_target_is_free_again(dynamodb: DynamoDBClient) -> None:
    taken = claim.take(dynamodb, TABLE, KEY, now=NOW, until=LATER)
    assert isinstance(taken, Taken)

    assert claim.give_back(dynamodb, TABLE, taken)

    assert claim.held(dynamodb, TABLE, KEY, now=NOW) is None
    assert isinstance(claim.take(dynamodb, TABLE, KEY, now=NOW, until=LATER), Taken)


def test_only_the_holding_command_ends_the_claim(dynamodb: DynamoDBClient) -> None:
    taken = claim.take(dynamodb, TABLE, KEY, now=NOW, until=LATER)
    assert isinstance(taken, Taken)
    claim.name_holder(dynamodb, TABLE, taken, "cmd-new", until=LATER)

    # A late notification of an older command
    assert not claim.end(dynamodb, TABLE, KEY, "cmd-old")
    assert claim.held(dynamodb, TABLE, KEY, now=NOW) is not None

    assert claim.end(dynamodb, TABLE, KEY, "cmd-new")
    assert claim.held(dynamodb, TABLE, KEY, now=NOW) is None
    # Ending twice (SNS, then the recorded verdict) is harmless
    assert not claim.end(dynamodb, TABLE, KEY, "cmd-new")


def test_the_claim_leaves_the_table_by_ttl_after_it_expires(dynamodb: DynamoDBClient) -> None:
    taken = claim.take(dynamodb, TABLE, KEY, now=NOW, until=LATER)
    assert isinstance(taken, Taken)

    item = dynamodb.get_item(TableName=TABLE, Key={"commandId": {"S": KEY}})["Item"]

    assert int(item["ttl"]["N"]) > int(item["until"]["N"]) == int(LATER.timestamp())


@pytest.mark.parametrize("slow_check", [False, True])
def test_of_many_takers_at_the_same_moment_exactly_one_gets_the_claim(
    dynamodb: DynamoDBClient, monkeypatch: pytest.MonkeyPatch, slow_check: bool
) -> None:
    # Real DynamoDB applies a conditional write atomically; the emulator serialises moto's
    # writes so that this holds in the tests too (harness/aws_emulator.py).
    if slow_check:
        # Widen moto's window between checking a condition and writing: without the emulator's
        # lock every taker passes the check before any writes.
        check = moto_table.get_filter_expression

        def slowly(*args: Any, **kwargs: Any) -> Any:
            time.sleep(0.05)
            return check(*args, **kwargs)

        monkeypatch.setattr(moto_table, "get_filter_expression", slowly)
    takers = 8
    start = threading.Barrier(takers)
    results: list[Taken | Held] = []

    def take() -> None:
        client = boto3.client("dynamodb", region_name="us-east-1")
        start.wait(timeout=10)
        results.append(claim.take(client, TABLE, KEY, now=NOW, until=LATER))

    threads = [threading.Thread(target=take) for _ in range(takers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(results) == takers
    assert sum(isinstance(result, Taken) for result in results) == 1


def test_a_claim_whose_answer_was_lost_is_still_the_takers_when_botocore_sends_it_again(
    dynamodb: DynamoDBClient,
) -> None:
    # The first PutItem lands, its answer is lost (500), botocore sends it again: the condition
    # now fails on the item just written, whose token is this taker's own
    lost: list[bool] = []

    def lose_first(response_dict: dict[str, Any], **_: Any) -> None:
        if not lost:
            lost.append(True)
            response_dict["status_code"] = 500
            response_dict["body"] = b'{"__type":"InternalServerError","message":"lost"}'

    dynamodb.meta.events.register("before-parse.dynamodb.PutItem", lose_first)

    taken = claim.take(dynamodb, TABLE, KEY, now=NOW, until=LATER)

    assert lost
    assert isinstance(taken, Taken)
    assert claim.give_back(dynamodb, TABLE, taken)

"""Duplicates (issue 6 item 3, issue 4 item 4): SNS and Lambda may deliver twice; Slack hears once."""

from __future__ import annotations

import threading
from typing import Any

import boto3
import pytest
from werkzeug import Request, Response

from apcu_notifier import handler
from harness import aws_emulator as emu
from harness.aws_emulator import ok
from tests.notifier.conftest import GROUP, WEBHOOK_PATH, World

TABLE = "apcu-fleet-flush-Idempotency"


@pytest.fixture
def deduplicating(world: World) -> World:
    dynamodb = boto3.client("dynamodb", region_name=emu.REGION)
    dynamodb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    world.table = TABLE
    return world


def settled_command(world: World, size: int = 2) -> str:
    members = emu.create_group(GROUP, size)
    command_id = world.send()
    emu.settle_command(command_id, {i: ok() for i in members})
    return command_id


def test_the_same_notification_twice_posts_once(deduplicating: World) -> None:
    world = deduplicating
    command_id = settled_command(world)
    world.start()
    world.slack.always()

    first = world.notify(command_id)
    second = world.notify(command_id)

    assert len(world.slack.messages()) == 1
    assert first["outcomes"][0]["verdict"] == "ok"
    assert second["outcomes"][0] == {**first["outcomes"][0], "duplicate": True}


def test_a_different_final_status_of_the_same_command_is_not_a_duplicate(
    deduplicating: World,
) -> None:
    world = deduplicating
    command_id = settled_command(world)
    world.start()
    world.slack.always()

    world.notify(command_id, "command-success.json")
    emu.settle_command(command_id, {}, status="Cancelled")
    world.notify(command_id, "command-cancelled.json")

    assert len(world.slack.messages()) == 2


def test_two_concurrent_deliveries_post_once_and_the_loser_is_retried(deduplicating: World) -> None:
    # Given the first delivery is in the middle of its Slack post when the second arrives
    world = deduplicating
    command_id = settled_command(world)
    world.start()
    first_posting = threading.Event()
    second_done = threading.Event()

    def slow_slack(request: Request) -> Response:
        first_posting.set()
        second_done.wait(timeout=30)
        return Response("ok")

    world.slack.server.expect_request(WEBHOOK_PATH, method="POST").respond_with_handler(slow_slack)
    outcomes: dict[str, Any] = {}

    def deliver(name: str) -> None:
        try:
            outcomes[name] = world.notify(command_id)
        except Exception as error:
            outcomes[name] = error

    first = threading.Thread(target=deliver, args=("first",))
    first.start()
    assert first_posting.wait(timeout=30)

    # When the duplicate is handled while the first still holds the record
    deliver("second")
    second_done.set()
    first.join(timeout=30)

    # Then the duplicate raises (Lambda will retry it) and Slack heard one message
    assert outcomes["first"]["outcomes"][0]["verdict"] == "ok"
    assert isinstance(outcomes["second"], handler.NotificationsFailed)
    assert "IdempotencyAlreadyInProgressError" in str(outcomes["second"])
    assert len(world.slack.messages()) == 1

    # And Lambda's retry of the duplicate finds the outcome and posts nothing more
    retry = world.notify(command_id)
    assert retry["outcomes"][0]["duplicate"] is True
    assert len(world.slack.messages()) == 1


def test_a_failed_post_leaves_no_record_so_the_retry_posts(deduplicating: World) -> None:
    world = deduplicating
    command_id = settled_command(world)
    world.start()
    for _ in range(5):
        world.slack.answer("internal_error", status=500)
    world.slack.answer("ok")

    with pytest.raises(handler.NotificationsFailed, match="SlackUnavailable"):
        world.notify(command_id)
    result = world.notify(command_id)

    assert result["outcomes"][0] == {"command_id": command_id, "verdict": "ok", "posted": True}
    assert len(world.slack.messages()) == 6


def test_in_progress_after_success_posts_nothing_more(deduplicating: World) -> None:
    # SNS does not keep order: the InProgress notification may arrive last.
    world = deduplicating
    command_id = settled_command(world)
    world.start()
    world.slack.always()

    world.notify(command_id, "command-success.json")
    late = world.notify(command_id, "command-inprogress.json")

    assert len(world.slack.messages()) == 1
    assert late["outcomes"][0]["skipped"] == "InProgress"


def test_in_progress_after_success_posts_nothing_more_without_a_table(world: World) -> None:
    command_id = settled_command(world)
    world.start()
    world.slack.always()

    world.notify(command_id, "command-success.json")
    world.notify(command_id, "command-inprogress.json")

    assert len(world.slack.messages()) == 1


def test_without_a_table_there_is_no_deduplication(world: World) -> None:
    # IDEMPOTENCY_TABLE unset means no de-duplication at all: both deliveries post.
    command_id = settled_command(world)
    world.start()
    world.slack.always()

    world.notify(command_id)
    world.notify(command_id)

    assert world.runtime is not None and world.runtime.deduplicator is None
    assert len(world.slack.messages()) == 2


def test_duplicate_unreadable_notifications_post_once(deduplicating: World) -> None:
    world = deduplicating
    world.start()
    world.slack.always()
    event = {"Records": [{"EventSource": "aws:sns", "Sns": {"Message": "not json"}}]}

    world.invoke(event)
    world.invoke(event)

    assert len(world.slack.messages()) == 1

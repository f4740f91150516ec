"""apcu_clear.lifecycle: the launch action a warm-pool clear holds, and the marker that says an
instance was cleared under the hook, against Auto Scaling (the emulator) and DynamoDB (moto)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from apcu_clear import lifecycle
from apcu_clear.record import LifecycleHold
from harness import aws_emulator

TABLE = "apcu-fleet-flush-CommandsTable-1A2B3C4D"
GROUP = "web-prod"
HOOK = "apcu-fleet-flush-warm-pool"
NOW = dt.datetime(2026, 12, 3, 0, 30, tzinfo=dt.UTC)


@pytest.fixture
def held(aws: None) -> Iterator[tuple[Any, LifecycleHold]]:
    instance = aws_emulator.create_group(GROUP, 1)[0]
    token = aws_emulator.hold_launch(GROUP, instance, HOOK)
    yield boto3.client("autoscaling"), LifecycleHold(HOOK, token, instance)


def test_a_held_action_is_completed_once(held: tuple[Any, LifecycleHold]) -> None:
    autoscaling, hold = held

    assert lifecycle.heartbeat(autoscaling, GROUP, hold)
    assert lifecycle.complete(autoscaling, GROUP, hold, lifecycle.CONTINUE)

    assert aws_emulator.lifecycle_result(hold.token) == "CONTINUE"
    assert aws_emulator.lifecycle_state(GROUP, hold.instance_id) == "InService"
    # Auto Scaling answers ValidationError once the action is no longer held.
    assert not lifecycle.complete(autoscaling, GROUP, hold, lifecycle.ABANDON)
    assert not lifecycle.heartbeat(autoscaling, GROUP, hold)
    assert aws_emulator.lifecycle_result(hold.token) == "CONTINUE"


def test_an_abandoned_instance_is_replaced(held: tuple[Any, LifecycleHold]) -> None:
    autoscaling, hold = held

    assert lifecycle.complete(autoscaling, GROUP, hold, lifecycle.ABANDON)

    assert aws_emulator.lifecycle_state(GROUP, hold.instance_id) == "Terminating"


@pytest.fixture
def db(aws: None) -> Iterator[Any]:
    aws_emulator.create_commands_table(TABLE)
    yield boto3.client("dynamodb")


def test_the_marker_says_who_cleared_the_instance_for_a_day(db: Any) -> None:
    instance = "i-0123456789abcdef0"
    assert lifecycle.cleared_by(db, TABLE, instance, NOW) is None

    lifecycle.mark_cleared(db, TABLE, instance, "clear-1", NOW)

    assert lifecycle.cleared_by(db, TABLE, instance, NOW + dt.timedelta(hours=23)) == "clear-1"
    # DynamoDB removes an expired item within days: past its ttl, it is read as gone.
    assert lifecycle.cleared_by(db, TABLE, instance, NOW + dt.timedelta(days=1, seconds=1)) is None
    assert lifecycle.cleared_by(db, TABLE, "i-0fedcba9876543210", NOW) is None

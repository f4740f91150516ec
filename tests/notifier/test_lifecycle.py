"""A warm-pool clear under the launch lifecycle hook: its verdict completes the held action.
CONTINUE when the instance cleared, and then nothing is posted; when it did not, an alert that
says what WarmPoolUncleared did with it. Through lambda_handler against moto."""

from __future__ import annotations

from typing import Any

import boto3

from apcu_clear import store
from apcu_clear.item import CommandRecord, LifecycleHold
from apcu_clear.lifecycle import cleared_before_service
from harness import aws_emulator as emu
from harness.aws_emulator import InvocationResult, ok
from tests.notifier import records
from tests.notifier.conftest import GROUP, World, text_of

HOOK = "apcu-fleet-flush-warm-pool"


def held_clear(world: World) -> tuple[str, str, str]:
    """An instance waiting in Pending:Wait, its clear sent and recorded with what it holds."""
    members = sorted(emu.create_group(GROUP, 3))
    instance = members[0]
    token = emu.hold_launch(GROUP, instance, HOOK)
    records.enable(world)
    command_id = world.send(
        instance_ids=[instance], comment=f"warm-pool: {instance} left the warm pool"
    )
    store.put_sent(
        records.dynamodb(),
        records.TABLE,
        CommandRecord(
            command_id=command_id,
            group=GROUP,
            prefix="",
            requester="warm-pool",
            comment=f"{instance} left the warm pool",
            origin="warm-pool",
            requested_at=records.REQUESTED,
            expires_at="2026-03-02T09:18:03Z",
            lifecycle=LifecycleHold(HOOK, token, instance),
        ),
    )
    return command_id, instance, token


def state_of(instance: str) -> str:
    [group] = boto3.client("autoscaling", region_name=emu.REGION).describe_auto_scaling_groups(
        AutoScalingGroupNames=[GROUP]
    )["AutoScalingGroups"]
    return next(i["LifecycleState"] for i in group["Instances"] if i["InstanceId"] == instance)


def test_a_cleared_instance_enters_service_and_nothing_is_posted(world: World) -> None:
    command_id, instance, token = held_clear(world)
    emu.settle_command(command_id, {instance: ok(cleared=12)})
    world.start(commands_table=records.TABLE)
    world.slack.always()

    result = world.notify(command_id)

    outcome: dict[str, Any] = result["outcomes"][0]
    assert (outcome["verdict"], outcome["posted"], outcome["lifecycle"]) == (
        "ok",
        False,
        "CONTINUE",
    )
    assert emu.lifecycle_result(token) == "CONTINUE"
    assert state_of(instance) == "InService"
    assert world.slack.messages() == []
    # Its "Launch Successful" event, once InService, will find it cleared.
    assert cleared_before_service(records.dynamodb(), records.TABLE, instance) == command_id


def test_an_instance_that_did_not_clear_continues_by_default_with_an_alert(world: World) -> None:
    command_id, instance, token = held_clear(world)
    emu.settle_command(
        command_id,
        {instance: InvocationResult("Failed", stderr="curl: (7) Failed to connect")},
        status="Failed",
    )
    world.start(commands_table=records.TABLE)
    world.slack.always()

    result = world.notify(command_id, "command-failed.json")

    assert result["outcomes"][0]["lifecycle"] == "CONTINUE"
    assert emu.lifecycle_result(token) == "CONTINUE"
    text = text_of(world.slack.message())
    assert "<!here>" in text
    assert "enters service anyway (WarmPoolUncleared `continue`)" in text
    # Not cleared: its "Launch Successful" event gets to try again.
    assert cleared_before_service(records.dynamodb(), records.TABLE, instance) is None


def test_abandon_has_auto_scaling_replace_an_instance_that_did_not_clear(world: World) -> None:
    command_id, instance, token = held_clear(world)
    emu.settle_command(
        command_id, {instance: InvocationResult("TimedOut", status_details="DeliveryTimedOut")}
    )
    world.start(commands_table=records.TABLE, warm_pool_uncleared="abandon")
    world.slack.always()

    result = world.notify(command_id, "command-timedout.json")

    assert result["outcomes"][0]["lifecycle"] == "ABANDON"
    assert emu.lifecycle_result(token) == "ABANDON"
    assert state_of(instance) == "Terminating"
    assert "it is abandoned (WarmPoolUncleared `abandon`)" in text_of(world.slack.message())


def test_an_action_no_longer_held_leaves_the_verdict_recorded(world: World) -> None:
    # Given the hook's heartbeat ran out before the verdict (Auto Scaling applied DefaultResult)
    command_id, instance, token = held_clear(world)
    assert (
        emu.boto3.client("autoscaling", region_name=emu.REGION).complete_lifecycle_action(
            LifecycleHookName=HOOK,
            AutoScalingGroupName=GROUP,
            LifecycleActionToken=token,
            LifecycleActionResult="CONTINUE",
            InstanceId=instance,
        )["ResponseMetadata"]["HTTPStatusCode"]
        == 200
    )
    emu.settle_command(command_id, {instance: ok(cleared=3)})
    world.start(commands_table=records.TABLE)
    world.slack.always()

    result = world.notify(command_id)

    # Then the verdict stands, recorded once; only the completion is missing
    assert result["outcomes"][0]["lifecycle"] == "not-completed"
    assert records.item(command_id)["state"] == {"S": "judged"}
    again = world.notify(command_id)
    assert again["outcomes"][0].get("duplicate") is True

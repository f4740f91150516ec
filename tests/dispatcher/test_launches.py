"""Auto Scaling's launch events, as EventBridge delivers them to the dispatcher: an instance leaving
the warm pool gets a clear of its own, to that one instance; under the launch lifecycle hook it
waits in Pending:Wait until that clear ends; a new instance (nothing stale) is let in at once."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from botocore.exceptions import ClientError

from harness import aws_emulator
from harness.stack import GROUP, Stack
from tests.dispatcher.conftest import commands, item, stored_event
from tests.faults import Faults, injected
from tests.fleet import Fleet

HOOK = "apcu-fleet-flush-warm-pool"


def exit_event(instance: str) -> dict[str, Any]:
    """Launch Successful: the instance left the warm pool and is InService."""
    event = stored_event("warm-pool-exit.json")
    event["detail"] |= {"EC2InstanceId": instance, "AutoScalingGroupName": GROUP}
    return dict(event)


def hook_event(instance: str, token: str, origin: str = "WarmPool") -> dict[str, Any]:
    """The stack's launch hook holds the instance in Pending:Wait."""
    event = stored_event("warm-pool-lifecycle-hook.json")
    event["detail"] |= {
        "EC2InstanceId": instance,
        "AutoScalingGroupName": GROUP,
        "LifecycleActionToken": token,
        "Origin": origin,
    }
    return dict(event)


def test_an_instance_leaving_the_warm_pool_is_cleared_alone(deployed: Stack) -> None:
    instance = deployed.instances[0]
    Fleet().serve()

    answer = deployed.dispatch(exit_event(instance))

    assert answer["statusCode"] == 202
    body = answer["body"]
    [command] = commands()
    assert body == {
        "commandId": command["CommandId"],
        "group": GROUP,
        "instanceId": instance,
        "origin": "warm-pool",
        "action": "clear-apcu",
        "prefix": None,
        "warnings": [],
        "consoleUrl": body["consoleUrl"],
    }
    assert command["InstanceIds"] == [instance] and not command["Targets"]
    assert command["Comment"] == f"warm-pool: {instance} left the warm pool"
    record = item(command["CommandId"])
    assert record is not None
    assert (record["origin"], record["claimKey"]) == ("warm-pool", f"claim#instance#{instance}")
    assert deployed.outcome(command["CommandId"])["verdict"] == "ok"
    assert item(f"claim#instance#{instance}") is None, "its clear frees the instance"
    assert deployed.slack.webhook_posts == [], "an ok warm-pool clear is not posted"


def test_a_warm_pool_instance_under_the_hook_is_cleared_and_held_until_its_verdict(
    deployed: Stack,
) -> None:
    instance = deployed.instances[0]
    token = aws_emulator.hold_launch(GROUP, instance, HOOK)

    answer = deployed.dispatch(hook_event(instance, token))

    assert answer["statusCode"] == 202
    clear_id = answer["body"]["commandId"]
    assert answer["body"]["lifecycleHook"] == HOOK
    record = item(clear_id)
    assert record is not None
    assert record["lifecycle"] == {"hookName": HOOK, "token": token, "instanceId": instance}
    # Held while the clear runs.
    deployed.lambda_.waiting(clear_id)
    assert aws_emulator.lifecycle_result(token) is None
    assert aws_emulator.lifecycle_state(GROUP, instance) == "Pending:Wait"
    aws_emulator.settle_command(clear_id, {instance: aws_emulator.ok(4)})
    deployed.outcome(clear_id)
    assert aws_emulator.lifecycle_result(token) == "CONTINUE"
    # Cleared before it served: the Launch Successful event that follows sends nothing.
    after = deployed.dispatch(exit_event(instance))
    assert after["statusCode"] == 200
    assert after["body"]["clearedBy"] == clear_id
    assert "under the launch lifecycle hook" in after["body"]["message"]
    assert len(commands()) == 1


@pytest.mark.parametrize(
    ("origin", "destination", "reason"),
    [
        ("EC2", "AutoScalingGroup", "a new instance: php-fpm starts with an empty cache"),
        ("EC2", "WarmPool", "a new instance: php-fpm starts with an empty cache"),
        ("WarmPool", "WarmPool", "it goes into the warm pool; it is cleared as it leaves it"),
    ],
)
def test_a_launch_with_nothing_stale_is_continued_at_once_and_nothing_sent(
    deployed: Stack, origin: str, destination: str, reason: str
) -> None:
    instance = deployed.instances[0]
    token = aws_emulator.hold_launch(GROUP, instance, HOOK)
    event = hook_event(instance, token, origin)
    event["detail"]["Destination"] = destination

    answer = deployed.dispatch(event)

    assert answer["statusCode"] == 200
    assert answer["body"] == {
        "lifecycleAction": "CONTINUE",
        "group": GROUP,
        "instanceId": instance,
        "reason": reason,
    }
    assert aws_emulator.lifecycle_result(token) == "CONTINUE"
    assert commands() == []


def test_a_redelivered_event_is_refused_by_the_instances_claim(deployed: Stack) -> None:
    instance = deployed.instances[0]
    event = exit_event(instance)
    first = deployed.dispatch(copy.deepcopy(event))

    # Delivered again (EventBridge delivers at least once) while the first clear runs.
    second = deployed.dispatch(copy.deepcopy(event))

    assert first["statusCode"] == 202
    assert second["statusCode"] == 409
    error = second["body"]["error"]
    assert error["rule"] == "clear-in-progress"
    assert error["runningCommand"]["commandId"] == first["body"]["commandId"]
    assert f"instance {instance}" in error["message"]
    assert len(commands()) == 1


def test_a_throttled_launch_event_raises_for_lambda_to_retry_and_gives_the_instance_back(
    deployed: Stack,
) -> None:
    instance = deployed.instances[0]

    with (
        injected(Faults(operation="ListCommands", occurrence=1, kind="throttle")),
        pytest.raises(ClientError, match="Throttling"),
    ):
        deployed.dispatch(exit_event(instance))

    assert commands() == [] and item(f"claim#instance#{instance}") is None
    # Lambda's retry of the event claims the instance again and sends.
    assert deployed.dispatch(exit_event(instance))["statusCode"] == 202


@pytest.mark.parametrize(
    ("change", "field", "rule"),
    [
        ({"source": "aws.ec2"}, "detail-type", "warm-pool-event"),
        ({"detail-type": "EC2 Instance Terminate Successful"}, "detail-type", "warm-pool-event"),
        ({"detail": "web-prod"}, "detail", "type"),
        (
            {"detail": {"AutoScalingGroupName": "web-other"}},
            "detail.AutoScalingGroupName",
            "allowed-groups",
        ),
        ({"detail": {"EC2InstanceId": "i-123; reboot"}}, "detail.EC2InstanceId", "pattern"),
        ({"detail": {"Origin": "EC2"}}, "detail.Origin", "warm-pool-event"),
    ],
)
def test_a_malformed_launch_event_is_refused_and_sends_nothing(
    deployed: Stack, change: dict[str, Any], field: str, rule: str
) -> None:
    event = exit_event(deployed.instances[0])
    for key, value in change.items():
        if isinstance(value, dict) and isinstance(event.get(key), dict):
            event[key] = {**event[key], **value}
        else:
            event[key] = value

    answer = deployed.dispatch(event)

    assert answer["statusCode"] == 400
    assert (answer["body"]["error"]["field"], answer["body"]["error"]["rule"]) == (field, rule)
    assert commands() == []


@pytest.mark.parametrize(
    ("change", "field", "rule"),
    [
        ({"LifecycleHookName": "someone-elses-hook"}, "detail.LifecycleHookName", "hook-name"),
        (
            {"LifecycleTransition": "autoscaling:EC2_INSTANCE_TERMINATING"},
            "detail.LifecycleTransition",
            "launch-hook",
        ),
        ({"LifecycleActionToken": "not-a-token"}, "detail.LifecycleActionToken", "pattern"),
    ],
)
def test_a_hook_event_for_another_hook_or_without_a_token_is_refused(
    deployed: Stack, change: dict[str, str], field: str, rule: str
) -> None:
    instance = deployed.instances[0]
    token = aws_emulator.hold_launch(GROUP, instance, HOOK)
    event = hook_event(instance, token)
    event["detail"] |= change

    answer = deployed.dispatch(event)

    assert answer["statusCode"] == 400
    assert (answer["body"]["error"]["field"], answer["body"]["error"]["rule"]) == (field, rule)
    assert aws_emulator.lifecycle_result(token) is None and commands() == []

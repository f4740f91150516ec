"""The launch lifecycle hook: an instance leaving the warm pool waits in Pending:Wait while the
dispatcher clears it; any other launch is let go at once. Through lambda_handler against moto,
whose Auto Scaling the emulator teaches CompleteLifecycleAction."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from apcu_clear.lifecycle import mark_cleared_before_service
from apcu_dispatcher import handler
from apcu_dispatcher.clients import Clients
from harness import aws_emulator
from tests.dispatcher.conftest import COMMANDS_TABLE, commands_in_moto, stored_event
from tests.dispatcher.test_handler import Context
from tests.dispatcher.test_warm_pool import leaving as launch_successful
from tests.dispatcher.test_warm_pool import lines
from tests.dispatcher.test_watchdog import item

HOOK = "apcu-fleet-flush-warm-pool"
Invoke = Callable[[object], dict[str, Any]]


@pytest.fixture
def invoke(log: io.StringIO) -> Invoke:
    return lambda event: handler.lambda_handler(event, Context())


def held(instance_id: str, token: str, **detail: Any) -> dict[str, Any]:
    """The stored lifecycle event for this held instance, with detail fields changed."""
    event = stored_event("warm-pool-lifecycle-hook.json")
    event["detail"].update({"EC2InstanceId": instance_id, "LifecycleActionToken": token, **detail})
    return dict(event)


def lifecycle_state(instance_id: str) -> str:
    groups = boto3.client("autoscaling", region_name="us-east-1").describe_auto_scaling_groups(
        AutoScalingGroupNames=["web-prod"]
    )["AutoScalingGroups"]
    return next(
        i["LifecycleState"] for i in groups[0]["Instances"] if i["InstanceId"] == instance_id
    )


def test_an_instance_leaving_the_warm_pool_is_cleared_while_it_waits(
    invoke: Invoke, clients: Clients, web_prod: list[str]
) -> None:
    # Given an instance that leaves the warm pool and waits under the stack's hook
    instance = web_prod[0]
    token = aws_emulator.hold_launch("web-prod", instance, HOOK)

    response = invoke(held(instance, token))

    # Then its clear is sent to that one instance, and the record keeps what it holds
    assert response["statusCode"] == 202, response
    assert response["body"]["lifecycleHook"] == HOOK
    [command] = commands_in_moto(clients)
    assert command["InstanceIds"] == [instance]
    record = item(clients, command["CommandId"])
    assert record["origin"] == {"S": "warm-pool"}
    assert record["lifecycle"] == {
        "M": {"hookName": {"S": HOOK}, "token": {"S": token}, "instanceId": {"S": instance}}
    }
    # And the instance still waits: only the verdict lets it go
    assert lifecycle_state(instance) == "Pending:Wait"
    assert aws_emulator.lifecycle_result(token) is None


def test_a_new_instance_is_let_go_at_once_and_nothing_is_sent(
    invoke: Invoke, clients: Clients, web_prod: list[str]
) -> None:
    instance = web_prod[1]
    token = aws_emulator.hold_launch("web-prod", instance, HOOK)

    response = invoke(held(instance, token, Origin="EC2"))

    assert response["statusCode"] == 200
    assert response["body"]["lifecycleAction"] == "CONTINUE"
    assert "empty cache" in response["body"]["reason"]
    assert aws_emulator.lifecycle_result(token) == "CONTINUE"
    assert lifecycle_state(instance) == "InService"
    assert commands_in_moto(clients) == []


def test_an_instance_going_into_the_warm_pool_is_let_go_too(
    invoke: Invoke, clients: Clients, web_prod: list[str]
) -> None:
    instance = web_prod[2]
    token = aws_emulator.hold_launch("web-prod", instance, HOOK)

    response = invoke(held(instance, token, Origin="EC2", Destination="WarmPool"))

    assert response["body"]["lifecycleAction"] == "CONTINUE"
    assert aws_emulator.lifecycle_result(token) == "CONTINUE"
    assert commands_in_moto(clients) == []


def test_a_redelivered_continue_finds_nothing_held_and_sends_nothing(
    invoke: Invoke, clients: Clients, web_prod: list[str], log: io.StringIO
) -> None:
    instance = web_prod[0]
    token = aws_emulator.hold_launch("web-prod", instance, HOOK)
    event = held(instance, token, Origin="EC2")
    invoke(event)

    again = invoke(event)

    assert again["statusCode"] == 200
    assert any(
        line.get("message", "").startswith("lifecycle action no longer held") for line in lines(log)
    )
    assert commands_in_moto(clients) == []


def test_a_redelivered_warm_pool_exit_finds_its_clear_running_and_sends_nothing_more(
    invoke: Invoke, clients: Clients, web_prod: list[str]
) -> None:
    instance = web_prod[0]
    token = aws_emulator.hold_launch("web-prod", instance, HOOK)
    event = held(instance, token)
    first = invoke(event)
    aws_emulator.set_command_running(first["body"]["commandId"])

    again = invoke(event)

    assert again["statusCode"] == 409
    assert again["body"]["error"]["rule"] == "clear-in-progress"
    assert len(commands_in_moto(clients)) == 1


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [
        ("LifecycleHookName", "someone-elses-hook", "hook-name"),
        ("AutoScalingGroupName", "db-prod", "allowed-groups"),
        ("EC2InstanceId", "i-0123; reboot", "pattern"),
        ("LifecycleActionToken", "not-a-token", "pattern"),
        ("LifecycleTransition", "autoscaling:EC2_INSTANCE_TERMINATING", "launch-hook"),
    ],
)
def test_an_event_the_stack_does_not_serve_is_refused_and_nothing_happens(
    invoke: Invoke, clients: Clients, web_prod: list[str], field: str, value: str, rule: str
) -> None:
    instance = web_prod[0]
    token = aws_emulator.hold_launch("web-prod", instance, HOOK)

    response = invoke(held(instance, token, **{field: value}))

    assert response["statusCode"] == 400
    error = response["body"]["error"]
    assert (error["field"], error["rule"]) == (f"detail.{field}", rule)
    assert commands_in_moto(clients) == []
    # Someone else's hook is theirs to complete: the instance still waits.
    assert aws_emulator.lifecycle_result(token) is None


def test_launch_successful_skips_an_instance_the_hook_already_cleared(
    invoke: Invoke, clients: Clients, web_prod: list[str]
) -> None:
    # Given an instance cleared under the hook (the notifier marks it once the verdict is ok)
    instance = web_prod[0]
    mark_cleared_before_service(clients.dynamodb, COMMANDS_TABLE, instance, "c0ffee00-cleared")

    # When its "Launch Successful" event follows, once it is InService
    response = invoke(launch_successful(instance))

    # Then nothing is sent: it entered service clean
    assert response["statusCode"] == 200
    assert response["body"]["clearedBy"] == "c0ffee00-cleared"
    assert commands_in_moto(clients) == []


def test_an_expired_marker_does_not_stop_a_clear(
    invoke: Invoke, clients: Clients, web_prod: list[str]
) -> None:
    instance = web_prod[0]
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
    mark_cleared_before_service(clients.dynamodb, COMMANDS_TABLE, instance, "old", now=long_ago)

    response = invoke(launch_successful(instance))

    assert response["statusCode"] == 202
    assert len(commands_in_moto(clients)) == 1

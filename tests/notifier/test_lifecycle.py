"""A warm-pool clear under the launch lifecycle hook: the instance waits in Pending:Wait while
its clear runs, may be retried there, and its clear's verdict completes the held action, once:
CONTINUE when it cleared, and then nothing is posted; when it did not, an alert that says what
WarmPoolUncleared did with it."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from harness import aws_emulator
from harness.stack import GROUP, STOP_ALARM, Stack
from tests.faults import Recorder, injected
from tests.fleet import DELIVERY_TIMED_OUT, Fleet, failed

HOOK = "apcu-fleet-flush-warm-pool"
EVENT = (
    Path(__file__).resolve().parents[2] / "events" / "dispatcher" / "warm-pool-lifecycle-hook.json"
)


def leaving(stack: Stack) -> tuple[str, str, dict[str, Any]]:
    """An instance of the group leaving its warm pool, held by the hook; the event saying so."""
    instance = stack.instances[0]
    token = aws_emulator.hold_launch(GROUP, instance, HOOK)
    event = json.loads(EVENT.read_text())
    event["detail"] |= {
        "LifecycleActionToken": token,
        "EC2InstanceId": instance,
        "AutoScalingGroupName": GROUP,
    }
    return instance, token, event


def state_of(instance: str) -> str:
    return aws_emulator.lifecycle_state(GROUP, instance)


def test_a_cleared_instance_enters_service_and_nothing_is_posted(deployed: Stack) -> None:
    Fleet().serve()
    instance, token, event = leaving(deployed)

    answer = deployed.dispatch(event)
    clear_id = answer["body"]["commandId"]
    outcome = deployed.outcome(clear_id)

    assert answer["statusCode"] == 202 and outcome["verdict"] == "ok"
    assert aws_emulator.lifecycle_result(token) == "CONTINUE"
    assert state_of(instance) == "InService"
    assert deployed.slack.webhook_posts == [], "a warm-pool clear is posted only when it alerts"
    # Cleared before it served: the Launch Successful event that follows sends nothing.
    successful = {**event, "detail-type": "EC2 Instance Launch Successful"}
    assert deployed.dispatch(successful)["body"]["clearedBy"] == clear_id


def test_a_held_instance_is_retried_in_pending_wait(deployed: Stack) -> None:
    instance, token, event = leaving(deployed)
    fleet = Fleet({instance: [DELIVERY_TIMED_OUT, aws_emulator.ok(2)]}).serve()

    clear_id = deployed.dispatch(event)["body"]["commandId"]
    outcome = deployed.outcome(clear_id)

    assert outcome["verdict"] == "ok"
    assert fleet.commands_to(instance) == 2
    assert aws_emulator.lifecycle_result(token) == "CONTINUE"


def test_an_instance_that_did_not_clear_is_continued_with_an_alert(deployed: Stack) -> None:
    instance, token, event = leaving(deployed)
    Fleet({instance: [failed()]}).serve()

    outcome = deployed.outcome(deployed.dispatch(event)["body"]["commandId"])

    assert outcome["alert"] is True
    assert aws_emulator.lifecycle_result(token) == "CONTINUE"
    assert len(deployed.slack.webhook_posts) == 1


def test_with_abandon_an_instance_that_did_not_clear_is_replaced(deployed: Stack) -> None:
    deployed.use({**deployed.env, "WARM_POOL_UNCLEARED": "abandon"})
    instance, token, event = leaving(deployed)
    Fleet({instance: [failed()]}).serve()

    deployed.outcome(deployed.dispatch(event)["body"]["commandId"])

    assert aws_emulator.lifecycle_result(token) == "ABANDON"
    assert state_of(instance) == "Terminating"


def test_the_action_is_kept_held_while_the_clear_waits(deployed: Stack) -> None:
    """A command that lives longer than a slice (4 minutes) of the wait: between slices the
    clear records a heartbeat, so that the hook's HeartbeatTimeout does not let the instance go
    before its clear ends."""
    aws_emulator.expire_commands(dt.timedelta(minutes=10))
    instance, token, event = leaving(deployed)
    clear_id = deployed.dispatch(event)["body"]["commandId"]
    first = deployed.lambda_.waiting(clear_id)

    deployed.lambda_.time_out(clear_id, first)
    second = deployed.lambda_.waiting(clear_id)
    while second == first:
        second = deployed.lambda_.waiting(clear_id)
    aws_emulator.settle_command(clear_id, {instance: aws_emulator.ok(1)})
    outcome = deployed.outcome(clear_id)

    assert outcome["verdict"] == "ok"
    assert aws_emulator.HEARTBEATS[token] == 1
    assert aws_emulator.lifecycle_result(token) == "CONTINUE"


def test_the_action_stays_held_through_the_stop_alarm_and_a_retry_round(
    aws: None, slack: object
) -> None:
    """The alarm fires when the held instance's retry is due: the half hour the round may wait
    for it is longer than any HeartbeatTimeout, so each look at the alarm and at the round
    records a heartbeat."""
    with Stack(slack, STOP_ALARM_NAME=STOP_ALARM) as stack:  # type: ignore[arg-type]
        instance, token, event = leaving(stack)
        Fleet({instance: [DELIVERY_TIMED_OUT, aws_emulator.ok(2)]}).serve()
        script = Recorder()
        # A launch's clear is sent without a look at the alarm (SSM's own brake still rides
        # the command): it fires before the clear's first look, and is OK by its third.
        script.before[("DescribeAlarms", 1)] = lambda: stack.alarm("ALARM")
        script.before[("DescribeAlarms", 3)] = lambda: stack.alarm("OK")
        with injected(script):
            outcome = stack.outcome(stack.dispatch(event)["body"]["commandId"])

        assert outcome["verdict"] == "ok"
        # A heartbeat at each of the 3 looks at the alarm and at the look at the round.
        assert aws_emulator.HEARTBEATS[token] == 4
        assert aws_emulator.lifecycle_result(token) == "CONTINUE"

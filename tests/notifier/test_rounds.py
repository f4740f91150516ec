"""Retry rounds and the stop alarm: a round waits while the alarm fires (a look every 5 minutes,
half an hour at most; the runner skips the waits), keeps the group's claim at each look, and is
sent only while the claim is still the clear's own."""

from __future__ import annotations

import boto3

from harness import aws_emulator
from harness.stack import GROUP, STOP_ALARM, TABLE, Stack
from tests.faults import Recorder, injected
from tests.fleet import DELIVERY_TIMED_OUT, Fleet


def with_alarm(slack: object) -> Stack:
    return Stack(slack, STOP_ALARM_NAME=STOP_ALARM)  # type: ignore[arg-type]


def looks(stack: Stack, clear_id: str) -> list[str]:
    return [
        e.name
        for e in stack.lambda_.history(clear_id)
        if e.event_type == "StepStarted" and "stop alarm" in e.name
    ]


def test_a_retry_waits_while_the_alarm_fires_and_is_sent_once_it_is_ok(
    aws: None, slack: object
) -> None:
    with with_alarm(slack) as stack:
        slow = stack.instances[0]
        fleet = Fleet({slow: [DELIVERY_TIMED_OUT, aws_emulator.ok(2)]}).serve()
        script = Recorder()
        # The dispatcher reads the alarm once (OK); it fires before the clear's first look, and
        # is OK again by the clear's third.
        script.before[("DescribeAlarms", 2)] = lambda: stack.alarm("ALARM")
        script.before[("DescribeAlarms", 4)] = lambda: stack.alarm("OK")
        with injected(script):
            clear_id = stack.clear()
            verdict = stack.verdict(clear_id)

        assert verdict["kind"] == "ok" and verdict["attempts"] == 2
        assert fleet.commands_to(slow) == 2
        assert len(looks(stack, clear_id)) == 3
        waits = [e.name for e in stack.lambda_.history(clear_id) if e.event_type == "WaitStarted"]
        assert waits.count("wait for the stop alarm before attempt 2") == 2


def test_no_retry_is_sent_while_the_alarm_keeps_firing(aws: None, slack: object) -> None:
    with with_alarm(slack) as stack:
        slow = stack.instances[0]
        fleet = Fleet({slow: [DELIVERY_TIMED_OUT]}).serve()
        script = Recorder()
        script.before[("DescribeAlarms", 2)] = lambda: stack.alarm("ALARM")
        with injected(script):
            clear_id = stack.clear()
            verdict = stack.verdict(clear_id)

        assert verdict["alert"] is True and verdict["stale"]["instances"] == [slow]
        assert fleet.commands_to(slow) == 1, "nothing is sent while the alarm fires"
        assert len(looks(stack, clear_id)) == 7, (
            "half an hour: a look, then six after 5 minutes each"
        )
        claim = boto3.client("dynamodb").get_item(
            TableName=TABLE, Key={"commandId": {"S": f"claim#group#{GROUP}"}}
        )
        assert "Item" not in claim


def test_a_round_is_not_sent_once_another_clear_holds_the_group(deployed: Stack) -> None:
    """The clear's claim ran out (its execution was slow) and another clear took the group:
    the round is not sent, and the verdict says why its instances stay stale."""
    slow = deployed.instances[0]
    fleet = Fleet({slow: [DELIVERY_TIMED_OUT]}).serve()
    script = Recorder()

    def taken_over() -> None:
        boto3.client("dynamodb").update_item(
            TableName=TABLE,
            Key={"commandId": {"S": f"claim#group#{GROUP}"}},
            UpdateExpression="SET holder = :other",
            ExpressionAttributeValues={":other": {"S": "0f0c4a1e-8d3b-4c2a-9e7f-1b6d2a9c3e48"}},
        )

    # Just before the clear keeps the group for its retry: the dispatcher's UpdateItems name the
    # holder and record the clear, the clear's records its callback; the fourth keeps the group.
    script.before[("UpdateItem", 4)] = taken_over
    with injected(script):
        clear_id = deployed.clear()
        verdict = deployed.verdict(clear_id)

    steps = [e.name for e in deployed.lambda_.history(clear_id) if e.event_type == "StepStarted"]
    assert "keep the group for attempt 2" in steps
    assert not any(name.startswith("send attempt") for name in steps)
    assert fleet.commands_to(slow) == 1
    assert verdict["alert"] is True and verdict["stale"]["instances"] == [slow]

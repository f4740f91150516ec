"""A clear, end to end: the dispatcher's API, SSM (the emulator), the relay, the clear's durable
execution in AWS's in-process runner, and Slack (the stand-in)."""

from __future__ import annotations

import datetime as dt
import json

from harness import aws_emulator
from harness.stack import GROUP, TABLE, Stack
from tests.fleet import CANCELLED, DELIVERY_TIMED_OUT, Fleet, failed


def posted(stack: Stack) -> list[str]:
    return [p["text"] for p in stack.slack.webhook_posts]


def claim_of(stack: Stack) -> dict[str, object] | None:
    import boto3

    return (
        boto3.client("dynamodb")
        .get_item(TableName=TABLE, Key={"commandId": {"S": f"claim#group#{GROUP}"}})
        .get("Item")
    )


def step_names(stack: Stack, clear_id: str) -> list[str]:
    return [
        e.name
        for e in stack.lambda_.history(clear_id)
        if e.event_type in ("StepStarted", "WaitStarted", "CallbackStarted")
    ]


def test_an_ok_clear_posts_one_verdict_records_it_and_frees_the_group(deployed: Stack) -> None:
    Fleet().serve()
    clear_id = deployed.clear(comment="deploy 42")

    assert deployed.outcome(clear_id)["verdict"] == "ok"
    verdict = deployed.verdict(clear_id)
    assert verdict["kind"] == "ok" and verdict["alert"] is False
    assert verdict["succeeded"] == 3 and verdict["apcu"] == {"instances": 3, "entries": 36}
    assert len(posted(deployed)) == 1 and posted(deployed)[0].startswith("✅")
    assert claim_of(deployed) is None
    names = step_names(deployed, clear_id)
    assert names[:3] == [
        "read the clear",
        "SSM's notification",
        "record the callback, look at the command",
    ]
    assert names[-4:] == [
        "record the verdict",
        "read the Slack secret (post the verdict)",
        "post the verdict",
        "free the group",
    ]


def test_a_stale_instance_is_retried_and_the_clear_ends_ok(deployed: Stack) -> None:
    slow = deployed.instances[1]
    fleet = Fleet({slow: [DELIVERY_TIMED_OUT, aws_emulator.ok(3)]}).serve()
    clear_id = deployed.clear()

    verdict = deployed.verdict(clear_id)

    assert verdict["kind"] == "ok" and verdict["attempts"] == 2
    assert fleet.commands_to(slow) == 2 and fleet.commands_to(deployed.instances[0]) == 1
    assert verdict["apcu"]["entries"] == 12 + 12 + 3, "every attempt's entries count"
    assert len(posted(deployed)) == 1
    assert claim_of(deployed) is None


def test_an_instance_still_stale_after_the_last_round_is_named_as_an_alert(deployed: Stack) -> None:
    broken = deployed.instances[2]
    fleet = Fleet({broken: [failed()]}).serve()
    clear_id = deployed.clear()

    verdict = deployed.verdict(clear_id)

    assert verdict["alert"] is True
    assert verdict["stale"] == {"count": 1, "instances": [broken]}
    assert fleet.commands_to(broken) == 2, "RetryMissed 1: the first attempt and one retry"
    assert len(posted(deployed)) == 1 and broken in json.dumps(deployed.slack.webhook_posts[0])


def test_an_operators_cancel_is_final(deployed: Stack) -> None:
    fleet = Fleet({i: [CANCELLED] for i in deployed.instances[1:]}).serve()
    clear_id = deployed.clear()

    verdict = deployed.verdict(clear_id)

    assert verdict["kind"] == "cancelled" and verdict["alert"] is True
    assert len(fleet.sent) == 1, "nothing is retried after an operator's stop"
    assert sorted(verdict["stale"]["instances"]) == sorted(deployed.instances[1:])


def test_the_stop_alarm_is_final(aws: None, slack: object) -> None:
    from harness.stack import STOP_ALARM

    with Stack(slack, STOP_ALARM_NAME=STOP_ALARM) as stack:  # type: ignore[arg-type]
        first, *rest = stack.instances

        def fleet(
            command_id: str, instance_ids: list[str]
        ) -> dict[str, aws_emulator.InvocationResult]:
            aws_emulator.trip_alarm(command_id)
            return {first: aws_emulator.ok(4), **dict.fromkeys(rest, CANCELLED)}

        sent: list[str] = []
        aws_emulator.fleet_answers(lambda c, ids: (sent.append(c), fleet(c, ids))[1])
        clear_id = stack.clear()

        verdict = stack.verdict(clear_id)

    assert verdict["kind"] == "stopped"
    assert len(sent) == 1


def test_a_lost_notification_is_judged_when_the_wait_runs_out(deployed: Stack) -> None:
    # The command ends while the clear waits, but SSM's notification never reaches the relay;
    # the wait runs out a minute past the command's expiry (here two seconds from now).
    aws_emulator.subscribe(None)
    aws_emulator.expire_commands(dt.timedelta(seconds=-58))
    clear_id = deployed.clear()
    deployed.lambda_.waiting(clear_id)
    aws_emulator.settle_command(clear_id, {i: aws_emulator.ok(2) for i in deployed.instances})

    verdict = deployed.verdict(clear_id)

    assert verdict["kind"] == "ok" and verdict["via"] == "look"
    assert "never arrived" in json.dumps(deployed.slack.webhook_posts[0])


def test_sns_twice_gives_one_verdict(deployed: Stack) -> None:
    Fleet().serve()
    clear_id = deployed.clear()
    deployed.outcome(clear_id)
    again = deployed.lambda_.deliver(aws_emulator.notification(clear_id, "Success"))

    assert deployed.lambda_.outcome(again)["outcomes"][0]["relayed"] == "Success"
    assert len(posted(deployed)) == 1


def test_the_notification_can_start_the_clear_before_the_dispatcher_does(deployed: Stack) -> None:
    """The fleet answers as SendCommand returns, so SSM's notification reaches the relay while
    the dispatcher is still recording the clear: one execution, one verdict."""
    Fleet().serve()
    clear_id = deployed.clear()
    deployed.outcome(clear_id)

    starts = [e for e in deployed.lambda_.history(clear_id) if e.event_type == "ExecutionStarted"]
    assert len(starts) == 1
    assert len(posted(deployed)) == 1

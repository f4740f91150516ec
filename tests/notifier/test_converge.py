"""A clear converges: an attempt that leaves InService instances stale is re-sent to those that
may pass, and the clear is posted once, when its last attempt is judged. Through
lambda_handler, moto with the emulator, and a webhook on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import boto3
import pytest

from apcu_clear import claim
from apcu_clear.claim import Taken
from apcu_notifier import handler
from harness import aws_emulator as emu
from harness.aws_emulator import InvocationResult, ok
from tests.notifier import records
from tests.notifier.conftest import GROUP, World, fail_calls, load_event, text_of, with_records
from tests.notifier.records import TABLE, dispatched, dynamodb, item
from tests.notifier.test_watchdog import watchdog_event

DOCUMENT = "AWS-RunShellScript"
KEY = claim.group_key(GROUP)
DELIVERY_TIMED_OUT = InvocationResult("TimedOut", "Delivery Timed Out")


@pytest.fixture
def recording(world: World) -> World:
    return records.enable(world)


def start(world: World, rounds: int = 1, document: str = DOCUMENT) -> Any:
    rt = world.start(document_name=document, retry_missed=rounds)
    world.slack.always()
    return rt


def first_clear(
    world: World, results: dict[str, InvocationResult] | None = None
) -> tuple[str, list[str]]:
    """A clear of the group, recorded and claimed as the dispatcher leaves it; the last
    instance's agent never picked the command up."""
    members = sorted(emu.create_group(GROUP, 3))
    emu.register_managed_instances(members)
    command_id = world.send()
    emu.settle_command(
        command_id,
        results or {members[0]: ok(), members[1]: ok(), members[2]: DELIVERY_TIMED_OUT},
        status="TimedOut",
    )
    dispatched(command_id, clear_claim=KEY)
    now = dt.datetime.now(dt.UTC)
    until = now + dt.timedelta(minutes=8)
    taken = claim.take(dynamodb(), TABLE, KEY, now=now, until=until)
    assert isinstance(taken, Taken)
    assert claim.name_holder(dynamodb(), TABLE, taken, command_id, until=until)
    return command_id, members


def retries(command_id: str) -> list[str]:
    return [v["S"] for v in item(command_id).get("retries", {}).get("L", [])]


def sent_to(command_id: str) -> list[str]:
    ssm = boto3.client("ssm", region_name=emu.REGION)
    return list(ssm.list_commands(CommandId=command_id)["Commands"][0]["InstanceIds"])


def holder() -> str | None:
    held = claim.held(dynamodb(), TABLE, KEY, now=dt.datetime.now(dt.UTC))
    return held.holder if held else None


def test_a_delivery_timed_out_instance_is_retried_and_the_clear_posted_once_ok(
    recording: World,
) -> None:
    world = recording
    start(world)
    first, members = first_clear(world)

    # When SSM says the first command ended
    outcome = world.notify(first, "command-timedout.json")

    # Then the one stale instance is sent the same command again, nothing is posted yet, and
    # the retry holds the clear's claim
    assert outcome["outcomes"][0]["posted"] is False
    [retry] = retries(first)
    assert sent_to(retry) == [members[2]]
    assert world.slack.messages() == []
    assert holder() == retry
    assert item(retry)["retryOf"] == {"S": first}
    # The same document, parameters and notification as the first command
    ssm = boto3.client("ssm", region_name=emu.REGION)
    [was, now] = [ssm.list_commands(CommandId=c)["Commands"][0] for c in (first, retry)]
    for member in ("DocumentName", "Parameters", "NotificationConfig", "MaxErrors"):
        assert now[member] == was[member]

    # When the retry clears it
    emu.settle_command(retry, {members[2]: ok()})
    world.notify(retry)

    # Then one ok message for the clear names the instance and what the first attempt said
    [message] = world.slack.messages()
    text = text_of(message)
    assert "✅" in text
    assert f"`{members[2]}`: Delivery Timed Out, cleared on the second attempt" in text
    assert "apcu-flush retry" not in text
    assert item(first)["clearVerdict"]["M"]["kind"] == {"S": "ok"}
    assert holder() is None


def test_still_stale_after_the_last_round_is_one_alert_with_each_outcome_and_the_retry_command(
    recording: World,
) -> None:
    world = recording
    start(world, rounds=2)
    first, members = first_clear(world)
    world.notify(first, "command-timedout.json")
    [retry] = retries(first)
    emu.settle_command(
        retry, {members[2]: InvocationResult("Failed", stderr="curl: (7)")}, status="Failed"
    )
    world.notify(retry, "command-failed.json")
    assert world.slack.messages() == []
    second = retries(first)[1]
    emu.settle_command(second, {members[2]: DELIVERY_TIMED_OUT}, status="TimedOut")

    world.notify(second, "command-timedout.json")

    [message] = world.slack.messages()
    text = text_of(message)
    assert (
        f"`{members[2]}`: Delivery Timed Out, then Failed, then Delivery Timed Out; "
        "still stale after 3 attempts"
    ) in text
    assert f"`apcu-flush retry {first}`" in text
    assert item(first)["clearVerdict"]["M"]["alert"] == {"BOOL": True}
    assert holder() is None


def test_no_retry_when_retry_missed_is_zero(recording: World) -> None:
    world = recording
    start(world, rounds=0)
    first, _ = first_clear(world)

    world.notify(first, "command-timedout.json")

    assert retries(first) == []
    assert len(world.slack.messages()) == 1
    assert holder() is None


def test_an_offline_agent_is_not_retried_and_is_named(recording: World) -> None:
    world = recording
    start(world)
    first, members = first_clear(world)
    emu.register_managed_instances([members[2]], ping_status="ConnectionLost")

    world.notify(first, "command-timedout.json")

    assert retries(first) == []
    [message] = world.slack.messages()
    assert f"`{members[2]}`: Delivery Timed Out; its SSM agent is not Online" in text_of(message)
    assert f"`apcu-flush retry {first}`" in text_of(message)


def test_an_instance_that_left_in_service_is_not_retried(recording: World) -> None:
    world = recording
    start(world)
    members = sorted(emu.create_group(GROUP, 3))
    emu.register_managed_instances(members)
    first = world.send()
    emu.settle_command(
        first,
        {members[0]: ok(), members[1]: DELIVERY_TIMED_OUT, members[2]: DELIVERY_TIMED_OUT},
        status="TimedOut",
    )
    dispatched(first)
    # One of the two stale instances went to Standby before the verdict
    emu.set_lifecycle(GROUP, [members[1]], "Standby")

    world.notify(first, "command-timedout.json")

    [retry] = retries(first)
    assert sent_to(retry) == [members[2]]


def test_a_command_of_another_document_is_never_re_sent(recording: World) -> None:
    world = recording
    start(world, document="apcu-fleet-flush-FlushDocument-ABC")
    first, _ = first_clear(world)

    world.notify(first, "command-timedout.json")

    assert retries(first) == []
    assert len(world.slack.messages()) == 1


def test_sns_delivered_twice_sends_one_retry(recording: World) -> None:
    world = recording
    start(world)
    first, _ = first_clear(world)

    # SNS delivers the final notification twice in one event, then once more
    event = load_event("command-timedout.json", commandId=first)
    world.invoke(with_records(event, event))
    world.notify(first, "command-timedout.json")

    assert len(retries(first)) == 1
    assert world.slack.messages() == []


def test_the_first_commands_watchdog_after_its_retry_posts_nothing(recording: World) -> None:
    world = recording
    start(world)
    first, _ = first_clear(world)
    world.notify(first, "command-timedout.json")

    outcome = world.invoke(watchdog_event(first))

    assert outcome["outcomes"][0].get("duplicate") is True
    assert world.slack.messages() == []
    assert len(retries(first)) == 1


def test_a_send_command_that_fails_once_is_sent_once_by_lambdas_retry(recording: World) -> None:
    world = recording
    rt = start(world)
    first, members = first_clear(world)
    failed = fail_calls(rt.ssm, "SendCommand", "InternalServerError")

    with pytest.raises(handler.NotificationsFailed, match="InternalServerError"):
        world.notify(first, "command-timedout.json")
    assert failed and retries(first) == []
    assert holder() == first

    # Lambda retries the event
    world.notify(first, "command-timedout.json")

    [retry] = retries(first)
    assert sent_to(retry) == [members[2]]
    assert world.slack.messages() == []


ALARM = "web-prod-database"


def braked(world: World) -> Any:
    """The world with a stop alarm in ALARM and the watchdog settings the wait needs."""
    from tests.notifier.test_rearm import SCHEDULE_GROUP, SETTINGS

    boto3.client("scheduler", region_name=emu.REGION).create_schedule_group(Name=SCHEDULE_GROUP)
    cloudwatch = boto3.client("cloudwatch", region_name=emu.REGION)
    cloudwatch.put_metric_alarm(
        AlarmName=ALARM,
        MetricName="CPUUtilization",
        Namespace="AWS/RDS",
        Statistic="Average",
        Period=60,
        EvaluationPeriods=1,
        Threshold=80,
        ComparisonOperator="GreaterThanThreshold",
    )
    cloudwatch.set_alarm_state(AlarmName=ALARM, StateValue="ALARM", StateReason="CPU 97%")
    rt = world.start(
        document_name=DOCUMENT, retry_missed=1, stop_alarm_name=ALARM, watchdog=SETTINGS
    )
    world.slack.always()
    return rt


def alarm_look(command_id: str, look: int) -> dict[str, Any]:
    from tests.notifier.test_rearm import SCHEDULE_GROUP

    scheduler = boto3.client("scheduler", region_name=emu.REGION)
    stored = scheduler.get_schedule(
        Name=f"watchdog-{command_id}-alarm-{look}", GroupName=SCHEDULE_GROUP
    )
    event: dict[str, Any] = json.loads(stored["Target"]["Input"])
    return event


def commands_sent() -> int:
    ssm = boto3.client("ssm", region_name=emu.REGION)
    return len(ssm.list_commands()["Commands"])


def test_no_retry_is_sent_while_the_stop_alarm_fires_and_the_clear_waits(
    recording: World,
) -> None:
    world = recording
    rt = braked(world)
    first, _ = first_clear(world)
    sent = commands_sent()

    outcome = world.notify(first, "command-timedout.json")

    # Then nothing is sent or posted; a look is armed five minutes on, and the clear holds
    assert outcome["outcomes"][0]["waiting_for_alarm"] == f"watchdog-{first}-alarm-1"
    assert commands_sent() == sent
    assert world.slack.messages() == []
    assert holder() == first

    # And while it waits, past its command's expiry, it keeps its group: at each look the
    # claim lasts to the next look plus the margin (not to the command's end, 8 minutes on)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=12)
    rt.clock = lambda: later
    world.invoke(alarm_look(first, 1))
    assert commands_sent() == sent
    held = claim.held(dynamodb(), TABLE, KEY, now=later + dt.timedelta(minutes=9))
    assert held is not None and held.holder == first

    # When the alarm still fires at the bound (30 minutes), the look judges the clear
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=31)
    rt.clock = lambda: later
    world.invoke(alarm_look(first, 1))

    assert commands_sent() == sent
    [message] = world.slack.messages()
    text = text_of(message)
    assert "the stop alarm stayed in ALARM, so it was not retried" in text
    assert f"`apcu-flush retry {first}`" in text
    assert holder() is None


def test_the_retry_is_sent_once_the_stop_alarm_is_ok_again(recording: World) -> None:
    world = recording
    braked(world)
    first, members = first_clear(world)
    world.notify(first, "command-timedout.json")
    boto3.client("cloudwatch", region_name=emu.REGION).set_alarm_state(
        AlarmName=ALARM, StateValue="OK", StateReason="CPU 40%"
    )

    world.invoke(alarm_look(first, 1))

    [retry] = retries(first)
    assert sent_to(retry) == [members[2]]
    assert world.slack.messages() == []


def test_a_retry_still_running_at_its_watchdog_posts_no_stuck_alert(recording: World) -> None:
    world = recording
    start(world)
    first, _ = first_clear(world)
    world.notify(first, "command-timedout.json")
    [retry] = retries(first)
    emu.set_command_running(retry)

    outcome = world.invoke(watchdog_event(retry))

    assert outcome["outcomes"][0]["running"] == "InProgress"
    assert world.slack.messages() == []


def test_more_than_50_stale_instances_are_retried_in_commands_of_50_and_posted_once(
    recording: World,
) -> None:
    world = recording
    start(world)
    members = sorted(emu.create_group(GROUP, 53))
    emu.register_managed_instances(members)
    first = world.send()
    emu.settle_command(
        first,
        {members[0]: ok(), **dict.fromkeys(members[1:], DELIVERY_TIMED_OUT)},
        status="TimedOut",
    )
    dispatched(first, clear_claim=KEY)

    world.notify(first, "command-timedout.json")

    batch, rest = retries(first)
    assert (len(sent_to(batch)), len(sent_to(rest))) == (50, 2)
    # When the first of them is judged, the other still runs: nothing is posted
    emu.settle_command(batch, {i: ok() for i in sent_to(batch)})
    world.notify(batch)
    assert world.slack.messages() == []
    # When the last is judged, the clear is posted once
    emu.settle_command(rest, {i: ok() for i in sent_to(rest)})
    world.notify(rest)
    [message] = world.slack.messages()
    assert "52 instance(s) needed another attempt" in text_of(message)
    assert item(first)["clearVerdict"]["M"]["kind"] == {"S": "ok"}

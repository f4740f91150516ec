"""A command still running past its expiry: the notifier arms one follow-up watchdog at a time,
so its verdict is still posted when SNS is lost too, and says when it gives up."""

from __future__ import annotations

import collections
import copy
import datetime as dt
import json
from typing import Any

import boto3
import pytest

from apcu_notifier import handler
from apcu_notifier.config import Config, ConfigError, WatchdogSettings
from apcu_notifier.notification import MAX_FOLLOW_UPS
from apcu_notifier.watchdog import FOLLOW_UP_INTERVAL
from harness import aws_emulator as emu
from harness.aws_emulator import InvocationResult, ok
from tests.notifier.conftest import GROUP, World, text_of
from tests.notifier.records import dispatched, item
from tests.notifier.test_watchdog import NEVER_ARRIVED, emitted_metrics, recording, watchdog_event

__all__ = ["recording"]

SCHEDULE_GROUP = "apcu-fleet-flush-WatchdogScheduleGroup-1A2B"
ROLE_ARN = "arn:aws:iam::123456789012:role/apcu-fleet-flush-WatchdogRole-Z9Y8X7"
DLQ_ARN = "arn:aws:sqs:us-east-1:123456789012:apcu-fleet-flush-WatchdogDeadLetterQueue-Q1"
SETTINGS = WatchdogSettings(group=SCHEDULE_GROUP, role_arn=ROLE_ARN, dead_letter_arn=DLQ_ARN)
NOW = dt.datetime(2026, 3, 2, 9, 30, 7, tzinfo=dt.UTC)
STUCK = "🚨 APCu clear still running after its expiry"
NEVER_ENDED = "🚨 APCu clear never ended: no verdict can be reached"
CLEARED = "✅ APCu cleared on every instance"
ENV = {
    "SLACK_WEBHOOK_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:x-AbCdEf",
    "AWS_REGION": "us-east-1",
    "COMMANDS_TABLE": "apcu-fleet-flush-CommandsTable-1A2B3C",
    "WATCHDOG_GROUP": SCHEDULE_GROUP,
    "WATCHDOG_ROLE_ARN": ROLE_ARN,
    "WATCHDOG_DEAD_LETTER_ARN": DLQ_ARN,
}


class Watched:
    """The world with follow-ups on: the CreateSchedule requests and the scheduler clients
    the runtime built."""

    def __init__(self, world: World, *, group_exists: bool = True) -> None:
        self.world = world
        self.requests: list[dict[str, Any]] = []
        self.clients_built = 0
        if group_exists:
            scheduler().create_schedule_group(Name=SCHEDULE_GROUP)
        rt = world.start(watchdog=SETTINGS)
        rt.clock = lambda: NOW
        build = rt.scheduler_factory
        assert build is not None

        def counted() -> Any:
            self.clients_built += 1
            client = build()
            client.meta.events.register(
                "before-parameter-build.scheduler.CreateSchedule",
                lambda params, **_: self.requests.append(copy.deepcopy(params)),
            )
            return client

        rt.scheduler_factory = counted

    def follow_up(self, command_id: str, attempt: int) -> dict[str, Any]:
        """The event the follow-up schedule in moto fires with: its stored Input."""
        stored = scheduler().get_schedule(
            Name=f"watchdog-{command_id}-{attempt}", GroupName=SCHEDULE_GROUP
        )
        event: dict[str, Any] = json.loads(stored["Target"]["Input"])
        return event


def scheduler() -> Any:
    return boto3.client("scheduler", region_name=emu.REGION)


def running(world: World, size: int = 3) -> tuple[str, list[str]]:
    members = sorted(emu.create_group(GROUP, size))
    command_id = world.send()
    emu.settle_command(
        command_id,
        {members[0]: ok(), **{i: InvocationResult("InProgress") for i in members[1:]}},
        status="InProgress",
    )
    dispatched(command_id)
    return command_id, members


def titles(world: World) -> list[str]:
    return [m["blocks"][0]["text"]["text"] for m in world.slack.messages()]


def test_a_stuck_command_gets_one_stuck_alert_and_one_follow_up_schedule(
    recording: World,
) -> None:
    # Given a command still running past its expiry, with follow-ups on
    watched = Watched(recording)
    world = watched.world
    command_id, _ = running(world)
    world.slack.always()

    # When the dispatcher's watchdog fires
    result = world.invoke(watchdog_event(command_id))

    # Then one stuck alert, promising the follow-ups it arms
    assert titles(world) == [STUCK]
    assert (
        "The watchdog checks it again every 15 minutes and posts its verdict when it ends; "
        "after 2 hours it stops and says so." in text_of(world.slack.message())
    )
    # And exactly this follow-up schedule, 15 minutes on, invoking the notifier itself
    fires = NOW + dt.timedelta(minutes=15)
    assert watched.requests == [
        {
            "Name": f"watchdog-{command_id}-1",
            "GroupName": SCHEDULE_GROUP,
            "ScheduleExpression": f"at({fires:%Y-%m-%dT%H:%M:%S})",
            "ScheduleExpressionTimezone": "UTC",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "ActionAfterCompletion": "DELETE",
            "Description": (
                f"Check Run Command {command_id} again: still running after its expiry "
                "(follow-up 1 of 8)"
            ),
            "Target": {
                "Arn": world.context.invoked_function_arn,
                "RoleArn": ROLE_ARN,
                "Input": json.dumps(
                    {"source": "apcu-fleet-flush.watchdog", "commandId": command_id, "attempt": 1},
                    separators=(",", ":"),
                ),
                "RetryPolicy": {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 10},
                "DeadLetterConfig": {"Arn": DLQ_ARN},
            },
        }
    ]
    stored = scheduler().get_schedule(Name=f"watchdog-{command_id}-1", GroupName=SCHEDULE_GROUP)
    assert stored["ScheduleExpression"] == "at(2026-03-02T09:45:07)"
    assert stored["Target"]["Arn"] == world.context.invoked_function_arn
    assert result["outcomes"][0]["follow_up"] == f"watchdog-{command_id}-1"
    assert item(command_id)["state"] == {"S": "sent"}


def test_the_message_promises_what_the_interval_and_the_bound_deliver() -> None:
    assert dt.timedelta(minutes=15) == FOLLOW_UP_INTERVAL
    assert dt.timedelta(hours=2) == FOLLOW_UP_INTERVAL * MAX_FOLLOW_UPS


def test_the_follow_up_brings_the_verdict_when_sns_is_lost_too(
    recording: World, capsys: pytest.CaptureFixture[str]
) -> None:
    watched = Watched(recording)
    world = watched.world
    command_id, members = running(world)
    world.slack.always()
    world.invoke(watchdog_event(command_id))

    # When the command ends, SSM's notification is lost, and the follow-up fires (twice:
    # Scheduler delivers at least once)
    emu.settle_command(command_id, {i: ok() for i in members})
    world.invoke(watched.follow_up(command_id, 1))
    world.invoke(watched.follow_up(command_id, 1))

    # Then its verdict is posted once, saying SSM's notification never arrived
    assert titles(world) == [STUCK, CLEARED]
    assert NEVER_ARRIVED in text_of(world.slack.messages()[1])
    assert item(command_id)["verdict"]["M"]["via"] == {"S": "watchdog"}
    assert emitted_metrics(capsys.readouterr().out)["NotificationMissing"] == 1
    # And nothing more is scheduled
    assert len(watched.requests) == 1


def test_the_follow_up_after_the_sns_verdict_posts_nothing(recording: World) -> None:
    watched = Watched(recording)
    world = watched.world
    command_id, members = running(world)
    world.slack.always()
    world.invoke(watchdog_event(command_id))
    emu.settle_command(command_id, {i: ok() for i in members})
    world.notify(command_id)

    result = world.invoke(watched.follow_up(command_id, 1))

    assert result["outcomes"] == [{"command_id": command_id, "duplicate": True}]
    assert titles(world) == [STUCK, CLEARED]
    assert NEVER_ARRIVED not in text_of(world.slack.messages()[1])
    assert len(watched.requests) == 1


def test_a_follow_up_finding_it_still_running_arms_the_next_without_a_second_alert(
    recording: World,
) -> None:
    watched = Watched(recording)
    world = watched.world
    command_id, _ = running(world)
    world.slack.always()
    world.invoke(watchdog_event(command_id))

    result = world.invoke(watched.follow_up(command_id, 1))

    assert titles(world) == [STUCK]
    assert result["outcomes"] == [
        {
            "command_id": command_id,
            "running": "InProgress",
            "follow_up": f"watchdog-{command_id}-2",
        }
    ]
    assert watched.follow_up(command_id, 2)["attempt"] == 2


def test_the_last_follow_up_says_once_that_the_command_never_ended(
    recording: World, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given every follow-up found the command running
    watched = Watched(recording)
    world = watched.world
    command_id, members = running(world)
    world.slack.always()
    world.invoke(watchdog_event(command_id))
    for attempt in range(1, MAX_FOLLOW_UPS):
        world.invoke(watched.follow_up(command_id, attempt))
    assert titles(world) == [STUCK]

    # When the last one fires, twice
    last = watched.follow_up(command_id, MAX_FOLLOW_UPS)
    world.invoke(last)
    world.invoke(last)

    # Then one alert says the watchdog stops and no verdict will be reached on its own
    assert titles(world) == [STUCK, NEVER_ENDED]
    assert "120 minutes after the watchdog first found it" in text_of(world.slack.messages()[1])
    assert emitted_metrics(capsys.readouterr().out)["VerdictNeverEnded"] == 1
    # And no further schedule
    assert [r["Name"] for r in watched.requests] == [
        f"watchdog-{command_id}-{n}" for n in range(1, MAX_FOLLOW_UPS + 1)
    ]
    # And a late SNS notification still posts the command's verdict
    emu.settle_command(command_id, {i: ok() for i in members})
    world.notify(command_id)
    assert titles(world) == [STUCK, NEVER_ENDED, CLEARED]


def test_a_follow_up_that_cannot_be_created_is_retried_without_a_second_stuck_alert(
    recording: World, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the schedule group is missing, so CreateSchedule fails
    watched = Watched(recording, group_exists=False)
    world = watched.world
    command_id, _ = running(world)
    world.slack.always()

    # When the watchdog fires: the stuck alert is posted, and the event raised for a retry
    with pytest.raises(handler.NotificationsFailed, match="WatchdogNotRearmed"):
        world.invoke(watchdog_event(command_id))
    assert titles(world) == [STUCK]
    assert emitted_metrics(capsys.readouterr().out)["WatchdogNotRearmed"] == 1

    # When Lambda retries it and CreateSchedule works again
    scheduler().create_schedule_group(Name=SCHEDULE_GROUP)
    result = world.invoke(watchdog_event(command_id))

    # Then only the schedule is created: no second stuck alert
    assert titles(world) == [STUCK]
    assert result["outcomes"][0]["follow_up"] == f"watchdog-{command_id}-1"
    assert watched.follow_up(command_id, 1)["attempt"] == 1


def test_a_retry_after_the_schedule_was_created_is_not_an_error(recording: World) -> None:
    watched = Watched(recording)
    world = watched.world
    command_id, _ = running(world)
    world.slack.always()
    world.invoke(watchdog_event(command_id))

    # The same event again (Scheduler delivers at least once): CreateSchedule's conflict is fine
    result = world.invoke(watchdog_event(command_id))

    assert titles(world) == [STUCK]
    assert result["outcomes"][0]["follow_up"] == f"watchdog-{command_id}-1"


def test_without_the_watchdog_settings_the_stuck_alert_promises_no_follow_up(
    recording: World,
) -> None:
    world = recording
    command_id, _ = running(world)
    world.start()
    world.slack.always()

    result = world.invoke(watchdog_event(command_id))

    assert "follow_up" not in result["outcomes"][0]
    text = text_of(world.slack.message())
    assert "Its verdict is posted only if SSM's notification arrives when it ends" in text
    assert "every 15 minutes" not in text


def test_an_ok_verdict_never_builds_the_scheduler_client(recording: World) -> None:
    watched = Watched(recording)
    world = watched.world
    members = sorted(emu.create_group(GROUP, 3))
    command_id = world.send()
    emu.settle_command(command_id, {i: ok() for i in members})
    world.slack.always()

    world.notify(command_id)
    world.invoke(watchdog_event(command_id))

    assert titles(world) == [CLEARED]
    assert watched.clients_built == 0


@pytest.mark.parametrize("attempt", [-1, MAX_FOLLOW_UPS + 1, "1", True, 1.5])
def test_a_watchdog_event_with_a_bad_attempt_is_an_alert(recording: World, attempt: Any) -> None:
    world = recording
    world.start()
    world.slack.always()
    event = {
        "source": "apcu-fleet-flush.watchdog",
        "commandId": "5f0c4a1e-8d3b-4c2a-9e7f-1b6d2a9c3e48",
        "attempt": attempt,
    }

    world.invoke(event)

    assert "the watchdog event's attempt is not a whole number from 0 to 8" in text_of(
        world.slack.message()
    )


def test_the_watchdog_settings_are_all_or_none() -> None:
    assert Config.from_env(ENV).watchdog == WatchdogSettings(
        group=SCHEDULE_GROUP, role_arn=ROLE_ARN, dead_letter_arn=DLQ_ARN
    )
    bare = {k: v for k, v in ENV.items() if not k.startswith("WATCHDOG_")}
    assert Config.from_env(bare).watchdog is None
    with pytest.raises(ConfigError, match="WATCHDOG_ROLE_ARN not set"):
        Config.from_env({**ENV, "WATCHDOG_ROLE_ARN": ""})


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("WATCHDOG_GROUP", "no spaces allowed", "WATCHDOG_GROUP must be a schedule group name"),
        ("WATCHDOG_ROLE_ARN", "WatchdogRole", "WATCHDOG_ROLE_ARN must be an IAM role ARN"),
        ("WATCHDOG_DEAD_LETTER_ARN", ROLE_ARN, "WATCHDOG_DEAD_LETTER_ARN must be an SQS queue"),
        ("COMMANDS_TABLE", "", "need COMMANDS_TABLE"),
    ],
)
def test_malformed_watchdog_settings_fail_the_init(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Config.from_env({**ENV, name: value})


def test_follow_ups_count_in_the_metrics_only_when_they_fail(
    recording: World, capsys: pytest.CaptureFixture[str]
) -> None:
    watched = Watched(recording)
    world = watched.world
    command_id, _ = running(world)
    world.slack.always()

    world.invoke(watchdog_event(command_id))

    counted: collections.Counter[str] = emitted_metrics(capsys.readouterr().out)
    assert counted["VerdictStuck"] == 1
    assert counted["WatchdogNotRearmed"] == 0


def test_a_follow_up_invokes_the_function_unqualified_as_the_role_may(recording: World) -> None:
    # Given the notifier was invoked through an alias: the scheduler role may invoke only the
    # unqualified function ARN
    watched = Watched(recording)
    world = watched.world
    unqualified = world.context.invoked_function_arn
    world.context.invoked_function_arn = unqualified + ":live"
    command_id, _ = running(world)
    world.slack.always()

    world.invoke(watchdog_event(command_id))

    assert [r["Target"]["Arn"] for r in watched.requests] == [unqualified]
